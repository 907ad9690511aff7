"""sam_queue_definitions, sam_reservations, sam_filesystems, sam_login_nodes (contract 1.5, 2.4-2.7)."""
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
TIB = 1024 ** 4


def fs(name="/glade/u/apps", ok=True, size=0, used=0, itotal=None, iused=None, error=None):
    return {"name": name, "path": name, "ok": ok, "size_bytes": size, "used_bytes": used,
            "avail_bytes": None if size is None else size - used,
            "inodes_total": itotal, "inodes_used": iused, "error": error}


def test_filesystem_of_size_zero():
    out = F.sam_filesystems({"filesystems": [fs(size=0, used=0, itotal=0, iused=0)]})
    assert out == [{"filesystem_name": "/glade/u/apps", "available": True, "degraded": False,
                    "capacity_tb": 0.0, "used_tb": 0.0, "utilization_percent": None,
                    "capacity_inodes": 0.0, "used_inodes": 0.0, "inodes_utilization_percent": None}]


def test_filesystem_degraded_by_inodes_only():
    out = F.sam_filesystems({"filesystems": [fs(size=10 * TIB, used=TIB, itotal=1000, iused=901)]})[0]
    assert out["utilization_percent"] == 10.0
    assert out["inodes_utilization_percent"] == 90.1
    assert out["degraded"] is True


def test_filesystem_exactly_90_is_not_degraded():
    out = F.sam_filesystems({"filesystems": [fs(size=10 * TIB, used=9 * TIB, itotal=10, iused=9)]})[0]
    assert out["utilization_percent"] == 90.0 and out["degraded"] is False


def test_filesystem_failure():
    out = F.sam_filesystems({"filesystems": [fs(ok=False, size=None, used=None, error="df timed out")]})
    assert out == [{"filesystem_name": "/glade/u/apps", "available": False, "degraded": True,
                    "capacity_tb": None, "used_tb": None, "utilization_percent": None,
                    "capacity_inodes": None, "used_inodes": None, "inodes_utilization_percent": None}]


def test_filesystem_bad_input():
    with pytest.raises(AnsibleFilterError, match=r"sam_filesystems: filesystems\[0\].size_bytes"):
        F.sam_filesystems({"filesystems": [fs(size=None)]})
    with pytest.raises(AnsibleFilterError, match=r"sam_filesystems: filesystems\[0\].ok"):
        F.sam_filesystems({"filesystems": [fs(ok="yes")]})


def probe(name="crlogin2", result=None, error=None, **extra):
    p = {"node_name": name, "result": result, "error": error}
    p.update(extra)
    return p


def test_login_node_with_zero_cpus():
    out = F.sam_login_nodes([probe(result={"hostname": "crlogin2", "num_cpus": 0,
                                           "loadavg": [1.0, 1.0, 1.0], "user_count": 3,
                                           "collected_at": "2026-12-04T20:31:13"})])
    assert out == [{"node_name": "crlogin2", "available": True, "degraded": True,
                    "user_count": 3, "num_cpus": 0,
                    "load_1min": None, "load_5min": None, "load_15min": None}]


def test_login_node_type_kept_on_failure_and_omitted_when_unset():
    out = F.sam_login_nodes([probe("derecho3", error="UNREACHABLE", node_type="gpu"),
                             probe("crlogin1", error="timeout")])
    assert out[0]["node_type"] == "gpu" and out[0]["available"] is False and out[0]["degraded"] is True
    assert "node_type" not in out[1]
    assert out[1]["load_1min"] is None and out[1]["num_cpus"] is None


def test_login_node_result_ignored_when_error_set():
    out = F.sam_login_nodes([probe(error="rc=1", result={"num_cpus": 4, "loadavg": [1, 1, 1],
                                                         "user_count": 1})])
    assert out[0]["available"] is False and out[0]["num_cpus"] is None


def test_login_node_loads_unrounded_percent():
    out = F.sam_login_nodes([probe(result={"num_cpus": 3, "loadavg": [1, 2, 4], "user_count": 0})])[0]
    assert out["load_1min"] == pytest.approx(33.333333333333336)
    assert out["load_5min"] == pytest.approx(66.66666666666667)
    assert out["load_15min"] == pytest.approx(133.33333333333334)


@pytest.mark.parametrize("result,fragment", [
    ({"num_cpus": "4", "loadavg": [1, 1, 1], "user_count": 1}, "probes[0].result.num_cpus"),
    ({"num_cpus": 4, "loadavg": [1, 1], "user_count": 1}, "probes[0].result.loadavg"),
    ({"num_cpus": 4, "loadavg": [1, "x", 1], "user_count": 1}, "probes[0].result.loadavg[1]"),
    ({"num_cpus": 4, "loadavg": [1, 1, 1]}, "probes[0].result.user_count: missing"),
])
def test_login_node_bad_result(result, fragment):
    with pytest.raises(AnsibleFilterError) as exc:
        F.sam_login_nodes([probe(result=result)])
    assert str(exc.value).startswith("sam_login_nodes: ") and fragment in str(exc.value)


def test_login_nodes_not_a_list():
    with pytest.raises(AnsibleFilterError, match="sam_login_nodes: probes: expected a list"):
        F.sam_login_nodes(None)


def test_reservations():
    out = F.sam_reservations({"reservations": [
        {"resv_id": "S1.casper-pbs", "reservation_name": "weekly", "start_time": "2026-12-07T15:00:00",
         "end_time": "2026-12-07T17:00:00", "node_count": 2, "partition": None, "state": "RESV_RUNNING"}]})
    assert out == [{"reservation_name": "weekly", "description": "S1.casper-pbs",
                    "start_time": "2026-12-07T15:00:00", "end_time": "2026-12-07T17:00:00",
                    "node_count": 2, "partition": None}]
    assert F.sam_reservations({"reservations": [], "unreadable": []}) == []


@pytest.mark.parametrize("field", ["reservation_name", "start_time", "end_time"])
def test_reservation_missing_required(field):
    r = {"resv_id": "R1.x", "reservation_name": "n", "start_time": "2026-12-07T15:00:00",
         "end_time": "2026-12-07T16:00:00", "node_count": None, "partition": None}
    r[field] = None
    with pytest.raises(AnsibleFilterError, match=r"sam_reservations: reservations\[0\].%s" % field):
        F.sam_reservations({"reservations": [r]})


def test_queue_definitions():
    out = F.sam_queue_definitions({"queues": [
        {"queue_name": " cpu ", "queue_type": "Execution", "enabled": True, "started": False,
         "total_jobs": 7}]})
    assert out == [{"queue_name": "cpu", "queue_type": "Execution", "enabled": True,
                    "started": False, "total_jobs": 7}]
    with pytest.raises(AnsibleFilterError, match=r"sam_queue_definitions: queues\[0\].queue_name"):
        F.sam_queue_definitions({"queues": [{"queue_name": "  "}]})
    with pytest.raises(AnsibleFilterError, match=r"sam_queue_definitions: queues\[0\].enabled"):
        F.sam_queue_definitions({"queues": [{"queue_name": "q", "enabled": "True"}]})
