"""Shared pytest setup: make the repository's target-side code importable the way Ansible ships it."""
import sys
from pathlib import Path

import ansible.module_utils

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent

# Modules import their helpers as ansible.module_utils.<name>, as Ansible does on the target.
if str(REPO / "module_utils") not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(str(REPO / "module_utils"))
for extra in (TESTS, TESTS / "lab", REPO / "library"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))
