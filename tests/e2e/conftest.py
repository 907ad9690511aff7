"""Fixtures that start the real lab and run the real playbook against it."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "lab"))

import lab  # noqa: E402
from sam_api import store  # noqa: E402


class Lab(object):
    """The running lab, plus helpers to run collect.yml against it and read what the stand-in stored."""

    def __init__(self, info):
        self.info = info
        self.state = Path(info["state"])
        self.db = self.state / "sam.sqlite"
        self.runs = []

    def playbook(self, *args, env=None, timeout=900):
        environ = dict(os.environ)
        environ["SAM_API_KEY"] = lab.api_key()
        environ["ANSIBLE_FORCE_COLOR"] = "0"
        environ.update(env or {})
        bindir = os.path.dirname(sys.executable)
        environ["PATH"] = bindir + os.pathsep + environ.get("PATH", "")
        proc = subprocess.run([os.path.join(bindir, "ansible-playbook"), "collect.yml"] + list(args),
                              cwd=str(REPO), env=environ, capture_output=True, text=True, timeout=timeout)
        self.runs.append(proc)
        log = self.state / "log" / ("playbook-%03d.log" % len(self.runs))
        log.write_text("$ ansible-playbook collect.yml %s\nrc=%d\n%s\n%s" % (" ".join(args), proc.returncode, proc.stdout, proc.stderr))
        return proc

    def snapshots(self, system):
        return store.snapshots(str(self.db), system)

    def roster(self, system):
        return store.queue_roster(str(self.db), system)

    def reservations(self, system):
        return store.reservations(str(self.db), system)

    def requests(self):
        return store.request_log(str(self.db))

    def faults(self, *entries):
        import requests
        requests.post(self.info["api"] + "/_lab/faults", json={"queue": list(entries)}, timeout=5).raise_for_status()

    def reset_api(self):
        lab.stop_api()
        lab.start_api(fresh_db=True)


@pytest.fixture(scope="session")
def running_lab():
    info = lab.start(seed=int(os.environ.get("LAB_SEED", "1")), scale=float(os.environ.get("LAB_SCALE", "1.0")))
    try:
        yield Lab(info)
    finally:
        lab.stop()


@pytest.fixture
def lab_env(running_lab):
    """A clean stand-in database, no PBS faults, an empty spool, all login nodes up."""
    lab.clear_faults()
    for host in lab.lab_hosts():
        if not lab.status_host(host):
            lab.start_host(host)
    running_lab.reset_api()
    import shutil
    for sub in ("spool", "artifacts"):
        shutil.rmtree(running_lab.state / sub, ignore_errors=True)
    return running_lab
