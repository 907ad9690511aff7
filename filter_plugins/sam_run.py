# -*- coding: utf-8 -*-
"""Run orchestration filters: which systems a run covers, which login node reads PBS, the assembled
snapshot of each system, and the per-system summary an operator reads at the end of a run.

Field computations live in sam_status.py beside this file; this file only decides what is posted.
"""
from __future__ import annotations

import datetime
import importlib.util
import os

from ansible.errors import AnsibleFilterError

_spec = importlib.util.spec_from_file_location("sam_status_fields", os.path.join(os.path.dirname(__file__), "sam_status.py"))
fields = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fields)

# Sources whose failure means the system is not posted: the server would store their counters as 0.
REQUIRED_SOURCES = (("pbs_collect_nodes", "node query (pbsnodes)"), ("pbs_collect_jobs", "job query (qstat -f)"))


def _get(hostvars, host, name):
    try:
        return hostvars[host].get(name)
    except (KeyError, AttributeError):
        return None


def _failure(result):
    """None when a registered module result succeeded, else the reason it did not."""
    if result is None:
        return "did not run"
    if result.get("unreachable"):
        return "unreachable: %s" % (result.get("msg") or "no answer")
    if result.get("failed"):
        return result.get("msg") or "failed"
    if result.get("skipped"):
        return "skipped"
    return None


def sam_scope(systems, groups, play_hosts_all):
    """Map each system that has at least one login node in this run to its login nodes, in posting order.

    Called before anything connects, so unreachable hosts are still listed and reported later.
    """
    if not isinstance(systems, list):
        raise AnsibleFilterError("sam_scope: systems must be a list, got %r" % (systems,))
    scope = {}
    for system in systems:
        hosts = [h for h in groups.get(system, []) if h in play_hosts_all]
        if hosts:
            scope[system] = hosts
    return scope


def sam_first_answering(hosts, hostvars, play_hosts_all):
    """The first of hosts whose login probe succeeded, or '' when none did."""
    for host in hosts:
        if host in play_hosts_all and _failure(_get(hostvars, host, "login_probe_result")) is None:
            return host
    return ""


def _login_probes(system, hosts, hostvars):
    probes = []
    for host in hosts:
        result = _get(hostvars, host, "login_probe_result")
        entry = {"node_name": host, "result": None, "error": _failure(result)}
        if entry["error"] is None:
            entry["result"] = result
        node_type = _get(hostvars, host, "sam_login_node_type")
        if node_type:
            entry["node_type"] = node_type
        probes.append(entry)
    return probes


def _snapshot(system, hosts, hostvars):
    first = hosts[0]
    reader = _get(hostvars, first, "pbs_collect_reader") or ""
    snap = {"system": system, "reader": reader or None, "payload": None, "errors": [], "degraded": [], "parse": {}}
    if not reader:
        snap["errors"].append("no login node of %s answered (%s)" % (system, ", ".join(hosts)))
        return snap
    for var, label in REQUIRED_SOURCES:
        why = _failure(_get(hostvars, reader, var))
        if why:
            snap["errors"].append("%s failed on %s: %s" % (label, reader, why))
    if snap["errors"]:
        return snap

    nodes = _get(hostvars, reader, "pbs_collect_nodes")
    jobs = _get(hostvars, reader, "pbs_collect_jobs")
    for var in ("pbs_collect_nodes", "pbs_collect_jobs", "pbs_collect_queues"):
        report = (_get(hostvars, reader, var) or {}).get("parse") or {}
        if report.get("skipped_records") or any((report.get("repairs") or {}).values()):
            snap["parse"][var] = report
    payload = {"timestamp": nodes["collected_at"]}
    payload.update(fields.sam_node_fields(nodes, _get(hostvars, reader, "sam_node_type_rules"), system))
    payload.update(fields.sam_job_fields(jobs))
    payload["login_nodes"] = fields.sam_login_nodes(_login_probes(system, hosts, hostvars))
    for entry in payload["login_nodes"]:
        if not entry.get("available", True):
            snap["degraded"].append("login node %s unavailable" % entry["node_name"])

    usage = _get(hostvars, reader, "pbs_collect_filesystems")
    why = _failure(usage)
    if why:
        configured = _get(hostvars, reader, "sam_filesystems") or []
        usage = {"filesystems": [dict(name=(fs if isinstance(fs, str) else fs.get("name") or fs.get("path")),
                                      ok=False, error=why) for fs in configured]}
    payload["filesystems"] = fields.sam_filesystems(usage)
    for fs in (usage or {}).get("filesystems", []):
        if not fs.get("ok"):
            snap["degraded"].append("filesystem %s: %s" % (fs.get("name"), fs.get("error")))

    # Left out rather than sent empty: the server keeps the last roster and shows reservations for 30 minutes.
    queues = _get(hostvars, reader, "pbs_collect_queues")
    why = _failure(queues)
    if why:
        snap["degraded"].append("queue roster not sent: %s" % why)
    else:
        payload["queue_definitions"] = fields.sam_queue_definitions(queues)
    resv = _get(hostvars, reader, "pbs_collect_reservations")
    why = _failure(resv)
    if why:
        snap["degraded"].append("reservations not sent: %s" % why)
    else:
        payload["reservations"] = fields.sam_reservations(resv)
        for skipped in resv.get("unreadable") or []:
            snap["degraded"].append("reservation %s skipped: %s" % (skipped.get("resv_id"), skipped.get("reason")))
    snap["payload"] = payload
    return snap


def sam_snapshots(scope, hostvars, schema):
    """Assemble and validate one snapshot per system in scope, in posting order.

    A system whose node or job query failed, or with no answering login node, gets no payload and an
    error instead: posting it would store zeros. Timestamps are made distinct across systems (the
    server's filesystem rows are unique per timestamp and name, globally).
    """
    if not isinstance(scope, dict):
        raise AnsibleFilterError("sam_snapshots: scope must be a dict of system -> hosts, got %r" % (scope,))
    snaps = []
    used = set()
    for system, hosts in scope.items():
        snap = _snapshot(system, hosts, hostvars)
        payload = snap["payload"]
        if payload is not None:
            stamp = datetime.datetime.fromisoformat(payload["timestamp"])
            while stamp in used:
                stamp += datetime.timedelta(microseconds=1)
            used.add(stamp)
            payload["timestamp"] = stamp.isoformat(timespec="microseconds")
            try:
                fields.sam_validate(payload, schema, system)
            except AnsibleFilterError as exc:
                snap["errors"].append(str(exc))
                snap["payload"] = None
        snaps.append(snap)
    return snaps


def sam_run_summary(snapshots, post_results):
    """One entry per system: what was posted (with the API's answer) or why not, and what was degraded."""
    posted = {}
    for res in (post_results or {}).get("results", []):
        item = res.get("item")
        posted[item.get("system") if isinstance(item, dict) else item] = res
    summary = []
    for snap in snapshots:
        system = snap["system"]
        entry = {"system": system, "posted": False, "reader": snap.get("reader")}
        if snap["payload"] is None:
            entry["outcome"] = "NOT POSTED: " + "; ".join(snap["errors"])
        else:
            res = posted.get(system) or {}
            payload = snap["payload"]
            entry["timestamp"] = payload["timestamp"]
            entry["counts"] = {k: payload.get(k) for k in ("cpu_nodes_total", "gpu_nodes_total", "cpu_cores_total",
                                                           "running_jobs", "pending_jobs", "held_jobs", "active_users")}
            if res.get("skipped") or not res:
                entry["outcome"] = "not posted (check mode or skipped)"
            elif res.get("failed"):
                entry["outcome"] = "FAILED: %s" % res.get("msg")
            else:
                entry["posted"] = bool(res.get("status_code"))
                entry["outcome"] = res.get("msg") or "posted"
                entry["status_code"] = res.get("status_code")
                entry["status_id"] = (res.get("response") or {}).get("status_id")
            if res.get("artifact"):
                entry["artifact"] = res["artifact"]
            replayed = [t for t in res.get("delivered") or [] if t != payload["timestamp"]]
            if replayed:
                entry["replayed_from_spool"] = replayed
            for key in ("spooled", "dead_lettered", "dropped"):
                if res.get(key):
                    entry["spool_" + key if key != "spooled" else "waiting_in_spool"] = res[key]
        if snap.get("degraded"):
            entry["degraded"] = snap["degraded"]
        if snap.get("parse"):
            entry["pbs_output_repairs"] = snap["parse"]
        summary.append(entry)
    return summary


class FilterModule(object):
    def filters(self):
        return {
            "sam_scope": sam_scope,
            "sam_first_answering": sam_first_answering,
            "sam_snapshots": sam_snapshots,
            "sam_run_summary": sam_run_summary,
        }
