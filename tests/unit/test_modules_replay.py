"""Data-driven module tests: each module runs its real code against a stand-in command that replays
recorded PBS output (stdout, stderr, exit code), in normal and check mode."""
import io
import json
import os
import stat
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest
import yaml

from repo_paths import REPO, SAMPLES

CASES = yaml.safe_load((REPO / "tests" / "fixtures" / "modules" / "cases.yml").read_text())


def run_module(name, args, check_mode=False):
    """Run library/<name>.py in-process and return its JSON result."""
    from ansible.module_utils.testing import patch_module_args

    module = __import__(name)
    if check_mode:
        args = dict(args, _ansible_check_mode=True)
    out = io.StringIO()
    with patch_module_args(args), redirect_stdout(out):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(out.getvalue())


def fake_pbs(tmp_path, case):
    """A PBS_EXEC tree whose bin/<command> prints the recorded output."""
    bindir = tmp_path / "pbs" / "bin"
    bindir.mkdir(parents=True)
    if "sample" in case:
        stdout = SAMPLES / case["sample"]
    else:
        stdout = tmp_path / "stdout"
        stdout.write_text(case.get("stdout", ""))
    errfile = tmp_path / "stderr"
    errfile.write_text(case.get("stderr", "") + ("\n" if case.get("stderr") else ""))
    script = bindir / case["command"]
    script.write_text("#!/bin/sh\n%scat '%s'\ncat '%s' >&2\nexit %d\n" % (
        "sleep %d\n" % case["hang"] if case.get("hang") else "", stdout, errfile, case.get("rc", 0)))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return tmp_path / "pbs"


@pytest.mark.compat
@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_module_replay(tmp_path, case):
    args = dict(case.get("args", {}), pbs_exec=str(fake_pbs(tmp_path, case)))
    result = run_module(case["module"], args, case.get("check_mode", False))
    for key, value in case["expect"].items():
        assert result.get(key, False if key == "failed" else None) == value, (key, result.get("msg"))
    for text in case.get("msg_contains", []):
        assert text in result["msg"]
    if result.get("failed"):
        assert result["cmd"][0].endswith("/" + case["command"])
        return
    assert len(json.dumps(result)) < 700000
    if "check_groups" in case:
        for want, got in zip(case["check_groups"], result["node_groups"]):
            assert {k: got[k] for k in want} == want
    if "queue_count" in case:
        assert len(result["queues"]) == case["queue_count"]
        assert all(set(q) >= {"queue_name", "queue_type", "enabled", "started", "total_jobs"} for q in result["queues"])
    if "reservation" in case:
        by_name = {r["reservation_name"]: r for r in result["reservations"]}
        want = case["reservation"]
        assert {k: by_name[want["reservation_name"]][k] for k in want} == want


def test_login_node_info_reads_this_machine():
    result = run_module("login_node_info", {})
    assert result["num_cpus"] == os.sysconf("SC_NPROCESSORS_CONF")
    assert len(result["loadavg"]) == 3 and result["user_count"] >= 0


@pytest.mark.compat
def test_filesystem_usage_info_measures_and_reports_a_missing_path(tmp_path):
    result = run_module("filesystem_usage_info", {"filesystems": [
        {"name": "/glade/work", "path": str(tmp_path)}, str(tmp_path / "missing")], "timeout": 5})
    ok, missing = result["filesystems"]
    st = os.statvfs(str(tmp_path))
    assert ok["ok"] is True and ok["name"] == "/glade/work"
    assert ok["size_bytes"] == st.f_blocks * st.f_frsize and ok["inodes_total"] == st.f_files
    assert missing["ok"] is False and missing["size_bytes"] is None and "df exited" in missing["error"]


def test_filesystem_usage_info_hung_df_fails_only_that_path(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "df"
    fake.write_text('#!/bin/sh\ncase "$*" in *hung*) sleep 30;; esac\nexec /bin/df "$@"\n')
    fake.chmod(0o755)
    (tmp_path / "hung").mkdir()
    monkeypatch.setenv("PATH", "%s:%s" % (bindir, os.environ["PATH"]))
    result = run_module("filesystem_usage_info", {"filesystems": [str(tmp_path / "hung"), str(tmp_path)], "timeout": 1})
    hung, fine = result["filesystems"]
    assert hung["ok"] is False and "did not finish within 1 s" in hung["error"]
    assert fine["ok"] is True and fine["size_bytes"] > 0
