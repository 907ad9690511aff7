#!/usr/bin/python
# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pbs_jobs_info
short_description: Read PBS Pro jobs and return per user, project and queue counters
description:
  - Runs C(qstat -f -F json) (with C(-t) when O(subjobs) is set) on a login node and reads it with a
    tolerant reader that repairs the known bugs of PBS's JSON writer; a job beyond repair is skipped and
    counted in RV(parse), every other job is still read.
  - Jobs are reduced on the target to one row per (user, project, queue) with running, pending and held
    counts, cores, GPUs and distinct execution hosts, so the result stays small with 50,000 jobs.
  - A failed, empty or unreadable listing fails the task; it is never reported as zero jobs.
version_added: "1.0.0"
author: SAM collectors team
options:
  subjobs:
    description:
      - Expand array jobs into their sub-jobs (C(qstat -t)). Without it an array parent counts as one
        job in state B and its running sub-jobs are not counted.
    type: bool
    default: false
  pbs_exec:
    description: PBS installation prefix; the command is C(<pbs_exec>/bin/qstat).
    type: path
  command_path:
    description: Full path of C(qstat). Overrides O(pbs_exec).
    type: path
  server:
    description: PBS server to ask (C(qstat ... @SERVER)). Default is the login node's pbs.conf server.
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
notes:
  - The target needs Python 3.9 or later.
"""

EXAMPLES = r"""
- name: Read all jobs on the PBS login node
  pbs_jobs_info:
    pbs_exec: /opt/pbs
  register: pbs_jobs
"""

RETURN = r"""
collected_at:
  description: Naive-UTC time, with microseconds, taken just before C(qstat) ran.
  returned: success
  type: str
job_count:
  description: Jobs read (skipped ones excluded, see RV(parse)).
  returned: success
  type: int
state_counts:
  description: Jobs per C(job_state) letter, every state.
  returned: success
  type: dict
  sample: {R: 1250, Q: 500, H: 80, B: 4}
row_fields:
  description: Names of the values in each of RV(rows), in order.
  returned: success
  type: list
  elements: str
  sample: [username, project, queue, running_jobs, pending_jobs, held_jobs, cores_allocated, gpus_allocated,
           nodes_allocated, cores_pending, gpus_pending, cores_held, gpus_held]
rows:
  description:
    - One row per (username, project, queue) over all listed jobs, in any state, as a list of values
      named by RV(row_fields) (a table rather than dicts keeps the result small).
    - C(username) and C(project) are null when PBS gave none; C(queue) is C(unknown) when missing.
    - Counters follow the SAM contract; C(nodes_allocated) counts distinct execution hosts of the row's running jobs.
  returned: success
  type: list
  elements: list
  sample: [[alice, UCSD0001, cpu, 2, 1, 0, 256, 0, 2, 128, 0, 0, 0]]
queue_nodes_allocated:
  description: Distinct execution hosts of running jobs, per queue.
  returned: success
  type: dict
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
from ansible.module_utils.pbs_jobs import rows_as_table, summarize_jobs


def main():
    spec = pbs_common_argument_spec()
    spec.update(subjobs=dict(type="bool", default=False))
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    args = ["-f", "-t", "-F", "json"] if module.params["subjobs"] else ["-f", "-F", "json"]
    collected_at, header, records, report, argv = run_pbs_json(module, "qstat", args, "Jobs", server_style="destination")
    result = dict(changed=False, collected_at=collected_at, cmd=argv, parse=report)
    result.update(summarize_jobs(header, records, report))
    result.update(rows_as_table(result["rows"]))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
