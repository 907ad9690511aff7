# -*- coding: utf-8 -*-
"""Summarise ``qstat -Q -f -F json`` records into the queue roster. Target side, stdlib only.

Input: (header, records) from pbs_json.load_pbs_json(..., "Queue").
Output: {"queues": [{"queue_name", "queue_type", "enabled", "started", "total_jobs"}]} in PBS order
(sam-api-contract §2.4): queue_type raw text ("Execution"/"Route") or None, enabled/started
"True"/"False" (or cJSON true/false) -> bool or None, total_jobs int or None.
A record that is not an object is skipped (counted when a report is passed).
"""
from __future__ import absolute_import, division, print_function

from ansible.module_utils.pbs_json import add_skip
from ansible.module_utils.pbs_values import to_bool, to_int, to_text


def summarize_queues(header, records, report=None):
    queues = []
    for name, rec in (records or {}).items():
        if not isinstance(rec, dict):
            if report is not None:
                add_skip(report, "queue %r skipped: not an object" % str(name)[:80])
            continue
        queues.append({"queue_name": name,
                       "queue_type": to_text(rec.get("queue_type")),
                       "enabled": to_bool(rec.get("enabled")),
                       "started": to_bool(rec.get("started")),
                       "total_jobs": to_int(rec.get("total_jobs"))})
    return {"queues": queues}
