"""Golden tests: complete Derecho and Casper payloads, expected values written by hand.

The expected payloads in tests/fixtures/golden/<system>_expected.json were written from the rules of
docs sam-api-contract.md (1.4, 1.5, 2.2-2.7), not produced by the code under test.  The arithmetic
behind the less obvious numbers:

Derecho nodes (derecho_nodes.json): CPU groups 3 job-busy + 2 free + 1 down,offline + 1 resv-exclusive
(128 cores, 256 GiB each); GPU groups 2 job-busy + 1 free + 1 offline (64 cores, 4 GPUs, 512 GiB each).
  cpu nodes 7 = 2 available + 1 down + 1 reserved (+3 busy, in total only); gpu nodes 4 = 1 + 1 down.
  cores 7*128 + 4*64 = 1152; allocated 384+64+128+16 = 592; idle 560; 592/1152 = 51.388.. -> 51.39
  GPUs 4*4 = 16; allocated 8+1 = 9; idle 7; 9/16 = 56.25
  memory 7*256 + 4*512 = 3840.0 GiB; allocated 384+32+100+10 = 526.0; 526/3840 = 13.697.. -> 13.7
Derecho jobs: queue cpu nodes_allocated 2 comes from queue_nodes_allocated (rows sum to 3);
  queue main has a running job without exec host (nodes 0) and erin's all-zero row (a job in
  another state) still counts as an active user; the null-owner row counts in the job sums only.
Derecho filesystems: /glade/work 1e12 B used of 3 TiB: used_tb 0.909.. -> 0.91, utilisation from
  bytes 30.316.. -> 30.32 (from the rounded TiB it would be 30.33); scratch 91 % -> degraded.
Derecho login: derecho3 64 CPUs, loadavg 1.0/0.5/80.0 -> 1.5625 / 0.78125 / 125.0 (unrounded).

Casper nodes (casper_nodes.json), per type:
  htc-62core 4 free + 2 job-busy + 1 down: cores 224/434 -> 51.61; memory 150/875 GiB -> 17.14
  largemem-36core 1 resv-exclusive (no type bucket), 768.5 GiB -> memory_gb_per_node 768
  jhublogin 1 job-exclusive,resv-exclusive: type level allocated, system level reserved
  standard (no Qlist) 1 state-unknown,down, 1000000 KiB = 0.95 GiB -> memory_gb_per_node 0
  gpu-a100-4way 2 busy + 1 free: GPUs 10/12 -> 83.33; memory 220/1536 -> 14.32
  gpu-mi300a-4way (gpu_type "MI300A,apu" -> gpu_model "MI300A"), gpu (t4: other GPU)
  viz-l40 2 free, 3 of 4 GPUs -> 75.0, memory 40/768 -> 5.21; viz-gp100 1 down,offline
  cpu nodes 11 (5 available: htc 4 + gdex; 2 down: htc + standard; 2 reserved: largemem + jhublogin)
  gpu nodes 5 (2 available, 1 down); viz nodes 3 (2 available, 1 down)
  cores 434+36+64+32+16+192+96+72+36+8 = 986; allocated 100+124+64+128+8+10 = 434; 44.016.. -> 44.02
  GPUs 12+4+1 = 17, allocated 10 -> 58.82; viz GPUs 4+1 = 5, allocated 3 -> 60.0
  memory 875+768.5+256+128+0.9537+1536+512+768+384+64 = 5292.4537 -> 5292.45;
  allocated 150+128+220+40 = 538.0; 538/5292.4537 = 10.165.. -> 10.17
Casper filesystem: 0.93359375 TiB used of 1 TiB -> 0.93, 93.36 % -> degraded; inodes 2000/3000 -> 66.67
"""
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from repo_paths import load_filter_plugin
import yaml

REPO = Path(__file__).resolve().parents[2]
# Filters are controller code: also run on the Python 3.11 / ansible-core 2.19 fallback (make test-compat).
pytestmark = pytest.mark.compat
GOLDEN = REPO / "tests" / "fixtures" / "golden"
SCHEMA_PATH = REPO / "roles" / "sam_payload" / "files" / "sam-status.schema.json"
RULES = REPO / "inventory" / "production" / "group_vars"


F = load_filter_plugin("sam_status")


def _json(name):
    return json.loads((GOLDEN / name).read_text())


def _rules(system):
    return yaml.safe_load((RULES / system / "node_types.yml").read_text())["sam_node_type_rules"]


def build_payload(system):
    """The assembly the playbook does: one filter per module result, merged."""
    filters = F.FilterModule().filters()
    payload = {}
    payload.update(filters["sam_node_fields"](_json("%s_nodes.json" % system), _rules(system), system))
    payload.update(filters["sam_job_fields"](_json("%s_jobs.json" % system)))
    payload["queue_definitions"] = filters["sam_queue_definitions"](_json("%s_queues.json" % system))
    payload["reservations"] = filters["sam_reservations"](_json("%s_reservations.json" % system))
    payload["filesystems"] = filters["sam_filesystems"](_json("%s_filesystems.json" % system))
    payload["login_nodes"] = filters["sam_login_nodes"](_json("%s_login_probes.json" % system))
    return payload


def _expected(system):
    data = _json("%s_expected.json" % system)
    data.pop("_comment", None)
    return data


CASES = [(s, k) for s in ("derecho", "casper") for k in _expected(s)]


@pytest.mark.parametrize("system,field", CASES, ids=["%s:%s" % c for c in CASES])
def test_golden_field(system, field):
    actual = build_payload(system)
    expected = _expected(system)
    if isinstance(expected[field], list):
        assert len(actual[field]) == len(expected[field])
        for i, (a, e) in enumerate(zip(actual[field], expected[field])):
            assert a == e, "%s[%d]" % (field, i)
            # same JSON types too (1 vs 1.0 matters for Integer vs Float columns)
            assert {k: type(v) for k, v in a.items()} == {k: type(v) for k, v in e.items()}, \
                "%s[%d]" % (field, i)
    else:
        assert actual[field] == expected[field]
        assert type(actual[field]) is type(expected[field])


@pytest.mark.parametrize("system", ["derecho", "casper"])
def test_golden_no_extra_fields(system):
    assert set(build_payload(system)) == set(_expected(system))


def test_derecho_has_no_viz_or_node_types():
    payload = build_payload("derecho")
    assert "node_types" not in payload
    assert not [k for k in payload if k.startswith("viz_")]


@pytest.mark.parametrize("system", ["derecho", "casper"])
def test_golden_payload_valid(system):
    schema = json.loads(SCHEMA_PATH.read_text())
    payload = build_payload(system)
    payload["timestamp"] = "2026-12-04T20:31:14.000001"
    assert F.sam_validate(payload, schema, system) is payload


@pytest.mark.parametrize("system", ["derecho", "casper"])
def test_golden_payload_valid_per_jsonschema(system):
    """The schema is standard JSON Schema 2020-12: the jsonschema package agrees."""
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    root = dict(schema, **{"$ref": "#/$defs/%s" % system})
    payload = build_payload(system)
    payload["timestamp"] = "2026-12-04T20:31:14"
    jsonschema.Draft202012Validator(root).validate(payload)


def test_payload_is_json_serialisable():
    for system in ("derecho", "casper"):
        assert json.loads(json.dumps(build_payload(system))) == build_payload(system)
