"""The whole path on the lab: sshd login nodes -> modules -> filters -> POST -> what the stand-in stored."""
import glob
import json
import os

import pytest

import lab
from pbssim.expected import expected_payload
from pbssim.model import build_cluster

pytestmark = pytest.mark.lab

PBS_FIELDS_DERECHO = [
    "cpu_nodes_total", "cpu_nodes_available", "cpu_nodes_down", "cpu_nodes_reserved",
    "gpu_nodes_total", "gpu_nodes_available", "gpu_nodes_down", "gpu_nodes_reserved",
    "cpu_cores_total", "cpu_cores_allocated", "cpu_cores_idle", "cpu_utilization_percent",
    "gpu_count_total", "gpu_count_allocated", "gpu_count_idle", "gpu_utilization_percent",
    "memory_total_gb", "memory_allocated_gb", "memory_utilization_percent",
    "running_jobs", "pending_jobs", "held_jobs", "active_users",
]
PBS_FIELDS_CASPER = PBS_FIELDS_DERECHO + [
    "viz_nodes_total", "viz_nodes_available", "viz_nodes_down", "viz_nodes_reserved",
    "viz_count_total", "viz_count_allocated", "viz_count_idle", "viz_utilization_percent",
]


def cluster_for(running_lab, system):
    config = lab.read_pbssim_config()
    conf = config["systems"][system]
    return build_cluster(system, seed=conf["seed"], scale=conf["scale"], jobs=conf.get("jobs"), now=config["now"])


def assert_matches_simulator(running_lab, system, stored):
    expected = expected_payload(cluster_for(running_lab, system))
    fields = PBS_FIELDS_CASPER if system == "casper" else PBS_FIELDS_DERECHO
    assert {k: stored[k] for k in fields} == {k: expected[k] for k in fields}
    for key in ("queues", "user_project_queues"):
        assert stored[key] == expected[key], key
    if system == "casper":
        assert stored["node_types"] == expected["node_types"]
    return expected


@pytest.mark.compat
def test_both_systems_posted_and_equal_to_simulator_state(lab_env):
    run = lab_env.playbook()
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    for system, hosts in (("derecho", 8), ("casper", 3)):
        snaps = lab_env.snapshots(system)
        assert len(snaps) == 1, system
        stored = snaps[0]
        expected = assert_matches_simulator(lab_env, system, stored)
        roster = {q["queue_name"]: q["queue_type"] for q in lab_env.roster(system) if q["last_defined_at"]}
        assert roster == {d["queue_name"]: d["queue_type"] for d in expected["queue_definitions"]}
        fields = ("reservation_name", "description", "start_time", "end_time", "node_count", "partition")
        resv = sorted(tuple(r[k] for k in fields) for r in lab_env.reservations(system))
        assert resv == sorted(tuple(r[k] for k in fields) for r in expected["reservations"])
        assert len(resv) >= 3
        logins = {n["node_name"]: n for n in stored["login_nodes"]}
        assert len(logins) == hosts
        for node in logins.values():
            assert node["available"] is True and node["degraded"] is False
            assert node["num_cpus"] == os.sysconf("SC_NPROCESSORS_CONF")
            assert node["load_1min"] is not None and node["load_1min"] >= 0
    derecho_logins = {n["node_name"]: n["node_type"] for n in lab_env.snapshots("derecho")[0]["login_nodes"]}
    assert derecho_logins["derecho3"] == derecho_logins["derecho7"] == "gpu"
    assert derecho_logins["derecho1"] == "cpu"
    assert "derecho snapshot" in run.stdout and "casper snapshot" in run.stdout and "HTTP 201" in run.stdout


def test_stored_derecho_totals_equal_simulator_totals(lab_env):
    """Issue acceptance: node, core, GPU and job totals of the stored Derecho snapshot."""
    run = lab_env.playbook("-l", "derecho")
    assert run.returncode == 0, run.stdout[-4000:]
    assert lab_env.snapshots("casper") == []
    stored = lab_env.snapshots("derecho")[0]
    cluster = cluster_for(lab_env, "derecho")
    nodes = cluster.nodes
    gpu_nodes = [n for n in nodes if n.ngpus > 0]
    assert stored["cpu_nodes_total"] + stored["gpu_nodes_total"] == len(nodes)
    assert stored["gpu_nodes_total"] == len(gpu_nodes)
    assert stored["cpu_cores_total"] == sum(n.ncpus for n in nodes)
    assert stored["gpu_count_total"] == sum(n.ngpus for n in gpu_nodes)
    assert stored["running_jobs"] == sum(1 for j in cluster.jobs if j.state == "R")
    assert stored["pending_jobs"] == sum(1 for j in cluster.jobs if j.state == "Q")
    assert stored["held_jobs"] == sum(1 for j in cluster.jobs if j.state == "H")


def spool_listing(state):
    spool = state / "spool"
    return sorted((str(p.relative_to(spool)), p.stat().st_mtime_ns) for p in spool.rglob("*")) if spool.exists() else []


def test_check_mode_posts_nothing_leaves_the_spool_and_writes_artifacts(lab_env):
    lab.stop_api()
    lab_env.playbook("-l", "derecho", "-e", "sam_api_retries=0")
    lab.start_api()
    spool_before = spool_listing(lab_env.state)
    assert any(name.startswith("derecho/") for name, _ in spool_before)
    run = lab_env.playbook("--check", "--diff")
    assert run.returncode == 0, run.stdout[-4000:]
    assert lab_env.snapshots("derecho") == [] and lab_env.snapshots("casper") == []
    assert lab_env.requests() == []
    assert spool_listing(lab_env.state) == spool_before
    for system in ("derecho", "casper"):
        written = json.loads((lab_env.state / "artifacts" / ("%s-latest.json" % system)).read_text())
        assert_matches_simulator(lab_env, system, written)
    assert "Dry run: nothing posted" in run.stdout


def test_filesystems_are_measured_on_the_login_node(lab_env):
    run = lab_env.playbook("-l", "casper")
    assert run.returncode == 0, run.stdout[-4000:]
    stored = lab_env.snapshots("casper")[0]
    names = [f["filesystem_name"] for f in stored["filesystems"]]
    assert names == sorted(["/glade/u/home", "/glade/u/apps", "/glade/work", "/glade/campaign"]) or \
        sorted(names) == sorted(["/glade/u/home", "/glade/u/apps", "/glade/work", "/glade/campaign"])
    st = os.statvfs(str(lab_env.state / "glade" / "work"))
    size_tib = round(st.f_blocks * st.f_frsize / 1024 ** 4, 2)
    fs = {f["filesystem_name"]: f for f in stored["filesystems"]}["/glade/work"]
    assert fs["available"] is True and fs["capacity_tb"] == size_tib
    assert fs["capacity_inodes"] == float(st.f_files)


def test_stopping_the_lab_leaves_no_process_behind(lab_env):
    run = lab_env.playbook("-l", "crlogin1")
    assert run.returncode == 0, run.stdout[-4000:]
    lab.stop()
    try:
        assert lab.lab_processes() == set()
    finally:
        lab.start(seed=lab_env.info["seed"], scale=lab_env.info["scale"])


def test_modules_run_on_a_python_3_9_target(lab_env):
    """The login nodes' own Python may be as old as 3.9: the whole run works with it."""
    found = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.9*/bin/python3.9"))) or \
        [p for p in ("/usr/bin/python3.9", "/usr/local/bin/python3.9") if os.path.exists(p)]
    assert found, "no Python 3.9 on this machine to stand in for an old login node"
    lab.start(seed=lab_env.info["seed"], scale=lab_env.info["scale"], target_python=found[-1])
    try:
        run = lab_env.playbook()
        assert run.returncode == 0, run.stdout[-4000:]
        assert "python3.9" in (lab_env.state.parent.parent.parent / "inventory" / "lab" / "group_vars" / "all"
                                / "zz_lab_generated.yml").read_text()
        for system in ("derecho", "casper"):
            assert_matches_simulator(lab_env, system, lab_env.snapshots(system)[0])
    finally:
        lab.start(seed=lab_env.info["seed"], scale=lab_env.info["scale"])


def test_invalid_payload_is_refused_locally_and_nothing_is_sent(lab_env, tmp_path):
    long_name = "/glade/" + "x" * 40
    extra = tmp_path / "bad.json"
    extra.write_text(json.dumps({"sam_filesystems": [{"name": long_name, "path": str(lab_env.state / "glade" / "work")}]}))
    run = lab_env.playbook("-e", "@%s" % extra)
    assert run.returncode != 0
    text = " ".join(run.stdout.split())
    assert "derecho payload invalid: filesystems[0].filesystem_name: longer than 32 characters" in text
    assert "casper payload invalid: filesystems[0].filesystem_name: longer than 32 characters" in text
    assert lab_env.requests() == []


def test_a_new_casper_node_type_is_a_group_vars_change(lab_env, tmp_path):
    import yaml

    rules = yaml.safe_load((lab.REPO / "inventory" / "production" / "group_vars" / "casper" / "node_types.yml").read_text())
    rules["sam_node_type_rules"].insert(0, {"name": "jupyter-{ncpus}core", "category": "cpu",
                                            "when": "contains(qlist, 'jhublogin')"})
    extra = tmp_path / "rules.json"
    extra.write_text(json.dumps(rules))
    run = lab_env.playbook("-l", "casper", "-e", "@%s" % extra)
    assert run.returncode == 0, run.stdout[-3000:]
    types = {t["node_type"]: t for t in lab_env.snapshots("casper")[0]["node_types"]}
    expected = {t["node_type"]: t for t in expected_payload(cluster_for(lab_env, "casper"))["node_types"]}
    assert "jhublogin" in expected and "jhublogin" not in types
    renamed = [name for name in types if name.startswith("jupyter-")]
    assert len(renamed) == 1
    assert dict(types[renamed[0]], node_type="jhublogin") == expected["jhublogin"]
