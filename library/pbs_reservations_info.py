#!/usr/bin/python
# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pbs_reservations_info
short_description: Read PBS Pro reservations with their times in naive UTC
description:
  - Runs C(pbs_rstat -f) (PBS has no JSON form for reservations) and returns each reservation's name,
    id, start and end, node count and partition.
  - C(pbs_rstat) prints times in the login node's local time without a zone; they are read in
    O(timezone) (DST-aware) and returned as naive-UTC ISO strings, the SAM API's convention.
  - A reservation whose times cannot be read is listed in RV(unreadable) with the reason, not dropped silently.
version_added: "1.0.0"
author: SAM collectors team
options:
  timezone:
    description: IANA time zone in which C(pbs_rstat) prints times (the login node's local zone).
    type: str
    default: America/Denver
  pbs_exec:
    description: PBS installation prefix; the command is C(<pbs_exec>/bin/pbs_rstat).
    type: path
  command_path:
    description: Full path of C(pbs_rstat). Overrides O(pbs_exec).
    type: path
  server:
    description: PBS server to ask, passed as C(PBS_SERVER) in the environment (C(pbs_rstat) has no server option).
    type: str
  timeout:
    description: Seconds before C(pbs_rstat) is killed and the task fails.
    type: int
    default: 60
attributes:
  check_mode:
    support: full
    details: Read-only; does its full work in check mode.
  diff_mode:
    support: none
requirements:
  - Python 3.9 or later with the IANA time zone database (C(zoneinfo)) on the target.
"""

EXAMPLES = r"""
- name: Read reservations on the Casper login node
  pbs_reservations_info:
    timezone: America/Denver
  register: pbs_reservations
"""

RETURN = r"""
collected_at:
  description: Naive-UTC time taken just before C(pbs_rstat) ran.
  returned: success
  type: str
timezone:
  description: The zone the times were read in.
  returned: success
  type: str
reservations:
  description: Reservations in any state.
  returned: success
  type: list
  elements: dict
  sample:
    - {resv_id: R416808.casper-pbs, reservation_name: maint, start_time: "2026-03-08T08:00:00",
       end_time: "2026-03-08T20:00:00", node_count: 4, partition: pbs-default, state: RESV_CONFIRMED}
unreadable:
  description: Reservations that could not be read, with the reason.
  returned: success
  type: list
  elements: dict
cmd:
  description: The command that ran.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.pbs_command import pbs_common_argument_spec, run_pbs, stderr_tail
from ansible.module_utils.pbs_rstat import parse_rstat


def main():
    spec = pbs_common_argument_spec()
    spec.update(timezone=dict(type="str", default="America/Denver"))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    # pbs_rstat has no server option; PBS_SERVER in its environment chooses the server.
    env = {"PBS_SERVER": module.params["server"]} if module.params["server"] else None
    collected_at, out, err, argv = run_pbs(module, "pbs_rstat", ["-f"], env_extra=env)
    try:
        parsed = parse_rstat(out.decode("utf-8", "replace"), module.params["timezone"])
    except (ValueError, LookupError) as exc:
        module.fail_json(msg="pbs_rstat output could not be read: %s" % exc, rc=0, stderr=stderr_tail(err), cmd=argv)
    module.exit_json(changed=False, collected_at=collected_at, timezone=module.params["timezone"], cmd=argv, **parsed)


if __name__ == "__main__":
    main()
