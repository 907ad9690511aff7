"""PBS's JSON writer bugs in the lab: the reader login node's PBS prints each generation and each quirk of
pbs-formats.md §12, and the stored snapshot still equals what the simulator's state implies."""
import pytest

import lab
from pbssim.expected import expected_payload, records_lost
from pbssim.render import QUIRKS
from test_collect_lab import PBS_FIELDS_CASPER, PBS_FIELDS_DERECHO, cluster_for

pytestmark = pytest.mark.lab

FAULT_KEYS = {"jobs": "qstat_jobs", "queues": "qstat_queues", "nodes": "pbsnodes", "rstat": "pbs_rstat"}


def run_with(lab_env, system, host, fault_by_command):
    for command, fault in fault_by_command.items():
        lab.set_fault(host, FAULT_KEYS[command], **fault)
    run = lab_env.playbook("-l", host)
    assert run.returncode == 0, run.stdout[-3000:]
    cluster = cluster_for(lab_env, system)
    lost = {cmd: records_lost(cluster, cmd, fault) for cmd, fault in fault_by_command.items()}
    expected = expected_payload(cluster, lost=lost)
    stored = lab_env.snapshots(system)[0]
    fields = PBS_FIELDS_CASPER if system == "casper" else PBS_FIELDS_DERECHO
    assert {k: stored[k] for k in fields} == {k: expected[k] for k in fields}
    assert stored["queues"] == expected["queues"]
    assert stored["user_project_queues"] == expected["user_project_queues"]
    return run, stored, expected


@pytest.mark.parametrize("quirk", sorted(QUIRKS))
def test_each_quirk_still_gives_correct_counts(lab_env, quirk):
    # A node listing without its container is covered below: it must not be posted at all.
    faults = {cmd: {"quirks": [quirk]} for cmd in QUIRKS[quirk]
              if cmd in FAULT_KEYS and not (quirk == "missing_container" and cmd == "nodes")}
    run, stored, expected = run_with(lab_env, "derecho", "derecho1", faults)
    if "queues" in faults:
        roster = sorted(q["queue_name"] for q in lab_env.roster("derecho") if q["last_defined_at"])
        assert roster == sorted(q["queue_name"] for q in expected["queue_definitions"])


@pytest.mark.parametrize("generation", ["G0", "G1", "G2", "G3", "G3b", "G4"])
def test_each_writer_generation_gives_correct_counts(lab_env, generation):
    fault = {"generation": generation}
    run_with(lab_env, "casper", "crlogin1", {"jobs": fault, "nodes": fault, "queues": fault})
    assert lab_env.snapshots("casper")[0]["node_types"] == expected_payload(cluster_for(lab_env, "casper"))["node_types"]


def test_every_recoverable_quirk_at_once_with_stderr_noise(lab_env):
    recoverable = sorted(q for q in QUIRKS if q != "missing_container")
    faults = {cmd: {"quirks": [q for q in recoverable if cmd in QUIRKS[q]], "mode": "stderr_noise"}
              for cmd in ("jobs", "nodes", "queues")}
    run, stored, expected = run_with(lab_env, "casper", "crlogin1", faults)
    assert "pbs_output_repairs" in run.stdout


def test_node_listing_without_nodes_is_not_posted_as_an_empty_cluster(lab_env):
    lab.set_fault("derecho1", "pbsnodes", quirks=["missing_container"])
    run = lab_env.playbook("-l", "derecho1")
    assert run.returncode != 0
    assert "pbsnodes listed no nodes" in " ".join(run.stdout.split())
    assert lab_env.snapshots("derecho") == []
