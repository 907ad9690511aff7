"""sam_job_fields: job counts, queues and user_project_queues (contract 1.4, 1.5, 2.3)."""
import importlib.util
import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from repo_paths import load_filter_plugin

REPO = Path(__file__).resolve().parents[2]
# Filters are controller code: also run on the Python 3.11 / ansible-core 2.19 fallback (make test-compat).
pytestmark = pytest.mark.compat


F = load_filter_plugin("sam_status")
COUNTERS = ("running_jobs", "pending_jobs", "held_jobs", "cores_allocated", "gpus_allocated",
            "nodes_allocated", "cores_pending", "gpus_pending", "cores_held", "gpus_held")


def row(username="alice", project="P1", queue="cpu", **counters):
    r = {"username": username, "project": project, "queue": queue}
    r.update({k: counters.get(k, 0) for k in COUNTERS})
    return r


def jobs(*rows, qna=None):
    return {"collected_at": "2026-12-04T20:31:03", "pbs_server": "x", "pbs_version": None,
            "job_count": 0, "state_counts": {}, "rows": list(rows),
            "queue_nodes_allocated": qna or {}, "parse": {}}


def test_empty_job_list():
    out = F.sam_job_fields(jobs())
    assert out == {"running_jobs": 0, "pending_jobs": 0, "held_jobs": 0, "active_users": 0,
                   "queues": [], "user_project_queues": []}


def test_queue_with_only_held_jobs():
    out = F.sam_job_fields(jobs(row(queue="gpudev", held_jobs=3, cores_held=12, gpus_held=3)))
    assert out["queues"] == [{"queue_name": "gpudev", "running_jobs": 0, "pending_jobs": 0,
                              "held_jobs": 3, "cores_allocated": 0, "gpus_allocated": 0,
                              "nodes_allocated": 0, "cores_pending": 0, "gpus_pending": 0,
                              "cores_held": 12, "gpus_held": 3, "active_users": 1}]
    assert (out["running_jobs"], out["pending_jobs"], out["held_jobs"]) == (0, 0, 3)


def test_running_job_without_exec_host_has_no_nodes():
    # a running row with nodes_allocated 0 and its queue absent from queue_nodes_allocated
    out = F.sam_job_fields(jobs(row(queue="main", running_jobs=1, cores_allocated=1)))
    assert out["queues"][0]["nodes_allocated"] == 0
    assert out["queues"][0]["running_jobs"] == 1
    assert out["user_project_queues"][0]["nodes_allocated"] == 0


def test_queue_nodes_from_queue_nodes_allocated_not_row_sum():
    out = F.sam_job_fields(jobs(row(username="a", running_jobs=1, nodes_allocated=2),
                                row(username="b", running_jobs=1, nodes_allocated=2),
                                qna={"cpu": 3}))
    assert out["queues"][0]["nodes_allocated"] == 3       # distinct hosts, shared node counted once
    assert [r["nodes_allocated"] for r in out["user_project_queues"]] == [2, 2]


def test_null_owner_counts_in_sums_not_users():
    out = F.sam_job_fields(jobs(row(username=None, project=None, queue="vis", pending_jobs=2),
                                row(username="", project="P", queue="vis", pending_jobs=1)))
    assert out["pending_jobs"] == 3 and out["active_users"] == 0
    assert out["queues"][0]["active_users"] == 0 and out["queues"][0]["pending_jobs"] == 3
    assert out["user_project_queues"] == []


def test_unknown_project_and_merge():
    out = F.sam_job_fields(jobs(row(project=None, running_jobs=1), row(project="  ", pending_jobs=2)))
    assert len(out["user_project_queues"]) == 1
    upq = out["user_project_queues"][0]
    assert upq["project_code"] == "_unknown_"
    assert (upq["running_jobs"], upq["pending_jobs"]) == (1, 2)


def test_sorted_and_active_users():
    out = F.sam_job_fields(jobs(row("zed", "B", "gpu", running_jobs=1),
                                row("amy", "A", "gpu", pending_jobs=1),
                                row("amy", "A", "cpu", held_jobs=1),
                                row("amy", "C", "cpu", held_jobs=1)))
    assert [q["queue_name"] for q in out["queues"]] == ["cpu", "gpu"]
    assert [q["active_users"] for q in out["queues"]] == [1, 2]
    assert [(r["queue_name"], r["username"], r["project_code"]) for r in out["user_project_queues"]] \
        == [("cpu", "amy", "A"), ("cpu", "amy", "C"), ("gpu", "amy", "A"), ("gpu", "zed", "B")]
    assert out["active_users"] == 2
    assert "active_users" not in out["user_project_queues"][0]


@pytest.mark.parametrize("mutate,fragment", [
    (lambda r: r.update(running_jobs="3"), "sam_job_fields: rows[0].running_jobs: expected an integer"),
    (lambda r: r.pop("gpus_held"), "sam_job_fields: rows[0].gpus_held: missing"),
    (lambda r: r.update(queue=None), "sam_job_fields: rows[0].queue: expected a string"),
    (lambda r: r.update(cores_pending=-1), "sam_job_fields: rows[0].cores_pending: must be >= 0"),
])
def test_bad_rows(mutate, fragment):
    r = row()
    mutate(r)
    with pytest.raises(AnsibleFilterError) as exc:
        F.sam_job_fields(jobs(r))
    assert fragment in str(exc.value)


def test_bad_result():
    with pytest.raises(AnsibleFilterError, match="sam_job_fields: rows: expected a list, got null"):
        F.sam_job_fields({"rows": None})
    with pytest.raises(AnsibleFilterError, match=r"sam_job_fields: queue_nodes_allocated.cpu"):
        F.sam_job_fields(jobs(row(), qna={"cpu": "2"}))


def test_table_rows_as_the_module_ships_them_give_the_same_fields():
    """pbs_jobs_info ships rows as row_fields + value lists; the result must equal the dict form."""
    fields = ["username", "project", "queue"] + list(COUNTERS)
    dict_rows = [row("alice", "P1", "cpu", running_jobs=2, cores_allocated=256, nodes_allocated=2),
                 row("bob", None, "gpu", pending_jobs=1, gpus_pending=4)]
    table = {"row_fields": fields, "rows": [[r[f] for f in fields] for r in dict_rows],
             "queue_nodes_allocated": {"cpu": 2}}
    assert F.sam_job_fields(table) == F.sam_job_fields({"rows": dict_rows, "queue_nodes_allocated": {"cpu": 2}})
    table["rows"][1] = table["rows"][1][:-1]
    with pytest.raises(AnsibleFilterError, match=r"sam_job_fields: rows\[1\]: expected a list of 13 values"):
        F.sam_job_fields(table)
