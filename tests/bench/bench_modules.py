#!/usr/bin/env python3
"""Benchmark the PBS modules against a large simulated cluster.

What it measures, per module (pbs_nodes_info, pbs_jobs_info, pbs_queues_info, pbs_reservations_info):

* raw bytes      size of the PBS command's output (the simulator run on its own, the same argv the
                 module uses);
* result chars   length of the JSON the module printed, the task result Ansible ships back to the
                 controller;
* sim s          wall time of the simulated PBS command alone (best and median of --repeat runs);
* module s       wall time of the module run as its own process, the way Ansible runs it on a target:
                 a fresh interpreter, ansible.module_utils, the PBS command as a child process, the
                 parse and reduction, the JSON on stdout (best and median of --repeat runs);
* overhead s     module time minus simulator time: what the module itself costs (interpreter
                 start-up, imports, reading and reducing the output, printing the result). It is the
                 difference of two wall times, so it is noisy when the simulator is slow or the
                 machine is busy (it can even come out negative);
* module CPU s   user + system CPU time of the module process alone, without the PBS command it
                 ran (the runner's RUSAGE_SELF): the steadier measure of the module's own cost;
* RSS MiB        peak resident memory of the module process itself (VmHWM of its own address
                 space, reported by the runner) and of the simulator it ran (the runner's
                 RUSAGE_CHILDREN ru_maxrss). Both are taken inside the module's process: Linux
                 carries a process's peak across exec, so a process started by this script (which
                 holds the whole raw output) would report this script's peak. For the same reason the
                 simulator figure is never below the module's size when it started the command.

Why: the collector must stay small and quick on a Derecho-sized cluster with tens of thousands of
jobs. AWX drops a task result of 700,000 characters or more, so the modules reduce on the target;
this script shows how big the raw PBS output is, how small the result stays and what the reduction
costs. It ends with one verdict line per module and exits 1 when a module failed or its result is
700,000 characters or more. Times are reported, never asserted.

How it runs (nothing outside a temporary directory is written, and the lab is not started):

* a PBSSIM config for --system/--nodes-scale/--jobs/--seed (shape as tests/lab/lab.py
  ``_pbssim_config``) with --generation/--quirks applied to every command, and a fixed ``now`` so
  every run sees the same cluster;
* a temporary pbs_exec whose bin/pbsnodes, bin/qstat and bin/pbs_rstat exec the simulator
  (tests/lab/bin/pbssim) with this script's interpreter, so the simulator costs the same whatever
  --python runs the modules;
* each module runs as ``<--python> -c RUNNER``: the runner extends ``ansible.module_utils.__path__``
  with module_utils/ (as tests/conftest.py does), sets the module args with
  ``ansible.module_utils.testing.patch_module_args`` and calls library/<module>.py ``main()``, which
  prints the JSON result. PYTHONDONTWRITEBYTECODE=1 keeps the repository free of __pycache__ and,
  like AnsiballZ's zip import, makes every run compile module_utils afresh.

The simulator rebuilds the whole cluster model on every call, so at 50,000 jobs it is much slower
than PBS itself; the modules therefore get --timeout (default 600 s) instead of the production 60 s.

If --python cannot import ansible.module_utils (for example a bare Python 3.9 with no ansible), the
benchmark prints a SKIP line and exits 0 without running anything.

Usage:
  python tests/bench/bench_modules.py [--system derecho|casper] [--jobs 50000] [--nodes-scale 1.0]
      [--seed 1] [--generation G3] [--quirks q1,q2] [--repeat 3] [--python PATH] [--timeout 600]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = os.path.join(REPO, "tests", "lab")
SIMULATOR = os.path.join(LAB, "bin", "pbssim")

AWX_RESULT_LIMIT = 700000  # AWX drops task results of this many characters or more

# Login node each system's simulated commands pretend to run on.
HOSTS = {"derecho": "derecho1", "casper": "crlogin1"}

# module -> (PBS command, argv the module runs, extra module args, how to count what was read/returned)
MODULES = [
    ("pbs_nodes_info", "pbsnodes", ["-a", "-F", "json"], {},
     lambda r: (r.get("node_count"), len(r.get("node_groups") or []))),
    ("pbs_jobs_info", "qstat", ["-f", "-F", "json"], {"subjobs": False},
     lambda r: (r.get("job_count"), len(r.get("rows") or []))),
    ("pbs_queues_info", "qstat", ["-Q", "-f", "-F", "json"], {},
     lambda r: (len(r.get("queues") or []), len(r.get("queues") or []))),
    ("pbs_reservations_info", "pbs_rstat", ["-f"], {"timezone": None},  # timezone: the system's
     lambda r: (len(r.get("reservations") or []) + len(r.get("skipped") or []), len(r.get("reservations") or []))),
]

# Runs one module in a fresh interpreter, as Ansible does on the target. argv: repo, module, args JSON.
# Prints the module's JSON on stdout; then, on stderr after a marker, its own peak RSS (KiB), the peak
# RSS of the PBS command it ran (KiB) and its own CPU seconds. Python 3.9 compatible, like the modules.
RUNNER = r"""
import json, resource, sys
repo, name, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
import ansible.module_utils
ansible.module_utils.__path__.append(repo + "/module_utils")
sys.path.insert(0, repo + "/library")
from ansible.module_utils.testing import patch_module_args
module = __import__(name)


def own_peak_kb():
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


try:
    with patch_module_args(args):
        module.main()
finally:
    sys.stdout.flush()
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    sys.stderr.write("\nbench-usage %d %d %.6f\n" % (own_peak_kb(), kids.ru_maxrss, me.ru_utime + me.ru_stime))
"""

# What --python must be able to import; also the start-up baseline that is timed.
PROBE = "import sys, ansible.module_utils.basic, ansible.module_utils.testing; print(sys.version.split()[0])"

USAGE_MARK = "bench-usage "


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jobs", type=int, default=50000, help="jobs in the simulated cluster (default 50000)")
    p.add_argument("--nodes-scale", type=float, default=1.0,
                   help="node count scale; 1.0 is the real size (Derecho-like 2,570 nodes)")
    p.add_argument("--system", choices=sorted(HOSTS), default="derecho")
    p.add_argument("--seed", type=int, default=1, help="simulator seed (default 1)")
    p.add_argument("--generation", default="G3", help="PBS JSON writer generation (default G3)")
    p.add_argument("--quirks", default="", help="comma-separated PBS writer quirks to inject (default none)")
    p.add_argument("--repeat", type=int, default=3, help="timed runs per module and per simulator call")
    p.add_argument("--python", default=sys.executable, help="interpreter that runs the modules")
    p.add_argument("--timeout", type=int, default=600, help="module timeout option, seconds (default 600)")
    args = p.parse_args(argv)
    args.quirks = [q.strip() for q in args.quirks.split(",") if q.strip()]
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    if args.jobs < 1 or args.nodes_scale <= 0:
        p.error("--jobs and --nodes-scale must be positive")
    sys.dont_write_bytecode = True  # importing pbssim below must not write into the repository
    sys.path.insert(0, LAB)
    from pbssim import GENERATIONS, QUIRKS
    if args.generation not in GENERATIONS:
        p.error("unknown --generation %s (known: %s)" % (args.generation, ", ".join(GENERATIONS)))
    unknown = [q for q in args.quirks if q not in QUIRKS]
    if unknown:
        p.error("unknown --quirks %s (known: %s)" % (", ".join(unknown), ", ".join(sorted(QUIRKS))))
    return args


def write_setup(workdir, args):
    """Write the PBSSIM config and a pbs_exec tree; return (pbs_exec, environment for every run)."""
    from pbssim.model import SYSTEM_DEFAULTS

    now = float(int(time.time()) // 3600 * 3600)  # fixed, so every run renders the same cluster
    system = dict(SYSTEM_DEFAULTS[args.system], seed=args.seed, scale=args.nodes_scale, jobs=args.jobs)
    fault = {"generation": args.generation, "quirks": args.quirks, "mode": "ok"}
    host = HOSTS[args.system]
    config = {"now": now, "systems": {args.system: system}, "hosts": {host: {"system": args.system}},
              "faults": {"*": {"qstat": fault, "pbsnodes": fault, "pbs_rstat": fault}}}
    config_path = os.path.join(workdir, "pbssim.json")
    with open(config_path, "w") as fh:
        json.dump(config, fh, indent=2)

    pbs_exec = os.path.join(workdir, "pbs")
    bindir = os.path.join(pbs_exec, "bin")
    os.makedirs(bindir)
    for command in ("pbsnodes", "qstat", "pbs_rstat"):
        path = os.path.join(bindir, command)
        with open(path, "w") as fh:
            fh.write('#!/bin/sh\nexec "%s" "%s" %s "$@"\n' % (sys.executable, SIMULATOR, command))
        os.chmod(path, 0o755)

    env = dict(os.environ, PBSSIM_CONFIG=config_path, PBSSIM_HOST=host, PYTHONDONTWRITEBYTECODE="1")
    return pbs_exec, env, system


def run_timed(argv, env, cwd):
    """Run argv to completion; return (wall seconds, rc, stdout bytes, stderr text)."""
    start = time.perf_counter()
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=env, cwd=cwd)
    seconds = time.perf_counter() - start
    return seconds, proc.returncode, proc.stdout, proc.stderr.decode("utf-8", "replace")


def probe_python(python, env, cwd):
    """(version, None) when `python` can import ansible.module_utils, else (None, reason)."""
    try:
        _s, rc, out, err = run_timed([python, "-c", PROBE], env, cwd)
    except OSError as exc:
        return None, str(exc)
    if rc != 0:
        lines = err.strip().splitlines()
        return None, lines[-1] if lines else "exit code %d" % rc
    return out.decode().strip(), None


def bench_module(spec, args, pbs_exec, env, cwd, timezone):
    name, command, cmd_args, extra, counts = spec
    module_args = dict(extra, pbs_exec=pbs_exec, timeout=args.timeout)
    if "timezone" in module_args:
        module_args["timezone"] = timezone
    sim_argv = [os.path.join(pbs_exec, "bin", command)] + cmd_args
    sim_env = dict(env, LC_ALL="C", LANG="C", LANGUAGE="C")  # as module_utils/pbs_command.run_argv
    module_argv = [args.python, "-c", RUNNER, REPO, name, json.dumps(module_args)]

    row = {"module": name, "command": " ".join([command] + cmd_args), "sim": [], "module_s": [], "cpu": [],
           "raw_bytes": None, "result_chars": 0, "module_rss_kb": 0, "sim_rss_kb": 0,
           "read": None, "returned": None, "error": None}
    for _ in range(args.repeat):  # interleaved, so drift in machine load hits both alike
        seconds, rc, out, err = run_timed(sim_argv, sim_env, cwd)
        if rc != 0:
            row["error"] = "simulator exited %d: %s" % (rc, err.strip()[-300:])
            return row
        row["sim"].append(seconds)
        row["raw_bytes"] = len(out)
        del out  # 141 MB at 50,000 jobs; not needed any more

        seconds, rc, out, err = run_timed(module_argv, env, cwd)
        row["module_s"].append(seconds)
        for line in err.splitlines():
            if line.startswith(USAGE_MARK):
                own_kb, child_kb, cpu = line[len(USAGE_MARK):].split()
                row["module_rss_kb"] = max(row["module_rss_kb"], int(own_kb))
                row["sim_rss_kb"] = max(row["sim_rss_kb"], int(child_kb))
                row["cpu"].append(float(cpu))
        text = out.decode("utf-8", "replace").strip()
        try:
            result = json.loads(text)
        except ValueError:
            row["error"] = "exit code %d, no JSON result: %s" % (rc, (err.strip() or text)[-300:])
            return row
        if rc != 0 or result.get("failed"):
            row["error"] = "exit code %d: %s" % (rc, result.get("msg", "failed"))
            return row
        row["result_chars"] = max(row["result_chars"], len(text))
        row["read"], row["returned"] = counts(result)
    return row


def fmt_s(values):
    return "%.2f / %.2f" % (min(values), statistics.median(values)) if values else "-"


def fmt_int(value):
    return "-" if value is None else "{:,}".format(value)


def print_table(rows):
    header = ["module", "command", "read", "returned", "raw bytes", "result chars",
              "sim s best/med", "module s best/med", "overhead s best/med", "module CPU s best/med",
              "RSS MiB mod/sim"]
    lines = [header]
    for r in rows:
        overhead = "-"
        if r["sim"] and r["module_s"] and not r["error"]:
            overhead = "%.2f / %.2f" % (min(r["module_s"]) - min(r["sim"]),
                                        statistics.median(r["module_s"]) - statistics.median(r["sim"]))
        lines.append([r["module"], r["command"], fmt_int(r["read"]), fmt_int(r["returned"]),
                      fmt_int(r["raw_bytes"]), fmt_int(r["result_chars"] or None),
                      fmt_s(r["sim"]), fmt_s(r["module_s"]), overhead, fmt_s(r["cpu"]),
                      "%.0f / %.0f" % (r["module_rss_kb"] / 1024.0, r["sim_rss_kb"] / 1024.0)])
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    for n, line in enumerate(lines):
        print("  ".join(str(cell).ljust(w) if i < 2 else str(cell).rjust(w)
                        for i, (cell, w) in enumerate(zip(line, widths))).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


def main(argv=None):
    args = parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="bench-modules-")
    try:
        pbs_exec, env, system = write_setup(workdir, args)
        version, reason = probe_python(args.python, env, workdir)
        if version is None:
            print("SKIP: %s cannot import ansible.module_utils (%s); no module was run" % (args.python, reason))
            return 0
        startup = [run_timed([args.python, "-c", PROBE], env, workdir)[0] for _ in range(args.repeat)]

        print("PBS module benchmark: system=%s host=%s nodes-scale=%g jobs=%d seed=%d generation=%s quirks=%s"
              % (args.system, HOSTS[args.system], args.nodes_scale, args.jobs, args.seed, args.generation,
                 ",".join(args.quirks) or "none"))
        print("modules run by %s (Python %s); simulator run by %s (Python %s); repeat=%d"
              % (args.python, version, sys.executable, sys.version.split()[0], args.repeat))
        print("start-up baseline (interpreter + import ansible.module_utils.basic), best/median: %s s"
              % fmt_s(startup))
        print("")
        rows = []
        for spec in MODULES:
            rows.append(bench_module(spec, args, pbs_exec, env, workdir, system["timezone"]))
        print_table(rows)
        print("")
        failed = False
        for r in rows:
            if r["error"]:
                failed = True
                print("FAIL %s %s" % (r["module"], r["error"]))
            elif r["result_chars"] >= AWX_RESULT_LIMIT:
                failed = True
                print("FAIL %s result %d chars >= %d" % (r["module"], r["result_chars"], AWX_RESULT_LIMIT))
            else:
                print("OK %s result %d chars < %d" % (r["module"], r["result_chars"], AWX_RESULT_LIMIT))
        return 1 if failed else 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
