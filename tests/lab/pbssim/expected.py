"""The PBS-derived part of the SAM payload, computed straight from the model.

Rules: sam-api-contract.md sections 1.4, 1.5 and 2.2-2.5.  Nothing here goes through a
parser; it reads the Cluster objects.  Lists are sorted deterministically:
queues and queue_definitions by name, user_project_queues by (queue, user, project),
node_types by node_type, reservations by (reservation_name, description).
"""
import datetime as _dt

from .model import KIB_PER_GIB
from .render import LOSSY_QUIRKS, quirk_targets

COUNTERS = ("running_jobs", "pending_jobs", "held_jobs", "cores_allocated", "gpus_allocated",
            "nodes_allocated", "cores_pending", "gpus_pending", "cores_held", "gpus_held")


def _pct(part, total, none_when_zero=False):
    if not total:
        return None if none_when_zero else 0.0
    return round(part * 100.0 / total, 2)


def casper_node_type(n):
    """Contract section 2.2 classification of one node (casper rules)."""
    if n.ngpus > 0:
        g = (n.gpu_type or "").lower()
        for key in ("mi300a", "h100", "a100", "v100"):
            if key in g:
                return "gpu-%s-%dway" % (key, n.ngpus)
        if "l40" in g:
            return "viz-l40"
        if "gp100" in g:
            return "viz-gp100"
        return "gpu"
    q = (n.qlist or "").lower()
    if "largemem" in q:
        return "largemem-%dcore" % n.ncpus
    if "jhublogin" in q:
        return "jhublogin"
    if "gdex" in q:
        return "gdex"
    if "htc" in q:
        return "htc-%dcore" % n.ncpus
    return "standard"


def node_category(system, n):
    if system == "derecho":
        return "gpu" if n.ngpus > 0 else "cpu"
    t = casper_node_type(n)
    if t.startswith("gpu"):
        return "gpu"
    if t.startswith("viz"):
        return "viz"
    return "cpu"


def system_state_bucket(state_text):
    s = state_text.lower()
    if "down" in s or "offline" in s:
        return "down"
    if "resv" in s:
        return "reserved"
    if "free" in s or "idle" in s:
        return "available"
    return None


def type_state_bucket(state_text):
    s = state_text.lower()
    if "down" in s or "offline" in s:
        return "nodes_down"
    if "free" in s or "idle" in s:
        return "nodes_available"
    if "job-busy" in s or "job-exclusive" in s:
        return "nodes_allocated"
    return None


def _hosts(exec_host):
    if not exec_host:
        return []
    return [part.split("/", 1)[0] for part in exec_host.split("+") if part]


def node_fields(cl, nodes=None):
    nodes = cl.nodes if nodes is None else nodes
    cats = ("cpu", "gpu", "viz") if cl.system == "casper" else ("cpu", "gpu")
    out = {}
    for c in cats:
        out["%s_nodes_total" % c] = 0
        out["%s_nodes_available" % c] = 0
        out["%s_nodes_down" % c] = 0
        out["%s_nodes_reserved" % c] = 0
    gpu_total = gpu_alloc = viz_total = viz_alloc = 0
    cores_total = cores_alloc = mem_total = mem_alloc = 0
    for n in nodes:
        c = node_category(cl.system, n)
        out["%s_nodes_total" % c] += 1
        b = system_state_bucket(n.state_text)
        if b:
            out["%s_nodes_%s" % (c, b)] += 1
        cores_total += n.ncpus
        cores_alloc += n.assigned_ncpus
        mem_total += n.mem_kb
        mem_alloc += n.assigned_mem_kb
        if c == "gpu":
            gpu_total += n.ngpus
            gpu_alloc += n.assigned_ngpus
        elif c == "viz":
            viz_total += n.ngpus
            viz_alloc += n.assigned_ngpus
    out.update({
        "cpu_cores_total": cores_total, "cpu_cores_allocated": cores_alloc,
        "cpu_cores_idle": cores_total - cores_alloc,
        "cpu_utilization_percent": _pct(cores_alloc, cores_total),
        "gpu_count_total": gpu_total, "gpu_count_allocated": gpu_alloc,
        "gpu_count_idle": gpu_total - gpu_alloc,
        "gpu_utilization_percent": _pct(gpu_alloc, gpu_total, none_when_zero=True),
        "memory_total_gb": round(mem_total / float(KIB_PER_GIB), 2),
        "memory_allocated_gb": round(mem_alloc / float(KIB_PER_GIB), 2),
        "memory_utilization_percent": _pct(mem_alloc, mem_total),
    })
    if cl.system == "casper":
        out.update({"viz_count_total": viz_total, "viz_count_allocated": viz_alloc,
                    "viz_count_idle": viz_total - viz_alloc,
                    "viz_utilization_percent": _pct(viz_alloc, viz_total, none_when_zero=True)})
    return out


def node_types(cl, nodes=None):
    nodes = cl.nodes if nodes is None else nodes
    types = {}
    for n in nodes:
        t = casper_node_type(n)
        d = types.get(t)
        if d is None:
            d = types[t] = {"node_type": t, "nodes_total": 0, "nodes_available": 0, "nodes_down": 0,
                            "nodes_allocated": 0, "cores_per_node": n.ncpus,
                            "memory_gb_per_node": int(round(n.mem_kb / float(KIB_PER_GIB), 2)),
                            "gpu_model": n.gpu_type.split(",")[0] if n.gpu_type else None,
                            "gpus_per_node": n.ngpus,
                            "_c": [0, 0, 0, 0, 0, 0]}  # cores tot/alloc, gpus tot/alloc, mem tot/alloc
        d["nodes_total"] += 1
        b = type_state_bucket(n.state_text)
        if b:
            d[b] += 1
        c = d["_c"]
        c[0] += n.ncpus
        c[1] += n.assigned_ncpus
        c[2] += n.ngpus
        c[3] += n.assigned_ngpus
        c[4] += n.mem_kb
        c[5] += n.assigned_mem_kb
    out = []
    for t in sorted(types):
        d = types[t]
        c = d.pop("_c")
        if c[2] > 0:
            d["utilization_percent"] = _pct(c[3], c[2])
        else:
            d["utilization_percent"] = _pct(c[1], c[0])
        d["memory_utilization_percent"] = _pct(c[5], c[4])
        out.append(d)
    return out


def _blank_row():
    return dict((k, 0) for k in COUNTERS)


def job_fields(cl, jobs):
    """running/pending/held_jobs, active_users, queues, user_project_queues."""
    res = {"running_jobs": 0, "pending_jobs": 0, "held_jobs": 0}
    users = set()
    queues = {}
    qusers = {}
    qhosts = {}
    upq = {}
    upq_hosts = {}
    for j in jobs:
        user = j.username
        if user is not None and user.strip() == "":
            user = None
        proj = (j.account or "").strip() or "_unknown_"
        qname = j.queue or "unknown"
        if user:
            users.add(user)
        q = queues.get(qname)
        if q is None:
            q = queues[qname] = _blank_row()
            qusers[qname] = set()
            qhosts[qname] = set()
        rows = [q]
        if user:
            qusers[qname].add(user)
            key = (qname, user, proj)
            r = upq.get(key)
            if r is None:
                r = upq[key] = _blank_row()
                upq_hosts[key] = set()
            rows.append(r)
        st = j.state
        if st == "R":
            res["running_jobs"] += 1
            hosts = _hosts(j.exec_host)
            qhosts[qname].update(hosts)
            if user:
                upq_hosts[(qname, user, proj)].update(hosts)
            for r in rows:
                r["running_jobs"] += 1
                r["cores_allocated"] += j.ncpus
                r["gpus_allocated"] += j.ngpus
        elif st == "Q":
            res["pending_jobs"] += 1
            for r in rows:
                r["pending_jobs"] += 1
                r["cores_pending"] += j.ncpus
                r["gpus_pending"] += j.ngpus
        elif st == "H":
            res["held_jobs"] += 1
            for r in rows:
                r["held_jobs"] += 1
                r["cores_held"] += j.ncpus
                r["gpus_held"] += j.ngpus
    res["active_users"] = len(users)
    qlist = []
    for name in sorted(queues):
        row = {"queue_name": name}
        row.update(queues[name])
        row["nodes_allocated"] = len(qhosts[name])
        row["active_users"] = len(qusers[name])
        qlist.append(row)
    ulist = []
    for key in sorted(upq):
        qname, user, proj = key
        row = {"username": user, "project_code": proj, "queue_name": qname}
        row.update(upq[key])
        row["nodes_allocated"] = len(upq_hosts[key])
        ulist.append(row)
    res["queues"] = qlist
    res["user_project_queues"] = ulist
    return res


def queue_definitions(cl, jobs=None, queues=None):
    jobs = cl.jobs if jobs is None else jobs
    count = {}
    for j in cl.jobs:
        count[j.queue] = count.get(j.queue, 0) + 1
    out = []
    for q in sorted(cl.queues if queues is None else queues, key=lambda x: x.name):
        out.append({"queue_name": q.name, "queue_type": q.queue_type, "enabled": bool(q.enabled),
                     "started": bool(q.started), "total_jobs": count.get(q.name, 0)})
    return out


def _iso(epoch):
    return _dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc).replace(tzinfo=None).isoformat()


def reservations(cl, resvs=None):
    out = []
    for r in (cl.reservations if resvs is None else resvs):
        out.append({"reservation_name": r.queue if r.name == "NULL" else r.name,
                    "description": r.id, "start_time": _iso(r.start), "end_time": _iso(r.end),
                    "node_count": len(r.nodes) if r.nodes else None,
                    "partition": r.partition})
    out.sort(key=lambda d: (d["reservation_name"], d["description"]))
    return out


def records_lost(cluster, command, fault=None):
    """Ids of records that the given fault makes unrecoverable (by design) for `command`.

    command: "jobs" (qstat -f), "queues" (qstat -Q -f), "nodes" (pbsnodes), "rstat" (pbs_rstat -f).
    fault: {"generation":..., "quirks": [...], "mode": ...} or None.
    Lost means: absent from stdout (fail mode, missing_container, empty/error modes).
    Every other quirk leaves each record recoverable with unchanged payload meaning.
    """
    fault = fault or {}
    mode = fault.get("mode", "ok")
    quirks = set(fault.get("quirks") or ())
    expand = bool(fault.get("expand", False))
    all_ids = {
        "jobs": [j.id for j in cluster.all_jobs(expand)],
        "nodes": [n.name for n in cluster.nodes],
        "queues": [q.name for q in cluster.queues],
        "rstat": [r.id for r in cluster.reservations],
    }[command]
    if mode in ("cannot_connect", "empty") or (mode == "no_node_list" and command == "nodes"):
        return list(all_ids)
    if command != "rstat" and (quirks & LOSSY_QUIRKS):
        return list(quirk_targets(cluster, ["missing_container"], expand)["missing_container"][command])
    if mode == "fail":
        return list(fail_dropped(cluster, command, expand))
    return []


def fail_dropped(cluster, command, expand=False):
    """Records left out of stdout by mode "fail" (deterministic)."""
    if command == "jobs":
        cand = [j.id for j in cluster.all_jobs(expand) if j.state == "R" and not j.array_parent]
        return cand[len(cand) // 2: len(cand) // 2 + 1]
    if command == "nodes":
        return [n.name for n in cluster.nodes[len(cluster.nodes) // 2:]]
    if command == "rstat":
        return [r.id for r in cluster.reservations[1:]]
    return []


def expected_payload(cluster, lost=None):
    """PBS-derived SAM payload fields.  lost: optional {"jobs"|"nodes"|"queues"|"rstat": ids}
    of records that did not reach the collector (see records_lost)."""
    lost = lost or {}
    lj = set(lost.get("jobs", ()))
    ln = set(lost.get("nodes", ()))
    lq = set(lost.get("queues", ()))
    lr = set(lost.get("rstat", ()))
    nodes = [n for n in cluster.nodes if n.name not in ln]
    jobs = [j for j in cluster.jobs if j.id not in lj]
    p = node_fields(cluster, nodes)
    p.update(job_fields(cluster, jobs))
    p["queue_definitions"] = queue_definitions(cluster, queues=[q for q in cluster.queues if q.name not in lq])
    p["reservations"] = reservations(cluster, [r for r in cluster.reservations if r.id not in lr])
    if cluster.system == "casper":
        p["node_types"] = node_types(cluster, nodes)
    return p
