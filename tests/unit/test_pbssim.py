"""Tests for the PBS command simulator in tests/lab/pbssim (lab tool, not shipped code)."""
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from pbssim import (GENERATIONS, QUIRKS, build_cluster, expected_payload, quirk_targets,
                    records_lost, render_jobs, render_nodes, render_queues, render_rstat_full,
                    render_rstat_short)
from pbssim import cli
from pbssim.expected import casper_node_type
from pbssim.render import Writer

NOW = 1765000000.0          # Sat Dec  6 2025 05:46:40 UTC
BIN = Path(__file__).resolve().parents[1] / "lab" / "bin"


@pytest.fixture(scope="module")
def small_derecho():
    return build_cluster("derecho", seed=3, scale=0.05, jobs=150, now=NOW)


@pytest.fixture(scope="module")
def small_casper():
    return build_cluster("casper", seed=3, scale=0.3, jobs=400, now=NOW)


@pytest.fixture(scope="module")
def full_derecho():
    return build_cluster("derecho", now=NOW)


@pytest.fixture(scope="module")
def full_casper():
    return build_cluster("casper", now=NOW)


# ---------------------------------------------------------------------------------- model
def test_same_seed_same_cluster():
    a = build_cluster("casper", seed=5, scale=0.2, jobs=200, now=NOW)
    b = build_cluster("casper", seed=5, scale=0.2, jobs=200, now=NOW)
    assert render_jobs(a) == render_jobs(b)
    assert render_nodes(a) == render_nodes(b)
    assert render_queues(a) == render_queues(b)
    assert render_rstat_full(a) == render_rstat_full(b)
    c = build_cluster("casper", seed=6, scale=0.2, jobs=200, now=NOW)
    assert render_jobs(a) != render_jobs(c)


def test_structure_does_not_depend_on_now():
    a = build_cluster("derecho", seed=2, scale=0.05, jobs=100, now=NOW)
    b = build_cluster("derecho", seed=2, scale=0.05, jobs=100, now=NOW + 7 * 86400)
    assert [(j.id, j.state, j.exec_host) for j in a.jobs] == [(j.id, j.state, j.exec_host) for j in b.jobs]
    assert [n.state for n in a.nodes] == [n.state for n in b.nodes]


@pytest.mark.parametrize("fixture", ["small_derecho", "small_casper", "full_derecho", "full_casper"])
def test_node_assignment_matches_placed_jobs(request, fixture):
    cl = request.getfixturevalue(fixture)
    sums = {}
    for j in cl.placed_jobs():
        assert j.state in ("R", "E"), j.id
        for name, nc, ng, mem in j.chunks:
            s = sums.setdefault(name, [0, 0, 0])
            s[0] += nc
            s[1] += ng
            s[2] += mem
        hosts = [p.split("/")[0] for p in j.exec_host.split("+")]
        assert hosts == [c[0] for c in j.chunks]
        assert sum(int(p.split("*")[1]) for p in j.exec_host.split("+")) == j.ncpus
    for n in cl.nodes:
        s = sums.get(n.name, [0, 0, 0])
        assert (n.assigned_ncpus, n.assigned_ngpus, n.assigned_mem_kb) == tuple(s), n.name
        assert n.assigned_ncpus <= n.ncpus and n.assigned_ngpus <= n.ngpus
        st = n.state_text
        if n.assigned_ncpus == 0:
            assert "job-" not in st
        if "job-exclusive" in st or "job-busy" in st:
            assert n.assigned_ncpus > 0
        if not any(x in st for x in ("down", "offline", "resv", "job-")):
            assert st == "free"


def test_derecho_scale_one_shape(full_derecho):
    cl = full_derecho
    cpu = [n for n in cl.nodes if n.ngpus == 0]
    gpu = [n for n in cl.nodes if n.ngpus > 0]
    assert len(cpu) == 2488 and len(gpu) == 82
    assert cpu[0].name == "dec0001" and gpu[0].name == "deg0001"
    states = Counter(j.state for j in cl.jobs)
    assert 1100 <= states["R"] <= 1400 and 400 <= states["Q"] <= 800 and 40 <= states["H"] <= 120
    assert states["B"] >= 1 and len(cl.jobs) == 2000
    assert any(j.id.endswith("[].desched1") for j in cl.jobs)
    assert any(j.account is None for j in cl.jobs) and any(j.account == "" for j in cl.jobs)
    assert len(set(j.username for j in cl.jobs)) > 150
    assert all(len(j.account or "") <= 16 for j in cl.jobs)
    st = set(n.state_text for n in cl.nodes)
    for want in ("free", "job-exclusive", "down", "offline", "down,offline", "state-unknown,down",
                 "offline,resv-exclusive"):
        assert want in st
    names = [q.name for q in cl.queues]
    assert {"main", "cpu", "cpudev", "gpu", "gpudev"} <= set(names)
    assert any(n.startswith("R") for n in names) and any(n.startswith("S") for n in names)


def test_casper_node_types(full_casper):
    cnt = Counter(casper_node_type(n) for n in full_casper.nodes)
    assert cnt == {"htc-62core": 118, "jhublogin": 17, "largemem-36core": 8, "gdex": 8,
                   "gpu-a100-4way": 10, "gpu-h100-4way": 2, "gpu-v100-4way": 4, "gpu-v100-8way": 4,
                   "gpu-mi300a-4way": 2, "viz-l40": 6, "viz-gp100": 9}
    assert 5000 <= len(full_casper.jobs) <= 6000
    assert Counter(j.queue for j in full_casper.jobs).most_common(1)[0][0] == "htc"
    assert any("job-busy" == n.state_text for n in full_casper.nodes)


def test_scale_and_jobs_override():
    cl = build_cluster("casper", scale=0.01, jobs=7, now=NOW)
    assert len(cl.jobs) == 7
    assert len(set(casper_node_type(n) for n in cl.nodes)) == 11   # at least one node per type


# ---------------------------------------------------------------------------------- layout
def test_g3_layout(small_derecho):
    raw = render_nodes(small_derecho)
    text = raw.decode()
    doc = json.loads(raw)
    assert list(doc) == ["timestamp", "pbs_version", "pbs_server", "nodes"]
    assert text.startswith('{\n    "timestamp":1765000000,\n    "pbs_version":"2022.1.5.20230309203834",\n'
                           '    "pbs_server":"desched1",\n    "nodes":{\n')
    assert text.endswith("\n    }\n}\n")
    assert "\t" not in text and '": ' not in text and "{}" not in text
    for line in text.splitlines():
        ind = len(line) - len(line.lstrip(" "))
        assert ind % 4 == 0, line
    assert re.search(r'\n            "resources_assigned":\{\n            \}', text)
    assert '"resv_enable":"True"' in text
    assert re.search(r'"jobs":\[\n                "[^"]+"', text)
    idle = [n for n in doc["nodes"].values() if not n["resources_assigned"]]
    assert idle and all("jobs" not in n for n in idle)
    for n in doc["nodes"].values():
        assert all(v not in (0, "0kb") for v in n["resources_assigned"].values())
        assert isinstance(n["pcpus"], int) and isinstance(n["resources_available"]["mem"], str)


def test_g3_jobs_and_queues_typing(small_casper):
    jobs = json.loads(render_jobs(small_casper))["Jobs"]
    r = next(j for j in jobs.values() if j["job_state"] == "R")
    assert isinstance(r["Resource_List"]["ncpus"], int) and r["Rerunable"] in ("True", "False")
    assert re.match(r"\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$", r["ctime"])
    assert any(isinstance(j.get("Account_Name"), int) for j in jobs.values()) or \
        not any(j.account == "21500042" for j in small_casper.jobs)
    q = json.loads(render_queues(small_casper))["Queue"]
    assert q["casper"]["queue_type"] == "Route" and q["htc"]["enabled"] == "True"
    assert q["htc"]["state_count"].endswith("Begun:0 ")
    assert list(q)[:2] == ["htc", "casper"]          # server order, not sorted


def test_array_expansion(small_derecho):
    plain = json.loads(render_jobs(small_derecho))["Jobs"]
    expanded = json.loads(render_jobs(small_derecho, expand=True))["Jobs"]
    parents = [k for k in plain if k.endswith("[].desched1")]
    assert parents and all(plain[p]["job_state"] == "B" for p in parents)
    subs = [k for k in expanded if re.search(r"\[\d+\]", k)]
    assert subs and not any(re.search(r"\[\d+\]", k) for k in plain)
    assert all(expanded[s]["array_id"] in parents for s in subs)


def test_writer_generations():
    g0, g2, g3, g3b, g4 = (Writer(g) for g in ("G0", "G2", "G3", "G3b", "G4"))
    assert g0.scalar("1.5") == "1.500000" and g0.scalar("007") == "7" and g0.scalar("inf") == "inf"
    assert g0.scalar("123456789012345678901234567890") == "-9223372036854775808"
    assert g2.scalar("   ") == "" and g3.scalar("   ") == '"   "'
    assert g3.scalar("007") == '"007"' and g3.scalar("00") == "00" and g3.scalar("-007") == "-007"
    assert g3.scalar(".5") == ".5" and g3.scalar("1:ncpus=4") == '"1:ncpus=4"' and g3.scalar("40") == "40"
    assert g3b.scalar("00") == '"00"' and g3b.scalar(".5") == '".5"' and g3b.scalar("inf") == "inf"
    assert g4.scalar("0000") == "0" and g4.scalar("007") == "7" and g4.scalar("true") == "true"
    assert g4.scalar("1000000000000000") == "1e+15" and g4.scalar("UCSD0001") == '"UCSD0001"'
    assert g4.scalar("12345", key="Account_Name") == '"12345"'
    # escaping: G3 qstat look-behind, G3 pbsnodes full, G1 qstat raw
    assert Writer("G3", "jobs").scalar('"a" b\\$') == '""a\\" b\\$"'
    assert Writer("G3", "nodes").scalar('"a" b\\$') == '"\\"a\\" b\\\\$"'
    assert Writer("G1", "jobs").scalar('say "x"') == '"say "x""'
    assert Writer("G3").scalar("a\x1bb") == '"a^[b"'


@pytest.mark.parametrize("gen", GENERATIONS)
def test_every_generation_renders(small_casper, gen):
    for fn in (render_jobs, render_nodes, render_queues):
        out = fn(small_casper, gen)
        if gen in ("G2", "G3", "G3b", "G4"):
            json.loads(out)
        if gen == "G4":
            assert out.startswith(b'{\n\t"timestamp":\t') and b'\n    "' not in out
        else:
            assert out.startswith(b'{\n    "timestamp":')


def test_g4_layout(small_derecho):
    text = render_nodes(small_derecho, "G4").decode()
    assert '"jobs":\t["' in text
    assert re.search(r'"resources_assigned":\t\{\n\t+\}', text)
    json.loads(text)


# ---------------------------------------------------------------------------------- quirks
INVALID = {"bare_number", "inf_nan", "empty_value", "raw_quote", "raw_backslash", "invalid_escape",
           "leading_quote", "control_chars", "high_byte_mangling", "unbalanced_braces",
           "mixed_text_json"}
RENDER = {"jobs": render_jobs, "nodes": render_nodes, "queues": render_queues}


@pytest.mark.parametrize("quirk", sorted(QUIRKS))
def test_quirk_output(small_derecho, quirk):
    cl = small_derecho
    targets = quirk_targets(cl, [quirk])
    for cmd in QUIRKS[quirk]:
        if cmd == "rstat":
            out = render_rstat_full(cl, [quirk])
            assert b"^" in out
            continue
        out = RENDER[cmd](cl, "G3", [quirk])
        clean = RENDER[cmd](cl, "G3")
        if quirk in INVALID and not (cmd == "nodes" and quirk in ("leading_empty_line",)):
            with pytest.raises(ValueError):
                json.loads(out)
        if quirk in ("leading_empty_line",):
            assert out == b"\n" + clean
        if quirk == "missing_container":
            assert set(json.loads(out)) == {"timestamp", "pbs_version", "pbs_server"}
            continue
        if quirk == "mixed_text_json":
            assert out.startswith(b"Job id ") and out.endswith(clean)
        key = quirk + ":nodes" if (cmd == "nodes" and quirk + ":nodes" in targets) else quirk
        ids = targets.get(key) if cmd != "jobs" or key == quirk else []
        ids = ids if isinstance(ids, list) else []
        for rid in ids:
            assert ('"%s":{' % rid).encode() in out, (quirk, rid)
        assert out != clean or quirk in ("nonadjacent_duplicates",) and not targets[quirk]


def test_quirks_leave_payload_records_intact(small_derecho):
    """Injection only touches fields the payload ignores: a lenient parse sees the same jobs."""
    cl = small_derecho
    out = render_jobs(cl, "G3", ["bare_number", "raw_quote", "invalid_escape", "control_chars",
                                 "high_byte_mangling", "leading_quote", "empty_value", "inf_nan"])
    text = out.decode("utf-8", "replace")
    for j in cl.jobs:
        assert '"%s":{' % j.id in text
        assert '"job_state":"%s"' % j.state in text
    assert records_lost(cl, "jobs", {"quirks": ["bare_number", "raw_quote"]}) == []


def test_duplicate_keys_and_negative(small_derecho):
    pairs = []
    out = render_queues(small_derecho, "G3", ["duplicate_keys", "negative_assigned"])
    json.loads(out, object_pairs_hook=lambda p: pairs.append([k for k, _ in p]) or dict(p))
    assert any(Counter(keys)["max_queued"] > 1 for keys in pairs)
    assert b'"ncpus":-230256' in out


def test_nonadjacent_duplicates(small_casper):
    doc = json.loads(render_nodes(small_casper, "G3", ["nonadjacent_duplicates"]))
    lists = [n["jobs"] for n in doc["nodes"].values() if "jobs" in n]
    assert any(len(lst) != len(set(lst)) for lst in lists)
    assert all(all(a != b for a, b in zip(lst, lst[1:])) for lst in lists)


def test_missing_container_loses_everything(small_derecho):
    lost = records_lost(small_derecho, "jobs", {"quirks": ["missing_container"]})
    assert len(lost) == len(small_derecho.jobs)
    p = expected_payload(small_derecho, {"jobs": lost})
    assert p["running_jobs"] == 0 and p["queues"] == [] and p["user_project_queues"] == []


# ---------------------------------------------------------------------------------- rstat
def test_rstat(small_casper):
    text = render_rstat_full(small_casper).decode()
    blocks = [b for b in text.split("\n\n") if b.strip()]
    assert len(blocks) == len(small_casper.reservations) >= 4
    assert all(b.startswith("Resv ID: ") for b in blocks)
    assert "Reserve_Name = NULL" in text and "reserve_rrule = FREQ=WEEKLY;COUNT=3" in text
    assert re.search(r"reserve_start = \w{3} \w{3} \d\d \d\d:\d\d:\d\d \d{4}", text)
    assert text.endswith("partition = pbs-default\n\n")
    dst = next(r for r in small_casper.reservations if r.name == "dst_crossing")
    assert (dst.end - dst.start) == 48 * 3600    # 49 or 47 wall-clock hours across the change
    short = render_rstat_short(small_casper).decode().splitlines()
    assert short[1] == "-" * 69 and len(short) == 2 + len(small_casper.reservations)


# ---------------------------------------------------------------------------------- expected
def test_expected_payload_derecho_totals(full_derecho):
    p = expected_payload(full_derecho)
    assert p["cpu_nodes_total"] == 2488 and p["gpu_nodes_total"] == 82
    assert p["cpu_cores_total"] == 323712 and p["gpu_count_total"] == 328
    assert p["cpu_cores_idle"] == p["cpu_cores_total"] - p["cpu_cores_allocated"]
    assert p["memory_total_gb"] == 2488 * 235 + 82 * 480
    assert 0 < p["cpu_utilization_percent"] <= 100 and p["gpu_utilization_percent"] is not None
    assert "viz_nodes_total" not in p and "node_types" not in p
    for c in ("cpu", "gpu"):
        assert p["%s_nodes_available" % c] + p["%s_nodes_down" % c] + p["%s_nodes_reserved" % c] \
            <= p["%s_nodes_total" % c]
    assert p["cpu_nodes_down"] >= 20 and p["cpu_nodes_reserved"] >= 1
    states = Counter(j.state for j in full_derecho.jobs)
    assert (p["running_jobs"], p["pending_jobs"], p["held_jobs"]) == (states["R"], states["Q"], states["H"])
    assert [q["queue_name"] for q in p["queues"]] == sorted(q["queue_name"] for q in p["queues"])
    for key in ("running_jobs", "pending_jobs", "held_jobs", "cores_allocated", "gpus_allocated",
                "cores_pending", "gpus_pending", "cores_held", "gpus_held"):
        assert sum(r[key] for r in p["user_project_queues"]) == sum(q[key] for q in p["queues"])
    assert any(r["project_code"] == "_unknown_" for r in p["user_project_queues"])
    keys = [(r["queue_name"], r["username"], r["project_code"]) for r in p["user_project_queues"]]
    assert keys == sorted(keys) and len(keys) == len(set(keys))
    assert {d["queue_name"] for d in p["queue_definitions"]} == {q.name for q in full_derecho.queues}
    main = next(d for d in p["queue_definitions"] if d["queue_name"] == "main")
    assert main["queue_type"] == "Route" and main["enabled"] is True
    names = {r["reservation_name"] for r in p["reservations"]}
    null = next(r for r in full_derecho.reservations if r.name == "NULL")
    assert null.queue in names and "NULL" not in names
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$", r["start_time"]) for r in p["reservations"])


def test_expected_payload_casper(full_casper):
    p = expected_payload(full_casper)
    assert p["cpu_nodes_total"] == 151 and p["gpu_nodes_total"] == 22 and p["viz_nodes_total"] == 15
    nt = p["node_types"]
    assert [t["node_type"] for t in nt] == sorted(t["node_type"] for t in nt)
    assert sum(t["nodes_total"] for t in nt) == len(full_casper.nodes)
    a100 = next(t for t in nt if t["node_type"] == "gpu-a100-4way")
    assert a100["gpu_model"] == "a100" and a100["gpus_per_node"] == 4 and a100["cores_per_node"] == 64
    h100 = next(t for t in nt if t["node_type"] == "gpu-h100-4way")
    assert h100["gpu_model"] == "h100"
    htc = next(t for t in nt if t["node_type"] == "htc-62core")
    assert htc["gpu_model"] is None and htc["memory_gb_per_node"] == 720
    assert p["viz_count_total"] == 6 * 4 + 9 and p["gpu_count_total"] == 10 * 4 + 2 * 4 + 4 * 4 + 4 * 8 + 2 * 4
    assert p["active_users"] > 150


def test_expected_matches_rendered_output(small_casper):
    """Cross-check expected_payload against a plain json.loads of the clean G3 output."""
    nodes = json.loads(render_nodes(small_casper))["nodes"]
    p = expected_payload(small_casper)
    assert p["cpu_cores_total"] == sum(n["resources_available"]["ncpus"] for n in nodes.values())
    assert p["cpu_cores_allocated"] == sum(n["resources_assigned"].get("ncpus", 0) for n in nodes.values())
    jobs = json.loads(render_jobs(small_casper))["Jobs"]
    assert p["running_jobs"] == sum(1 for j in jobs.values() if j["job_state"] == "R")
    assert p["active_users"] == len({j["Job_Owner"].split("@")[0] for j in jobs.values()})


# ---------------------------------------------------------------------------------- CLI
def _cfg(tmp_path, faults=None, **systems):
    cfg = {"now": NOW,
           "systems": {"derecho": dict({"seed": 3, "scale": 0.05, "jobs": 150}, **systems.get("derecho", {})),
                       "casper": {"seed": 3, "scale": 0.1, "jobs": 50}},
           "hosts": {"derecho1": {"system": "derecho"}, "crlogin1": {"system": "casper"}},
           "faults": faults or {}}
    path = tmp_path / "pbssim.json"
    path.write_text(json.dumps(cfg))
    return {"PBSSIM_CONFIG": str(path), "PBSSIM_HOST": "derecho1"}


def test_cli_run_ok_and_same_state_from_every_host(tmp_path):
    env = _cfg(tmp_path)
    r1 = cli.run(["qstat", "-f", "-F", "json"], env)
    r2 = cli.run(["qstat", "-f", "-F", "json"], dict(env, PBSSIM_HOST="derecho7"))
    assert r1.rc == 0 and r1.out == r2.out and json.loads(r1.out)["pbs_server"] == "desched1"
    cas = cli.run(["pbsnodes", "-aj", "-F", "json"], dict(env, PBSSIM_HOST="crlogin1"))
    assert json.loads(cas.out)["pbs_server"] == "casper-pbs"
    assert cli.run(["qstat", "-Qf", "-F", "json", "@desched1"], env).rc == 0
    assert cli.run(["pbsnodes", "-a", "-F", "json", "-s", "desched1"], env).rc == 0
    assert cli.run(["pbssim", "pbs_rstat", "-F"], env).out.startswith(b"Resv ID: ")
    assert cli.run(["qstat", "-f", "-t", "-F", "json"], env).rc == 0


@pytest.mark.parametrize("args,rc,msg", [
    (["qstat", "-F", "json"], 2, "qstat: conflicting options."),
    (["qstat", "-f", "-Z", "-F", "json"], 2, "invalid option"),
    (["pbsnodes", "-a", "-F", "json", "--bogus"], 2, "unrecognized option"),
    (["pbs_rstat", "-x"], 2, "invalid option"),
    (["qstat", "-f", "-F", "json", "@otherserver"], 162, "cannot connect to server otherserver"),
    (["qstat", "-f", "-F", "json", "1"], 153, "qstat: Unknown Job Id 1.desched1"),
])
def test_cli_argument_errors(tmp_path, args, rc, msg):
    res = cli.run(args, _cfg(tmp_path))
    assert res.rc == rc and msg in res.err


def test_cli_unknown_job_prints_header_only(tmp_path):
    res = cli.run(["qstat", "-f", "-F", "json", "1"], _cfg(tmp_path))
    assert set(json.loads(res.out)) == {"timestamp", "pbs_version", "pbs_server"}


@pytest.mark.parametrize("cmd,mode,rc,stderr,stdout", [
    (["pbsnodes", "-aj", "-F", "json"], "no_node_list", 1, "pbsnodes: Server has no node list", False),
    (["qstat", "-f", "-F", "json"], "cannot_connect", 162,
     "qstat: cannot connect to server desched1 (errno=15010)", False),
    (["pbsnodes", "-aj", "-F", "json"], "cannot_connect", 1, "pbsnodes: cannot connect to server desched1", False),
    (["qstat", "-f", "-F", "json"], "stderr_noise", 0, "pbs_iff: cannot connect to host", True),
    (["qstat", "-Q", "-f", "-F", "json"], "empty", 0, "", False),
    (["qstat", "-f", "-F", "json"], "fail", 153, "qstat: Unknown Job Id", True),
    (["pbsnodes", "-aj", "-F", "json"], "fail", 1, "pbsnodes:", True),
    (["pbs_rstat", "-f"], "fail", 1, "pbs_rstat:", True),
    (["qstat", "-f", "-F", "json"], "hang", 0, "", True),
])
def test_failure_modes(tmp_path, cmd, mode, rc, stderr, stdout):
    key = {"qstat": "qstat", "pbsnodes": "pbsnodes", "pbs_rstat": "pbs_rstat"}[cmd[0]]
    env = _cfg(tmp_path, {"derecho1": {key: {"mode": mode, "hang_seconds": 0}}})
    res = cli.run(cmd, env)
    assert res.rc == rc
    assert stderr in res.err
    assert bool(res.out) == stdout
    if mode == "fail" and cmd[0] == "qstat":
        doc = json.loads(res.out)
        cl = cli.cluster_for(cli.load_config(env), "derecho")
        lost = records_lost(cl, "jobs", {"mode": "fail"})
        assert len(lost) == 1 and lost[0] not in doc["Jobs"] and lost[0] in res.err
        assert len(doc["Jobs"]) == len(cl.jobs) - 1


def test_fault_keys_override(tmp_path):
    env = _cfg(tmp_path, {"derecho1": {"qstat": {"generation": "G4"},
                                       "qstat_queues": {"quirks": ["leading_empty_line"]}}})
    assert cli.run(["qstat", "-f", "-F", "json"], env).out.startswith(b'{\n\t"timestamp"')
    assert cli.run(["qstat", "-Q", "-f", "-F", "json"], env).out.startswith(b'\n{\n    "timestamp"')
    assert cli.run(["qstat", "-f", "-F", "json"], dict(env, PBSSIM_HOST="derecho2")).out.startswith(
        b'{\n    "timestamp"')


def test_symlinks_and_subprocess(tmp_path):
    for name in ("pbsnodes", "qstat", "pbs_rstat"):
        link = BIN / name
        assert link.is_symlink() and os.readlink(str(link)) == "pbssim"
    env = dict(os.environ, **_cfg(tmp_path))
    env.pop("PYTHONPATH", None)
    p = subprocess.run([str(BIN / "qstat"), "-f", "-F", "json"], env=env, capture_output=True)
    assert p.returncode == 0 and json.loads(p.stdout)["Jobs"]
    p = subprocess.run([str(BIN / "qstat"), "-F", "json"], env=env, capture_output=True)
    assert p.returncode == 2 and b"conflicting options" in p.stderr and p.stdout == b""
    p = subprocess.run([str(BIN / "pbs_rstat"), "-f"], env=env, capture_output=True)
    assert p.returncode == 0 and p.stdout.startswith(b"Resv ID: ")
    p = subprocess.run([sys.executable, str(BIN / "pbssim"), "pbsnodes", "-a", "-F", "json"],
                       env=dict(env, PBSSIM_HOST="crlogin1"), capture_output=True)
    assert p.returncode == 0 and json.loads(p.stdout)["pbs_server"] == "casper-pbs"


def test_standalone_without_config():
    res = cli.run(["pbsnodes", "-a", "-F", "json"], {"PBSSIM_SYSTEM": "casper", "PBSSIM_HOST": "x"})
    assert res.rc == 0 and len(json.loads(res.out)["nodes"]) == 188
