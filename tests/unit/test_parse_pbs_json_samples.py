"""Every real pbsnodes / qstat -f / qstat -Q -f / qstat -B -f JSON sample in shared/pbs-samples parses.

Counts and one or two values per file are asserted, and the parse report says exactly what was repaired.
Samples edited by their publishers (elisions, annotations) are read with a reported repair or a
clear skip; the test names which and why.
"""
import json
from pathlib import Path

import pytest

from ansible.module_utils.pbs_json import load_pbs_json
from ansible.module_utils.pbs_nodes import summarize_nodes
from ansible.module_utils.pbs_jobs import summarize_jobs
from ansible.module_utils.pbs_queues import summarize_queues

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "pbs-samples"
pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared/pbs-samples not available")


def _repairs(report):
    return dict((k, v) for k, v in report["repairs"].items() if v)


def _load(name, container):
    return load_pbs_json((SAMPLES / name).read_bytes(), container)


def _polaris(h, r, rep):
    # Author replaced the remaining nodes by a "..." line: dropped and counted, the 3 nodes are read.
    assert rep["examples"] == ["line 96: elision line (...) dropped"]
    assert r["x3006c0s13b1n0"]["resources_assigned"] == {}
    assert r["x3009c0s19b0n0"]["comment"] == "node down: communication closed"
    assert r["x3008c0s37b1n0"]["jobs"] == ["1147579.polaris-pbs-01.hsn.cm.polaris.alcf.anl.gov"]
    out = summarize_nodes(h, r)
    assert out["node_count"] == 3
    assert [g["state"] for g in out["node_groups"]] == [["free"], ["job-exclusive"], ["down"]]
    assert out["node_groups"][0]["mem_kb"] == 527672488


def _aurora_q(h, r, rep):
    assert list(r)[:3] == ["validation", "debug", "alcf_daos_cn"]
    q = summarize_queues(h, r)["queues"]
    assert len(q) == 34
    by = dict((x["queue_name"], x) for x in q)
    assert by["lustre_scaling"]["enabled"] is False
    assert by["prod"] == {"queue_name": "prod", "queue_type": "Route", "enabled": True, "started": True, "total_jobs": 75}
    assert by["R5822932"]["started"] is False


def _aurora_b(h, r, rep):
    srv = r["aurora-pbs-0001.hostmgmt.cm.aurora.alcf.anl.gov"]
    assert srv["resources_assigned"]["ncpus"] == -230256
    assert srv["max_job_sequence_id"] == 999999999999


def _aurora_567(h, r, rep):
    out = summarize_jobs(h, r)
    assert out["job_count"] == 8
    assert out["state_counts"] == {"H": 5, "Q": 1, "F": 2}
    held = sum(row["held_jobs"] for row in out["rows"])
    assert held == 5
    ebig = [row for row in out["rows"] if row["queue"] == "backfill-large"][0]
    assert (ebig["username"], ebig["project"], ebig["held_jobs"], ebig["cores_held"]) == ("mmin", "EnergyApps", 3, 4992000)
    assert out["queue_nodes_allocated"] == {}


def _aurora_c629(h, r, rep):
    job = r["6617175.aurora-pbs-0001.hostmgmt.cm.aurora.alcf.anl.gov"]
    assert job["Exit_status"] == -29
    assert job["Resource_List"]["select"] == 40
    assert summarize_jobs(h, r)["state_counts"] == {"F": 3, "H": 1}


def _buildtest_q(h, r, rep):
    assert rep["examples"] == ["leading text before the JSON object skipped (1 lines)"]
    assert summarize_queues(h, r)["queues"] == [
        {"queue_name": "workq", "queue_type": "Execution", "enabled": True, "started": True, "total_jobs": 0}]


def _buildtest_held(h, r, rep):
    out = summarize_jobs(h, r)
    assert out["state_counts"] == {"H": 1}
    assert out["rows"][0]["username"] == "pbsuser" and out["rows"][0]["cores_held"] == 1
    assert r["157.pbs"]["Resource_List"]["nodes"] == 1


def _fc_nodes(h, r, rep):
    assert r["pbs"]["resources_assigned"] == {}
    out = summarize_nodes(h, r)
    assert out["pbs_server"] == "pbs" and out["pbs_version"] == "23.06.06"
    assert out["node_groups"] == [{"count": 1, "state": ["free"], "ncpus": 1, "ngpus": 0, "mem_kb": 1048576,
                                   "qlist": None, "gpu_type": None, "assigned_ncpus": 0, "assigned_ngpus": 0,
                                   "assigned_mem_kb": 0, "first_node": "pbs"}]


def _fc_allusers(h, r, rep):
    out = summarize_jobs(h, r)
    assert out["state_counts"] == {"F": 2, "R": 1}
    assert out["queue_nodes_allocated"] == {"workq": 1}
    run = [row for row in out["rows"] if row["running_jobs"]][0]
    assert (run["username"], run["project"], run["cores_allocated"], run["nodes_allocated"]) == ("firesrv", None, 1, 1)


def _fc_qstat(h, r, rep):
    # stdout starts with an empty line: skipped silently (blank text is not counted as leading text)
    assert (SAMPLES / "firecrest-v2__openpbs-23.06.06__ssh_qstat_command.stdout.txt").read_bytes().startswith(b"\n{")
    assert list(r) == ["1.pbs"] and r["1.pbs"]["job_state"] == "R"


def _fc_partitions(h, r, rep):
    assert summarize_queues(h, r)["queues"][0]["queue_name"] == "workq"


def _hyperqueue(h, r, rep):
    assert r["qexp"]["max_run_res"] == {"ncpus": "[u:PBS_GENERIC=144]", "nodect": "[u:PBS_GENERIC=4]"}
    assert summarize_queues(h, r)["queues"][0]["total_jobs"] == 2


def _casper_q(h, r, rep):
    by = dict((q["queue_name"], q) for q in summarize_queues(h, r)["queues"])
    assert by["htc"]["total_jobs"] == 502 and by["casper"]["queue_type"] == "Route"


def _derecho_q(h, r, rep):
    by = dict((q["queue_name"], q) for q in summarize_queues(h, r)["queues"])
    assert by["cpu"]["queue_type"] == "Execution" and by["main"]["queue_type"] == "Route"


def _issue1333(h, r, rep):
    jobs = r["node0017"]["jobs"]
    assert len(jobs) == 8 and "30right01-ght01-thx" in jobs


def _issue2672(h, r, rep):
    # "# qstat ..." prompt before the JSON, and the author's "... job details" line inside the job
    assert r["10.ip-10-0-6-176"] == {"Job_Name": "STDIN", "Submit_Host": "ip-10-0-6-176.us-west-2.compute.internal"}
    assert h["pbs_version"] == "latest"


def _issue2677(h, r, rep):
    # cJSON duplicate keys: last value kept, each extra occurrence counted; "..." elisions dropped
    assert r["QueueA"] == {"max_queued": "[u:tom=15]"}
    assert sum(1 for e in rep["examples"] if "duplicate key 'max_queued'" in e) == 2


def _pr2675(h, r, rep):
    # text table, then a JSON object without "Jobs"
    assert h == {"timestamp": 1749572608, "pbs_version": "23.06.06", "pbs_server": "VMa"}
    assert summarize_jobs(h, r)["job_count"] == 0


def _pajamas_nodes(h, r, rep):
    # The author wrote a state list after "state":"free", on the same line. PBS never writes that, and
    # the node's state cannot be trusted: the record is skipped with a clear reason, nothing invented.
    assert rep["examples"] == ["record 'aice003' skipped: line 9 has an unreadable value for 'state'"]


def _pajamas_job(h, r, rep):
    job = r["3472664.pbshpc"]
    assert json.loads(job["Resource_List"]["site"]) == {"job.q_prio": 100.0, "job.ncpus": 1.0, "job.walltime": 1200,
                                                        "job.ngpus": 1.0}
    assert job["Variable_List"]["PBS_NCPUS"] == 1
    out = summarize_jobs(h, r)
    assert out["rows"][0]["gpus_allocated"] == 1 and out["queue_nodes_allocated"] == {"standard": 1}


def _exporter_vnode(h, r, rep):
    assert list(r) == ["cpu1n001", "cpu1n001[0]", "cpu1n001[1]"]
    out = summarize_nodes(h, r)
    # the natural vnode of the multi-vnode host (ncpus 0, mem 0b) is not a node
    assert out["node_count"] == 2
    assert out["node_groups"][0]["first_node"] == "cpu1n001[0]"
    assert out["node_groups"][0]["qlist"] == "cpu_inter_exec,ded_cpu_i"   # lower-case "qlist" key
    assert out["node_groups"][0]["assigned_mem_kb"] == 184549376


def _exporter_node(h, r, rep):
    g = summarize_nodes(h, r)["node_groups"][0]
    assert (g["ncpus"], g["ngpus"], g["qlist"], g["assigned_ngpus"]) == (168, 4, "gpu_batch_exec,ded_gpu_b,eb_build", 4)


def _jq(h, r, rep):
    # Not PBS output: jq re-serialised .Jobs (no container) and the author cut the listing short.
    assert h["349710.polaris-pbs-01.hsn.cm.polaris.alcf.anl.gov"]["Job_Name"] == "P38"


# file, container, record count, repairs (non-zero only), skipped_records, container_missing, check
CASES = [
    ("alcf-pbs_utils__pbspro-2022.1.1__pbsnodes-a-F-json__polaris-excerpt.txt", "nodes", 3, {"junk_line": 1}, 0, False, _polaris),
    ("aurora-pbs_monitor__pbspro-2022.1.7__qstat-Q-f-F-json.json", "Queue", 34, {}, 0, False, _aurora_q),
    ("aurora-pbs_monitor__pbspro-2022.1.7__qstat-B-f-F-json.json", "Server", 1, {}, 0, False, _aurora_b),
    ("aurora-pbs_monitor__pbspro-2022.1.7__qstat-x-f-F-json__567e020.json", "Jobs", 8, {}, 0, False, _aurora_567),
    ("aurora-pbs_monitor__pbspro-2022.1.7__qstat-x-f-F-json__c629ba2.json", "Jobs", 4, {}, 0, False, _aurora_c629),
    ("buildtest-docs__openpbs-19.0.0-docker__qstat-Q-f-F-json.txt", "Queue", 1, {"leading_text": 1}, 0, False, _buildtest_q),
    ("buildtest-src__openpbs-19.0.0-docker__qstat-x-f-F-json__held-job.txt", "Jobs", 1, {"leading_text": 1}, 0, False, _buildtest_held),
    ("firecrest-v2__openpbs-23.06.06__ssh_pbsnodes_command.stdout.txt", "nodes", 1, {}, 0, False, _fc_nodes),
    ("firecrest-v2__openpbs-23.06.06__ssh_qstat_allusers_command.stdout.txt", "Jobs", 3, {}, 0, False, _fc_allusers),
    ("firecrest-v2__openpbs-23.06.06__ssh_qstat_command.stdout.txt", "Jobs", 1, {}, 0, False, _fc_qstat),
    ("firecrest-v2__openpbs-23.06.06__ssh_qstat_partitions_command.stdout.txt", "Queue", 1, {}, 0, False, _fc_partitions),
    ("hyperqueue__openpbs-20.0.1__qstat-Q-f-F-json__barbora-qexp.json", "Queue", 1, {}, 0, False, _hyperqueue),
    ("ncar-sage-dashboard__pbspro-2022.1.5__qstat-Q-f-F-json__casper.json", "Queue", 22, {}, 0, False, _casper_q),
    ("ncar-sage-dashboard__pbspro-2022.1.5__qstat-Q-f-F-json__derecho-2024-11-13.json", "Queue", 14, {}, 0, False, _derecho_q),
    ("ncar-sage-dashboard__pbspro-2022.1.5__qstat-Q-f-F-json__derecho-2024-11-23.json", "Queue", 14, {}, 0, False, _derecho_q),
    ("openpbs-issue-1333__pbspro-18.1.4__pbsnodes-vSj-F-json__corrupted-jobs.json", "nodes", 1, {}, 0, False, _issue1333),
    ("openpbs-issue-2672__openpbs-main-cjson__qstat-f-F-json-two-ids__only-first-job__abridged.txt", "Jobs", 1,
     {"leading_text": 1, "junk_line": 1}, 0, False, _issue2672),
    ("openpbs-issue-2677__openpbs-main-cjson__qstat-Qf-F-JSON__duplicate-keys__abridged.txt", "Queue", 1,
     {"duplicate_key": 2, "junk_line": 3}, 0, False, _issue2677),
    ("openpbs-pr-2675__openpbs-main-cjson__qstat-u-fF-JSON__mixed-text-and-json.txt", "Jobs", 0, {"leading_text": 1}, 0, True, _pr2675),
    ("pajamas-iitd__pbspro-2021.1.3__pbsnodes-a-F-json__annotated.txt", "nodes", 0, {}, 1, False, _pajamas_nodes),
    ("pajamas-iitd__pbspro-2021.1.3__qstat-f-F-json__interactive-job.json", "Jobs", 1, {}, 0, False, _pajamas_job),
    ("pbs_exporter__pbspro-2024.1.2__pbsnodes-a-F-json__multivnode.json", "nodes", 3, {}, 0, False, _exporter_vnode),
    ("pbs_exporter__pbspro-2025.2.0__pbsnodes-a-F-json__node.json", "nodes", 1, {}, 0, False, _exporter_node),
    ("alcf-user-guides__pbspro-2022.1.x__qstat-fF-JSON-piped-through-jq__polaris.txt", "Jobs", 0,
     {"leading_text": 1, "unbalanced": 1}, 0, True, _jq),
]


@pytest.mark.parametrize("name,container,count,repairs,skipped,missing,check", CASES, ids=[c[0][:60] for c in CASES])
def test_sample(name, container, count, repairs, skipped, missing, check):
    header, records, report = _load(name, container)
    assert len(records) == count
    assert _repairs(report) == repairs
    assert report["skipped_records"] == skipped
    assert report["container_missing"] is missing
    assert len(report["examples"]) <= 5 and all(len(e) <= 200 for e in report["examples"])
    check(header, records, report)


def test_every_json_sample_is_covered():
    """Guard: a new JSON-producing sample in shared/pbs-samples must be added to CASES."""
    covered = set(c[0] for c in CASES)
    json_like = set()
    for p in SAMPLES.iterdir():
        if p.name == "SOURCES.md" or p.name.endswith(".wrapper.json"):
            continue
        if b'"pbs_version"' in p.read_bytes() or b'"Jobs"' in p.read_bytes():
            json_like.add(p.name)
    assert json_like - covered == set()


@pytest.mark.parametrize("stem,container", [
    ("firecrest-v2__openpbs-23.06.06__ssh_pbsnodes_command", "nodes"),
    ("firecrest-v2__openpbs-23.06.06__ssh_qstat_allusers_command", "Jobs"),
    ("firecrest-v2__openpbs-23.06.06__ssh_qstat_command", "Jobs"),
    ("firecrest-v2__openpbs-23.06.06__ssh_qstat_partitions_command", "Queue"),
])
def test_firecrest_wrapper_stdout_equals_stdout_file(stem, container):
    wrapper = json.loads((SAMPLES / (stem + ".wrapper.json")).read_text())
    assert wrapper["exit_code"] == 0
    from_wrapper = load_pbs_json(wrapper["stdout"], container)
    from_file = load_pbs_json((SAMPLES / (stem + ".stdout.txt")).read_bytes(), container)
    assert from_wrapper == from_file


def test_pajamas_node_without_the_annotation_keeps_duplicate_job_ids():
    """Quirk 16 on real data: with the author's annotation removed, the node reads and its jobs array keeps
    the non-adjacent duplicates exactly as PBS wrote them."""
    raw = (SAMPLES / "pajamas-iitd__pbspro-2021.1.3__pbsnodes-a-F-json__annotated.txt").read_text()
    annotated = '"state":"free", ["free", "job-busy", "offline", "down", "state-unknown"]'
    assert annotated in raw
    header, records, report = load_pbs_json(raw.replace(annotated, '"state":"free",'), "nodes")
    assert report["skipped_records"] == 0 and not any(report["repairs"].values())
    jobs = records["aice003"]["jobs"]
    assert len(jobs) == 17 and jobs.count("3469111.pbshpc") == 6 and len(set(jobs)) == 9
    g = summarize_nodes(header, records)["node_groups"][0]
    assert (g["ncpus"], g["ngpus"], g["mem_kb"], g["assigned_ncpus"], g["assigned_ngpus"]) == (64, 2, 514260 * 1024, 62, 2)
