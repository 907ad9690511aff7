"""Every module documents itself (ansible-doc renders it) and the plays pass ansible-lint's production profile."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from repo_paths import REPO

MODULES = sorted(p.stem for p in (REPO / "library").glob("*.py"))
BIN = os.path.dirname(sys.executable)


@pytest.mark.compat
@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_renders(module):
    proc = subprocess.run([os.path.join(BIN, "ansible-doc"), "-M", "library", "--json", module],
                          cwd=str(REPO), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)[module]
    assert doc["doc"]["short_description"] and doc["examples"] and doc["return"]
    assert "[WARNING]" not in proc.stderr


def test_ansible_lint_production_profile():
    lint = os.path.join(BIN, "ansible-lint")
    if not os.path.exists(lint):
        pytest.fail("ansible-lint is not installed in this environment (requirements.txt)")
    proc = subprocess.run([lint, "--profile", "production", "--offline", "collect.yml", "playbooks", "roles", "inventory"],
                          cwd=str(REPO), capture_output=True, text=True, env=dict(os.environ, NO_COLOR="1"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
