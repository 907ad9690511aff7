# -*- coding: utf-8 -*-
"""Summarise ``pbsnodes -a -F json`` records into node groups. Target side, stdlib only.

Input: (header, records) from pbs_json.load_pbs_json(..., "nodes").
Output: the pbs_nodes_info result without collected_at/parse (shared spec):
  {"pbs_server", "pbs_version", "node_count", "node_groups": [...]}

Rules:
* Group key = (tuple(state), ncpus, ngpus, mem_kb, qlist, gpu_type); groups in order of first
  appearance; state split on ",", stripped, lowercased, PBS order kept.
* ncpus/ngpus/mem from resources_available (missing/unreadable -> 0; mem converted to KiB);
  Qlist from "Qlist", else "qlist"; gpu_type from "gpu_type" (raw text or None).
* assigned_* are sums of resources_assigned.* over the group (an empty/missing object is 0: PBS
  writes only non-zero entries).
* Skipped (counted in report["skipped_records"] when a report is passed):
  - records that are not objects;
  - unknown-node answers: {"Error": "Unknown node "} (old writer) and {"<name>": "Unknown node "}
    (cJSON), which pbsnodes prints with exit 0.
* Not counted as nodes (and not reported as skipped, they are not errors): the natural vnode of a
  multi-vnode host, i.e. a record "<host>" with in_multivnode_host set, no ncpus (0/missing),
  while vnodes "<host>[N]" exist. It carries no resources of its own; its vnodes are the nodes.
"""
from __future__ import absolute_import, division, print_function

import re

from ansible.module_utils.pbs_json import add_skip
from ansible.module_utils.pbs_values import size_to_kb, split_state, to_int, to_text

_VNODE_CHILD = re.compile(r"^(.*)\[[0-9]+\]$")


def _error_record(name, rec):
    """True for pbsnodes' 'Unknown node' answers."""
    if "Error" in rec and len(rec) <= 2:
        return True
    if len(rec) == 1:
        (key, val), = rec.items()
        if key == name and isinstance(val, str) and val.strip().lower().startswith("unknown node"):
            return True
    return False


def _as_dict(value):
    return value if isinstance(value, dict) else {}


def _skip(report, message):
    if report is not None:
        add_skip(report, message)


def summarize_nodes(header, records, report=None):
    """See module doc. report: the parse report from load_pbs_json (optional) to count skips in."""
    header = header or {}
    records = records or {}
    child_bases = set()
    for name in records:
        m = _VNODE_CHILD.match(name)
        if m:
            child_bases.add(m.group(1))

    groups = []
    index = {}
    count = 0
    for name, rec in records.items():
        if not isinstance(rec, dict):
            _skip(report, "node %s skipped: not an object" % _short(name))
            continue
        if _error_record(name, rec):
            _skip(report, "node %s skipped: pbsnodes answered Unknown node" % _short(name))
            continue
        avail = _as_dict(rec.get("resources_available"))
        ncpus = to_int(avail.get("ncpus"))
        if name in child_bases and (ncpus or 0) == 0 and to_int(rec.get("in_multivnode_host")):
            continue
        ncpus = ncpus or 0
        ngpus = to_int(avail.get("ngpus")) or 0
        mem_kb = size_to_kb(avail.get("mem")) or 0
        qlist = avail.get("Qlist") if "Qlist" in avail else avail.get("qlist")
        qlist = _raw_text(qlist)
        gpu_type = _raw_text(avail.get("gpu_type"))
        state = split_state(rec.get("state"))
        assigned = _as_dict(rec.get("resources_assigned"))
        key = (tuple(state), ncpus, ngpus, mem_kb, qlist, gpu_type)
        grp = index.get(key)
        if grp is None:
            grp = {"count": 0, "state": state, "ncpus": ncpus, "ngpus": ngpus, "mem_kb": mem_kb,
                   "qlist": qlist, "gpu_type": gpu_type,
                   "assigned_ncpus": 0, "assigned_ngpus": 0, "assigned_mem_kb": 0, "first_node": name}
            index[key] = grp
            groups.append(grp)
        grp["count"] += 1
        grp["assigned_ncpus"] += to_int(assigned.get("ncpus")) or 0
        grp["assigned_ngpus"] += to_int(assigned.get("ngpus")) or 0
        grp["assigned_mem_kb"] += size_to_kb(assigned.get("mem")) or 0
        count += 1
    return {"pbs_server": _raw_text(header.get("pbs_server")),
            "pbs_version": _raw_text(header.get("pbs_version")),
            "node_count": count, "node_groups": groups}


def _raw_text(value):
    """Raw string as PBS printed it (not stripped); numbers/objects typed by the writer as text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        return ",".join(to_text(v) or "" for v in value)
    return to_text(value)


def _short(name):
    s = str(name)
    return repr(s if len(s) <= 80 else s[:77] + "...")
