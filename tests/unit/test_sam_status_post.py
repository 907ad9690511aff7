"""The posting module against the real SAM API stand-in over HTTP: delivery, retries, spool, dead letters,
check mode. Nothing is mocked at the socket."""
import json
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from repo_paths import REPO
from sam_api import store
from test_modules_replay import run_module

SERVER = REPO / "tests" / "lab" / "sam_api" / "server.py"
KEY = "lab-key-for-tests-0123456789"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api(object):
    def __init__(self, tmp_path):
        self.db = tmp_path / "sam.sqlite"
        self.keyfile = tmp_path / "key"
        self.keyfile.write_text(KEY + "\n")
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([sys.executable, str(SERVER), "--host", "127.0.0.1", "--port", str(self.port),
                                      "--db", str(self.db), "--key-file", str(self.keyfile)],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline()
        assert "listening on" in line, line

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def faults(self, *entries):
        requests.post(self.url + "/_lab/faults", json={"queue": list(entries)}, timeout=5).raise_for_status()

    def stored(self, system="derecho"):
        return store.snapshots(str(self.db), system)

    def requests_seen(self):
        return store.request_log(str(self.db))


@pytest.fixture
def api(tmp_path):
    server = Api(tmp_path)
    server.start()
    yield server
    server.stop()


def payload(second, **extra):
    body = {
        "timestamp": "2026-12-04T20:00:%02d.000001" % second,
        "cpu_nodes_total": 10, "cpu_nodes_available": 4, "gpu_nodes_total": 2, "gpu_nodes_available": 1,
        "cpu_cores_total": 1408, "cpu_cores_allocated": 700, "cpu_cores_idle": 708,
        "gpu_count_total": 8, "gpu_count_allocated": 4, "gpu_count_idle": 4,
        "memory_total_gb": 2560.0, "memory_allocated_gb": 100.5, "running_jobs": 3,
        "filesystems": [{"filesystem_name": "/glade/work", "available": True, "degraded": False,
                         "capacity_tb": 10.0, "used_tb": 5.0, "utilization_percent": 50.0}],
    }
    body.update(extra)
    return body


def post(api, body, tmp_path, check_mode=False, **args):
    params = dict(url=api.url, system="derecho", payload=body, api_key=KEY, retries=2, backoff=0.01, timeout=5,
                  spool_dir=str(tmp_path / "spool"), artifacts_dir=str(tmp_path / "artifacts"))
    params.update(args)
    return run_module("sam_status_post", params, check_mode=check_mode)


def spooled(tmp_path):
    d = tmp_path / "spool" / "derecho"
    return sorted(p.name for p in d.glob("*.json")) if d.exists() else []


def test_delivers_and_returns_the_server_ids(api, tmp_path):
    result = post(api, payload(1), tmp_path)
    assert result.get("failed") is not True, result["msg"]
    assert result["status_code"] == 201 and result["response"]["status_id"] >= 1
    assert result["delivered"] == ["2026-12-04T20:00:01.000001"]
    assert [s["running_jobs"] for s in api.stored()] == [3]
    assert spooled(tmp_path) == []


def test_503_twice_then_201_is_retried_and_delivered_once(api, tmp_path):
    api.faults({"status": 503, "count": 2})
    result = post(api, payload(2), tmp_path)
    assert result["status_code"] == 201, result["msg"]
    assert [a["status"] for a in result["attempts"]] == [503, 503, 201]
    assert len(api.stored()) == 1


def test_401_fails_at_once_keeps_the_snapshot_and_never_shows_the_key(api, tmp_path):
    result = post(api, payload(3), tmp_path, api_key="wrong-key-123456")
    assert result["failed"] and "authentication failed" in result["msg"]
    assert len(result["attempts"]) == 1
    assert spooled(tmp_path) == ["2026-12-04T200003.000001.json"]
    assert "wrong-key-123456" not in json.dumps(result)


def test_contract_500_is_dead_lettered_not_retried(api, tmp_path):
    body = payload(4)
    del body["cpu_cores_idle"]
    result = post(api, body, tmp_path)
    assert result["failed"] and "refused by the server" in result["msg"] and "cpu_cores_idle" in result["msg"]
    assert len(result["attempts"]) == 1
    dead = tmp_path / "spool" / "dead-letter" / "derecho"
    error = json.loads((dead / "2026-12-04T200004.000001.error.json").read_text())
    assert error["status"] == 500 and "Missing data for required field" in error["error"]
    assert spooled(tmp_path) == [] and api.stored() == []


def test_slow_api_beyond_the_timeout_is_spooled(api, tmp_path):
    api.faults({"delay": 3, "count": 3})
    result = post(api, payload(5), tmp_path, timeout=0.5)
    assert result["failed"] and "ReadTimeout" in result["msg"] and "kept in the spool" in result["msg"]
    assert spooled(tmp_path) == ["2026-12-04T200005.000001.json"]


def test_outage_over_three_runs_delivers_every_snapshot_in_order_once(api, tmp_path):
    api.stop()
    for second in (10, 11, 12):
        result = post(api, payload(second, running_jobs=second), tmp_path, retries=1)
        assert result["failed"] and "ConnectionError" in result["msg"]
    spool_dir = tmp_path / "spool" / "derecho"
    assert stat.S_IMODE(os.stat(spool_dir).st_mode) == 0o700
    assert all(stat.S_IMODE(os.stat(p).st_mode) == 0o600 for p in spool_dir.glob("*.json"))
    assert len(spooled(tmp_path)) == 3
    api.start()
    result = post(api, payload(13, running_jobs=13), tmp_path)
    assert result["delivered"] == ["2026-12-04T20:00:%d.000001" % s for s in (10, 11, 12, 13)], result["msg"]
    stored = api.stored()
    assert [s["running_jobs"] for s in stored] == [10, 11, 12, 13]
    assert spooled(tmp_path) == []


def test_plain_http_to_a_remote_host_is_refused(tmp_path):
    result = run_module("sam_status_post", dict(url="http://sam.example.org", system="derecho", payload=payload(6),
                                                api_key=KEY))
    assert result["failed"] and "refusing plain http://" in result["msg"]


def test_aware_timestamp_is_refused_before_sending(api, tmp_path):
    result = post(api, payload(7, timestamp="2026-12-04T20:00:07Z"), tmp_path)
    assert result["failed"] and "naive UTC" in result["msg"]
    assert api.requests_seen() == []


def test_check_mode_sends_nothing_leaves_the_spool_and_writes_the_artifact(api, tmp_path):
    api.stop()
    post(api, payload(20), tmp_path, retries=0)
    before = spooled(tmp_path)
    api.start()
    result = post(api, payload(21), tmp_path, check_mode=True)
    assert result.get("failed") is not True and result["status_code"] is None
    assert spooled(tmp_path) == before and api.requests_seen() == []
    written = json.loads(Path(result["artifact"]).read_text())
    assert written["timestamp"] == "2026-12-04T20:00:21.000001"


def test_spool_drops_snapshots_older_than_the_limit_and_says_so(api, tmp_path):
    d = tmp_path / "spool" / "derecho"
    d.mkdir(parents=True)
    (d / "2020-01-01T000000.000001.json").write_text(json.dumps(payload(0, timestamp="2020-01-01T00:00:00.000001")))
    result = post(api, payload(30), tmp_path)
    assert result["dropped"] == [{"file": "2020-01-01T000000.000001.json", "reason": "older than 7.0 days"}]
    assert [s["timestamp"] for s in api.stored()] == ["2026-12-04T20:00:30.000001"]
