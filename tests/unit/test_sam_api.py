"""Tests of the lab SAM System Status API stand-in (tests/lab/sam_api/).

Each test starts the real server (subprocess, free loopback port) on a fresh SQLite file and
talks to it with ``requests``; stored values are read back with tests/lab/sam_api/store.py.
"""
import datetime as dt
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

LAB = Path(__file__).resolve().parents[1] / "lab" / "sam_api"
SERVER = LAB / "server.py"
KEY = "lab-test-key-9f3b1c"


def _load_store():
    spec = importlib.util.spec_from_file_location("sam_api_store_under_test", LAB / "store.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


store = _load_store()


class Lab(object):
    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.db = str(tmp_path / "status.sqlite")
        self.keyfile = tmp_path / "api.key"
        self.keyfile.write_text(KEY + "\n")
        self.pidfile = tmp_path / "server.pid"
        self.logfile = tmp_path / "server.log"
        self.proc = subprocess.Popen(
            # SAM_LAB_PYTHON lets the server run under another interpreter (e.g. 3.9)
            [os.environ.get("SAM_LAB_PYTHON", sys.executable), str(SERVER),
             "--host", "127.0.0.1", "--port", "0", "--db", self.db,
             "--key-file", str(self.keyfile), "--pidfile", str(self.pidfile),
             "--log", str(self.logfile)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on http://"):
            self.proc.kill()
            raise RuntimeError("server did not start: %r %s" % (line, self.proc.stderr.read()))
        self.url = line.split()[-1].strip()
        self.port = int(self.url.rsplit(":", 1)[1])
        self.http = requests.Session()

    def post(self, system, payload, auth=(("collector", KEY)), **kw):
        kw.setdefault("timeout", 10)
        return self.http.post("%s/api/v1/status/%s" % (self.url, system), json=payload,
                              auth=auth, **kw)

    def stop(self):
        self.http.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


@pytest.fixture
def lab(tmp_path):
    srv = Lab(tmp_path)
    try:
        yield srv
    finally:
        srv.stop()


T0 = dt.datetime(2026, 12, 4, 20, 30, 0, 123456)


def ts(minutes=0, micro=0):
    return (T0 + dt.timedelta(minutes=minutes, microseconds=micro)).isoformat()


def derecho_payload(timestamp=None):
    return {
        "timestamp": timestamp or ts(),
        "cpu_nodes_total": 2488, "cpu_nodes_available": 100, "cpu_nodes_down": 12,
        # cpu_nodes_reserved omitted on purpose: stored as 0
        "gpu_nodes_total": 82, "gpu_nodes_available": 3, "gpu_nodes_down": 1,
        "gpu_nodes_reserved": 0,
        "cpu_cores_total": 323712, "cpu_cores_allocated": 300000, "cpu_cores_idle": 23712,
        "cpu_utilization_percent": 92.67,
        "gpu_count_total": 328, "gpu_count_allocated": 300, "gpu_count_idle": 28,
        "gpu_utilization_percent": 91.46,
        "memory_total_gb": 624851.5, "memory_allocated_gb": 500000.25,
        "memory_utilization_percent": 80.02,
        "running_jobs": 345, "pending_jobs": 494, "held_jobs": 7, "active_users": 262,
        "login_nodes": [
            {"node_name": "derecho1", "node_type": "cpu", "available": True, "degraded": False,
             "user_count": 14, "num_cpus": 128, "load_1min": 1.171875, "load_5min": 0.9375,
             "load_15min": 0.78125},
            {"node_name": "derecho3", "node_type": "gpu", "available": False, "degraded": True,
             "user_count": None, "num_cpus": None, "load_1min": None, "load_5min": None,
             "load_15min": None},
        ],
        "queues": [
            {"queue_name": "cpu", "running_jobs": 300, "pending_jobs": 400, "held_jobs": 5,
             "cores_allocated": 290000, "gpus_allocated": 0, "nodes_allocated": 2300,
             "cores_pending": 50000, "gpus_pending": 0, "cores_held": 640, "gpus_held": 0,
             "active_users": 200},
            {"queue_name": "gpu", "running_jobs": 45, "pending_jobs": 94, "held_jobs": 2,
             "cores_allocated": 10000, "gpus_allocated": 300, "nodes_allocated": 80,
             "cores_pending": 640, "gpus_pending": 40, "cores_held": 64, "gpus_held": 4,
             "active_users": 62},
        ],
        "user_project_queues": [
            {"username": "alice", "project_code": "UCSD0001", "queue_name": "cpu",
             "running_jobs": 3, "pending_jobs": 1, "held_jobs": 0, "cores_allocated": 384,
             "gpus_allocated": 0, "nodes_allocated": 3, "cores_pending": 128, "gpus_pending": 0,
             "cores_held": 0, "gpus_held": 0},
            {"username": "bob", "project_code": "_unknown_", "queue_name": "gpu",
             "running_jobs": 1},
        ],
        "filesystems": [
            {"filesystem_name": "/glade/u/home", "available": True, "degraded": False,
             "capacity_tb": 100.0, "used_tb": 60.0, "utilization_percent": 60.0,
             "capacity_inodes": 1000000.0, "used_inodes": 500000.0,
             "inodes_utilization_percent": 50.0},
            {"filesystem_name": "/glade/derecho/scratch", "available": True, "degraded": True,
             "capacity_tb": 50.0, "used_tb": 48.0, "utilization_percent": 96.0,
             "capacity_inodes": None, "used_inodes": None, "inodes_utilization_percent": None},
        ],
        "reservations": [
            {"reservation_name": "maint", "start_time": "2026-12-05T15:00:00",
             "end_time": "2026-12-05T23:00:00", "node_count": 4, "partition": "pbs-default",
             "description": "R416808.desched1", "system_name": "derecho"},
        ],
        "queue_definitions": [
            {"queue_name": "main", "queue_type": "Route", "enabled": True, "started": True,
             "total_jobs": 0},
            {"queue_name": " cpu ", "queue_type": "Execution", "enabled": True, "started": True,
             "total_jobs": 705},
            {"queue_name": "   "},
        ],
    }


def casper_payload(timestamp=None):
    return {
        "timestamp": timestamp or ts(micro=1),
        "cpu_nodes_total": 151, "cpu_nodes_available": 120,
        "gpu_nodes_total": 22, "gpu_nodes_available": 10,
        "viz_nodes_total": 15, "viz_nodes_available": 9,
        "cpu_cores_total": 9556, "cpu_cores_allocated": 5000, "cpu_cores_idle": 4556,
        "gpu_count_total": 102, "gpu_count_allocated": 50, "gpu_count_idle": 52,
        "viz_count_total": 96, "viz_count_allocated": 10, "viz_count_idle": 86,
        "viz_utilization_percent": 10.42,
        "memory_total_gb": 112413.0, "memory_allocated_gb": 40000.0,
        "running_jobs": 948, "pending_jobs": 104, "held_jobs": 0, "active_users": 388,
        "login_nodes": [{"node_name": "crlogin1", "available": True, "degraded": False,
                         "user_count": 5, "num_cpus": 64, "load_1min": 10.0,
                         "load_5min": 9.0, "load_15min": 8.0}],
        "queues": [{"queue_name": "htc", "running_jobs": 900, "active_users": 300}],
        "user_project_queues": [{"username": "carol", "project_code": "NCIS0002",
                                 "queue_name": "htc", "running_jobs": 12}],
        "filesystems": [{"filesystem_name": "/glade/work", "capacity_tb": 10.0, "used_tb": 5.0,
                         "utilization_percent": 50.0}],
        "node_types": [
            {"node_type": "htc-64core", "nodes_total": 118, "nodes_available": 100,
             "nodes_down": 2, "nodes_allocated": 16, "cores_per_node": 64,
             "memory_gb_per_node": 503.75, "gpu_model": None, "gpus_per_node": 0,
             "utilization_percent": 12.5, "memory_utilization_percent": 30.0},
            {"node_type": "gpu-a100-4way", "nodes_total": 10, "nodes_available": 2,
             "cores_per_node": 64, "memory_gb_per_node": 1007.9, "gpu_model": "a100",
             "gpus_per_node": 4, "utilization_percent": 80.0},
        ],
        "reservations": [],
        "queue_definitions": [],
    }


def minimal_derecho(timestamp):
    p = derecho_payload(timestamp)
    for k in ("login_nodes", "queues", "user_project_queues", "filesystems", "reservations",
              "queue_definitions"):
        p.pop(k)
    return p


def error_of(resp):
    assert resp.headers["Content-Type"].startswith("application/json")
    return resp.json()["error"]


# --------------------------------------------------------------------------- happy paths

def test_startup_line_pidfile_and_sigterm(lab):
    assert lab.url == "http://127.0.0.1:%d" % lab.port
    assert int(lab.pidfile.read_text()) == lab.proc.pid
    lab.stop()
    assert lab.proc.returncode == 0
    assert not lab.pidfile.exists()


def test_full_derecho_payload_201_and_stored(lab):
    r = lab.post("derecho", derecho_payload())
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["success"] is True
    assert body["message"] == "Derecho status ingested successfully"
    assert isinstance(body["status_id"], int)
    assert body["timestamp"] == ts()
    assert len(body["login_node_ids"]) == 2
    assert len(body["queue_ids"]) == 2
    assert len(body["user_project_queue_ids"]) == 2
    assert len(body["filesystem_ids"]) == 2
    assert len(body["reservation_ids"]) == 1
    assert body["queue_definitions_applied"] == 2
    assert "node_type_ids" not in body

    snaps = store.snapshots(lab.db, "derecho")
    assert len(snaps) == 1
    s = snaps[0]
    assert s["status_id"] == body["status_id"]
    assert s["timestamp"] == ts()
    assert s["cpu_nodes_reserved"] == 0          # omitted optional counter stored as 0
    assert s["cpu_cores_total"] == 323712
    assert s["memory_allocated_gb"] == 500000.25
    assert s["login_nodes"][0] == {
        "node_name": "derecho1", "node_type": "cpu", "available": True, "degraded": False,
        "user_count": 14, "num_cpus": 128, "load_1min": 1.171875, "load_5min": 0.9375,
        "load_15min": 0.78125}
    assert s["login_nodes"][1]["node_type"] == "gpu"
    assert s["login_nodes"][1]["available"] is False
    assert s["login_nodes"][1]["load_1min"] is None
    assert [q["queue_name"] for q in s["queues"]] == ["cpu", "gpu"]
    assert s["queues"][1]["gpus_held"] == 4
    bob = s["user_project_queues"][1]
    assert bob["project_code"] == "_unknown_" and bob["running_jobs"] == 1
    assert bob["pending_jobs"] == 0
    assert s["filesystems"][1]["filesystem_name"] == "/glade/derecho/scratch"
    assert s["filesystems"][1]["degraded"] is True
    assert s["filesystems"][1]["capacity_inodes"] is None

    res = store.reservations(lab.db, "derecho")
    assert len(res) == 1
    assert res[0]["reservation_id"] == body["reservation_ids"][0]
    assert res[0]["start_time"] == "2026-12-05T15:00:00"
    assert res[0]["partition"] == "pbs-default" and res[0]["node_count"] == 4
    roster = {q["queue_name"]: q for q in store.queue_roster(lab.db, "derecho")}
    assert roster["main"]["queue_type"] == "Route"
    assert roster["cpu"]["queue_type"] == "Execution"
    assert roster["cpu"]["last_defined_at"] == ts()
    assert roster["gpu"]["queue_type"] is None and roster["gpu"]["last_defined_at"] is None
    assert "" not in roster


def test_full_casper_payload_201_and_coercion(lab):
    r = lab.post("casper", casper_payload())
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["message"] == "Casper status ingested successfully"
    assert len(body["node_type_ids"]) == 2
    assert "reservation_ids" not in body
    assert "queue_definitions_applied" not in body
    s = store.snapshots(lab.db, "casper")[0]
    assert s["viz_nodes_down"] == 0 and s["viz_count_idle"] == 86
    assert s["cpu_utilization_percent"] is None     # nullable, omitted
    assert s["login_nodes"][0]["node_type"] == "cpu"  # schema default when not sent
    nts = {n["node_type"]: n for n in s["node_types"]}
    assert nts["htc-64core"]["memory_gb_per_node"] == 503   # Integer column: truncated
    assert nts["gpu-a100-4way"]["memory_gb_per_node"] == 1007
    assert nts["gpu-a100-4way"]["nodes_down"] == 0
    assert nts["gpu-a100-4way"]["memory_utilization_percent"] is None


def test_string_and_float_coercion_and_unknown_fields_dropped(lab):
    p = minimal_derecho(ts())
    p.update(cpu_nodes_total="2488", cpu_nodes_down=3.9, memory_total_gb="100.5",
             surprise_field="x", viz_nodes_total=5, node_types=[{"node_type": "x"}],
             status_id=999)
    p["login_nodes"] = [{"node_name": "derecho1", "available": "false", "degraded": 1,
                         "timestamp": "ignored", "extra": 1}]
    r = lab.post("derecho", p)
    assert r.status_code == 201, r.text
    s = store.snapshots(lab.db, "derecho")[0]
    assert s["cpu_nodes_total"] == 2488 and s["cpu_nodes_down"] == 3
    assert s["memory_total_gb"] == 100.5
    assert s["status_id"] != 999
    assert "surprise_field" not in s and "viz_nodes_total" not in s and "node_types" not in s
    assert s["login_nodes"][0]["available"] is False and s["login_nodes"][0]["degraded"] is True


def test_missing_timestamp_uses_server_now(lab):
    p = minimal_derecho(ts())
    del p["timestamp"]
    r = lab.post("derecho", p)
    assert r.status_code == 201
    stamp = dt.datetime.fromisoformat(r.json()["timestamp"])
    assert stamp.tzinfo is None
    assert store.snapshots(lab.db, "derecho")[0]["timestamp"] == r.json()["timestamp"]


def test_space_separated_and_offset_timestamps(lab):
    r = lab.post("derecho", minimal_derecho("2026-12-04 20:30:00"))
    assert r.status_code == 201 and r.json()["timestamp"] == "2026-12-04T20:30:00"
    r = lab.post("derecho", minimal_derecho("2026-12-05T01:40:00+05:00"))
    assert r.status_code == 201
    assert r.json()["timestamp"] == "2026-12-04T20:40:00"   # converted to naive UTC
    assert [s["timestamp"] for s in store.snapshots(lab.db, "derecho")] == [
        "2026-12-04T20:30:00", "2026-12-04T20:40:00"]


def test_replay_of_required_only_snapshot_is_accepted_twice(lab):
    p = minimal_derecho(ts())
    assert lab.post("derecho", p).status_code == 201
    assert lab.post("derecho", p).status_code == 201
    assert len(store.snapshots(lab.db, "derecho")) == 2


# --------------------------------------------------------------------------- 4xx

def test_401_without_and_with_wrong_credentials(lab):
    r = lab.post("derecho", derecho_payload(), auth=None)
    assert r.status_code == 401
    assert r.json() == {"error": "Authentication required"}
    assert r.headers["WWW-Authenticate"] == 'Basic realm="SAM API"'
    r = lab.post("derecho", derecho_payload(), auth=("collector", "wrong"))
    assert r.status_code == 401
    assert r.json() == {"error": "Invalid credentials"}
    assert r.headers["WWW-Authenticate"] == 'Basic realm="SAM API"'
    r = lab.post("derecho", derecho_payload(), auth=("Collector", KEY))
    assert r.status_code == 401 and r.json() == {"error": "Invalid credentials"}
    assert store.snapshots(lab.db, "derecho") == []


@pytest.mark.parametrize("raw", [b"{}", b"null", b"[]", b'""', b"0"])
def test_400_falsy_body(lab, raw):
    r = lab.http.post(lab.url + "/api/v1/status/derecho", data=raw, auth=("collector", KEY),
                      headers={"Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 400
    assert r.json() == {"error": "JSON body required"}


def test_400_not_json_and_415_wrong_content_type(lab):
    r = lab.http.post(lab.url + "/api/v1/status/derecho", data=b"{not json",
                      auth=("collector", KEY), headers={"Content-Type": "application/json"},
                      timeout=10)
    assert r.status_code == 400 and "error" in r.json()
    r = lab.http.post(lab.url + "/api/v1/status/derecho", data=json.dumps(derecho_payload()),
                      auth=("collector", KEY), headers={"Content-Type": "text/plain"},
                      timeout=10)
    assert r.status_code == 415
    assert r.headers["Content-Type"].startswith("text/html")


def test_400_bad_timestamp_message(lab):
    r = lab.post("derecho", minimal_derecho("yesterday"))
    assert r.status_code == 400
    assert r.json() == {"error": "Invalid timestamp format: yesterday. "
                                 "Use ISO format or 'YYYY-MM-DD HH:MM:SS'"}


def test_non_string_timestamp_is_html_500(lab):
    r = lab.post("derecho", minimal_derecho(1764880000))
    assert r.status_code == 500
    assert r.headers["Content-Type"].startswith("text/html")


def test_413_over_16mb(lab):
    with socket.create_connection(("127.0.0.1", lab.port), timeout=10) as sock:
        import base64
        auth = base64.b64encode(("collector:" + KEY).encode()).decode()
        sock.sendall(("POST /api/v1/status/derecho HTTP/1.1\r\nHost: x\r\n"
                      "Authorization: Basic %s\r\nContent-Type: application/json\r\n"
                      "Content-Length: %d\r\n\r\n" % (auth, 16 * 1024 * 1024 + 1)).encode())
        head = sock.recv(4096).decode("latin-1")
    assert head.startswith("HTTP/1.1 413 ")


# --------------------------------------------------------------------------- 500 "Database error"

def test_missing_required_field_message(lab):
    p = derecho_payload()
    del p["cpu_cores_idle"]
    r = lab.post("derecho", p)
    assert r.status_code == 500
    assert error_of(r) == "Database error: {'cpu_cores_idle': ['Missing data for required field.']}"
    assert store.snapshots(lab.db, "derecho") == []
    assert store.reservations(lab.db, "derecho") == []


def test_casper_needs_17_fields(lab):
    r = lab.post("casper", {"timestamp": ts()})
    assert r.status_code == 500
    err = error_of(r)
    assert err.count("Missing data for required field.") == 17
    r = lab.post("derecho", {"timestamp": ts()})
    assert error_of(r).count("Missing data for required field.") == 12


def test_null_list_and_null_counter(lab):
    p = derecho_payload()
    p["filesystems"] = None
    r = lab.post("derecho", p)
    assert r.status_code == 500
    assert error_of(r) == "Database error: {'filesystems': ['Field may not be null.']}"
    p = derecho_payload()
    p["running_jobs"] = None
    assert error_of(lab.post("derecho", p)) == \
        "Database error: {'running_jobs': ['Field may not be null.']}"


def test_type_errors_collected_like_marshmallow(lab):
    p = derecho_payload()
    p["cpu_nodes_total"] = True
    p["memory_total_gb"] = "lots"
    p["filesystems"][1] = {"capacity_tb": 1.0}
    p["queues"][0]["running_jobs"] = "x"
    r = lab.post("derecho", p)
    assert r.status_code == 500
    assert error_of(r) == (
        "Database error: {'cpu_nodes_total': ['Not a valid integer.'], "
        "'memory_total_gb': ['Not a valid number.'], "
        "'queues': {0: {'running_jobs': ['Not a valid integer.']}}, "
        "'filesystems': {1: {'filesystem_name': ['Missing data for required field.']}}}")


def test_nan_rejected(lab):
    p = minimal_derecho(ts())
    raw = json.dumps(p).replace('"memory_total_gb": 624851.5', '"memory_total_gb": NaN')
    r = lab.http.post(lab.url + "/api/v1/status/derecho", data=raw, auth=("collector", KEY),
                      headers={"Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 500
    assert "'memory_total_gb': ['Special numeric values (nan or infinity) are not permitted.']" \
        in error_of(r)


def test_node_type_longer_than_64(lab):
    p = casper_payload()
    p["node_types"][0]["node_type"] = "n" * 65
    r = lab.post("casper", p)
    assert r.status_code == 500
    assert error_of(r) == ("Database error: {'node_types': {0: {'node_type': "
                           "['Longer than maximum length 64.']}}}")


def test_same_filesystem_same_timestamp_across_systems(lab):
    t = ts()
    assert lab.post("derecho", derecho_payload(t)).status_code == 201
    c = casper_payload(t)
    c["filesystems"] = [{"filesystem_name": "/glade/u/home", "capacity_tb": 1.0}]
    r = lab.post("casper", c)
    assert r.status_code == 500
    err = error_of(r)
    assert err.startswith("Database error: (psycopg2.errors.UniqueViolation) duplicate key value "
                          "violates unique constraint "
                          '"uq_filesystem_status_timestamp_filesystem_id"')
    assert store.snapshots(lab.db, "casper") == []          # whole snapshot rolled back
    assert store.queue_roster(lab.db, "casper") == []
    c["timestamp"] = ts(micro=1)
    r = lab.post("casper", c)
    assert r.status_code == 201, r.text
    assert store.snapshots(lab.db, "casper")[0]["filesystems"][0]["filesystem_name"] == \
        "/glade/u/home"


def test_exact_replay_is_unique_violation(lab):
    p = derecho_payload()
    assert lab.post("derecho", p).status_code == 201
    r = lab.post("derecho", derecho_payload())
    assert r.status_code == 500 and "UniqueViolation" in error_of(r)
    assert len(store.snapshots(lab.db, "derecho")) == 1


def test_duplicate_queue_in_one_list(lab):
    p = derecho_payload()
    p["queues"].append(dict(p["queues"][0]))
    r = lab.post("derecho", p)
    assert r.status_code == 500
    assert 'unique constraint "uq_queue_status_timestamp_queue_id"' in error_of(r)
    assert store.snapshots(lab.db, "derecho") == []


def test_duplicate_filesystem_and_user_project_queue_in_one_list(lab):
    p = derecho_payload()
    p["filesystems"].append(dict(p["filesystems"][0]))
    assert "uq_filesystem_status_timestamp_filesystem_id" in error_of(lab.post("derecho", p))
    p = derecho_payload()
    p["user_project_queues"].append(dict(p["user_project_queues"][0]))
    r = lab.post("derecho", p)
    assert r.status_code == 500 and "UniqueViolation" in error_of(r)
    assert store.snapshots(lab.db, "derecho") == []


@pytest.mark.parametrize("where,key,value,limit", [
    ("filesystems", "filesystem_name", "/glade/" + "x" * 31, 32),
    ("queues", "queue_name", "q" * 33, 32),
    ("user_project_queues", "project_code", "P" * 17, 16),
    ("login_nodes", "node_name", "n" * 33, 32),
])
def test_over_long_lookup_names(lab, where, key, value, limit):
    p = derecho_payload()
    p[where][0][key] = value
    r = lab.post("derecho", p)
    assert r.status_code == 500
    assert error_of(r).startswith(
        "Database error: (psycopg2.errors.StringDataRightTruncation) value too long for type "
        "character varying(%d)" % limit)
    assert store.snapshots(lab.db, "derecho") == []


def test_filesystem_name_of_39_chars(lab):
    p = derecho_payload()
    p["filesystems"][0]["filesystem_name"] = "/glade/campaign/cisl/sssg0001/longpath9"
    assert len(p["filesystems"][0]["filesystem_name"]) == 39
    r = lab.post("derecho", p)
    assert r.status_code == 500
    assert "value too long for type character varying(32)" in error_of(r)


def test_reservation_missing_end_time_rolls_back_everything(lab):
    p = derecho_payload()
    del p["reservations"][0]["end_time"]
    r = lab.post("derecho", p)
    assert r.status_code == 500
    assert error_of(r) == "Database error: 'end_time'"
    assert store.snapshots(lab.db, "derecho") == []
    assert store.reservations(lab.db, "derecho") == []
    assert store.queue_roster(lab.db, "derecho") == []


def test_reservation_bad_time_and_upsert(lab):
    p = derecho_payload()
    p["reservations"][0]["start_time"] = "next tuesday"
    r = lab.post("derecho", p)
    assert r.status_code == 500
    assert error_of(r) == "Database error: Invalid isoformat string: 'next tuesday'"
    first = lab.post("derecho", derecho_payload(ts())).json()["reservation_ids"]
    p = derecho_payload(ts(minutes=5))
    p["reservations"][0]["end_time"] = "2026-12-06T01:00:00"
    p["reservations"].append({"reservation_name": "R99", "start_time": "2026-12-07T00:00:00",
                              "end_time": "2026-12-07T01:00:00"})
    second = lab.post("derecho", p).json()["reservation_ids"]
    assert second[0] == first[0] and len(second) == 2
    res = store.reservations(lab.db, "derecho")
    assert len(res) == 2
    assert res[0]["end_time"] == "2026-12-06T01:00:00" and res[0]["updated_at"] is not None


# --------------------------------------------------------------------------- side effects

def test_span_coalescer(lab):
    r1 = lab.post("derecho", derecho_payload(ts(0))).json()
    assert len(r1["user_project_queue_ids"]) == 2
    # 5 min later, identical counters: spans extended, nothing new
    r2 = lab.post("derecho", derecho_payload(ts(5))).json()
    assert r2["user_project_queue_ids"] == []
    # one counter changes: only that row is new
    p = derecho_payload(ts(10))
    p["user_project_queues"][1]["running_jobs"] = 2
    r3 = lab.post("derecho", p).json()
    assert len(r3["user_project_queue_ids"]) == 1
    # a gap over 20 minutes starts new spans for everyone
    r4 = lab.post("derecho", derecho_payload(ts(31))).json()
    assert len(r4["user_project_queue_ids"]) == 2
    spans = store.user_project_queue_spans(lab.db, "derecho")
    assert spans[0]["timestamp"] == ts(0) and spans[0]["last_seen"] == ts(10)
    snap = store.snapshots(lab.db, "derecho")[1]         # the ts(5) snapshot
    assert [u["username"] for u in snap["user_project_queues"]] == ["alice", "bob"]


def test_aware_z_timestamp_after_existing_spans_is_500(lab):
    assert lab.post("derecho", derecho_payload(ts(0))).status_code == 201
    p = derecho_payload((T0 + dt.timedelta(minutes=5)).isoformat() + "Z")
    r = lab.post("derecho", p)
    assert r.status_code == 500
    assert error_of(r) == "Database error: can't subtract offset-naive and offset-aware datetimes"
    assert len(store.snapshots(lab.db, "derecho")) == 1


def test_login_node_definition_is_write_once(lab):
    p = minimal_derecho(ts(0))
    p["login_nodes"] = [{"node_name": "derecho3", "node_type": "gpu"}]
    assert lab.post("derecho", p).status_code == 201
    p = minimal_derecho(ts(5))
    p["login_nodes"] = [{"node_name": "derecho3", "node_type": "cpu"}]
    assert lab.post("derecho", p).status_code == 201
    snaps = store.snapshots(lab.db, "derecho")
    assert [s["login_nodes"][0]["node_type"] for s in snaps] == ["gpu", "gpu"]


def test_jupyterhub_and_outage(lab):
    r = lab.post("jupyterhub", {"active_users": 3, "nodes": [{"name": "jh1"}], "junk": 1})
    assert r.status_code == 201
    assert r.json()["message"] == "JupyterHub status ingested successfully"
    s = store.snapshots(lab.db, "jupyterhub")[0]
    assert s["active_users"] == 3 and s["active_sessions"] == 0 and s["nodes_total"] == 0
    assert s["available"] is True and s["nodes"] == [{"name": "jh1"}]
    assert lab.post("jupyterhub", {}).status_code == 400
    r = lab.post("outage", {"system_name": "derecho", "title": "scratch down",
                            "severity": "major"})
    assert r.status_code == 201
    assert r.json()["message"] == "Outage reported successfully"
    assert lab.post("outage", {"system_name": "derecho", "title": "x",
                               "severity": "apocalyptic"}).status_code == 400
    assert lab.post("outage", {"system_name": "derecho", "title": "x", "severity": "minor",
                               "status": "bogus"}).status_code == 500


def test_get_endpoints_redirect_to_login_and_health(lab):
    for path in ("/api/v1/status/derecho/latest", "/api/v1/status/casper/latest",
                 "/api/v1/status/reservations", "/api/v1/status/outages"):
        for auth in (None, ("collector", KEY)):
            r = lab.http.get(lab.url + path, auth=auth, allow_redirects=False, timeout=10)
            assert r.status_code == 302
            assert r.headers["Location"].startswith("/login")
    for path in ("/api/v1/health/", "/api/v1/health/live", "/api/v1/health/ready"):
        r = lab.http.get(lab.url + path, timeout=10)
        assert r.status_code == 200 and isinstance(r.json(), dict)


# --------------------------------------------------------------------------- lab controls

def test_fault_queue_503_twice_then_normal(lab):
    r = lab.http.post(lab.url + "/_lab/faults", timeout=10, json={"queue": [
        {"status": 503, "body": {"error": "maintenance"}, "count": 2}]})
    assert r.status_code == 200
    assert r.json()["queue"][0]["count"] == 2
    p = minimal_derecho(ts())
    for _ in range(2):
        r = lab.post("derecho", p)
        assert r.status_code == 503 and r.json() == {"error": "maintenance"}
    assert lab.http.get(lab.url + "/_lab/faults", timeout=10).json() == {"queue": []}
    assert lab.post("derecho", p).status_code == 201
    log = store.request_log(lab.db)
    assert [e["status"] for e in log if e["path"] == "/api/v1/status/derecho"] == [503, 503, 201]
    assert len(store.snapshots(lab.db, "derecho")) == 1


def test_fault_401_delay_and_clear(lab):
    lab.http.post(lab.url + "/_lab/faults", timeout=10, json={"queue": [
        {"status": 401}, {"delay": 0.2}, {"delay": 5.0}, {"status": 500, "count": 3}]})
    r = lab.post("derecho", minimal_derecho(ts(0)))
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == 'Basic realm="SAM API"'
    r = lab.post("derecho", minimal_derecho(ts(1)))       # delayed, then normal behaviour
    assert r.status_code == 201
    with pytest.raises(requests.exceptions.ReadTimeout):
        lab.post("derecho", minimal_derecho(ts(2)), timeout=0.5)
    left = lab.http.get(lab.url + "/_lab/faults", timeout=10).json()["queue"]
    assert left == [{"status": 500, "count": 3}]
    assert lab.http.delete(lab.url + "/_lab/faults", timeout=10).json() == {"queue": []}
    assert lab.http.post(lab.url + "/_lab/faults", timeout=10,
                         json={"queue": [{"count": 0, "status": 500}]}).status_code == 400


def test_lab_snapshots_endpoint_and_store_cli(lab):
    lab.post("derecho", derecho_payload())
    r = lab.http.get(lab.url + "/_lab/snapshots", params={"system": "derecho"}, timeout=10)
    assert r.status_code == 200
    assert r.json() == json.loads(json.dumps(store.snapshots(lab.db, "derecho")))
    out = subprocess.run([sys.executable, str(LAB / "store.py"), "dump", "--db", lab.db,
                          "--system", "derecho"], check=True, capture_output=True, text=True)
    dumped = json.loads(out.stdout)
    assert dumped["derecho"]["snapshots"][0]["cpu_cores_total"] == 323712


def test_secrets_never_logged(lab):
    lab.post("derecho", minimal_derecho(ts()))
    lab.post("derecho", minimal_derecho(ts(1)), auth=("collector", "wrong-key-xyz"))
    lab.stop()
    blob = Path(lab.db).read_bytes() + lab.logfile.read_bytes()
    for extra in ("-wal", "-shm"):
        if os.path.exists(lab.db + extra):
            blob += Path(lab.db + extra).read_bytes()
    assert KEY.encode() not in blob and b"wrong-key-xyz" not in blob
    assert b"Authorization" not in blob and b"Basic " not in blob
    entries = store.request_log(lab.db)
    assert {e["status"] for e in entries} == {201, 401}
    assert set(entries[0]) >= {"time", "method", "path", "status", "system"}

