"""Controller-side filters: reduce the PBS/login/df module results to a SAM status payload.

Every rule implemented here comes from docs/sam-api-contract.md (sections 1.4, 1.5 and 2.2-2.7);
the section is named next to each computation.  The filters are pure functions of their inputs:
no clock, no I/O, no randomness.  Bad input raises AnsibleFilterError whose message starts with
"<filter name>: <field path>: ...".

This file runs on the controller only and deliberately imports nothing from module_utils/.

Filters
  sam_node_fields(nodes_result, node_type_rules, system)   -> dict of top-level node fields
  sam_job_fields(jobs_result)                              -> dict of job fields + queues + upq
  sam_queue_definitions(queues_result)                     -> list for "queue_definitions"
  sam_reservations(reservations_result)                    -> list for "reservations"
  sam_filesystems(fs_result)                               -> list for "filesystems"
  sam_login_nodes(probes)                                  -> list for "login_nodes"
  sam_validate(payload, schema, system)                    -> payload (unchanged) or error
"""
from __future__ import annotations

import json
import math
import re

from ansible.errors import AnsibleFilterError

try:
    import jmespath
    from jmespath.exceptions import JMESPathError
except ImportError:  # pragma: no cover - reported when the filter is used
    jmespath = None
    JMESPathError = Exception

SYSTEMS = ("derecho", "casper")
CATEGORIES = ("cpu", "gpu", "viz")
KIB_PER_GIB = 1024 ** 2
BYTES_PER_TIB = 1024 ** 4
UNKNOWN_PROJECT = "_unknown_"

# The 10 per-row counters of queues and user_project_queues (contract 1.5).
JOB_COUNTERS = (
    "running_jobs", "pending_jobs", "held_jobs",
    "cores_allocated", "gpus_allocated", "nodes_allocated",
    "cores_pending", "gpus_pending",
    "cores_held", "gpus_held",
)


# --------------------------------------------------------------------------- helpers

def _fail(filt, path, msg):
    raise AnsibleFilterError("%s: %s: %s" % (filt, path, msg) if path else "%s: %s" % (filt, msg))


def _type_name(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number" if math.isfinite(value) else "non-finite number (%r)" % value
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _mapping(filt, value, path):
    if not isinstance(value, dict):
        _fail(filt, path, "expected a mapping, got %s" % _type_name(value))
    return value


def _list(filt, obj, key, path):
    value = obj.get(key) if isinstance(obj, dict) else None
    p = "%s.%s" % (path, key) if path else key
    if not isinstance(value, (list, tuple)):
        _fail(filt, p, "expected a list, got %s" % _type_name(value))
    return value


def _int(filt, obj, key, path, nullable=False, minimum=0):
    p = "%s.%s" % (path, key) if path else key
    if key not in obj:
        _fail(filt, p, "missing")
    value = obj[key]
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(filt, p, "expected an integer, got %s %r" % (_type_name(value), value))
    if minimum is not None and value < minimum:
        _fail(filt, p, "must be >= %d, got %d" % (minimum, value))
    return value


def _number(filt, value, path):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        _fail(filt, path, "expected a finite number, got %s %r" % (_type_name(value), value))
    return float(value)


def _str(filt, obj, key, path, nullable=False, allow_blank=False):
    p = "%s.%s" % (path, key) if path else key
    if key not in obj:
        if nullable:
            return None
        _fail(filt, p, "missing")
    value = obj[key]
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        _fail(filt, p, "expected a string, got %s" % _type_name(value))
    if not allow_blank and not value.strip():
        _fail(filt, p, "must not be blank")
    return value


def _pct(part, whole, when_zero):
    """part/whole*100 rounded to 2 dp; `when_zero` when the denominator is 0 (contract 1.4)."""
    if not whole:
        return when_zero
    return round(part / whole * 100, 2)


def _gib(kib):
    """KiB -> GiB, 2 dp (contract 0.6 / 1.4)."""
    return round(kib / KIB_PER_GIB, 2)


def _system(filt, system):
    if system not in SYSTEMS:
        _fail(filt, "system", "must be one of %s, got %r" % ("/".join(SYSTEMS), system))
    return system


# --------------------------------------------------------------------------- nodes

def _check_group(group, path):
    filt = "sam_node_fields"
    _mapping(filt, group, path)
    count = _int(filt, group, "count", path)
    if count < 1:
        _fail(filt, path + ".count", "must be >= 1, got %d" % count)
    state = group.get("state")
    if not isinstance(state, (list, tuple)) or not all(isinstance(s, str) for s in state):
        _fail(filt, path + ".state", "expected a list of strings, got %s" % _type_name(state))
    out = {
        "count": count,
        "state": [s.strip().lower() for s in state],
        "qlist": _str(filt, group, "qlist", path, nullable=True, allow_blank=True),
        "gpu_type": _str(filt, group, "gpu_type", path, nullable=True, allow_blank=True),
        "first_node": group.get("first_node"),
    }
    for key in ("ncpus", "ngpus", "mem_kb", "assigned_ncpus", "assigned_ngpus", "assigned_mem_kb"):
        out[key] = _int(filt, group, key, path)
    return out


def _rule_context(g):
    """The dict the JMESPath `when` expressions and the `name` templates see."""
    gpu_type = (g["gpu_type"] or "").strip().lower()
    return {
        "ncpus": g["ncpus"],
        "ngpus": g["ngpus"],
        "mem_kb": g["mem_kb"],
        "qlist": (g["qlist"] or "").strip().lower(),
        "gpu_type": gpu_type,
        "gpu_model": gpu_type.split(",", 1)[0].strip(),
        "state": list(g["state"]),
    }


def _jmes_truthy(value):
    # JMESPath truthiness (the same as its && / || / ! operators): false, null, "" , [] and {}
    # are false; everything else, including the number 0, is true.
    return not (value is None or value is False or value == "" or value == [] or value == {})


def _compile_rules(rules, system):
    filt = "sam_node_fields"
    if jmespath is None:
        _fail(filt, "node_type_rules", "the jmespath Python package is required on the controller")
    if isinstance(rules, dict) and "sam_node_type_rules" in rules:
        rules = rules["sam_node_type_rules"]
    if not isinstance(rules, (list, tuple)) or not rules:
        _fail(filt, "node_type_rules", "expected a non-empty list of rules, got %s" % _type_name(rules))
    compiled = []
    for i, rule in enumerate(rules):
        p = "node_type_rules[%d]" % i
        _mapping(filt, rule, p)
        unknown = sorted(set(rule) - {"name", "category", "when", "description"})
        if unknown:
            _fail(filt, p, "unknown key(s) %s" % ", ".join(unknown))
        name = _str(filt, rule, "name", p)
        category = rule.get("category")
        if category not in CATEGORIES:
            _fail(filt, p + ".category", "must be one of cpu/gpu/viz, got %r" % (category,))
        if system == "derecho" and category == "viz":
            _fail(filt, p + ".category", "derecho has no viz category")
        when = rule.get("when")
        if when is None:
            expr = None  # a rule without `when` matches every group (catch-all)
        else:
            if not isinstance(when, str) or not when.strip():
                _fail(filt, p + ".when", "expected a JMESPath expression string")
            try:
                expr = jmespath.compile(when)
            except JMESPathError as exc:
                _fail(filt, p + ".when", "invalid JMESPath expression %r: %s" % (when, exc))
        compiled.append((p, name, category, expr))
    return compiled


def _classify(compiled, g, gpath):
    filt = "sam_node_fields"
    ctx = _rule_context(g)
    for rpath, name_tpl, category, expr in compiled:
        if expr is not None:
            try:
                hit = _jmes_truthy(expr.search(ctx))
            except JMESPathError as exc:
                _fail(filt, rpath + ".when", "evaluating against %s failed: %s" % (gpath, exc))
            if not hit:
                continue
        try:
            name = name_tpl.format(**ctx)
        except (KeyError, IndexError, ValueError) as exc:
            _fail(filt, rpath + ".name", "cannot format %r: %s (fields: %s)"
                  % (name_tpl, exc, ", ".join(sorted(ctx))))
        return name, category
    _fail(filt, gpath, "no node type rule matches this node group (first_node=%s, ncpus=%s, "
          "ngpus=%s, qlist=%r, gpu_type=%r, state=%s)"
          % (g["first_node"], g["ncpus"], g["ngpus"], ctx["qlist"], ctx["gpu_type"],
             ",".join(g["state"])))


def _system_bucket(state):
    """Contract 2.2, system level, first match wins, substring tests on the state text."""
    text = ",".join(state)
    if "down" in text or "offline" in text:
        return "down"
    if "resv" in text:
        return "reserved"
    if "free" in text or "idle" in text:
        return "available"
    return None  # job-busy, job-exclusive, busy, stale, provisioning ...: counted in *_total only


def _type_bucket(state):
    """Contract 2.2, node-type level. resv-only nodes fall into no bucket."""
    text = ",".join(state)
    if "down" in text or "offline" in text:
        return "nodes_down"
    if "free" in text or "idle" in text:
        return "nodes_available"
    if "job-busy" in text or "job-exclusive" in text:
        return "nodes_allocated"
    return None


def sam_node_fields(nodes_result, node_type_rules, system):
    """Top-level node fields of a Derecho/Casper payload (contract 1.4, 1.5 node_types, 2.2).

    nodes_result     the pbs_nodes_info module result (uses node_groups only).
    node_type_rules  list of {"name", "category", "when"} (or the whole node_types.yml dict);
                     evaluated in order, first truthy JMESPath `when` wins; `name` is a
                     str.format template over the group's fields.
    system           "derecho" or "casper".  Casper adds viz_* fields and node_types;
                     Derecho has neither key.

    Returns a dict with cpu_nodes_*, gpu_nodes_*, cpu_cores_*, cpu_utilization_percent,
    gpu_count_*, gpu_utilization_percent, memory_*; for Casper also viz_nodes_*, viz_count_*,
    viz_utilization_percent and node_types (sorted by node_type).
    """
    filt = "sam_node_fields"
    system = _system(filt, system)
    _mapping(filt, nodes_result, "nodes_result")
    groups = _list(filt, nodes_result, "node_groups", "")
    compiled = _compile_rules(node_type_rules, system)

    nodes = {c: {"total": 0, "available": 0, "down": 0, "reserved": 0} for c in CATEGORIES}
    gpus = {c: {"total": 0, "allocated": 0} for c in CATEGORIES}
    cores_total = cores_alloc = mem_total_kb = mem_alloc_kb = 0
    types = {}
    for i, raw in enumerate(groups):
        gpath = "node_groups[%d]" % i
        g = _check_group(raw, gpath)
        name, category = _classify(compiled, g, gpath)
        n = g["count"]

        nodes[category]["total"] += n
        bucket = _system_bucket(g["state"])
        if bucket:
            nodes[category][bucket] += n
        # Cores and memory over every node, any category, any state.
        cores_total += g["ncpus"] * n
        cores_alloc += g["assigned_ncpus"]
        mem_total_kb += g["mem_kb"] * n
        mem_alloc_kb += g["assigned_mem_kb"]
        # GPU counts per category (gpu and viz reported separately; cpu GPUs are not counted).
        gpus[category]["total"] += g["ngpus"] * n
        gpus[category]["allocated"] += g["assigned_ngpus"]

        t = types.get(name)
        if t is None:
            # Per-node values come from the first node seen of the type (first group in order).
            gpu_model = (g["gpu_type"] or "").split(",", 1)[0].strip() or None
            t = types[name] = {
                "category": category, "first": gpath,
                "nodes_total": 0, "nodes_available": 0, "nodes_down": 0, "nodes_allocated": 0,
                "cores_per_node": g["ncpus"],
                # Integer column: the reference sends GiB to 2 dp and the server int()s it.
                "memory_gb_per_node": int(_gib(g["mem_kb"])),
                "gpu_model": gpu_model,
                "gpus_per_node": g["ngpus"],
                "_cores": 0, "_cores_alloc": 0, "_gpus": 0, "_gpus_alloc": 0,
                "_mem": 0, "_mem_alloc": 0,
            }
        elif t["category"] != category:
            _fail(filt, gpath, "node type %r is %s here but %s at %s (rules give one name two "
                  "categories)" % (name, category, t["category"], t["first"]))
        t["nodes_total"] += n
        tb = _type_bucket(g["state"])
        if tb:
            t[tb] += n
        t["_cores"] += g["ncpus"] * n
        t["_cores_alloc"] += g["assigned_ncpus"]
        t["_gpus"] += g["ngpus"] * n
        t["_gpus_alloc"] += g["assigned_ngpus"]
        t["_mem"] += g["mem_kb"] * n
        t["_mem_alloc"] += g["assigned_mem_kb"]

    out = {}
    for cat in ("cpu", "gpu"):
        for key in ("total", "available", "down", "reserved"):
            out["%s_nodes_%s" % (cat, key)] = nodes[cat][key]
    out["cpu_cores_total"] = cores_total
    out["cpu_cores_allocated"] = cores_alloc
    out["cpu_cores_idle"] = cores_total - cores_alloc
    out["cpu_utilization_percent"] = _pct(cores_alloc, cores_total, 0.0)
    out["gpu_count_total"] = gpus["gpu"]["total"]
    out["gpu_count_allocated"] = gpus["gpu"]["allocated"]
    out["gpu_count_idle"] = gpus["gpu"]["total"] - gpus["gpu"]["allocated"]
    out["gpu_utilization_percent"] = _pct(gpus["gpu"]["allocated"], gpus["gpu"]["total"], None)
    out["memory_total_gb"] = _gib(mem_total_kb)
    out["memory_allocated_gb"] = _gib(mem_alloc_kb)
    out["memory_utilization_percent"] = _pct(mem_alloc_kb, mem_total_kb, 0.0)
    if system == "derecho":
        return out

    for key in ("total", "available", "down", "reserved"):
        out["viz_nodes_%s" % key] = nodes["viz"][key]
    out["viz_count_total"] = gpus["viz"]["total"]
    out["viz_count_allocated"] = gpus["viz"]["allocated"]
    out["viz_count_idle"] = gpus["viz"]["total"] - gpus["viz"]["allocated"]
    out["viz_utilization_percent"] = _pct(gpus["viz"]["allocated"], gpus["viz"]["total"], None)

    rows = []
    for name in sorted(types):
        t = types[name]
        if t["_gpus"]:
            util = _pct(t["_gpus_alloc"], t["_gpus"], None)
        else:
            util = _pct(t["_cores_alloc"], t["_cores"], None)
        rows.append({
            "node_type": name,
            "nodes_total": t["nodes_total"],
            "nodes_available": t["nodes_available"],
            "nodes_down": t["nodes_down"],
            "nodes_allocated": t["nodes_allocated"],
            "cores_per_node": t["cores_per_node"],
            "memory_gb_per_node": t["memory_gb_per_node"],
            "gpu_model": t["gpu_model"],
            "gpus_per_node": t["gpus_per_node"],
            "utilization_percent": util,
            "memory_utilization_percent": _pct(t["_mem_alloc"], t["_mem"], None),
        })
    out["node_types"] = rows
    return out


# --------------------------------------------------------------------------- jobs

def sam_job_fields(jobs_result):
    """Job fields of a Derecho/Casper payload (contract 1.4, 1.5 queues/user_project_queues, 2.3).

    jobs_result  the pbs_jobs_info module result (rows + queue_nodes_allocated); rows are dicts, or
                 value lists named by row_fields as the module ships them.

    Returns {running_jobs, pending_jobs, held_jobs, active_users, queues, user_project_queues}:
      - running/pending/held_jobs: sums over all rows (every user, including unknown owners);
      - active_users: distinct non-null usernames over all rows;
      - queues: one row per queue that has any row, the 10 counters summed, except
        nodes_allocated which is queue_nodes_allocated[queue] (distinct hosts, 0 when absent),
        active_users = distinct non-null users of the queue; sorted by queue_name;
      - user_project_queues: rows with a username, project null -> "_unknown_", the 10 counters
        (rows that end up with the same key are summed); sorted by queue_name, username,
        project_code.
    """
    filt = "sam_job_fields"
    _mapping(filt, jobs_result, "jobs_result")
    rows = _list(filt, jobs_result, "rows", "")
    if "row_fields" in jobs_result:
        # The module ships rows as a table (row_fields + value lists) to keep its result small.
        fields = _list(filt, jobs_result, "row_fields", "")
        for i, row in enumerate(rows):
            if not isinstance(row, list) or len(row) != len(fields):
                _fail(filt, "rows[%d]" % i, "expected a list of %d values (row_fields), got %r" % (len(fields), row))
        rows = [dict(zip(fields, row)) for row in rows]
    qna = jobs_result.get("queue_nodes_allocated") or {}
    _mapping(filt, qna, "queue_nodes_allocated")
    for q, v in qna.items():
        _int(filt, qna, q, "queue_nodes_allocated")

    totals = dict.fromkeys(("running_jobs", "pending_jobs", "held_jobs"), 0)
    users = set()
    queues = {}
    upq = {}
    for i, row in enumerate(rows):
        p = "rows[%d]" % i
        _mapping(filt, row, p)
        username = _str(filt, row, "username", p, nullable=True, allow_blank=True)
        if username is not None and not username.strip():
            username = None
        project = _str(filt, row, "project", p, nullable=True, allow_blank=True)
        if project is not None and not project.strip():
            project = None
        queue = _str(filt, row, "queue", p)
        counters = {k: _int(filt, row, k, p) for k in JOB_COUNTERS}
        for k in totals:
            totals[k] += counters[k]

        q = queues.setdefault(queue, dict.fromkeys(JOB_COUNTERS, 0))
        q.setdefault("_users", set())
        for k in JOB_COUNTERS:
            if k != "nodes_allocated":
                q[k] += counters[k]
        if username is None:
            continue  # jobs with an empty owner are skipped for users and upq (contract 2.3)
        users.add(username)
        q["_users"].add(username)
        key = (queue, username, project if project is not None else UNKNOWN_PROJECT)
        acc = upq.setdefault(key, dict.fromkeys(JOB_COUNTERS, 0))
        for k in JOB_COUNTERS:
            acc[k] += counters[k]

    queue_rows = []
    for name in sorted(queues):
        q = queues[name]
        r = {"queue_name": name}
        for k in JOB_COUNTERS:
            r[k] = qna.get(name, 0) if k == "nodes_allocated" else q[k]
        r["active_users"] = len(q["_users"])
        queue_rows.append(r)
    upq_rows = []
    for (queue, username, project) in sorted(upq):
        r = {"username": username, "project_code": project, "queue_name": queue}
        r.update(upq[(queue, username, project)])
        upq_rows.append(r)

    out = dict(totals)
    out["active_users"] = len(users)
    out["queues"] = queue_rows
    out["user_project_queues"] = upq_rows
    return out


# --------------------------------------------------------------------------- queue roster

def sam_queue_definitions(queues_result):
    """`queue_definitions` list from the pbs_queues_info result (contract 1.5, 2.4).

    One {queue_name, queue_type, enabled, started, total_jobs} per queue in PBS output order;
    the server reads only queue_name/queue_type, the rest is sent as the reference does.
    Blank queue names are refused (the server would skip them silently).
    """
    filt = "sam_queue_definitions"
    _mapping(filt, queues_result, "queues_result")
    out = []
    for i, q in enumerate(_list(filt, queues_result, "queues", "")):
        p = "queues[%d]" % i
        _mapping(filt, q, p)
        row = {"queue_name": _str(filt, q, "queue_name", p).strip(),
               "queue_type": _str(filt, q, "queue_type", p, nullable=True)}
        for key in ("enabled", "started"):
            value = q.get(key)
            if value is not None and not isinstance(value, bool):
                _fail(filt, "%s.%s" % (p, key), "expected a boolean or null, got %s"
                      % _type_name(value))
            row[key] = value
        row["total_jobs"] = _int(filt, q, "total_jobs", p, nullable=True) if "total_jobs" in q else None
        out.append(row)
    return out


# --------------------------------------------------------------------------- reservations

def sam_reservations(reservations_result):
    """`reservations` list from the pbs_reservations_info result (contract 1.5, 2.5).

    Each entry: reservation_name, description (= the PBS Resv ID), start_time, end_time
    (naive UTC ISO strings, passed through), node_count (int or null), partition (or null).
    Entries the module skipped are not sent.  A missing name or time raises.
    """
    filt = "sam_reservations"
    _mapping(filt, reservations_result, "reservations_result")
    out = []
    for i, r in enumerate(_list(filt, reservations_result, "reservations", "")):
        p = "reservations[%d]" % i
        _mapping(filt, r, p)
        out.append({
            "reservation_name": _str(filt, r, "reservation_name", p),
            "description": _str(filt, r, "resv_id", p, nullable=True),
            "start_time": _str(filt, r, "start_time", p),
            "end_time": _str(filt, r, "end_time", p),
            "node_count": _int(filt, r, "node_count", p, nullable=True) if "node_count" in r else None,
            "partition": _str(filt, r, "partition", p, nullable=True),
        })
    return out


# --------------------------------------------------------------------------- filesystems

def sam_filesystems(fs_result):
    """`filesystems` list from the filesystem_usage_info result (contract 1.5, 2.6).

    ok entries: capacity_tb/used_tb = bytes / 1024**4 rounded to 2 dp (TiB);
    utilization_percent = used/size*100 (2 dp) from the unrounded bytes, null when size is 0;
    capacity_inodes/used_inodes as floats (null when df -i gave nothing);
    inodes_utilization_percent 2 dp, null when the inode total is 0 or unknown;
    available true; degraded = utilization > 90 or inode utilisation > 90.
    failed entries (ok false): available false, degraded true, every number null.
    """
    filt = "sam_filesystems"
    _mapping(filt, fs_result, "fs_result")
    out = []
    for i, fs in enumerate(_list(filt, fs_result, "filesystems", "")):
        p = "filesystems[%d]" % i
        _mapping(filt, fs, p)
        name = _str(filt, fs, "name", p)
        ok = fs.get("ok")
        if not isinstance(ok, bool):
            _fail(filt, p + ".ok", "expected a boolean, got %s" % _type_name(ok))
        row = {"filesystem_name": name, "available": False, "degraded": True,
               "capacity_tb": None, "used_tb": None, "utilization_percent": None,
               "capacity_inodes": None, "used_inodes": None, "inodes_utilization_percent": None}
        if ok:
            size = _int(filt, fs, "size_bytes", p)
            used = _int(filt, fs, "used_bytes", p)
            itotal = _int(filt, fs, "inodes_total", p, nullable=True)
            iused = _int(filt, fs, "inodes_used", p, nullable=True)
            util = _pct(used, size, None)
            iutil = _pct(iused, itotal, None) if (itotal is not None and iused is not None) else None
            row.update({
                "available": True,
                "degraded": bool((util is not None and util > 90)
                                 or (iutil is not None and iutil > 90)),
                "capacity_tb": round(size / BYTES_PER_TIB, 2),
                "used_tb": round(used / BYTES_PER_TIB, 2),
                "utilization_percent": util,
                "capacity_inodes": float(itotal) if itotal is not None else None,
                "used_inodes": float(iused) if iused is not None else None,
                "inodes_utilization_percent": iutil,
            })
        out.append(row)
    return out


# --------------------------------------------------------------------------- login nodes

def sam_login_nodes(probes):
    """`login_nodes` list from per-node probe records (contract 1.5, 2.7).

    probes  list of {"node_name", "node_type" (optional: cpu/gpu; omit or null for Casper),
            "result": login_node_info result or null, "error": str or null}.

    Success: available true, degraded false, user_count, num_cpus and
    load_X = loadavg[X] / num_cpus * 100 (percent, unrounded).
    num_cpus 0: the node answered but loads cannot be computed -> loads null, degraded true.
    Failure (error set or result null): available false, degraded true, numbers null.
    node_type is sent only when configured.  Input order is kept.
    """
    filt = "sam_login_nodes"
    if not isinstance(probes, (list, tuple)):
        _fail(filt, "probes", "expected a list, got %s" % _type_name(probes))
    out = []
    for i, probe in enumerate(probes):
        p = "probes[%d]" % i
        _mapping(filt, probe, p)
        row = {"node_name": _str(filt, probe, "node_name", p)}
        node_type = _str(filt, probe, "node_type", p, nullable=True)
        if node_type is not None:
            row["node_type"] = node_type
        row.update({"available": False, "degraded": True, "user_count": None, "num_cpus": None,
                    "load_1min": None, "load_5min": None, "load_15min": None})
        result = probe.get("result")
        if probe.get("error") is None and result is not None:
            rp = p + ".result"
            _mapping(filt, result, rp)
            num_cpus = _int(filt, result, "num_cpus", rp)
            user_count = _int(filt, result, "user_count", rp)
            loadavg = result.get("loadavg")
            if not isinstance(loadavg, (list, tuple)) or len(loadavg) != 3:
                _fail(filt, rp + ".loadavg", "expected a list of 3 numbers, got %r" % (loadavg,))
            loads = [_number(filt, v, "%s.loadavg[%d]" % (rp, j)) for j, v in enumerate(loadavg)]
            row.update({"available": True, "degraded": num_cpus == 0,
                        "user_count": user_count, "num_cpus": num_cpus})
            if num_cpus:
                row["load_1min"], row["load_5min"], row["load_15min"] = (
                    v / num_cpus * 100 for v in loads)
        out.append(row)
    return out


# --------------------------------------------------------------------------- validation

# Keywords the small validator implements; anything else in the schema is refused so that no
# constraint is silently ignored.
_ANNOTATIONS = {"$schema", "$id", "$comment", "title", "description", "$defs", "default",
                "examples"}
_KEYWORDS = {"$ref", "type", "required", "properties", "additionalProperties", "items",
             "maxLength", "minLength", "pattern", "minimum", "enum", "x-unique-by",
             "x-collector-required"}
_SCHEMA_VALUED = {"additionalProperties", "items"}


def _check_schema(node, path):
    if isinstance(node, bool):
        return
    if not isinstance(node, dict):
        _fail("sam_validate", "schema" + path, "expected a schema object")
    for key, value in node.items():
        if key in ("$defs", "properties"):
            for sub, subschema in value.items():
                _check_schema(subschema, "%s/%s/%s" % (path, key, sub))
        elif key in _SCHEMA_VALUED:
            _check_schema(value, "%s/%s" % (path, key))
        elif key not in _KEYWORDS and key not in _ANNOTATIONS:
            _fail("sam_validate", "schema" + path, "unsupported keyword %r" % key)


def _resolve(root, ref):
    if not ref.startswith("#/"):
        _fail("sam_validate", "schema", "only local $ref are supported, got %r" % ref)
    node = root
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            _fail("sam_validate", "schema", "unresolvable $ref %r" % ref)
        node = node[part]
    return node


def _pattern(pattern):
    # JSON Schema patterns are ECMA-262 regexes: without the multiline flag "$" matches only at
    # the very end, whereas Python's "$" also matches before a final newline.  Translate a
    # trailing unescaped "$" so "2026-12-04T20:31:14\n" does not pass a "^...$" pattern.
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _is_type(value, t):
    if t == "null":
        return value is None
    if t == "boolean":
        return isinstance(value, bool)
    if t == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if t == "number":
        return (isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isfinite(value))
    if t == "string":
        return isinstance(value, str)
    if t == "array":
        return isinstance(value, (list, tuple))
    if t == "object":
        return isinstance(value, dict)
    return False


def _join(path, key):
    return "%s.%s" % (path, key) if path else key


def _validate(value, schema, path, root, errors):
    if schema is True:
        return
    if schema is False:
        errors.append("%s: not allowed" % (path or "(payload)"))
        return
    here = path or "(payload)"
    if "$ref" in schema:
        _validate(value, _resolve(root, schema["$ref"]), path, root, errors)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is_type(value, t) for t in types):
            errors.append("%s: expected %s, got %s" % (here, " or ".join(types), _type_name(value)))
            return
    if "enum" in schema and value not in schema["enum"]:
        errors.append("%s: %r is not one of %s" % (here, value, ", ".join(map(repr, schema["enum"]))))
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append("%s: longer than %d characters" % (here, schema["maxLength"]))
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append("%s: shorter than %d characters" % (here, schema["minLength"]))
        if "pattern" in schema and not _pattern(schema["pattern"]).search(value):
            errors.append("%s: %r does not match %s" % (here, value, schema["pattern"]))
    if (isinstance(value, (int, float)) and not isinstance(value, bool)
            and "minimum" in schema and value < schema["minimum"]):
        errors.append("%s: less than %s" % (here, schema["minimum"]))
    if isinstance(value, dict):
        for key in schema.get("required", ()):
            if key not in value:
                errors.append("%s: required field missing" % _join(path, key))
        for key in schema.get("x-collector-required", ()):
            if key not in value:
                errors.append("%s: missing; this collector always sends it (the server would store an omitted "
                              "counter as 0 or a flag as its default)" % _join(path, key))
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key in value:
            if key in props:
                _validate(value[key], props[key], _join(path, key), root, errors)
            elif extra is False:
                errors.append("%s: unknown field (the server would drop it silently)"
                              % _join(path, key))
            elif isinstance(extra, dict):
                _validate(value[key], extra, _join(path, key), root, errors)
    if isinstance(value, (list, tuple)):
        if "items" in schema:
            for i, item in enumerate(value):
                _validate(item, schema["items"], "%s[%d]" % (path, i), root, errors)
        fields = schema.get("x-unique-by")
        if fields:
            seen = {}
            for i, item in enumerate(value):
                if not isinstance(item, dict):
                    continue
                key = tuple(item.get(f) for f in fields)
                if key in seen:
                    if len(fields) == 1:
                        errors.append("%s[%d].%s: duplicate %r (also at %s[%d])"
                                      % (path, i, fields[0], key[0], path, seen[key]))
                    else:
                        errors.append("%s[%d]: duplicate (%s) = (%s) (also at %s[%d])"
                                      % (path, i, ", ".join(fields),
                                         ", ".join(map(repr, key)), path, seen[key]))
                else:
                    seen[key] = i


def sam_validate(payload, schema, system):
    """Validate a payload against the contract schema's definition for `system`.

    payload  the assembled payload dict.
    schema   the parsed roles/sam_payload/files/sam-status.schema.json (dict) or its JSON text.
    system   "derecho" or "casper" (selects schema["$defs"][system]).

    Returns the payload unchanged when it is valid; otherwise raises AnsibleFilterError
    "sam_validate: <system> payload invalid: <path>: <problem>; <path>: <problem>; ..." listing
    every violation.  Implements exactly: $ref (local), type, required, properties,
    additionalProperties, items, maxLength, minLength, pattern, minimum, enum, x-unique-by and
    x-collector-required (fields the server treats as optional but this collector must always send).
    """
    filt = "sam_validate"
    system = _system(filt, system)
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except ValueError as exc:
            _fail(filt, "schema", "not valid JSON: %s" % exc)
    _mapping(filt, schema, "schema")
    _check_schema(schema, "")
    defs = schema.get("$defs") or {}
    if system not in defs:
        _fail(filt, "schema", "no $defs/%s definition" % system)
    errors = []
    _validate(payload, defs[system], "", schema, errors)
    if errors:
        raise AnsibleFilterError("%s: %s payload invalid: %s" % (filt, system, "; ".join(errors)))
    return payload


class FilterModule(object):
    """SAM status payload filters."""

    def filters(self):
        return {
            "sam_node_fields": sam_node_fields,
            "sam_job_fields": sam_job_fields,
            "sam_queue_definitions": sam_queue_definitions,
            "sam_reservations": sam_reservations,
            "sam_filesystems": sam_filesystems,
            "sam_login_nodes": sam_login_nodes,
            "sam_validate": sam_validate,
        }
