"""Command-line front end: behaves like `pbsnodes`, `qstat` or `pbs_rstat` (by argv[0]).

Configuration (all optional):
  PBSSIM_CONFIG  path to a JSON file (shape in config_doc below)
  PBSSIM_HOST    login node this call pretends to run on (default: short hostname)
  PBSSIM_SYSTEM  system to use when the host is not in the config (derecho|casper)
"""
import json
import os
import socket
import sys
import time

from . import expected as _exp
from . import render as R
from .model import SYSTEM_DEFAULTS, build_cluster

MODES = ("ok", "fail", "no_node_list", "cannot_connect", "stderr_noise", "hang", "empty")
CONNECT_ERRNO = 15010

config_doc = """{"now": null|epoch_float,
 "systems": {"derecho": {"seed":1,"scale":1.0,"jobs":null,"server":"desched1",
                         "pbs_version":"2022.1.5.20230309203834","timezone":"America/Denver"},
             "casper": {...}},
 "hosts": {"derecho1": {"system":"derecho"}, "crlogin1": {"system":"casper"}},
 "faults": {"derecho1": {"qstat": {"generation":"G3","quirks":["bare_number"],"mode":"ok",
                                   "hang_seconds":600, "exit_code": null},
                         "qstat_jobs": {...}, "qstat_queues": {...}, "pbsnodes": {...},
                         "pbs_rstat": {...}},
            "*": {...applies to every host without its own entry...}}}"""


class Usage(Exception):
    def __init__(self, msg, rc=2):
        Exception.__init__(self, msg)
        self.rc = rc


def load_config(env=None):
    env = os.environ if env is None else env
    path = env.get("PBSSIM_CONFIG")
    if not path:
        return {}
    with open(path) as fh:
        return json.load(fh)


def current_host(env=None):
    env = os.environ if env is None else env
    return env.get("PBSSIM_HOST") or socket.gethostname().split(".")[0]


def resolve_system(cfg, host, env=None):
    env = os.environ if env is None else env
    h = (cfg.get("hosts") or {}).get(host)
    if h and h.get("system"):
        return h["system"]
    if env.get("PBSSIM_SYSTEM"):
        return env["PBSSIM_SYSTEM"]
    if host.startswith("crlogin") or host.startswith("casper"):
        return "casper"
    return "derecho"


def system_params(cfg, system):
    p = dict(SYSTEM_DEFAULTS[system])
    p.update((cfg.get("systems") or {}).get(system) or {})
    return p


def cluster_for(cfg, system):
    p = system_params(cfg, system)
    return build_cluster(system, seed=p.get("seed", 1), scale=p.get("scale", 1.0), jobs=p.get("jobs"),
                         now=cfg.get("now"), server=p.get("server"), pbs_version=p.get("pbs_version"),
                         timezone=p.get("timezone"))


def fault_for(cfg, host, key):
    """key: qstat_jobs, qstat_queues, pbsnodes, pbs_rstat."""
    faults = cfg.get("faults") or {}
    hf = faults.get(host)
    if hf is None:
        hf = faults.get("*") or {}
    f = hf.get(key)
    if f is None and key.startswith("qstat_"):
        f = hf.get("qstat")
    f = dict(f or {})
    f.setdefault("generation", "G3")
    f.setdefault("quirks", [])
    f.setdefault("mode", "ok")
    f.setdefault("hang_seconds", 600)
    if f["mode"] not in MODES:
        raise Usage("pbssim: unknown mode %r (known: %s)" % (f["mode"], ", ".join(MODES)))
    return f


# ------------------------------------------------------------------------------------------
QSTAT_USAGE = """usage:
qstat [-f] [-J] [-p] [-t] [-x] [-E] [-F format] [-D delim] [ job_identifier... | destination... ]
qstat [-a|-i|-r|-H|-T] [-J] [-t] [-u user] [-n] [-s] [-G|-M] [-1] [-w] [ job_identifier... | destination... ]
qstat -Q [-f] [-F format] [-D delim] [ destination... ]
qstat -q [-G|-M] [ destination... ]
qstat -B [-f] [-F format] [-D delim] [ server_name... ]
qstat --version
"""

PBSNODES_USAGE = """usage:
\tpbsnodes [-o|-r] [-C comment] [-s server] host/vnode...
\tpbsnodes -l [-s server] [-F format]
\tpbsnodes -v [-s server] [-F format] vnode...
\tpbsnodes -a[v][S[j][L]] [-F format] [-s server] [-D delim]
\tpbsnodes --version
"""

RSTAT_USAGE = "usage: pbs_rstat [-B] [-S] [-f|-F] [resv_id...]\n       pbs_rstat --version\n"


def _getopt(args, flags, with_arg):
    """Minimal POSIX getopt: returns (list of (opt, arg)), positionals.  Raises Usage."""
    opts, pos = [], []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            pos.extend(args[i + 1:])
            break
        if a.startswith("-") and len(a) > 1 and not a.startswith("--"):
            j = 1
            while j < len(a):
                c = a[j]
                if c in with_arg:
                    val = a[j + 1:]
                    if not val:
                        i += 1
                        if i >= len(args):
                            raise Usage("option requires an argument -- '%s'" % c)
                        val = args[i]
                    opts.append((c, val))
                    break
                if c in flags:
                    opts.append((c, None))
                    j += 1
                    continue
                raise Usage("invalid option -- '%s'" % c)
        elif a == "--version":
            opts.append(("version", None))
        elif a.startswith("--"):
            raise Usage("unrecognized option '%s'" % a)
        else:
            pos.append(a)
        i += 1
    return opts, pos


def _server_ok(cl, name):
    if not name:
        return True
    return name == cl.server or name.split(".")[0] == cl.server.split(".")[0]


class Result(object):
    def __init__(self, out=b"", err="", rc=0):
        self.out = out
        self.err = err
        self.rc = rc


def _apply_mode(prog, cl, fault, produce, fail):
    mode = fault["mode"]
    if mode == "hang":
        time.sleep(float(fault.get("hang_seconds", 600)))
        mode = "ok"
    if mode == "empty":
        return Result(b"", "", 0)
    if mode == "cannot_connect":
        if prog == "pbsnodes":
            return Result(b"", "pbsnodes: cannot connect to server %s, error=%d\n" % (cl.server, CONNECT_ERRNO), 1)
        if prog == "pbs_rstat":
            return Result(b"", "pbs_rstat: cannot connect to server %s (errno=%d)\n" % (cl.server, CONNECT_ERRNO), 1)
        return Result(b"", "qstat: cannot connect to server %s (errno=%d)\n" % (cl.server, CONNECT_ERRNO),
                      CONNECT_ERRNO & 0xFF)
    if mode == "no_node_list" and prog == "pbsnodes":
        return Result(b"", "pbsnodes: Server has no node list\n", 1)
    if mode == "fail":
        res = fail()
    else:
        res = produce()
    if mode == "stderr_noise":
        res.err = "pbs_iff: cannot connect to host\npbs_iff: all reserved ports in use\n" + res.err
    if fault.get("exit_code") is not None:
        res.rc = int(fault["exit_code"])
    return res


def run_qstat(args, cfg, host, env=None):
    try:
        opts, pos = _getopt(args, "fQtxwJpBaiHTnsGM1Erq", "FDuW")
    except Usage as e:
        raise Usage("qstat: %s\n%s" % (e, QSTAT_USAGE))
    o = dict(opts)
    if "version" in o:
        return Result(b"pbs_version = %s\n" % system_params(cfg, resolve_system(cfg, host, env))["pbs_version"].encode())
    fmt = o.get("F")
    if fmt is not None and fmt.lower() not in ("json", "dsv"):
        raise Usage("qstat: invalid format %s\n%s" % (fmt, QSTAT_USAGE))
    if fmt is not None and "f" not in o:
        raise Usage("qstat: conflicting options.\n%s" % QSTAT_USAGE)
    if fmt is None or fmt.lower() != "json":
        raise Usage("pbssim: only `qstat -f -F json` and `qstat -Q -f -F json` are simulated\n")
    if "B" in o or "q" in o:
        raise Usage("pbssim: qstat -B / -q are not simulated\n")
    system = resolve_system(cfg, host, env)
    cl = cluster_for(cfg, system)
    server = None
    ids = []
    for p in pos:
        if p.startswith("@"):
            server = p[1:]
        elif "@" in p:
            ids.append(p.split("@", 1)[0])
            server = p.split("@", 1)[1]
        else:
            ids.append(p)
    queues_mode = "Q" in o
    key = "qstat_queues" if queues_mode else "qstat_jobs"
    fault = fault_for(cfg, host, key)
    if not _server_ok(cl, server):
        return Result(b"", "qstat: cannot connect to server %s (errno=%d)\n" % (server, CONNECT_ERRNO),
                      CONNECT_ERRNO & 0xFF)
    gen, quirks = fault["generation"], fault["quirks"]
    stamp = cfg.get("now") if cfg.get("now") is not None else time.time()
    if queues_mode:
        names = set(ids) if ids else None
        unknown = sorted(n for n in (names or ()) if n not in set(q.name for q in cl.queues))

        def produce():
            out = R.render_queues(cl, gen, quirks, timestamp=stamp, names=names)
            if unknown:
                return Result(out, "".join("qstat: Unknown queue destination %s\n" % u for u in unknown), 170)
            return Result(out)

        def fail():
            out = R.render_queues(cl, gen, quirks, timestamp=stamp, names=names)
            return Result(out, "qstat: Unknown queue destination zzz_vanished\n", 170)
        return _apply_mode("qstat", cl, fault, produce, fail)

    expand = "t" in o
    want = None
    unknown = []
    if ids:
        full = []
        for i in ids:
            full.append(i if "." in i else "%s.%s" % (i, cl.server))
        known = set(j.id for j in cl.all_jobs(True))
        want = [i for i in full if i in known]
        unknown = [i for i in full if i not in known]

    def produce():
        out = R.render_jobs(cl, gen, quirks, expand=expand, timestamp=stamp, job_ids=want)
        if unknown:
            return Result(out, "".join("qstat: Unknown Job Id %s\n" % u for u in unknown), 153)
        return Result(out)

    def fail():
        gone = _exp.fail_dropped(cl, "jobs", expand)
        out = R.render_jobs(cl, gen, quirks, expand=expand, timestamp=stamp, job_ids=want, drop=gone)
        return Result(out, "".join("qstat: Unknown Job Id %s\n" % g for g in gone), 153)
    return _apply_mode("qstat", cl, fault, produce, fail)


def run_pbsnodes(args, cfg, host, env=None):
    try:
        opts, pos = _getopt(args, "ajvSLlcdorpx", "FsCDA")
    except Usage as e:
        raise Usage("pbsnodes: %s\n%s" % (e, PBSNODES_USAGE))
    o = dict(opts)
    if "version" in o:
        return Result(b"pbs_version = %s\n" % system_params(cfg, resolve_system(cfg, host, env))["pbs_version"].encode())
    fmt = o.get("F")
    if fmt is not None and fmt.lower() not in ("json", "dsv"):
        raise Usage("pbsnodes: invalid format %s\n%s" % (fmt, PBSNODES_USAGE))
    if "a" not in o and "v" not in o and not pos:
        raise Usage(PBSNODES_USAGE)
    if fmt is None or fmt.lower() != "json" or "S" in o or "l" in o:
        raise Usage("pbssim: only `pbsnodes -a[j|v] -F json [-s server] [vnode...]` is simulated\n")
    system = resolve_system(cfg, host, env)
    cl = cluster_for(cfg, system)
    fault = fault_for(cfg, host, "pbsnodes")
    server = o.get("s")
    if not _server_ok(cl, server):
        return Result(b"", "pbsnodes: cannot connect to server %s, error=%d\n" % (server, CONNECT_ERRNO), 1)
    gen, quirks = fault["generation"], fault["quirks"]
    stamp = cfg.get("now") if cfg.get("now") is not None else time.time()
    names = pos if pos else None

    def produce():
        return Result(R.render_nodes(cl, gen, quirks, timestamp=stamp, names=names))

    def fail():
        gone = _exp.fail_dropped(cl, "nodes")
        return Result(R.render_nodes(cl, gen, quirks, timestamp=stamp, names=names, drop=gone),
                      "pbsnodes: End of File\n", 1)
    return _apply_mode("pbsnodes", cl, fault, produce, fail)


def run_rstat(args, cfg, host, env=None):
    try:
        opts, pos = _getopt(args, "fFBS", "")
    except Usage as e:
        raise Usage("pbs_rstat: %s\n%s" % (e, RSTAT_USAGE))
    o = dict(opts)
    if "version" in o:
        return Result(b"pbs_version = %s\n" % system_params(cfg, resolve_system(cfg, host, env))["pbs_version"].encode())
    system = resolve_system(cfg, host, env)
    cl = cluster_for(cfg, system)
    fault = fault_for(cfg, host, "pbs_rstat")
    ids = set(pos) if pos else None
    full = "f" in o or "F" in o
    brief = "B" in o

    def produce():
        if full:
            return Result(R.render_rstat_full(cl, fault["quirks"], resv_ids=ids))
        if brief:
            return Result(("".join("Resv ID: %s\n" % r.id for r in cl.reservations)).encode())
        return Result(R.render_rstat_short(cl))

    def fail():
        if full:
            return Result(R.render_rstat_full(cl, fault["quirks"], resv_ids=ids, limit=1),
                          "pbs_rstat: End of File\n", 1)
        return Result(b"", "pbs_rstat: End of File\n", 1)
    return _apply_mode("pbs_rstat", cl, fault, produce, fail)


COMMANDS = {"qstat": run_qstat, "pbsnodes": run_pbsnodes, "pbs_rstat": run_rstat}


def run(argv, env=None):
    """Run one command; returns Result.  argv[0] selects the command (or `pbssim CMD ...`)."""
    prog = os.path.basename(argv[0])
    args = list(argv[1:])
    if prog not in COMMANDS:
        if not args or args[0] not in COMMANDS:
            return Result(b"", "usage: pbssim {qstat|pbsnodes|pbs_rstat} [args...]\n"
                               "  (or invoke through a symlink named qstat, pbsnodes or pbs_rstat)\n", 2)
        prog, args = args[0], args[1:]
    try:
        cfg = load_config(env)
        host = current_host(env)
        return COMMANDS[prog](args, cfg, host, env)
    except Usage as e:
        msg = str(e)
        return Result(b"", msg if msg.endswith("\n") else msg + "\n", e.rc)


def main(argv=None):
    argv = sys.argv if argv is None else argv
    res = run(argv)
    if res.err:
        sys.stderr.write(res.err)
        sys.stderr.flush()
    if res.out:
        try:
            out = sys.stdout.buffer
            out.write(res.out)
            out.flush()
        except BrokenPipeError:  # e.g. `qstat -f -F json | head`
            try:
                sys.stdout = open(os.devnull, "w")
            except OSError:
                pass
    return res.rc
