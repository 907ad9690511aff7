#!/usr/bin/python
# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pbs_queues_info
short_description: Read the PBS Pro queue roster
description:
  - Runs C(qstat -Q -f -F json) on a login node and returns each queue's name, type, enabled and
    started flags and job total, for the SAM API's C(queue_definitions).
  - Tolerates PBS's JSON writer bugs (duplicate limit keys, bare numbers, text before the JSON).
version_added: "1.0.0"
author: SAM collectors team
options:
  pbs_exec:
    description: PBS installation prefix; the command is C(<pbs_exec>/bin/qstat).
    type: path
  command_path:
    description: Full path of C(qstat). Overrides O(pbs_exec).
    type: path
  server:
    description: PBS server to ask (C(qstat -Q ... @SERVER)).
    type: str
  timeout:
    description: Seconds before C(qstat) is killed and the task fails.
    type: int
    default: 60
attributes:
  check_mode:
    support: full
    details: Read-only; does its full work in check mode.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Read the queue roster
  pbs_queues_info:
  register: pbs_queues
"""

RETURN = r"""
collected_at:
  description: Naive-UTC time taken just before C(qstat) ran.
  returned: success
  type: str
queues:
  description: Queues in the server's order.
  returned: success
  type: list
  elements: dict
  sample: [{queue_name: main, queue_type: Route, enabled: true, started: true, total_jobs: 0}]
parse:
  description: What the tolerant reader repaired or skipped.
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
from ansible.module_utils.pbs_queues import summarize_queues


def main():
    module = AnsibleModule(argument_spec=pbs_common_argument_spec(), supports_check_mode=True)
    collected_at, header, records, report, argv = run_pbs_json(
        module, "qstat", ["-Q", "-f", "-F", "json"], "Queue", server_style="destination")
    result = dict(changed=False, collected_at=collected_at, cmd=argv, parse=report)
    result.update(summarize_queues(header, records, report))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
