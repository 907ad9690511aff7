"""sam_validate and the contract schema roles/sam_payload/files/sam-status.schema.json."""
import copy
import importlib.util
import json
import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from repo_paths import load_filter_plugin

REPO = Path(__file__).resolve().parents[2]
# Filters are controller code: also run on the Python 3.11 / ansible-core 2.19 fallback (make test-compat).
pytestmark = pytest.mark.compat
GOLDEN = REPO / "tests" / "fixtures" / "golden"
SCHEMA_PATH = REPO / "roles" / "sam_payload" / "files" / "sam-status.schema.json"


F = load_filter_plugin("sam_status")
SCHEMA = json.loads(SCHEMA_PATH.read_text())


def payload(system):
    """A valid payload: the hand-written golden expectation plus a timestamp."""
    data = json.loads((GOLDEN / ("%s_expected.json" % system)).read_text())
    data.pop("_comment")
    data["timestamp"] = "2026-12-04T20:31:14.123456"
    return data


def refused(p, system="derecho"):
    with pytest.raises(AnsibleFilterError) as exc:
        F.sam_validate(p, SCHEMA, system)
    msg = str(exc.value)
    assert msg.startswith("sam_validate: %s payload invalid: " % system)
    return msg


@pytest.mark.parametrize("system", ["derecho", "casper"])
def test_valid_payload_returned_unchanged(system):
    p = payload(system)
    before = copy.deepcopy(p)
    assert F.sam_validate(p, SCHEMA, system) is p
    assert p == before


def test_schema_as_json_text():
    p = payload("derecho")
    assert F.sam_validate(p, SCHEMA_PATH.read_text(), "derecho") is p


def test_required_counts_match_contract():
    # contract 1.4: Derecho 12 required body fields, Casper 17
    assert len(SCHEMA["$defs"]["derecho"]["required"]) == 12
    assert len(SCHEMA["$defs"]["casper"]["required"]) == 17


def test_duplicate_queue_names_refused():
    p = payload("derecho")
    p["queues"].append(dict(p["queues"][0]))
    msg = refused(p)
    assert "queues[4].queue_name: duplicate 'cpu' (also at queues[0])" in msg


def test_duplicate_user_project_queue_refused():
    p = payload("derecho")
    p["user_project_queues"].append(dict(p["user_project_queues"][1]))
    msg = refused(p)
    assert ("user_project_queues[6]: duplicate (username, project_code, queue_name) = "
            "('bob', '_unknown_', 'cpu') (also at user_project_queues[1])") in msg


@pytest.mark.parametrize("listname,field", [("filesystems", "filesystem_name"),
                                            ("login_nodes", "node_name"),
                                            ("queue_definitions", "queue_name")])
def test_other_duplicates_refused(listname, field):
    p = payload("derecho")
    p[listname].append(dict(p[listname][0]))
    assert "%s[%d].%s: duplicate" % (listname, len(p[listname]) - 1, field) in refused(p)


def test_duplicate_node_type_refused():
    p = payload("casper")
    p["node_types"].append(dict(p["node_types"][2]))
    assert "node_types[10].node_type: duplicate 'gpu-a100-4way'" in refused(p, "casper")


def test_missing_required_field_refused():
    p = payload("derecho")
    del p["cpu_cores_idle"]
    assert "cpu_cores_idle: required field missing" in refused(p)


def test_missing_casper_viz_field_refused():
    p = payload("casper")
    del p["viz_count_idle"]
    assert "viz_count_idle: required field missing" in refused(p, "casper")


def test_null_list_refused():
    p = payload("derecho")
    p["filesystems"] = None
    assert "filesystems: expected array, got null" in refused(p)


def test_over_long_name_refused():
    p = payload("derecho")
    p["filesystems"][2]["filesystem_name"] = "/glade/derecho/scratch/" + "x" * 16   # 39 chars
    msg = refused(p)
    assert msg == ("sam_validate: derecho payload invalid: "
                   "filesystems[2].filesystem_name: longer than 32 characters")


@pytest.mark.parametrize("path,value,fragment", [
    (("user_project_queues", 0, "project_code"), "P" * 17, "user_project_queues[0].project_code: longer than 16"),
    (("user_project_queues", 0, "username"), "u" * 33, "user_project_queues[0].username: longer than 32"),
    (("queues", 0, "queue_name"), "q" * 33, "queues[0].queue_name: longer than 32"),
    (("login_nodes", 0, "node_name"), "n" * 33, "login_nodes[0].node_name: longer than 32"),
    (("reservations", 0, "reservation_name"), "r" * 129, "reservations[0].reservation_name: longer than 128"),
    (("reservations", 0, "partition"), "p" * 65, "reservations[0].partition: longer than 64"),
    (("queue_definitions", 0, "queue_type"), "t" * 17, "queue_definitions[0].queue_type: longer than 16"),
])
def test_lookup_lengths(path, value, fragment):
    p = payload("derecho")
    p[path[0]][path[1]][path[2]] = value
    assert fragment in refused(p)


def test_node_type_and_gpu_model_lengths():
    p = payload("casper")
    p["node_types"][0]["node_type"] = "t" * 65
    p["node_types"][1]["gpu_model"] = "g" * 65
    msg = refused(p, "casper")
    assert "node_types[0].node_type: longer than 64 characters" in msg
    assert "node_types[1].gpu_model: longer than 64 characters" in msg


def test_every_violation_listed():
    p = payload("derecho")
    del p["memory_total_gb"]
    p["queues"] = None
    p["login_nodes"][0]["load_1min"] = "high"
    p["cpu_nodes_totl"] = 3
    msg = refused(p)
    for part in ("memory_total_gb: required field missing", "queues: expected array, got null",
                 "login_nodes[0].load_1min: expected number or null, got string",
                 "cpu_nodes_totl: unknown field"):
        assert part in msg
    assert msg.count("; ") == 3


@pytest.mark.parametrize("ts", ["2026-12-04T20:31:14Z", "2026-12-04T20:31:14+00:00",
                                "2026-12-04", "yesterday", 1764880274, "2026-13-04T20:31:14",
                                "2026-12-04T24:00:00", "2026-12-04T20:31:14.5",
                                "2026-12-04T20:31:14.123456\n"])
def test_timestamp_must_be_naive_iso(ts):
    p = payload("derecho")
    p["timestamp"] = ts
    assert "timestamp: " in refused(p)


@pytest.mark.parametrize("ts", ["2026-12-04T20:31:14", "2026-12-04 20:31:14", "2026-12-04T20:31:14.500",
                                "2026-12-04T20:31:14.500000"])
def test_timestamp_accepted(ts):
    p = payload("derecho")
    p["timestamp"] = ts
    F.sam_validate(p, SCHEMA, "derecho")


def test_reservation_requirements():
    p = payload("derecho")
    del p["reservations"][0]["start_time"]
    p["reservations"][1]["end_time"] = "2026-12-05T02:00:00Z"
    msg = refused(p)
    assert "reservations[0].start_time: required field missing" in msg
    assert "reservations[1].end_time: '2026-12-05T02:00:00Z' does not match" in msg


@pytest.mark.parametrize("field,value,fragment", [
    ("cpu_nodes_total", True, "cpu_nodes_total: expected integer, got boolean"),
    ("cpu_nodes_total", 3.0, "cpu_nodes_total: expected integer, got number"),
    ("cpu_nodes_down", None, "cpu_nodes_down: expected integer, got null"),
    ("cpu_nodes_total", -1, "cpu_nodes_total: less than 0"),
    ("memory_total_gb", float("nan"), "memory_total_gb: expected number, got non-finite number (nan)"),
    ("gpu_utilization_percent", "50", "gpu_utilization_percent: expected number or null"),
])
def test_top_level_types(field, value, fragment):
    p = payload("derecho")
    p[field] = value
    assert fragment in refused(p)


def test_nullable_fields_accept_null():
    p = payload("derecho")
    for k in ("cpu_utilization_percent", "gpu_utilization_percent", "memory_utilization_percent"):
        p[k] = None
    F.sam_validate(p, SCHEMA, "derecho")


def test_login_node_type_enum():
    p = payload("derecho")
    p["login_nodes"][0]["node_type"] = "login"
    assert "login_nodes[0].node_type: 'login' is not one of" in refused(p)


def test_casper_fields_refused_on_derecho_and_vice_versa():
    assert "node_types: unknown field" in refused(payload("casper"), "derecho")
    msg = refused(payload("derecho"), "casper")
    assert "viz_nodes_total: required field missing" in msg


def test_not_a_dict_and_bad_system():
    assert "(payload): expected object, got null" in refused(None)
    with pytest.raises(AnsibleFilterError, match="sam_validate: system: must be one of"):
        F.sam_validate(payload("derecho"), SCHEMA, "gust")


def test_schema_with_unsupported_keyword_refused():
    bad = copy.deepcopy(SCHEMA)
    bad["$defs"]["queue"]["properties"]["queue_name"]["format"] = "hostname"
    with pytest.raises(AnsibleFilterError, match="unsupported keyword 'format'"):
        F.sam_validate(payload("derecho"), bad, "derecho")


# ----------------------------------------------------------------- the schema is standard JSON Schema

def _jsonschema():
    return pytest.importorskip("jsonschema")


def _std_validator(system):
    js = _jsonschema()
    js.Draft202012Validator.check_schema(SCHEMA)
    return js.Draft202012Validator(dict(SCHEMA, **{"$ref": "#/$defs/%s" % system}))


@pytest.mark.parametrize("system", ["derecho", "casper"])
def test_jsonschema_accepts_valid_payloads(system):
    _std_validator(system).validate(payload(system))


def test_jsonschema_agrees_on_standard_violations():
    """Every standard keyword we rely on means the same to the reference implementation."""
    v = _std_validator("derecho")
    cases = []
    p = payload("derecho"); p["filesystems"][0]["filesystem_name"] = "x" * 33; cases.append(p)
    p = payload("derecho"); del p["cpu_cores_idle"]; cases.append(p)
    p = payload("derecho"); p["filesystems"] = None; cases.append(p)
    p = payload("derecho"); p["timestamp"] = "2026-12-04T20:31:14Z"; cases.append(p)
    p = payload("derecho"); p["queues"][0]["misspelt"] = 1; cases.append(p)
    p = payload("derecho"); p["running_jobs"] = -1; cases.append(p)
    p = payload("derecho"); p["login_nodes"][0]["node_type"] = "login"; cases.append(p)
    for p in cases:
        assert list(v.iter_errors(p)), p
        with pytest.raises(AnsibleFilterError):
            F.sam_validate(p, SCHEMA, "derecho")


def test_x_unique_by_is_ours_only():
    # jsonschema ignores the custom keyword (an annotation for it); our validator enforces it
    p = payload("derecho")
    p["queues"].append(dict(p["queues"][0]))
    assert not list(_std_validator("derecho").iter_errors(p))
    refused(p)


payload_of = payload


def test_collector_required_counter_missing_is_refused_before_sending():
    """The server stores an omitted counter as 0: the collector refuses to omit one."""
    import copy
    payload = copy.deepcopy(payload_of("derecho"))
    del payload["running_jobs"]
    del payload["login_nodes"][0]["available"]
    with pytest.raises(AnsibleFilterError) as err:
        F.sam_validate(payload, SCHEMA, "derecho")
    assert "running_jobs: missing; this collector always sends it" in str(err.value)
    assert "login_nodes[0].available: missing" in str(err.value)
