"""summarize_nodes / summarize_jobs / summarize_queues on hand-made records (shapes per the shared spec)."""
from ansible.module_utils.pbs_json import new_report
from ansible.module_utils.pbs_jobs import summarize_jobs
from ansible.module_utils.pbs_nodes import summarize_nodes
from ansible.module_utils.pbs_queues import summarize_queues

HEADER = {"timestamp": 1, "pbs_version": "2022.1.5.20240213134632", "pbs_server": "desched1"}


def node(state, ncpus=128, ngpus=None, mem="251gb", qlist=None, gpu_type=None, assigned=None, key="Qlist"):
    avail = {"ncpus": ncpus, "mem": mem}
    if ngpus is not None:
        avail["ngpus"] = ngpus
    if qlist is not None:
        avail[key] = qlist
    if gpu_type is not None:
        avail["gpu_type"] = gpu_type
    return {"state": state, "resources_available": avail, "resources_assigned": assigned or {}}


def test_nodes_grouping_order_and_sums():
    recs = {
        "dec0001": node("job-busy", assigned={"ncpus": 128, "mem": "200gb"}),
        "dec0002": node("free"),
        "dec0003": node("job-busy", assigned={"ncpus": "64"}),
        "deg0001": node("down,offline", ncpus=64, ngpus=4, mem="512gb", qlist="gpu,gpudev", gpu_type="a100",
                        assigned={"ngpus": 4}),
        "deg0002": node("Down,Offline", ncpus=64, ngpus="4", mem="524288mb", qlist="gpu,gpudev", gpu_type="a100"),
        "crhtc01": node("free", ncpus=62, mem="abc", qlist="htc", key="qlist"),
        "crhtc02": node("free", ncpus=62, mem=None, qlist="htc", key="qlist"),
    }
    out = summarize_nodes(HEADER, recs)
    assert out["node_count"] == 7 and out["pbs_server"] == "desched1" and out["pbs_version"] == HEADER["pbs_version"]
    assert [(g["first_node"], g["count"]) for g in out["node_groups"]] == [
        ("dec0001", 2), ("dec0002", 1), ("deg0001", 2), ("crhtc01", 2)]
    busy, free, gpu, htc = out["node_groups"]
    assert busy == {"count": 2, "state": ["job-busy"], "ncpus": 128, "ngpus": 0, "mem_kb": 263192576, "qlist": None,
                    "gpu_type": None, "assigned_ncpus": 192, "assigned_ngpus": 0, "assigned_mem_kb": 209715200,
                    "first_node": "dec0001"}
    assert gpu["state"] == ["down", "offline"] and gpu["assigned_ngpus"] == 4 and gpu["mem_kb"] == 536870912
    assert (htc["qlist"], htc["mem_kb"]) == ("htc", 0)


def test_nodes_qlist_exact_key_wins_over_lower_case():
    recs = {"n1": {"state": "free", "resources_available": {"Qlist": "cpu", "qlist": "other", "ncpus": 1}}}
    assert summarize_nodes(HEADER, recs)["node_groups"][0]["qlist"] == "cpu"


def test_nodes_missing_everything_and_non_object_records():
    rep = new_report()
    out = summarize_nodes({}, {"n1": {}, "n2": "garbage", "n3": {"resources_available": "x", "resources_assigned": []}},
                          rep)
    assert out["node_count"] == 2 and out["pbs_server"] is None
    assert out["node_groups"][0] == {"count": 2, "state": [], "ncpus": 0, "ngpus": 0, "mem_kb": 0, "qlist": None,
                                     "gpu_type": None, "assigned_ncpus": 0, "assigned_ngpus": 0, "assigned_mem_kb": 0,
                                     "first_node": "n1"}
    assert rep["skipped_records"] == 1


def test_nodes_multivnode_parent_only_skipped_when_children_exist():
    parent = dict(node("free", ncpus=0, mem="0b"), in_multivnode_host=1)
    child = dict(node("free", ncpus=188, mem="740393mb"), in_multivnode_host=1)
    out = summarize_nodes(HEADER, {"h1": parent, "h1[0]": child, "h1[1]": child})
    assert out["node_count"] == 2
    lone = summarize_nodes(HEADER, {"h2": parent})            # no children: it is a (resource-less) node
    assert lone["node_count"] == 1


def job(state, owner="alice@login1", account="UCSD0001", queue="cpu", ncpus=1, ngpus=None, exec_host=None):
    rl = {}
    if ncpus is not None:
        rl["ncpus"] = ncpus
    if ngpus is not None:
        rl["ngpus"] = ngpus
    j = {"job_state": state, "Job_Owner": owner, "Account_Name": account, "queue": queue, "Resource_List": rl}
    if exec_host:
        j["exec_host"] = exec_host
    return j


def test_jobs_rows_counts_and_nodes():
    recs = {
        "1.pbs": job("R", ncpus=256, exec_host="dec0001/0*128+dec0002/0*128"),
        "2.pbs": job("R", ncpus="128", exec_host="dec0002/0*128"),
        "3.pbs": job("Q", ncpus=64),
        "4.pbs": job("H", ncpus=32, ngpus="2"),
        "5.pbs": job("R", owner="bob@login2", account=" NCAR0002 ", queue="gpu", ncpus=64, ngpus=4,
                     exec_host="deg0001/0*64"),
        "6.pbs": job("E", ncpus=1),
        "7.pbs": job("B", owner="", account="", queue="", ncpus=None),
        "8.pbs": {"Job_Owner": "carol@x", "queue": "cpu"},
        "9.pbs": job("R", owner="dave@x", ncpus=128, exec_host="dec0001/1*128"),
    }
    out = summarize_jobs(HEADER, recs)
    assert out["job_count"] == 9
    assert out["state_counts"] == {"R": 4, "Q": 1, "H": 1, "E": 1, "B": 1, "?": 1}
    assert [(r["queue"], r["username"], r["project"]) for r in out["rows"]] == [
        ("cpu", "alice", "UCSD0001"), ("cpu", "carol", None), ("cpu", "dave", "UCSD0001"),
        ("gpu", "bob", "NCAR0002"), ("unknown", None, None)]
    alice = out["rows"][0]
    assert alice == {"username": "alice", "project": "UCSD0001", "queue": "cpu", "running_jobs": 2, "pending_jobs": 1,
                     "held_jobs": 1, "cores_allocated": 384, "gpus_allocated": 0, "nodes_allocated": 2,
                     "cores_pending": 64, "gpus_pending": 0, "cores_held": 32, "gpus_held": 2}
    assert out["rows"][4]["running_jobs"] == 0
    assert out["queue_nodes_allocated"] == {"cpu": 2, "gpu": 1}


def test_jobs_non_object_record_is_skipped_and_counted():
    rep = new_report()
    out = summarize_jobs(HEADER, {"1.pbs": "x", "2.pbs": job("Q")}, rep)
    assert out["job_count"] == 1 and rep["skipped_records"] == 1


def test_jobs_empty():
    assert summarize_jobs(HEADER, {}) == {"pbs_server": "desched1", "pbs_version": HEADER["pbs_version"],
                                          "job_count": 0, "state_counts": {}, "rows": [], "queue_nodes_allocated": {}}


def test_queues():
    recs = {"cpu": {"queue_type": "Execution", "enabled": "True", "started": "False", "total_jobs": 12},
            "main": {"queue_type": "Route", "enabled": True, "started": "true", "total_jobs": "3"},
            "odd": {}, "bad": "x"}
    rep = new_report()
    assert summarize_queues(HEADER, recs, rep) == {"queues": [
        {"queue_name": "cpu", "queue_type": "Execution", "enabled": True, "started": False, "total_jobs": 12},
        {"queue_name": "main", "queue_type": "Route", "enabled": True, "started": True, "total_jobs": 3},
        {"queue_name": "odd", "queue_type": None, "enabled": None, "started": None, "total_jobs": None}]}
    assert rep["skipped_records"] == 1
