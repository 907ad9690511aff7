# -*- coding: utf-8 -*-
"""Summarise ``qstat -f -F json [-t] [-x]`` records. Target side, stdlib only.

Input: (header, records) from pbs_json.load_pbs_json(..., "Jobs").
Output: the pbs_jobs_info result without collected_at/parse (shared spec):
  {"pbs_server", "pbs_version", "job_count", "state_counts", "rows", "queue_nodes_allocated"}

Rules (sam-api-contract §2.3):
* username = Job_Owner before "@" (None when missing/blank); project = Account_Name stripped
  (None when missing/blank; a numeric Account_Name typed as a number by the writer comes back as
  its text); queue = queue, "unknown" when missing/blank.
* state_counts counts every job by its job_state letter (upper-cased); a job without job_state is
  counted under "?".
* One row per (username, project, queue) over all jobs in any state, sorted by
  (queue, username, project) with None first. R/Q/H jobs add to running/pending/held counters and
  Resource_List.ncpus/ngpus to cores_/gpus_ allocated/pending/held (number or numeric string;
  missing/unreadable -> 0). nodes_allocated = distinct exec_host hosts over the row's R jobs.
* queue_nodes_allocated = distinct exec_host hosts over R jobs per queue (queues without a
  running job are absent).
* A record that is not an object is skipped (counted in report["skipped_records"] when a report
  is passed).
"""
from __future__ import absolute_import, division, print_function

from ansible.module_utils.pbs_json import add_skip
from ansible.module_utils.pbs_values import exec_hosts, job_owner, to_int, to_text

_COUNTERS = ("running_jobs", "pending_jobs", "held_jobs", "cores_allocated", "gpus_allocated",
             "nodes_allocated", "cores_pending", "gpus_pending", "cores_held", "gpus_held")
_BY_STATE = {"R": ("running_jobs", "cores_allocated", "gpus_allocated"),
             "Q": ("pending_jobs", "cores_pending", "gpus_pending"),
             "H": ("held_jobs", "cores_held", "gpus_held")}


def summarize_jobs(header, records, report=None):
    header = header or {}
    records = records or {}
    rows = {}
    row_hosts = {}
    queue_hosts = {}
    state_counts = {}
    count = 0
    for job_id, rec in records.items():
        if not isinstance(rec, dict):
            if report is not None:
                add_skip(report, "job %r skipped: not an object" % str(job_id)[:80])
            continue
        count += 1
        state = (to_text(rec.get("job_state")) or "?").upper()
        state_counts[state] = state_counts.get(state, 0) + 1
        user = job_owner(rec.get("Job_Owner"))
        project = to_text(rec.get("Account_Name"))
        queue = to_text(rec.get("queue")) or "unknown"
        key = (user, project, queue)
        row = rows.get(key)
        if row is None:
            row = {"username": user, "project": project, "queue": queue}
            row.update((c, 0) for c in _COUNTERS)
            rows[key] = row
        fields = _BY_STATE.get(state)
        if fields is None:
            continue
        res = rec.get("Resource_List")
        res = res if isinstance(res, dict) else {}
        ncpus = to_int(res.get("ncpus")) or 0
        ngpus = to_int(res.get("ngpus")) or 0
        row[fields[0]] += 1
        row[fields[1]] += ncpus
        row[fields[2]] += ngpus
        if state == "R":
            hosts = exec_hosts(rec.get("exec_host"))
            row_hosts.setdefault(key, set()).update(hosts)
            queue_hosts.setdefault(queue, set()).update(hosts)
    for key, hosts in row_hosts.items():
        rows[key]["nodes_allocated"] = len(hosts)
    ordered = sorted(rows.values(), key=_row_sort_key)
    return {"pbs_server": _text_or_none(header.get("pbs_server")),
            "pbs_version": _text_or_none(header.get("pbs_version")),
            "job_count": count,
            "state_counts": state_counts,
            "rows": ordered,
            "queue_nodes_allocated": dict((q, len(h)) for q, h in sorted(queue_hosts.items()))}


def _row_sort_key(row):
    u, p = row["username"], row["project"]
    return (row["queue"], u is not None, u or "", p is not None, p or "")


def _text_or_none(value):
    return value if value is None or isinstance(value, str) else to_text(value)


ROW_FIELDS = ("username", "project", "queue") + _COUNTERS


def rows_as_table(rows):
    """Rows as one field list plus one list of values per row: the same data in less than half the
    characters, so the module result stays under AWX's 700,000-character limit at 50,000+ jobs."""
    return {"row_fields": list(ROW_FIELDS), "rows": [[row[f] for f in ROW_FIELDS] for row in rows]}
