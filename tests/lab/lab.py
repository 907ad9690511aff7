#!/usr/bin/env python3
"""The local lab: real OpenSSH sshd per login node on loopback, the PBS simulator on their PATH, and
the SAM API stand-in on 127.0.0.1.

    python tests/lab/lab.py start [--seed N] [--scale F] [--target-python PATH]
    python tests/lab/lab.py stop
    python tests/lab/lab.py status
    python tests/lab/lab.py api-key          # prints the lab's API key (for SAM_API_KEY)

Tests use the same functions (start, stop, set_fault, stop_host, start_host, ...).
"""
import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
INVENTORY = REPO / "inventory" / "lab"
GENERATED_VARS = INVENTORY / "group_vars" / "all" / "zz_lab_generated.yml"
STATE = Path(os.environ.get("LAB_STATE_DIR", HERE / ".state")).resolve()
SSH_PORT = int(os.environ.get("LAB_SSH_PORT", "22022"))
API_HOST = "127.0.0.1"
API_PORT = int(os.environ.get("LAB_API_PORT", "18050"))
SYSTEM_DEFAULTS = {
    "derecho": {"server": "desched1", "pbs_version": "2022.1.5.20230309203834", "timezone": "America/Denver"},
    "casper": {"server": "casper-pbs", "pbs_version": "2022.1.5.20230309203834", "timezone": "America/Denver"},
}
GLADE = ["glade/u/home", "glade/u/apps", "glade/work", "glade/campaign", "glade/derecho/scratch"]


def lab_hosts():
    """{host: {"address": ip, "system": group}} from the lab inventory (the single source of addresses)."""
    import yaml

    data = yaml.safe_load((INVENTORY / "hosts.yml").read_text())
    hosts = {}
    for system, group in data["all"]["children"].items():
        for name, hvars in group["hosts"].items():
            hosts[name] = {"address": hvars["ansible_host"], "system": system}
    return hosts


def _run(argv):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_port(host, port, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def _sshd_binary():
    path = shutil.which("sshd") or "/usr/sbin/sshd"
    if not os.path.exists(path):
        sys.exit("sshd not found: install OpenSSH server (Debian: apt-get install openssh-server)")
    return path


def _ssh_keys():
    sshdir = STATE / "ssh"
    sshdir.mkdir(parents=True, exist_ok=True)
    os.chmod(sshdir, 0o700)
    for name in ("host_ed25519", "id_ed25519"):
        if not (sshdir / name).exists():
            _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "sam-lab-" + name, "-f", str(sshdir / name)])
    (sshdir / "authorized_keys").write_text((sshdir / "id_ed25519.pub").read_text())
    os.chmod(sshdir / "authorized_keys", 0o600)
    hostpub = (sshdir / "host_ed25519.pub").read_text().split()
    lines = ["[%s]:%d %s %s" % (h["address"], SSH_PORT, hostpub[0], hostpub[1]) for h in lab_hosts().values()]
    (sshdir / "known_hosts").write_text("\n".join(lines) + "\n")
    return sshdir


def _pbssim_config(seed, scale, jobs):
    systems = {}
    for system, defaults in SYSTEM_DEFAULTS.items():
        systems[system] = dict(defaults, seed=seed, scale=scale, jobs=jobs.get(system))
    hosts = {name: {"system": h["system"]} for name, h in lab_hosts().items()}
    # A fixed "now" keeps the cluster's clock-derived state (reservation times) the same for the lab's life.
    config = {"now": int(time.time() // 3600 * 3600), "systems": systems, "hosts": hosts, "faults": {}}
    write_pbssim_config(config)
    return config


def pbssim_config_path():
    return STATE / "pbssim.json"


def read_pbssim_config():
    return json.loads(pbssim_config_path().read_text())


def write_pbssim_config(config):
    tmp = pbssim_config_path().with_suffix(".tmp")
    tmp.write_text(json.dumps(config, indent=2))
    tmp.replace(pbssim_config_path())


def set_fault(host, command, **fault):
    """Make the simulated `command` on `host` misbehave (see tests/lab/pbssim for modes and quirks)."""
    config = read_pbssim_config()
    config["faults"].setdefault(host, {})[command] = fault
    write_pbssim_config(config)


def clear_faults():
    config = read_pbssim_config()
    config["faults"] = {}
    write_pbssim_config(config)


def _sshd_config(host, info, user, path_env):
    run, log = STATE / "run", STATE / "log"
    return "\n".join([
        "ListenAddress %s:%d" % (info["address"], SSH_PORT),
        "HostKey %s" % (STATE / "ssh" / "host_ed25519"),
        "PidFile %s" % (run / ("sshd-%s.pid" % host)),
        "AuthorizedKeysFile %s" % (STATE / "ssh" / "authorized_keys"),
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "PermitRootLogin prohibit-password",
        "AllowUsers %s" % user,
        "MaxSessions 64",
        "MaxStartups 64:30:128",
        "Subsystem sftp internal-sftp",
        "PrintMotd no",
        # The PBS simulator is this login node's pbsnodes/qstat/pbs_rstat.
        "SetEnv PATH=%s PBSSIM_CONFIG=%s PBSSIM_HOST=%s" % (path_env, pbssim_config_path(), host),
        "LogLevel INFO",
        "",
    ])


def start_host(host):
    conf = STATE / "sshd" / ("%s.conf" % host)
    _run([_sshd_binary(), "-f", str(conf), "-E", str(STATE / "log" / ("sshd-%s.log" % host))])
    info = lab_hosts()[host]
    if not _wait_port(info["address"], SSH_PORT):
        raise RuntimeError("sshd for %s did not start; see %s" % (host, STATE / "log" / ("sshd-%s.log" % host)))


def stop_host(host):
    _terminate(_pids_of(STATE / "run" / ("sshd-%s.pid" % host)) | _socket_pids({lab_hosts()[host]["address"]}, SSH_PORT))


def _write_generated_vars(user, target_python):
    lines = [
        "---",
        "# Written by tests/lab/lab.py start; do not edit, do not commit.",
        "lab_state_dir: %s" % json.dumps(str(STATE)),
        "ansible_user: %s" % json.dumps(user),
        "ansible_port: %d" % SSH_PORT,
        "ansible_ssh_private_key_file: %s" % json.dumps(str(STATE / "ssh" / "id_ed25519")),
        "ansible_ssh_common_args: %s" % json.dumps(
            "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes" % (STATE / "ssh" / "known_hosts")),
        "ansible_python_interpreter: %s" % json.dumps(target_python),
        "sam_pbs_exec: %s" % json.dumps(str(HERE)),
        "sam_api_url: %s" % json.dumps("http://%s:%d" % (API_HOST, API_PORT)),
        "sam_spool_dir: %s" % json.dumps(str(STATE / "spool")),
        "sam_artifacts_dir: %s" % json.dumps(str(STATE / "artifacts")),
        "",
    ]
    GENERATED_VARS.write_text("\n".join(lines))


def api_key():
    return (STATE / "sam_api_key").read_text().strip()


def start_api(fresh_db=False):
    db = STATE / "sam.sqlite"
    if fresh_db:
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
    log = open(STATE / "log" / "sam_api.log", "ab")
    subprocess.Popen(
        [sys.executable, str(HERE / "sam_api" / "server.py"), "--host", API_HOST, "--port", str(API_PORT),
         "--db", str(db), "--key-file", str(STATE / "sam_api_key"), "--pidfile", str(STATE / "run" / "sam_api.pid"),
         "--log", str(STATE / "log" / "sam_api.log")],
        stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    if not _wait_port(API_HOST, API_PORT):
        raise RuntimeError("SAM API stand-in did not start; see %s" % (STATE / "log" / "sam_api.log"))


def stop_api():
    _terminate(_pids_of(STATE / "run" / "sam_api.pid") | _socket_pids({API_HOST}, API_PORT, listen_only=True))


def start(seed=1, scale=1.0, jobs=None, target_python=None):
    """Start (or restart) the whole lab with a fresh state and return a dict describing it."""
    stop()
    import pwd

    user = pwd.getpwuid(os.getuid()).pw_name
    for sub in ("run", "log", "sshd", "spool", "artifacts"):
        path = STATE / sub
        if sub in ("spool", "artifacts") and path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True, exist_ok=True)
    for rel in GLADE:
        (STATE / rel).mkdir(parents=True, exist_ok=True)
    if os.getuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    keyfile = STATE / "sam_api_key"
    keyfile.write_text(secrets.token_urlsafe(32) + "\n")
    os.chmod(keyfile, 0o600)
    _ssh_keys()
    _pbssim_config(seed, scale, jobs or {})
    target_python = target_python or os.environ.get("LAB_TARGET_PYTHON") or shutil.which("python3", path="/usr/bin:/usr/local/bin") or sys.executable
    path_env = ":".join([str(HERE / "bin"), os.path.dirname(target_python), "/usr/local/bin", "/usr/bin", "/bin"])
    hosts = lab_hosts()
    for host, info in hosts.items():
        (STATE / "sshd" / ("%s.conf" % host)).write_text(_sshd_config(host, info, user, path_env))
    for host in hosts:
        start_host(host)
    start_api(fresh_db=True)
    _write_generated_vars(user, target_python)
    return {"hosts": hosts, "api": "http://%s:%d" % (API_HOST, API_PORT), "state": str(STATE),
            "target_python": target_python, "seed": seed, "scale": scale}


def _pids_of(pidfile):
    try:
        pid = int(Path(pidfile).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return set()
    return {pid} | _descendants(pid) if _alive(pid) else set()


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _descendants(root):
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, set()).add(int(entry.name))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _socket_pids(addresses, port, listen_only=False):
    """Processes holding a TCP socket on addresses:port (sshd children, lingering ssh ControlPersist masters)."""
    wanted = set()
    for table in ("/proc/net/tcp",):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            local, remote, state, inode = parts[1], parts[2], parts[3], parts[9]
            for endpoint in ((local,) if listen_only else (local, remote)):
                hexip, hexport = endpoint.split(":")
                ip = socket.inet_ntoa(bytes.fromhex(hexip)[::-1])
                if ip in addresses and int(hexport, 16) == port and inode != "0":
                    wanted.add(inode)
    pids = set()
    if not wanted:
        return pids
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in wanted:
                    pids.add(int(entry.name))
                    break
        except OSError:
            continue
    pids.discard(os.getpid())
    return pids


def _terminate(pids):
    pids = {p for p in pids if p != os.getpid()}
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.time() + wait
        while time.time() < deadline:
            pids = {p for p in pids if _alive(p) and not _zombie(p)}
            if not pids:
                return
            time.sleep(0.05)


def _zombie(pid):
    try:
        return Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def lab_processes():
    """Every process that belongs to the lab (empty after stop)."""
    addresses = {h["address"] for h in lab_hosts().values()}
    pids = _socket_pids(addresses, SSH_PORT) | _socket_pids({API_HOST}, API_PORT, listen_only=True)
    run = STATE / "run"
    if run.exists():
        for pidfile in run.glob("*.pid"):
            pids |= _pids_of(pidfile)
    return {p for p in pids if _alive(p) and not _zombie(p)}


def stop():
    """Stop every lab process: sshd listeners and their sessions, the stand-in, lingering ssh clients."""
    run = STATE / "run"
    _terminate(lab_processes())
    if run.exists():
        for pidfile in run.glob("*.pid"):
            pidfile.unlink()
    if GENERATED_VARS.exists():
        GENERATED_VARS.unlink()


def status_host(host):
    return _wait_port(lab_hosts()[host]["address"], SSH_PORT, timeout=0.3)


def status():
    hosts = lab_hosts()
    out = {}
    for host, info in hosts.items():
        out[host] = _wait_port(info["address"], SSH_PORT, timeout=0.3)
    out["sam_api"] = _wait_port(API_HOST, API_PORT, timeout=0.3)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_start = sub.add_parser("start", help="start (or restart) the lab with a fresh state")
    p_start.add_argument("--seed", type=int, default=int(os.environ.get("LAB_SEED", "1")))
    p_start.add_argument("--scale", type=float, default=float(os.environ.get("LAB_SCALE", "1.0")))
    p_start.add_argument("--derecho-jobs", type=int)
    p_start.add_argument("--casper-jobs", type=int)
    p_start.add_argument("--target-python", help="Python the login nodes run modules with (default /usr/bin/python3)")
    sub.add_parser("stop", help="stop every lab process")
    sub.add_parser("status", help="which lab services answer")
    sub.add_parser("api-key", help="print the lab's API key")
    args = parser.parse_args(argv)
    if args.cmd == "start":
        jobs = {k: v for k, v in (("derecho", args.derecho_jobs), ("casper", args.casper_jobs)) if v}
        info = start(args.seed, args.scale, jobs, args.target_python)
        print("lab started: %d login nodes on port %d, SAM API stand-in at %s, target Python %s, state in %s"
              % (len(info["hosts"]), SSH_PORT, info["api"], info["target_python"], info["state"]))
    elif args.cmd == "stop":
        stop()
        left = lab_processes()
        print("lab stopped" if not left else "lab stopped, but these processes remain: %s" % sorted(left))
        return 1 if left else 0
    elif args.cmd == "status":
        print(json.dumps(status(), indent=2))
    elif args.cmd == "api-key":
        print(api_key())
    return 0


if __name__ == "__main__":
    sys.exit(main())
