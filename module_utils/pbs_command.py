# -*- coding: utf-8 -*-
"""Run PBS and system commands on the target: argv only, C locale, hard time limit.

Shared by every module in library/. Runs on the target host's Python (>= 3.9).
"""
from __future__ import absolute_import, division, print_function

import datetime
import os
import signal
import subprocess
import time

# PBS installs under PBS_EXEC (/opt/pbs on NCAR systems); sites also put it on PATH.
DEFAULT_PBS_EXEC_DIRS = ["/opt/pbs/bin", "/usr/pbs/bin", "/usr/local/pbs/bin"]


def utc_now_iso():
    """Naive-UTC ISO timestamp with microseconds, the SAM API's storage convention."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")


def pbs_common_argument_spec():
    """Options shared by the PBS modules (documented in each module)."""
    return dict(
        pbs_exec=dict(type="path"),
        command_path=dict(type="path"),
        server=dict(type="str"),
        timeout=dict(type="int", default=60),
    )


def resolve_pbs_command(module, name):
    """Absolute path of a PBS command: command_path, else PBS_EXEC/bin/<name>, else PATH and the usual PBS_EXEC dirs."""
    params = module.params
    if params.get("command_path"):
        path = params["command_path"]
    elif params.get("pbs_exec"):
        path = os.path.join(params["pbs_exec"], "bin", name)
    else:
        path = module.get_bin_path(name, required=False, opt_dirs=DEFAULT_PBS_EXEC_DIRS)
        if not path:
            module.fail_json(msg="%s not found on PATH or in %s; set pbs_exec or command_path" % (
                name, ", ".join(DEFAULT_PBS_EXEC_DIRS)), cmd=name)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        module.fail_json(msg="%s is not an executable file" % path, cmd=path)
    return path


class CommandTimeout(Exception):
    pass


def run_argv(argv, timeout, env_extra=None):
    """Run argv without a shell under LC_ALL=C; return (rc, stdout_bytes, stderr_text).

    On timeout the whole process group is killed and CommandTimeout raised. A process stuck in
    uninterruptible sleep (a hung NFS mount under df) cannot be reaped; it is abandoned after a
    short grace so the module still answers.
    """
    env = dict(os.environ)
    env.update({"LC_ALL": "C", "LANG": "C", "LANGUAGE": "C"})
    if env_extra:
        env.update(env_extra)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        deadline = time.time() + 2
        while time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        raise CommandTimeout("%s did not finish within %s s and was killed" % (os.path.basename(argv[0]), timeout))
    return proc.returncode, out, err.decode("utf-8", "replace").strip()


def stderr_tail(text, limit=2000):
    """Keep stderr small in results: the end is where PBS writes its reason."""
    if len(text) <= limit:
        return text
    return "...%s" % text[-limit:]


def run_pbs(module, name, args, server_style=None, env_extra=None):
    """Run one PBS command and return (collected_at, stdout_bytes, stderr_text, argv).

    A timeout or a non-zero exit fails the task with the command, exit code and stderr: for a full
    listing a non-zero exit means the output may be incomplete, so it is never read as the answer.
    server_style says how the `server` option reaches the command: "option" (-s SERVER),
    "destination" (@SERVER) or None (the caller passes it another way, e.g. PBS_SERVER).
    """
    argv = [resolve_pbs_command(module, name)] + list(args)
    server = module.params.get("server")
    if server and server_style:
        argv += ["-s", server] if server_style == "option" else ["@" + server]
    collected_at = utc_now_iso()
    try:
        rc, out, err = run_argv(argv, module.params["timeout"], env_extra=env_extra)
    except CommandTimeout as exc:
        module.fail_json(msg=str(exc), rc=None, stderr="", cmd=argv)
    if rc != 0:
        module.fail_json(msg="%s failed with exit code %d: %s" % (name, rc, err.splitlines()[-1] if err else "no message"),
                         rc=rc, stderr=stderr_tail(err), cmd=argv)
    return collected_at, out, err, argv


def run_pbs_json(module, name, args, container, server_style):
    """Run one PBS `-F json` listing and return (collected_at, header, records, report, argv).

    PBS prints the JSON header even when nothing matches, so a listing that printed nothing is a
    failed probe (an overloaded server), never an empty cluster.
    """
    from ansible.module_utils.pbs_json import load_pbs_json

    collected_at, out, err, argv = run_pbs(module, name, args, server_style)
    if not out.strip():
        module.fail_json(msg="%s exited 0 but printed nothing; PBS prints a header even when nothing matches, "
                             "so the server was probably overloaded" % name, rc=0, stderr=stderr_tail(err), cmd=argv)
    try:
        header, records, report = load_pbs_json(out, container)
    except ValueError as exc:
        module.fail_json(msg="%s output could not be read as PBS JSON: %s" % (name, exc), rc=0,
                         stderr=stderr_tail(err), cmd=argv)
    if err:
        report["stderr"] = stderr_tail(err, 500)
    return collected_at, header, records, report, argv
