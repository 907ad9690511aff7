#!/usr/bin/python
# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pbs_nodes_info
short_description: Read PBS Pro node status and return it grouped for the SAM dashboard
description:
  - Runs C(pbsnodes -a -F json) on a login node and reads it with a tolerant reader that repairs the
    known bugs of PBS's JSON writer.
  - Nodes with identical hardware, state and queue list are returned as one group with summed
    C(resources_assigned), so the result stays small at any cluster size.
  - A failed, empty or unreadable listing, or one that lists no node at all, fails the task; it is
    never reported as zero nodes.
version_added: "1.0.0"
author: SAM collectors team
options:
  pbs_exec:
    description: PBS installation prefix; the command is C(<pbs_exec>/bin/pbsnodes).
    type: path
  command_path:
    description: Full path of C(pbsnodes). Overrides O(pbs_exec).
    type: path
  server:
    description: PBS server to ask (C(pbsnodes -s SERVER)). Default is the login node's pbs.conf server.
    type: str
  timeout:
    description: Seconds before C(pbsnodes) is killed and the task fails.
    type: int
    default: 60
attributes:
  check_mode:
    support: full
    details: Read-only; does its full work in check mode.
  diff_mode:
    support: none
notes:
  - The target needs Python 3.9 or later.
"""

EXAMPLES = r"""
- name: Read node status on the PBS login node
  pbs_nodes_info:
    pbs_exec: /opt/pbs
  register: pbs_nodes

- name: Ask a specific server with a short time limit
  pbs_nodes_info:
    server: desched1
    timeout: 30
  register: pbs_nodes
"""

RETURN = r"""
collected_at:
  description: Naive-UTC time, with microseconds, taken just before C(pbsnodes) ran.
  returned: success
  type: str
  sample: "2026-12-04T20:31:02.123456"
pbs_server:
  description: Server named in the JSON header.
  returned: success
  type: str
pbs_version:
  description: PBS version named in the JSON header.
  returned: success
  type: str
node_count:
  description: Number of nodes read.
  returned: success
  type: int
node_groups:
  description:
    - Nodes grouped by (state, ncpus, ngpus, mem_kb, qlist, gpu_type), in order of first appearance.
    - C(assigned_*) are sums over the group's nodes.
  returned: success
  type: list
  elements: dict
  sample:
    - {count: 12, state: [job-busy], ncpus: 128, ngpus: 0, mem_kb: 246415360, qlist: "cpu", gpu_type: null,
       assigned_ncpus: 1536, assigned_ngpus: 0, assigned_mem_kb: 2147483648, first_node: dec0001}
parse:
  description: What the tolerant reader repaired or skipped (counts and a few examples, never raw output).
  returned: success
  type: dict
cmd:
  description: The command that ran.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.pbs_command import pbs_common_argument_spec, run_pbs_json
from ansible.module_utils.pbs_nodes import summarize_nodes


def main():
    module = AnsibleModule(argument_spec=pbs_common_argument_spec(), supports_check_mode=True)
    collected_at, header, records, report, argv = run_pbs_json(
        module, "pbsnodes", ["-a", "-F", "json"], "nodes", server_style="option")
    result = dict(changed=False, collected_at=collected_at, cmd=argv, parse=report)
    result.update(summarize_nodes(header, records, report))
    if not result["node_count"]:
        # PBS answers `pbsnodes -a` on a server without nodes with an error, so an empty listing is
        # a broken answer; posting it would show every node of the system as gone.
        module.fail_json(msg="pbsnodes listed no nodes (%s); refusing to report an empty cluster" % (
            "no nodes container in its JSON" if report.get("container_missing") else "empty nodes container"), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
