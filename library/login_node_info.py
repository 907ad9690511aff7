#!/usr/bin/python
# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: login_node_info
short_description: Read a login node's load averages, CPU count and user sessions
description:
  - Reads C(/proc/loadavg), the number of configured CPUs (as C(nproc --all)) and the number of login
    sessions (lines of C(who)), the values the SAM dashboard shows per login node.
  - Returns raw load averages; the controller turns them into percent of CPUs.
version_added: "1.0.0"
author: SAM collectors team
options:
  timeout:
    description: Seconds C(who) may take.
    type: int
    default: 10
attributes:
  check_mode:
    support: full
    details: Read-only; does its full work in check mode.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Probe every login node
  login_node_info:
  register: login_probe
"""

RETURN = r"""
hostname:
  description: The node's own host name.
  returned: success
  type: str
num_cpus:
  description: Configured CPUs, as C(nproc --all).
  returned: success
  type: int
loadavg:
  description: The 1, 5 and 15 minute load averages from C(/proc/loadavg).
  returned: success
  type: list
  elements: float
user_count:
  description: Login sessions (lines of C(who)), not distinct users.
  returned: success
  type: int
collected_at:
  description: Naive-UTC time of the probe.
  returned: success
  type: str
"""

import os
import socket

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.pbs_command import CommandTimeout, run_argv, stderr_tail, utc_now_iso


def main():
    module = AnsibleModule(argument_spec=dict(timeout=dict(type="int", default=10)), supports_check_mode=True)
    collected_at = utc_now_iso()
    try:
        with open("/proc/loadavg") as handle:
            loadavg = [float(x) for x in handle.read().split()[:3]]
    except (OSError, ValueError) as exc:
        module.fail_json(msg="cannot read /proc/loadavg: %s" % exc)
    num_cpus = os.sysconf("SC_NPROCESSORS_CONF")
    who = module.get_bin_path("who", required=True)
    try:
        rc, out, err = run_argv([who], module.params["timeout"])
    except CommandTimeout as exc:
        module.fail_json(msg=str(exc), cmd=[who])
    if rc != 0:
        module.fail_json(msg="who failed with exit code %d" % rc, rc=rc, stderr=stderr_tail(err), cmd=[who])
    sessions = [line for line in out.decode("utf-8", "replace").splitlines() if line.strip()]
    module.exit_json(changed=False, hostname=socket.gethostname(), num_cpus=num_cpus, loadavg=loadavg,
                     user_count=len(sessions), collected_at=collected_at)


if __name__ == "__main__":
    main()
