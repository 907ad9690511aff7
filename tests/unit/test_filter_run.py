"""The run-orchestration filters (filter_plugins/sam_run.py): scope, PBS reader election, what is posted
and what is refused, distinct timestamps, and the summary."""
import copy
import json

import pytest
from ansible.errors import AnsibleFilterError

from repo_paths import REPO, load_filter_plugin

pytestmark = pytest.mark.compat

GOLDEN = REPO / "tests" / "fixtures" / "golden"
SCHEMA = json.loads((REPO / "roles" / "sam_payload" / "files" / "sam-status.schema.json").read_text())
R = load_filter_plugin("sam_run")


def golden(name):
    return json.loads((GOLDEN / name).read_text())


def hostvars_for(system, hosts, reader_index=0, **override):
    """What the gather play leaves in hostvars for one system, built from the golden module results."""
    probes = {p["node_name"]: p for p in golden("%s_login_probes.json" % system)}
    import yaml
    node_rules = yaml.safe_load((REPO / "inventory" / "production" / "group_vars" / system / "node_types.yml").read_text())
    hv = {}
    reader = hosts[reader_index]
    for host in hosts:
        probe = probes.get(host)
        vars_ = {"pbs_collect_reader": reader, "sam_node_type_rules": node_rules["sam_node_type_rules"],
                 "login_probe_result": (probe or {}).get("result") or {"unreachable": True, "msg": "ssh: connect refused"}}
        if probe and probe.get("node_type"):
            vars_["sam_login_node_type"] = probe["node_type"]
        hv[host] = vars_
    hv[reader].update({
        "pbs_collect_nodes": golden("%s_nodes.json" % system),
        "pbs_collect_jobs": golden("%s_jobs.json" % system),
        "pbs_collect_queues": golden("%s_queues.json" % system),
        "pbs_collect_reservations": golden("%s_reservations.json" % system),
        "pbs_collect_filesystems": golden("%s_filesystems.json" % system),
        "sam_filesystems": [f["name"] for f in golden("%s_filesystems.json" % system)["filesystems"]],
    })
    hv[reader].update(override)
    return hv


def scope_and_hostvars(**override):
    d_hosts = [p["node_name"] for p in golden("derecho_login_probes.json")]
    c_hosts = [p["node_name"] for p in golden("casper_login_probes.json")]
    hv = hostvars_for("derecho", d_hosts)
    hv.update(hostvars_for("casper", c_hosts, **override))
    return {"derecho": d_hosts, "casper": c_hosts}, hv


def test_scope_keeps_posting_order_and_only_systems_in_the_limit():
    groups = {"derecho": ["derecho1", "derecho2"], "casper": ["crlogin1"]}
    assert R.sam_scope(["derecho", "casper"], groups, ["crlogin1", "derecho2"]) == {"derecho": ["derecho2"], "casper": ["crlogin1"]}
    assert list(R.sam_scope(["derecho", "casper"], groups, ["crlogin1"])) == ["casper"]
    with pytest.raises(AnsibleFilterError):
        R.sam_scope("derecho", groups, [])


def test_reader_is_the_first_login_node_whose_probe_succeeded():
    hv = {"d1": {"login_probe_result": {"unreachable": True, "msg": "x"}},
          "d2": {"login_probe_result": {"failed": True, "msg": "who failed"}},
          "d3": {"login_probe_result": {"num_cpus": 8}}}
    assert R.sam_first_answering(["d1", "d2", "d3"], hv, ["d1", "d2", "d3"]) == "d3"
    assert R.sam_first_answering(["d1", "d2"], hv, ["d1", "d2"]) == ""


def test_both_snapshots_built_valid_and_equal_to_the_golden_payloads():
    scope, hv = scope_and_hostvars()
    snaps = R.sam_snapshots(scope, hv, SCHEMA)
    assert [s["system"] for s in snaps] == ["derecho", "casper"]
    for snap in snaps:
        assert snap["errors"] == [], snap["errors"]
        expected = golden("%s_expected.json" % snap["system"])
        for key, value in expected.items():
            if key not in ("timestamp", "_comment"):
                assert snap["payload"][key] == value, key


def test_equal_collection_times_get_distinct_timestamps():
    scope, hv = scope_and_hostvars()
    derecho_reader = hv[scope["derecho"][0]]["pbs_collect_reader"]
    casper_reader = hv[scope["casper"][0]]["pbs_collect_reader"]
    stamp = hv[derecho_reader]["pbs_collect_nodes"]["collected_at"]
    hv[casper_reader]["pbs_collect_nodes"] = dict(hv[casper_reader]["pbs_collect_nodes"], collected_at=stamp)
    d, c = R.sam_snapshots(scope, hv, SCHEMA)
    assert d["payload"]["timestamp"] == stamp
    assert c["payload"]["timestamp"] != stamp and c["payload"]["timestamp"] > stamp


@pytest.mark.parametrize("source,label", [("pbs_collect_nodes", "node query (pbsnodes)"), ("pbs_collect_jobs", "job query (qstat -f)")])
def test_failed_node_or_job_query_means_no_payload_for_that_system_only(source, label):
    scope, hv = scope_and_hostvars(**{source: {"failed": True, "msg": "qstat: cannot connect to server"}})
    d, c = R.sam_snapshots(scope, hv, SCHEMA)
    assert d["payload"] is not None
    assert c["payload"] is None and c["errors"] == ["%s failed on %s: qstat: cannot connect to server" % (label, scope["casper"][0])]


def test_failed_roster_and_reservations_are_left_out_and_reported():
    scope, hv = scope_and_hostvars(pbs_collect_queues={"failed": True, "msg": "timeout"},
                                   pbs_collect_reservations={"failed": True, "msg": "pbs_rstat exit 1"})
    c = R.sam_snapshots(scope, hv, SCHEMA)[1]
    assert "queue_definitions" not in c["payload"] and "reservations" not in c["payload"]
    assert "queue roster not sent: timeout" in c["degraded"] and "reservations not sent: pbs_rstat exit 1" in c["degraded"]


def test_failed_df_module_reports_every_configured_filesystem_unavailable():
    scope, hv = scope_and_hostvars(pbs_collect_filesystems={"unreachable": True, "msg": "gone"})
    c = R.sam_snapshots(scope, hv, SCHEMA)[1]
    assert c["payload"]["filesystems"] and all(f["available"] is False and f["degraded"] is True and f["capacity_tb"] is None
                                               for f in c["payload"]["filesystems"])


def test_no_answering_login_node_is_an_error_not_an_empty_payload():
    scope, hv = scope_and_hostvars()
    for host in scope["casper"]:
        hv[host]["pbs_collect_reader"] = ""
    c = R.sam_snapshots(scope, hv, SCHEMA)[1]
    assert c["payload"] is None and c["errors"][0].startswith("no login node of casper answered")


def test_invalid_payload_is_refused_with_the_field_path():
    scope, hv = scope_and_hostvars()
    reader = hv[scope["casper"][0]]["pbs_collect_reader"]
    fs = copy.deepcopy(hv[reader]["pbs_collect_filesystems"])
    fs["filesystems"][0]["name"] = "/glade/" + "x" * 40
    hv[reader]["pbs_collect_filesystems"] = fs
    c = R.sam_snapshots(scope, hv, SCHEMA)[1]
    assert c["payload"] is None
    assert "filesystems[0].filesystem_name: longer than 32 characters" in c["errors"][0]


def test_summary_names_outcome_per_system():
    scope, hv = scope_and_hostvars(pbs_collect_jobs={"failed": True, "msg": "boom"})
    snaps = R.sam_snapshots(scope, hv, SCHEMA)
    post = {"results": [{"item": "derecho", "status_code": 201, "msg": "derecho snapshot delivered (HTTP 201)",
                         "response": {"status_id": 7}}]}
    d, c = R.sam_run_summary(snaps, post)
    assert d["posted"] is True and d["status_id"] == 7
    assert c["posted"] is False and c["outcome"].startswith("NOT POSTED: job query (qstat -f) failed")
