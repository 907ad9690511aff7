"""The filters inside a real ansible-playbook run (plugin loading, templating of their results)."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Filters are controller code: also run on the Python 3.11 / ansible-core 2.19 fallback (make test-compat).
pytestmark = pytest.mark.compat
GOLDEN = REPO / "tests" / "fixtures" / "golden"
PLAYBOOK_BIN = Path(sys.executable).parent / "ansible-playbook"

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars_files:
    - {repo}/inventory/production/group_vars/casper/node_types.yml
  vars:
    g: {repo}/tests/fixtures/golden
    schema: "{{{{ lookup('file', '{repo}/roles/sam_payload/files/sam-status.schema.json') | from_json }}}}"
  tasks:
    - set_fact:
        payload: >-
          {{{{ (lookup('file', g ~ '/casper_nodes.json') | from_json
                | sam_node_fields(sam_node_type_rules, 'casper'))
             | combine(lookup('file', g ~ '/casper_jobs.json') | from_json | sam_job_fields)
             | combine({{
                 'queue_definitions': lookup('file', g ~ '/casper_queues.json') | from_json | sam_queue_definitions,
                 'reservations': lookup('file', g ~ '/casper_reservations.json') | from_json | sam_reservations,
                 'filesystems': lookup('file', g ~ '/casper_filesystems.json') | from_json | sam_filesystems,
                 'login_nodes': lookup('file', g ~ '/casper_login_probes.json') | from_json | sam_login_nodes}})
             | combine(extra) }}}}
    - copy:
        content: "{{{{ payload | sam_validate(schema, 'casper') | to_json }}}}"
        dest: "{out}"
"""


def _run(tmp_path, extra):
    if not PLAYBOOK_BIN.exists():
        pytest.skip("ansible-playbook not installed next to this interpreter")
    out = tmp_path / "payload.json"
    pb = tmp_path / "pb.yml"
    pb.write_text(PLAYBOOK.format(repo=REPO, out=out))
    env = dict(os.environ, ANSIBLE_FILTER_PLUGINS=str(REPO / "filter_plugins"),
               ANSIBLE_HOME=str(tmp_path / "home"), ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
               ANSIBLE_CONFIG=str(tmp_path / "none.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_LOCALHOST_WARNING="0")
    proc = subprocess.run([str(PLAYBOOK_BIN), str(pb), "-e", json.dumps({"extra": extra})],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    return proc, out


def test_casper_payload_through_ansible(tmp_path):
    proc, out = _run(tmp_path, {"timestamp": "2026-12-04T20:31:14.000001"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    actual = json.loads(out.read_text())
    expected = json.loads((GOLDEN / "casper_expected.json").read_text())
    expected.pop("_comment")
    expected["timestamp"] = "2026-12-04T20:31:14.000001"
    assert actual == expected
    # Integer vs Float survives Ansible's templating (e.g. 60.0 stays a float, 128 an int)
    assert isinstance(actual["viz_utilization_percent"], float)
    assert isinstance(actual["node_types"][0]["memory_gb_per_node"], int)


def test_invalid_payload_fails_the_task_with_the_message(tmp_path):
    proc, _ = _run(tmp_path, {"queues": None, "timestamp": "2026-12-04T20:31:14Z"})
    assert proc.returncode != 0
    text = proc.stdout + proc.stderr
    assert "sam_validate: casper payload invalid:" in text
    assert "queues: expected array, got null" in text
    assert "timestamp:" in text
