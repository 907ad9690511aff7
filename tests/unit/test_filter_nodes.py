"""sam_node_fields: state buckets, categories from the rules, edge cases (contract 1.4, 1.5, 2.2)."""
import copy
import importlib.util
import sys
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from repo_paths import load_filter_plugin

REPO = Path(__file__).resolve().parents[2]
# Filters are controller code: also run on the Python 3.11 / ansible-core 2.19 fallback (make test-compat).
pytestmark = pytest.mark.compat
RULES = REPO / "inventory" / "production" / "group_vars"


F = load_filter_plugin("sam_status")
GIB = 1024 ** 2  # KiB per GiB


def rules(system):
    return yaml.safe_load((RULES / system / "node_types.yml").read_text())["sam_node_type_rules"]


def group(count=1, state=("free",), ncpus=128, ngpus=0, mem_gib=256, qlist=None, gpu_type=None,
          a_cpus=0, a_gpus=0, a_mem_gib=0, first="n1"):
    return {"count": count, "state": list(state), "ncpus": ncpus, "ngpus": ngpus,
            "mem_kb": int(mem_gib * GIB), "qlist": qlist, "gpu_type": gpu_type,
            "assigned_ncpus": a_cpus, "assigned_ngpus": a_gpus, "assigned_mem_kb": int(a_mem_gib * GIB),
            "first_node": first}


def nodes(*groups):
    return {"collected_at": "2026-12-04T20:31:02.123456", "pbs_server": "x", "pbs_version": None,
            "node_count": sum(g["count"] for g in groups), "node_groups": list(groups), "parse": {}}


def derecho(*groups):
    return F.sam_node_fields(nodes(*groups), rules("derecho"), "derecho")


def casper(*groups, extra_rules=None):
    return F.sam_node_fields(nodes(*groups), (extra_rules or []) + rules("casper"), "casper")


def types_by_name(out):
    return {t["node_type"]: t for t in out["node_types"]}


# ----------------------------------------------------------------- edge cases named in the brief

def test_no_gpus_derecho():
    out = derecho(group(count=2, a_cpus=64, a_mem_gib=100))
    assert out["gpu_nodes_total"] == 0 and out["gpu_nodes_available"] == 0
    assert out["gpu_count_total"] == 0 and out["gpu_count_allocated"] == 0 and out["gpu_count_idle"] == 0
    assert out["gpu_utilization_percent"] is None          # null when there are no GPUs
    assert out["cpu_utilization_percent"] == 25.0           # 64 / 256
    assert out["memory_utilization_percent"] == 19.53       # 100 / 512 = 19.53125


def test_no_gpus_casper_viz_null():
    out = casper(group(count=2, qlist="htc", ncpus=62))
    assert out["gpu_utilization_percent"] is None
    assert out["viz_utilization_percent"] is None
    assert (out["viz_nodes_total"], out["viz_count_total"], out["viz_count_idle"]) == (0, 0, 0)
    row = types_by_name(out)["htc-62core"]
    assert row["gpus_per_node"] == 0 and row["gpu_model"] is None
    assert row["utilization_percent"] == 0.0                # core-based, 0 / 124


def test_all_nodes_down():
    out = casper(group(count=3, state=["down"], qlist="htc", ncpus=62),
                 group(count=2, state=["offline"], ngpus=4, gpu_type="a100", ncpus=64),
                 group(count=1, state=["down", "offline"], ngpus=2, gpu_type="l40", ncpus=36))
    assert (out["cpu_nodes_total"], out["cpu_nodes_down"], out["cpu_nodes_available"]) == (3, 3, 0)
    assert (out["gpu_nodes_total"], out["gpu_nodes_down"], out["gpu_nodes_available"]) == (2, 2, 0)
    assert (out["viz_nodes_total"], out["viz_nodes_down"], out["viz_nodes_available"]) == (1, 1, 0)
    assert out["cpu_cores_total"] == 3 * 62 + 2 * 64 + 36   # down nodes still count in totals
    assert out["cpu_cores_allocated"] == 0 and out["cpu_utilization_percent"] == 0.0
    assert out["gpu_count_total"] == 8 and out["gpu_utilization_percent"] == 0.0
    assert out["viz_count_total"] == 2 and out["viz_utilization_percent"] == 0.0
    for row in out["node_types"]:
        assert row["nodes_down"] == row["nodes_total"]
        assert row["nodes_available"] == row["nodes_allocated"] == 0


def test_resv_exclusive_counted_as_reserved():
    out = derecho(group(count=2, state=["resv-exclusive"]),
                  group(count=1, state=["job-exclusive", "resv-exclusive"]),
                  group(count=1, state=["free"]))
    assert out["cpu_nodes_reserved"] == 3
    assert out["cpu_nodes_available"] == 1
    assert out["cpu_nodes_down"] == 0
    assert out["cpu_nodes_total"] == 4


def test_resv_exclusive_type_level_buckets():
    """resv-only nodes fall into no node-type bucket; job-exclusive,resv-exclusive is allocated."""
    out = casper(group(count=2, state=["resv-exclusive"], qlist="htc", ncpus=62),
                 group(count=1, state=["job-exclusive", "resv-exclusive"], qlist="htc", ncpus=62))
    row = types_by_name(out)["htc-62core"]
    assert row["nodes_total"] == 3
    assert (row["nodes_available"], row["nodes_down"], row["nodes_allocated"]) == (0, 0, 1)
    assert out["cpu_nodes_reserved"] == 3


def test_down_offline_counted_once_as_down():
    out = derecho(group(count=1, state=["down", "offline"]),
                  group(count=1, state=["offline", "resv-exclusive"]),
                  group(count=1, state=["down", "offline", "job-exclusive"]))
    assert out["cpu_nodes_down"] == 3
    assert out["cpu_nodes_reserved"] == 0
    assert out["cpu_nodes_total"] == 3


def test_busy_and_other_states_only_in_totals():
    out = derecho(group(state=["job-busy"]), group(state=["busy"]), group(state=["stale"]),
                  group(state=["provisioning"]))
    assert out["cpu_nodes_total"] == 4
    assert out["cpu_nodes_available"] == out["cpu_nodes_down"] == out["cpu_nodes_reserved"] == 0


def test_empty_node_list():
    out = casper()
    assert out["cpu_cores_total"] == 0 and out["cpu_utilization_percent"] == 0.0
    assert out["memory_total_gb"] == 0.0 and out["memory_utilization_percent"] == 0.0
    assert out["gpu_utilization_percent"] is None and out["viz_utilization_percent"] is None
    assert out["node_types"] == []


def test_adding_a_casper_node_type_is_a_rules_change():
    g = group(count=2, ngpus=8, gpu_type="b200", ncpus=112, mem_gib=2048, qlist="nvgpu",
              a_gpus=4, a_cpus=10)
    before = types_by_name(casper(g))
    assert "gpu" in before and before["gpu"]["gpus_per_node"] == 8  # falls into "other GPU"
    new_rule = {"name": "gpu-b200-{ngpus}way", "category": "gpu",
                "when": "ngpus > `0` && contains(gpu_type, 'b200')"}
    out = casper(g, extra_rules=[new_rule])
    row = types_by_name(out)["gpu-b200-8way"]
    assert row == {"node_type": "gpu-b200-8way", "nodes_total": 2, "nodes_available": 2,
                   "nodes_down": 0, "nodes_allocated": 0, "cores_per_node": 112,
                   "memory_gb_per_node": 2048, "gpu_model": "b200", "gpus_per_node": 8,
                   "utilization_percent": 25.0, "memory_utilization_percent": 0.0}
    assert out["gpu_count_total"] == 16 and out["gpu_utilization_percent"] == 25.0


# ----------------------------------------------------------------- the shipped rules match 2.2

@pytest.mark.parametrize("ngpus,gpu_type,qlist,ncpus,name,category", [
    (4, "mi300a", "amdgpu", 96, "gpu-mi300a-4way", "gpu"),
    (4, "H100", "nvgpu", 64, "gpu-h100-4way", "gpu"),
    (4, "a100", "nvgpu", 64, "gpu-a100-4way", "gpu"),
    (1, "a100_80gb,nvlink", None, 64, "gpu-a100-1way", "gpu"),
    (8, "v100", "nvgpu", 36, "gpu-v100-8way", "gpu"),
    (2, "l40", "vis", 36, "viz-l40", "viz"),
    (1, "gp100", "vis", 36, "viz-gp100", "viz"),
    (1, "t4", "nvgpu", 8, "gpu", "gpu"),
    (1, None, "nvgpu", 8, "gpu", "gpu"),
    (0, None, "largemem", 36, "largemem-36core", "cpu"),
    (0, None, "casper,largemem", 36, "largemem-36core", "cpu"),
    (0, None, "jhublogin", 64, "jhublogin", "cpu"),
    (0, None, "gdex", 32, "gdex", "cpu"),
    (0, None, "HTC", 62, "htc-62core", "cpu"),
    (0, None, "casper,htc,vis", 62, "htc-62core", "cpu"),   # first match in rule order
    (0, None, "cpu", 128, "standard", "cpu"),
    (0, None, None, 128, "standard", "cpu"),
    (0, "a100", "htc", 62, "htc-62core", "cpu"),            # gpu_type ignored without GPUs
])
def test_shipped_casper_rules(ngpus, gpu_type, qlist, ncpus, name, category):
    out = casper(group(ngpus=ngpus, gpu_type=gpu_type, qlist=qlist, ncpus=ncpus))
    assert [t["node_type"] for t in out["node_types"]] == [name]
    assert out["%s_nodes_total" % category] == 1


@pytest.mark.parametrize("ngpus,gpu_type,category", [(4, "a100", "gpu"), (4, None, "gpu"),
                                                     (4, "h100", "gpu"), (0, "a100", "cpu")])
def test_shipped_derecho_rules(ngpus, gpu_type, category):
    out = derecho(group(ngpus=ngpus, gpu_type=gpu_type))
    assert out["%s_nodes_total" % category] == 1


def test_gpu_counts_only_from_gpu_category():
    # GPUs on a node classified cpu (by a custom rule) are not gpu_count_total
    out = F.sam_node_fields(nodes(group(ngpus=2, gpu_type="x", first="odd")),
                            [{"name": "cpu", "category": "cpu"}], "derecho")
    assert out["gpu_count_total"] == 0 and out["cpu_nodes_total"] == 1


def test_memory_gib_and_per_node_truncation():
    out = casper(group(count=1, qlist="largemem", ncpus=36, mem_gib=1535.999),
                 group(count=1, qlist="largemem", ncpus=36, mem_gib=1535.999, first="n2",
                       state=["job-busy"], a_mem_gib=1000))
    row = types_by_name(out)["largemem-36core"]
    # 1535.999 GiB -> 2 dp 1536.0 -> int 1536 (what the server stores from the reference's float)
    assert row["memory_gb_per_node"] == 1536
    assert isinstance(row["memory_gb_per_node"], int)
    assert out["memory_total_gb"] == 3072.0
    assert out["memory_allocated_gb"] == 1000.0


def test_type_memory_utilization_null_when_no_memory():
    out = casper(group(qlist="gdex", ncpus=32, mem_gib=0))
    row = types_by_name(out)["gdex"]
    assert row["memory_utilization_percent"] is None
    assert row["memory_gb_per_node"] == 0


def test_per_type_values_from_first_group():
    out = casper(group(count=1, ngpus=4, gpu_type="A100,SXM4", ncpus=64, mem_gib=512, first="a"),
                 group(count=1, ngpus=4, gpu_type="a100", ncpus=64, mem_gib=500, first="b"))
    # two groups of one type with different memory: per-node values come from the first one
    row = types_by_name(out)["gpu-a100-4way"]
    assert row["memory_gb_per_node"] == 512
    assert row["gpu_model"] == "A100"          # raw gpu_type up to the first comma
    assert row["nodes_total"] == 2


# ----------------------------------------------------------------- errors

def test_no_rule_matches_names_the_group():
    only_gpu = [{"name": "gpu-a100", "category": "gpu", "when": "ngpus > `0`"}]
    with pytest.raises(AnsibleFilterError) as exc:
        F.sam_node_fields(nodes(group(ngpus=4), group(first="dec0042")), only_gpu, "derecho")
    msg = str(exc.value)
    assert msg.startswith("sam_node_fields: node_groups[1]")
    assert "no node type rule matches" in msg and "dec0042" in msg


@pytest.mark.parametrize("bad_rules,fragment", [
    ([{"name": "x", "category": "tpu"}], "node_type_rules[0].category"),
    ([{"name": "x", "category": "viz"}], "derecho has no viz"),
    ([{"name": "x", "category": "cpu", "when": "ngpus >"}], "node_type_rules[0].when"),
    ([{"category": "cpu"}], "node_type_rules[0].name"),
    ([{"name": "x", "category": "cpu", "wen": "true"}], "unknown key(s) wen"),
    ([{"name": "x-{nope}", "category": "cpu"}], "node_type_rules[0].name: cannot format"),
    ([], "node_type_rules"),
    (None, "node_type_rules"),
])
def test_bad_rules(bad_rules, fragment):
    with pytest.raises(AnsibleFilterError) as exc:
        F.sam_node_fields(nodes(group()), bad_rules, "derecho")
    assert str(exc.value).startswith("sam_node_fields: ")
    assert fragment in str(exc.value)


def test_one_name_two_categories_refused():
    bad = [{"name": "same", "category": "gpu", "when": "ngpus > `0`"},
           {"name": "same", "category": "cpu"}]
    with pytest.raises(AnsibleFilterError, match=r"node_groups\[1\]: node type 'same'"):
        F.sam_node_fields(nodes(group(ngpus=1), group()), bad, "casper")


@pytest.mark.parametrize("field,value,fragment", [
    ("ncpus", "128", "node_groups[0].ncpus: expected an integer"),
    ("mem_kb", None, "node_groups[0].mem_kb: expected an integer"),
    ("assigned_ngpus", -1, "node_groups[0].assigned_ngpus: must be >= 0"),
    ("state", "free", "node_groups[0].state: expected a list"),
    ("count", 0, "node_groups[0].count: must be >= 1"),
    ("ngpus", True, "node_groups[0].ngpus: expected an integer"),
])
def test_bad_group_field(field, value, fragment):
    g = group()
    g[field] = value
    with pytest.raises(AnsibleFilterError) as exc:
        derecho(g)
    assert str(exc.value).startswith("sam_node_fields: ") and fragment in str(exc.value)


def test_missing_node_groups_and_bad_system():
    with pytest.raises(AnsibleFilterError, match="sam_node_fields: node_groups: expected a list"):
        F.sam_node_fields({"node_count": 0}, rules("derecho"), "derecho")
    with pytest.raises(AnsibleFilterError, match="sam_node_fields: system: must be one of"):
        F.sam_node_fields(nodes(), rules("derecho"), "gust")


def test_rules_file_dict_accepted_and_input_not_mutated():
    data = nodes(group(state=["FREE"], qlist="HTC"))
    snapshot = copy.deepcopy(data)
    whole_file = yaml.safe_load((RULES / "casper" / "node_types.yml").read_text())
    out = F.sam_node_fields(data, whole_file, "casper")
    assert out["cpu_nodes_available"] == 1
    assert data == snapshot
