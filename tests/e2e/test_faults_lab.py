"""Fault injection on the real lab (real sshd, real HTTP; nothing mocked at the socket).

Each test breaks one thing, runs collect.yml, and checks what the stand-in stored and what the run said.
In none of them may a stored snapshot hold a value the simulator's state does not support.
"""
import json

import pytest

import lab
from pbssim.expected import expected_payload, records_lost
from test_collect_lab import PBS_FIELDS_CASPER, PBS_FIELDS_DERECHO, assert_matches_simulator, cluster_for

pytestmark = pytest.mark.lab

NULL_NUMBERS_LOGIN = ("user_count", "num_cpus", "load_1min", "load_5min", "load_15min")


def summary_of(run):
    """The per-system summary the run printed (the debug task's msg), as text."""
    return run.stdout[run.stdout.find("Summarise what each system posted"):]


def test_one_login_node_down_is_posted_unavailable(lab_env):
    lab.stop_host("derecho2")
    run = lab_env.playbook("-l", "derecho")
    assert run.returncode == 0, run.stdout[-3000:]
    stored = lab_env.snapshots("derecho")[0]
    assert_matches_simulator(lab_env, "derecho", stored)
    node = {n["node_name"]: n for n in stored["login_nodes"]}["derecho2"]
    assert node["available"] is False and node["degraded"] is True
    assert all(node[k] is None for k in NULL_NUMBERS_LOGIN)
    assert "login node derecho2 unavailable" in summary_of(run)


def test_reader_down_moves_pbs_reading_to_the_next_login_node(lab_env):
    lab.stop_host("derecho1")
    lab.set_fault("derecho2", "qstat", quirks=["raw_quote"])
    run = lab_env.playbook("-l", "derecho")
    assert run.returncode == 0, run.stdout[-3000:]
    assert "reader: derecho2" in summary_of(run)
    assert_matches_simulator(lab_env, "derecho", lab_env.snapshots("derecho")[0])


def test_all_login_nodes_of_one_system_down_fails_that_system_only(lab_env):
    for host in ("crlogin1", "crlogin2", "crlogin3"):
        lab.stop_host(host)
    run = lab_env.playbook()
    assert run.returncode != 0
    assert lab_env.snapshots("casper") == []
    assert_matches_simulator(lab_env, "derecho", lab_env.snapshots("derecho")[0])
    assert "NOT POSTED: no login node of casper answered" in run.stdout
    assert "Not delivered: casper" in run.stdout


@pytest.mark.parametrize("mode", ["fail", "no_node_list", "cannot_connect", "empty"])
def test_failing_pbsnodes_is_not_posted_as_zeros(lab_env, mode):
    lab.set_fault("derecho1", "pbsnodes", mode=mode)
    run = lab_env.playbook()
    assert run.returncode != 0
    assert lab_env.snapshots("derecho") == []
    assert "node query (pbsnodes) failed on derecho1" in run.stdout
    assert_matches_simulator(lab_env, "casper", lab_env.snapshots("casper")[0])


def test_qstat_hanging_past_its_timeout_fails_derecho_only(lab_env):
    lab.set_fault("derecho1", "qstat_jobs", mode="hang", hang_seconds=120)
    run = lab_env.playbook("-e", "sam_pbs_timeout=3")
    assert run.returncode != 0
    assert "qstat did not finish within 3 s" in run.stdout
    assert lab_env.snapshots("derecho") == []
    assert len(lab_env.snapshots("casper")) == 1


def test_queue_roster_and_reservations_failing_leave_those_lists_out(lab_env):
    lab.set_fault("crlogin1", "qstat_queues", mode="cannot_connect")
    lab.set_fault("crlogin1", "pbs_rstat", mode="fail")
    run = lab_env.playbook("-l", "casper")
    assert run.returncode == 0, run.stdout[-3000:]
    assert "queue roster not sent" in run.stdout and "reservations not sent" in run.stdout
    assert_matches_simulator(lab_env, "casper", lab_env.snapshots("casper")[0])
    assert [q for q in lab_env.roster("casper") if q["last_defined_at"]] == []
    assert lab_env.reservations("casper") == []


def test_df_hanging_on_one_path_degrades_only_that_filesystem(lab_env):
    lab.set_fault("crlogin1", "df", hang_paths=["glade/campaign"])
    run = lab_env.playbook("-l", "casper", "-e", "sam_df_timeout=2")
    assert run.returncode == 0, run.stdout[-3000:]
    fs = {f["filesystem_name"]: f for f in lab_env.snapshots("casper")[0]["filesystems"]}
    hung = fs["/glade/campaign"]
    assert hung["available"] is False and hung["degraded"] is True
    assert all(hung[k] is None for k in ("capacity_tb", "used_tb", "utilization_percent", "capacity_inodes",
                                         "used_inodes", "inodes_utilization_percent"))
    assert fs["/glade/work"]["available"] is True and fs["/glade/work"]["capacity_tb"] is not None
    assert "filesystem /glade/campaign: df did not finish within" in " ".join(run.stdout.split())


def test_api_outage_over_three_runs_then_back_delivers_everything_in_order_once(lab_env):
    lab.stop_api()
    for _ in range(3):
        run = lab_env.playbook("-e", "sam_api_retries=1 sam_api_backoff=0.1")
        assert run.returncode != 0 and "kept in the spool" in run.stdout
    lab.start_api()
    run = lab_env.playbook()
    assert run.returncode == 0, run.stdout[-3000:]
    assert "replayed_from_spool" in run.stdout
    for system in ("derecho", "casper"):
        stamps = [s["timestamp"] for s in lab_env.snapshots(system)]
        assert len(stamps) == 4 and stamps == sorted(stamps) and len(set(stamps)) == 4
        posts = [r for r in lab_env.requests() if r["system"] == system and r["status"] == 201]
        assert len(posts) == 4
    assert not list((lab_env.state / "spool" / "derecho").glob("*.json"))


def test_api_503_then_201_is_retried(lab_env):
    lab_env.faults({"status": 503, "count": 1, "system": "derecho"})
    run = lab_env.playbook("-e", "sam_api_backoff=0.1")
    assert run.returncode == 0, run.stdout[-3000:]
    assert len(lab_env.snapshots("derecho")) == 1 and len(lab_env.snapshots("casper")) == 1


def test_wrong_key_fails_at_once_and_is_never_printed(lab_env):
    secret = "wrong-key-must-not-leak-4711"
    run = lab_env.playbook("-v", env={"SAM_API_KEY": secret})
    assert run.returncode != 0
    assert "authentication failed" in run.stdout and "HTTP 401" in run.stdout
    assert secret not in run.stdout + run.stderr
    assert lab_env.snapshots("derecho") == [] and lab_env.snapshots("casper") == []


def test_contract_500_is_dead_lettered_and_not_retried(lab_env):
    lab_env.faults({"status": 500, "count": 5, "system": "derecho",
                    "body": {"error": "Database error: {'cpu_cores_idle': ['Missing data for required field.']}"}})
    run = lab_env.playbook("-e", "sam_api_backoff=0.1")
    assert run.returncode != 0
    assert "refused by the server, not retried" in run.stdout
    dead = list((lab_env.state / "spool" / "dead-letter" / "derecho").glob("*.error.json"))
    assert len(dead) == 1 and "Missing data" in json.loads(dead[0].read_text())["error"]
    derecho_posts = [r for r in lab_env.requests() if r["system"] == "derecho"]
    assert len(derecho_posts) == 1
    assert len(lab_env.snapshots("casper")) == 1


def test_slow_api_beyond_the_timeout_spools_the_snapshot(lab_env):
    lab_env.faults({"delay": 4, "count": 2, "system": "casper"})
    run = lab_env.playbook("-l", "casper", "-e", "sam_api_timeout=1 sam_api_retries=1 sam_api_backoff=0.1")
    assert run.returncode != 0 and "ReadTimeout" in run.stdout
    assert len(list((lab_env.state / "spool" / "casper").glob("*.json"))) == 1


def test_no_run_output_log_or_artifact_contains_the_api_key(lab_env):
    lab_env.playbook("-vvv", "-l", "crlogin1")
    lab_env.playbook("--check", "--diff", "-l", "crlogin1")
    key = lab.api_key()
    leaks = []
    for path in lab_env.state.rglob("*"):
        if path.is_file() and path.name != "sam_api_key" and key.encode() in path.read_bytes():
            leaks.append(str(path))
    assert leaks == []
    for run in lab_env.runs:
        assert key not in run.stdout and key not in run.stderr
