"""Render a :class:`pbssim.model.Cluster` the way PBS Pro / OpenPBS commands print it.

JSON generations (pbs-formats.md section 1): G0, G1, G2, G3 (default), G3b, G4.
Quirks (section 12) are injected into a deterministic subset of records; see QUIRKS.
Every value in the trees built here is the attribute *text*; the writer of the chosen
generation decides how it is typed and escaped, exactly like PBS's own writer does.
Output is returned as bytes (raw non-UTF-8 bytes are possible with some quirks).
"""
import datetime as _dt
import json
import math
import random
import re

from .model import KIB_PER_GIB, fmt_duration, fmt_size, get_tz

GENERATIONS = ("G0", "G1", "G2", "G3", "G3b", "G4")

# quirk name -> commands it affects ("jobs" = qstat -f, "queues" = qstat -Q -f, "nodes", "rstat")
QUIRKS = {
    "bare_number": ("jobs",),          # 0000..0, 00, -007, .5, 5., +5, 0x0 unquoted (invalid JSON)
    "inf_nan": ("jobs",),              # Job_Name:inf / nan / Infinity, burn_ratio:-nan (invalid JSON)
    "numeric_strings": ("jobs",),      # digit-only Job_Name / env values typed as numbers (valid JSON)
    "big_int": ("jobs",),              # 30-digit env value, 11-digit allocations (valid JSON)
    "empty_value": ("jobs",),          # G2 whitespace-only bug: "comment":  then nothing (invalid)
    "raw_quote": ("jobs", "nodes"),    # unescaped " inside strings (invalid)
    "raw_backslash": ("jobs",),        # raw \ incl. a lone trailing backslash (invalid)
    "invalid_escape": ("jobs",),       # \$ \( \w \u@ from PS1 / BASH_FUNC_ bodies (invalid)
    "leading_quote": ("jobs",),        # value starting with an unescaped " (invalid)
    "control_chars": ("jobs", "nodes"),  # raw ESC/BEL bytes (invalid) plus caret ^[ form (valid)
    "high_byte_mangling": ("jobs", "nodes", "rstat"),  # UTF-8 bytes -> ^ + (b+64)%256 (invalid)
    "duplicate_keys": ("queues",),     # several max_queued / max_run limits as duplicate keys
    "unbalanced_braces": ("jobs", "queues", "nodes"),  # the last two closing braces are missing
    "mixed_text_json": ("jobs",),      # a qstat job table printed before the JSON
    "leading_empty_line": ("jobs", "queues", "nodes"),  # "\n" before "{"
    "missing_container": ("jobs", "queues", "nodes"),   # header only, no Jobs/Queue/nodes key
    "nonadjacent_duplicates": ("nodes",),  # pbsnodes jobs[] lists a job several times, non-adjacent
    "negative_assigned": ("queues",),  # queue resources_assigned ncpus/nodect negative
    "json_text_value": ("jobs",),      # Resource_List.site holding JSON text (nested object in G4)
}

# Quirks whose affected records a correct (repairing) parser cannot recover, per command.
# missing_container removes every record of that command (nothing matched).
LOSSY_QUIRKS = {"missing_container"}


class Raw(str):
    """Emitted verbatim, no quotes (a bare token as a buggy writer prints it)."""


class RawStr(str):
    """Emitted verbatim between quotes (no escaping)."""


class Arr(list):
    """A JSON array of strings (pbsnodes jobs)."""


# ------------------------------------------------------------------------------------------
# value typing
_STRTOD = re.compile(
    r"\s*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)"
    r"(?:[pP][+-]?\d+)?|inf(?:inity)?|nan(?:\([0-9A-Za-z_]*\))?)\s*\Z", re.I)
_JSON_NUM = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?\Z")
_CJSON_NUM = re.compile(r"\s*[0-9+\-eE.]+\s*\Z")


def _strtod(v):
    t = v.strip().lower()
    try:
        if "0x" in t:
            sign = -1 if t.startswith("-") else 1
            return sign * float.fromhex(t.lstrip("+-"))
        if t.startswith(("nan", "+nan", "-nan")):
            return float("nan")
        return float(t)
    except ValueError:
        return None


def _is_num_g2(v):
    """G2/G3: strtod consumes it all and (first char not '0' or value < 1)."""
    if not v or not _STRTOD.match(v):
        return False
    if v[0] != "0":
        return True
    x = _strtod(v)
    return x is not None and x < 1


def _num_g0(v):
    """G0/G1 re-printing of a strtod number; None when not numeric."""
    if not v or not _STRTOD.match(v):
        return None
    x = _strtod(v)
    if x is None:
        return None
    if math.isnan(x):
        return "-nan" if v.strip().startswith("-") else "nan"
    if math.isinf(x):
        return "-inf" if x < 0 else "inf"
    if x == int(x):
        if abs(x) < 2 ** 63:
            return "%d" % int(x)
        return "-9223372036854775808"
    return "%f" % x


def _cjson_value(v):
    """G4: what cJSON_ParseWithOpts(value, require_null_terminated) yields, or None for a string."""
    s = v.strip()
    if not s:
        return None
    if s in ("true", "false", "null"):
        return Raw(s)
    if _CJSON_NUM.match(v):
        try:
            x = float(s)
        except ValueError:
            return None
        return Raw(_cjson_num(x))
    if s[0] in "[{":
        try:
            return json.loads(s)
        except ValueError:
            return None
    return None


def _cjson_num(x):
    if math.isnan(x) or math.isinf(x):
        return "null"
    if x == int(x) and -2 ** 31 <= x < 2 ** 31:
        return "%d" % int(x)
    s = "%1.15g" % x
    if float(s) != x:
        s = "%1.17g" % x
    return s


# ------------------------------------------------------------------------------------------
# string escaping
_SAFE = re.compile(r'[^\x20-\x21\x23-\x5b\x5d-\x7e]')
_STD_ESC = {"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def mangle_bytes(data):
    """show_nonprint_chars() on x86 (signed char): bytes >= 0x80 and controls -> ^ + (b+64)%256.

    Returns a str in which non-ASCII bytes are surrogate-escaped (encode with surrogateescape)."""
    out = []
    for b in data:
        if b >= 0x80 or (b < 0x20 and b not in (8, 9, 10, 12, 13)):
            out.append("^")
            c = (b + 64) % 256
        else:
            c = b
        out.append(chr(c) if c < 0x80 else chr(0xDC00 + c))
    return "".join(out)


def _escape(v, gen, cmd):
    """Escape an attribute string the way generation `gen` does for command `cmd`."""
    if not _SAFE.search(v):
        return v
    out = []
    full = gen == "G4" or (cmd == "nodes" and gen != "G0")
    raw_qb = gen == "G0" or (gen in ("G1", "G2") and cmd != "nodes")
    caret = gen in ("G2", "G3", "G3b")
    n = len(v)
    i = 0
    while i < n:
        ch = v[i]
        o = ord(ch)
        if ch in _STD_ESC:
            out.append(_STD_ESC[ch])
        elif ch == '"':
            if full:
                out.append('\\"')
            elif raw_qb:
                out.append('"')
            else:  # G3 qstat look-behind
                out.append('"' if (i == 0 or v[i - 1] == "\\") else '\\"')
        elif ch == "\\":
            if full:
                out.append("\\\\")
            elif raw_qb:
                out.append("\\")
            else:
                if i + 1 < n and v[i + 1] in "',":
                    pass  # backslash dropped
                else:
                    out.append("\\")
        elif o < 0x20:
            if gen == "G4":
                out.append("\\u%04x" % o)
            elif caret:
                out.append("^" + chr(o + 64))
            else:
                out.append(ch)
        elif o >= 0x80:
            if caret:
                out.append(mangle_bytes(ch.encode("utf-8")))
            else:
                out.append(ch)
        else:
            out.append(ch)
        i += 1
    return "".join(out)


class Writer(object):
    """JSON writer for one generation and command ("jobs", "queues", "nodes")."""

    def __init__(self, gen="G3", cmd="jobs"):
        if gen not in GENERATIONS:
            raise ValueError("unknown generation %r" % gen)
        self.gen = gen
        self.cmd = cmd
        self.cache = {}

    def scalar(self, v, key=None):
        if isinstance(v, Raw):
            return v
        if isinstance(v, RawStr):
            return '"' + v + '"'
        gen = self.gen
        if gen == "G4" and key in ("Job_Name", "project", "Account_Name"):
            return self._q(v)
        ck = v
        r = self.cache.get(ck)
        if r is not None:
            return r
        if gen in ("G0", "G1"):
            num = _num_g0(v)
            r = num if num is not None else self._q(v)
        elif gen in ("G2", "G3"):
            if v and not v.strip():
                r = "" if gen == "G2" else self._q(v)
            elif _is_num_g2(v):
                r = v
            else:
                r = self._q(v)
        elif gen == "G3b":
            if _JSON_NUM.match(v) or (_STRTOD.match(v) and _strtod(v) is not None
                                      and (math.isinf(_strtod(v)) or math.isnan(_strtod(v)))):
                r = v
            else:
                r = self._q(v)
        else:  # G4
            x = _cjson_value(v)
            if x is None:
                r = self._q(v)
            elif isinstance(x, Raw):
                r = x
            else:
                r = x  # nested structure: not cached as text
                return r
        self.cache[ck] = r
        return r

    def _q(self, v):
        return '"' + _escape(v, self.gen, self.cmd) + '"'

    # -- old writer layout (G0-G3b) --------------------------------------------------------
    def _members_old(self, pairs, depth, out):
        ind = "    " * depth
        first = True
        for k, v in pairs:
            if not first:
                out.append(",\n")
            first = False
            out.append(ind)
            out.append('"')
            out.append(k)
            out.append('":')
            if isinstance(v, list):
                if isinstance(v, Arr):
                    out.append("[\n")
                    ind2 = ind + "    "
                    out.append(",\n".join(ind2 + self.scalar(x) for x in v))
                    out.append("\n" + ind + "]")
                else:
                    out.append("{\n")
                    if v:
                        self._members_old(v, depth + 1, out)
                        out.append("\n")
                    out.append(ind + "}")
            else:
                out.append(self.scalar(v, k))

    # -- cJSON layout (G4) ------------------------------------------------------------------
    def _members_g4(self, pairs, depth, out):
        ind = "\t" * depth
        first = True
        for k, v in pairs:
            if not first:
                out.append(",\n")
            first = False
            out.append(ind + '"' + k + '":\t')
            if isinstance(v, Arr):
                out.append("[" + ", ".join(self.scalar(x) for x in v) + "]")
            elif isinstance(v, list):
                out.append("{\n")
                if v:
                    self._members_g4(v, depth + 1, out)
                    out.append("\n")
                out.append(ind + "}")
            else:
                s = self.scalar(v, k)
                if not isinstance(s, str):
                    s = _cjson_dump(s, depth)
                out.append(s)

    def document(self, pairs):
        out = ["{\n"]
        if self.gen == "G4":
            self._members_g4(pairs, 1, out)
        else:
            self._members_old(pairs, 1, out)
        out.append("\n}\n")
        return "".join(out)


def _cjson_dump(x, depth):
    """cJSON_Print of a nested value parsed from an attribute (G4 quirk 25)."""
    if isinstance(x, dict):
        if not x:
            return "{\n" + "\t" * depth + "}"
        ind = "\t" * (depth + 1)
        return "{\n" + ",\n".join(ind + json.dumps(k) + ":\t" + _cjson_dump(v, depth + 1)
                                  for k, v in x.items()) + "\n" + "\t" * depth + "}"
    if isinstance(x, list):
        return "[" + ", ".join(_cjson_dump(v, depth) for v in x) + "]"
    if x is True:
        return "true"
    if x is False:
        return "false"
    if x is None:
        return "null"
    if isinstance(x, (int, float)):
        return _cjson_num(float(x))
    return json.dumps(x)


# ------------------------------------------------------------------------------------------
def _ctime(tz, epoch, cache):
    r = cache.get(epoch)
    if r is None:
        d = _dt.datetime.fromtimestamp(epoch, tz)
        r = "%s %2d %s" % (d.strftime("%a %b"), d.day, d.strftime("%H:%M:%S %Y"))
        cache[epoch] = r
    return r


def job_tree(cl, j, tz, tcache):
    """The attribute list of one job, in master_job_attr_def order."""
    P = []
    a = P.append
    a(("Job_Name", j.name))
    a(("Job_Owner", j.owner))
    if j.used is not None and j.state in ("R", "E"):
        el, nc = j.used
        a(("resources_used", [("cpupercent", str(min(100 * nc, 95 * nc))),
                              ("cput", fmt_duration(el * nc * 95 // 100)),
                              ("mem", "%dkb" % (5652 + (j.seq % 1000) * 1024 * nc)),
                              ("ncpus", str(nc)),
                              ("vmem", "%dkb" % (9904 + (j.seq % 1000) * 2048 * nc)),
                              ("walltime", fmt_duration(el))]))
    a(("job_state", j.state))
    a(("queue", j.queue))
    a(("server", cl.server))
    if j.account is not None:
        a(("Account_Name", j.account))
    a(("Checkpoint", "u"))
    a(("ctime", _ctime(tz, j.ctime, tcache)))
    user = j.owner.split("@")[0]
    a(("Error_Path", "%s:/glade/work/%s/%s.e%d" % (j.submit_host, user, j.name, j.seq)))
    if j.exec_host:
        a(("exec_host", j.exec_host))
        a(("exec_vnode", j.exec_vnode))
    a(("Hold_Types", j.hold_types))
    if j.interactive:
        a(("interactive", "True"))
    a(("Join_Path", "oe"))
    a(("Keep_Files", "n"))
    a(("Mail_Points", "a"))
    a(("mtime", _ctime(tz, j.mtime, tcache)))
    a(("Output_Path", "%s:/glade/work/%s/%s.o%d" % (j.submit_host, user, j.name, j.seq)))
    a(("Priority", str(j.priority)))
    a(("qtime", _ctime(tz, j.qtime, tcache)))
    a(("Rerunable", "False" if j.interactive else "True"))
    rl = [("mem", fmt_size(j.mem_kb)), ("mpiprocs", str(j.mpiprocs)), ("ncpus", str(j.ncpus))]
    if j.ngpus:
        rl.append(("ngpus", str(j.ngpus)))
    rl += [("nodect", str(j.nodect)), ("place", j.place), ("select", j.select),
           ("walltime", j.walltime)]
    a(("Resource_List", rl))
    if j.stime is not None:
        a(("stime", _ctime(tz, j.stime, tcache)))
    if j.session_id is not None:
        a(("session_id", str(j.session_id)))
    if j.stime is not None and j.state in ("R", "E"):
        a(("jobdir", "/glade/u/home/%s" % user))
    a(("substate", str(j.substate)))
    a(("Variable_List", list(j.variables)))
    if j.comment:
        a(("comment", j.comment))
    a(("etime", _ctime(tz, j.etime, tcache)))
    a(("umask", "22"))
    if j.run_count:
        a(("run_count", str(j.run_count)))
    if j.state == "Q" or j.state == "H":
        a(("eligible_time", fmt_duration(max(0, int(cl.now) - j.etime))))
    a(("Submit_arguments", j.submit_args))
    if j.array_indices:
        a(("array", "True"))
        nr = sum(1 for s in j.subjobs if s.state == "R")
        nq = sum(1 for s in j.subjobs if s.state == "Q")
        nx = sum(1 for s in j.subjobs if s.state == "X")
        a(("array_state_count", "Queued:%d Running:%d Exiting:0 Expired:%d " % (nq, nr, nx)))
        a(("array_indices_submitted", j.array_indices))
        rem = [s.array_index for s in j.subjobs if s.state == "Q"]
        a(("array_indices_remaining", "%d-%d" % (rem[0], rem[-1]) if rem else "-"))
    if j.array_parent:
        a(("array_id", j.array_parent))
        a(("array_index", str(j.array_index)))
    a(("project", "_pbs_project_default"))
    a(("Submit_Host", j.submit_host + ".hpc.ucar.edu"))
    return P


def node_tree(cl, n, nonadjacent=False):
    P = []
    a = P.append
    a(("Mom", n.name + ".hsn." + ("de" if cl.system == "derecho" else "cr") + ".hpc.ucar.edu"))
    a(("ntype", "PBS"))
    a(("state", n.state_text))
    a(("pcpus", str(n.ncpus)))
    if n.jobs:
        a(("jobs", Arr(_node_job_list(n, nonadjacent))))
    if n.resv:
        a(("resv", n.resv))
    ra = [("arch", "linux")]
    if n.gpu_type:
        ra.append(("gpu_type", n.gpu_type))
    ra += [("host", n.name), ("mem", n.mem), ("ncpus", str(n.ncpus)), ("ngpus", str(n.ngpus))]
    if n.qlist:
        ra.append(("Qlist", n.qlist))
    ra.append(("vnode", n.name))
    a(("resources_available", ra))
    rs = []
    if n.assigned_mem_kb:
        rs.append(("mem", "%dkb" % n.assigned_mem_kb))
    if n.assigned_ncpus:
        rs.append(("ncpus", str(n.assigned_ncpus)))
    if n.assigned_ngpus:
        rs.append(("ngpus", str(n.assigned_ngpus)))
    a(("resources_assigned", rs))
    if n.comment:
        a(("comment", n.comment))
    a(("resv_enable", "True"))
    a(("sharing", n.sharing))
    a(("license", "l"))
    a(("last_state_change_time", str(n.last_state_change_time)))
    a(("last_used_time", str(n.last_used_time)))
    return P


def _node_job_list(n, nonadjacent):
    if not nonadjacent or len(n.jobs) < 2:
        out = []
        for jid, _c in n.jobs:
            if not out or out[-1] != jid:
                out.append(jid)
        return out
    # PBS Pro 2021+: per-cpu entries in an order that interleaves jobs; the writer only drops
    # consecutive duplicates, so a job can appear several times.
    remaining = [[jid, c] for jid, c in n.jobs]
    seq = []
    while remaining:
        for item in list(remaining):
            take = min(item[1], 2)
            seq.extend([item[0]] * take)
            item[1] -= take
            if item[1] <= 0:
                remaining.remove(item)
    out = []
    for jid in seq:
        if not out or out[-1] != jid:
            out.append(jid)
    return out


def _state_count(jobs):
    c = {"T": 0, "Q": 0, "H": 0, "W": 0, "R": 0, "E": 0, "B": 0}
    for j in jobs:
        if j.state in c:
            c[j.state] += 1
    return "Transit:%d Queued:%d Held:%d Waiting:%d Running:%d Exiting:%d Begun:%d " % (
        c["T"], c["Q"], c["H"], c["W"], c["R"], c["E"], c["B"])


def queue_tree(cl, q, jobs_in_q, negative=False, dup=False):
    P = []
    a = P.append
    a(("queue_type", q.queue_type))
    if q.priority is not None:
        a(("Priority", str(q.priority)))
    a(("total_jobs", str(len(jobs_in_q))))
    a(("state_count", _state_count(jobs_in_q)))
    mq = list(q.max_queued)
    if dup and q.queue_type == "Execution" and mq:
        mq += ["[g:ncar=20000]", "[p:%s=1000]" % ("UCSD0001")]
    for lim in mq:
        a(("max_queued", lim))
    if q.acl_users:
        a(("acl_user_enable", "True"))
        a(("acl_users", q.acl_users))
    if q.from_route_only is not None:
        a(("from_route_only", "True" if q.from_route_only else "False"))
    if q.resources_max:
        a(("resources_max", list(q.resources_max)))
    if q.resources_min:
        a(("resources_min", list(q.resources_min)))
    if q.resources_default:
        a(("resources_default", list(q.resources_default)))
    if q.default_chunk:
        a(("default_chunk", list(q.default_chunk)))
    if q.queue_type == "Execution":
        run = [j for j in jobs_in_q if j.state in ("R", "E")]
        mem = sum(j.mem_kb for j in run)
        ncpus = sum(j.ncpus for j in run)
        nodect = sum(j.nodect for j in run)
        mpi = sum(j.mpiprocs for j in run)
        if negative:
            ncpus, nodect = -230256, -1107
        a(("resources_assigned", [("mem", "%dgb" % (mem // KIB_PER_GIB) if mem % KIB_PER_GIB == 0
                                           else "%dkb" % mem),
                                  ("mpiprocs", str(mpi)), ("ncpus", str(ncpus)),
                                  ("nodect", str(nodect))]))
    mr = list(q.max_run)
    if dup and mr:
        mr += ["[g:ncar=400]"]
    for lim in mr:
        a(("max_run", lim))
    if q.max_run_res:
        a(("max_run_res", list(q.max_run_res)))
    if q.backfill_depth is not None:
        a(("backfill_depth", str(q.backfill_depth)))
    if q.route_destinations:
        a(("route_destinations", q.route_destinations))
        a(("route_held_jobs", "False"))
        a(("route_retry_time", "60"))
    a(("enabled", "True" if q.enabled else "False"))
    a(("started", "True" if q.started else "False"))
    if q.partition:
        a(("partition", q.partition))
    return P


# ------------------------------------------------------------------------------------------
# quirk planning
def _sel(cl, quirk, ids, k):
    ids = sorted(ids)
    if not ids:
        return []
    rng = random.Random("pbssim-quirk:%s:%s:%s" % (cl.system, cl.seed, quirk))
    return rng.sample(ids, min(k, len(ids)))


def _clean_jobs(cl, jobs):
    """Candidate records for injection: ordinary jobs (not array parents/subjobs)."""
    return [j.id for j in jobs if not j.array_indices and not j.array_parent]


def _set(pairs, key, value):
    for i, (k, _v) in enumerate(pairs):
        if k == key:
            pairs[i] = (k, value)
            return
    pairs.append((key, value))


def _varlist(pairs):
    for k, v in pairs:
        if k == "Variable_List":
            return v
    raise KeyError("Variable_List")


def _mangled(text):
    return RawStr(mangle_bytes(text.encode("utf-8")))


def quirk_targets(cl, quirks, expand=False):
    """{quirk: [record ids]} for every quirk in `quirks` (jobs, nodes or queue names)."""
    out = {}
    jobs = cl.all_jobs(expand)
    jids = _clean_jobs(cl, jobs)
    nids = [n.name for n in cl.nodes]
    qids = [q.name for q in cl.queues]
    counts = {"bare_number": 4, "inf_nan": 4, "numeric_strings": 3, "big_int": 2, "empty_value": 3,
              "raw_quote": 3, "raw_backslash": 2, "invalid_escape": 3, "leading_quote": 2,
              "control_chars": 3, "high_byte_mangling": 3, "json_text_value": 2}
    for q in quirks:
        if q not in QUIRKS:
            raise ValueError("unknown quirk %r (known: %s)" % (q, ", ".join(sorted(QUIRKS))))
        if q in counts:
            out[q] = _sel(cl, q, jids, counts[q])
        if q in ("raw_quote", "control_chars", "high_byte_mangling"):
            out[q + ":nodes"] = _sel(cl, q + ":nodes", [n.name for n in cl.nodes if n.comment], 2)
        if q == "duplicate_keys":
            out[q] = [x.name for x in cl.queues if x.queue_type == "Execution" and x.max_queued][:2]
        if q == "negative_assigned":
            out[q] = [x.name for x in cl.queues if x.queue_type == "Execution"][:1]
        if q == "nonadjacent_duplicates":
            out[q] = [n.name for n in cl.nodes if len(set(j for j, _ in n.jobs)) > 1]
        if q == "missing_container":
            out[q] = {"jobs": [j.id for j in jobs], "nodes": nids, "queues": qids}
    return out


def _apply_job_quirks(trees, targets):
    """trees: {job_id: pairs}; mutate the selected ones."""
    def each(q):
        for i, jid in enumerate(targets.get(q, [])):
            if jid in trees:
                yield i, trees[jid]
    bare = ["0" * 40, "-007", ".5", "00", "5.", "+5", "0x0"]
    for i, t in each("bare_number"):
        vl = _varlist(t)
        vl.append(("CI_COMMIT_BEFORE_SHA", Raw(bare[0])))
        vl.append(("PBSSIM_NUM_%d" % i, Raw(bare[1 + i % (len(bare) - 1)])))
    for i, t in each("inf_nan"):
        _set(t, "Job_Name", Raw(["inf", "nan", "Infinity", "-nan"][i % 4]))
    for i, t in each("numeric_strings"):
        _set(t, "Job_Name", "%d" % (1000 + 37 * i))
        vl = _varlist(t)
        vl.append(("PBS_NCPUS", "1"))
        vl.append(("RUN_DATE", "20251204"))
    for i, t in each("big_int"):
        vl = _varlist(t)
        vl.append(("RANDOM_SEED", "123456789012345678901234567890"))
        for k, v in t:
            if k == "Resource_List":
                v.insert(0, ("current_allocation", "-69754224640"))
                v.append(("total_allocation", "21600000000"))
    for i, t in each("empty_value"):
        _set(t, "comment", Raw(""))
        _varlist(t).append(("BLANK_SETTING", Raw("")))
    for i, t in each("raw_quote"):
        _varlist(t).append(("RUN_TITLE", RawStr('final "production" run')))
    for i, t in each("raw_backslash"):
        vl = _varlist(t)
        vl.append(("WIN_SHARE", RawStr("\\\\fileserver\\share\\")))
    for i, t in each("invalid_escape"):
        vl = _varlist(t)
        vl.append(("PS1", RawStr("[\\u@\\h \\W]\\$ ")))
        vl.append(("BASH_FUNC_strip%%", RawStr(
            "() {  sed -e 's/\\(.*\\)\\.nc$/\\1/' \\\"$1\\\"\\n}")))
        vl.append(("BASH_FUNC_ml%%", RawStr("() {  eval \\\"$($LMOD_DIR/ml_cmd \\\"$@\\\")\\\"\\n}")))
    for i, t in each("leading_quote"):
        _varlist(t).append(("QUOTED_ARG", RawStr('"quoted\\" argument')))
    for i, t in each("control_chars"):
        vl = _varlist(t)
        if i % 2 == 0:
            vl.append(("LESS_TERMCAP_md", RawStr("\x1b[1m\x1b[31m")))
            vl.append(("BELL", RawStr("ding\x07")))
        else:
            vl.append(("LESS_TERMCAP_md", RawStr("^[[1m^[[31m")))
    for i, t in each("high_byte_mangling"):
        _set(t, "Job_Name", _mangled(["caf\u00e9_run", "it\u2019s_done", "M\u00fcller\u2013test"][i % 3]))
        _varlist(t).append(("PROJECT_TITLE", _mangled("Klima \u201cdraft\u201d \u2013 \u00e9t\u00e9")))
    for i, t in each("json_text_value"):
        for k, v in t:
            if k == "Resource_List":
                v.append(("site", '{"job.q_prio": 100.0, "tags": ["a", "b"]}'))


def _apply_node_quirks(trees, targets):
    for jid in targets.get("raw_quote:nodes", []):
        if jid in trees:
            _set(trees[jid], "comment", RawStr('node down: "mom" not responding'))
    for jid in targets.get("control_chars:nodes", []):
        if jid in trees:
            _set(trees[jid], "comment", RawStr("bad DIMM\x07 slot 3"))
    for jid in targets.get("high_byte_mangling:nodes", []):
        if jid in trees:
            _set(trees[jid], "comment", _mangled("r\u00e9paration \u2013 carte m\u00e8re"))


# ------------------------------------------------------------------------------------------
def _header(cl, timestamp):
    return [("timestamp", str(int(timestamp))), ("pbs_version", cl.pbs_version),
            ("pbs_server", cl.server)]


def _finish(text, quirks):
    if "unbalanced_braces" in quirks:
        # drop the last two closing braces (container and root): "...\n    }\n}\n" -> "..."
        for _ in range(2):
            text = text.rstrip("\n")
            idx = text.rfind("\n")
            text = text[:idx] if idx >= 0 else ""
        text += "\n"
    if "leading_empty_line" in quirks:
        text = "\n" + text
    return text.encode("utf-8", "surrogateescape")


def render_jobs(cl, generation="G3", quirks=(), expand=False, timestamp=None, job_ids=None,
                drop=()):
    """`qstat -f -F json` (`-t` when expand).  job_ids limits the listing; drop removes ids."""
    quirks = set(quirks)
    tz = get_tz(cl.timezone)
    tcache = {}
    jobs = cl.all_jobs(expand)
    if job_ids is not None:
        want = set(job_ids)
        jobs = [j for j in jobs if j.id in want]
    if drop:
        dropset = set(drop)
        jobs = [j for j in jobs if j.id not in dropset]
    w = Writer(generation, "jobs")
    head = _header(cl, cl.now if timestamp is None else timestamp)
    prefix = ""
    if "mixed_text_json" in quirks:
        prefix = job_table(cl, jobs)
    if "missing_container" in quirks or not jobs:
        return (prefix.encode() if prefix else b"") + _finish(w.document(head), quirks)
    targets = quirk_targets(cl, quirks, expand)
    trees = {}
    order = []
    for j in jobs:
        trees[j.id] = job_tree(cl, j, tz, tcache)
        order.append(j.id)
    _apply_job_quirks(trees, targets)
    doc = w.document(head + [("Jobs", [(jid, trees[jid]) for jid in order])])
    return prefix.encode() + _finish(doc, quirks)


def render_nodes(cl, generation="G3", quirks=(), timestamp=None, names=None, drop=()):
    """`pbsnodes -a -F json` (or a list of node names)."""
    quirks = set(quirks)
    w = Writer(generation, "nodes")
    head = _header(cl, cl.now if timestamp is None else timestamp)
    if "missing_container" in quirks:
        return _finish(w.document(head), quirks)
    targets = quirk_targets(cl, quirks)
    trees = []
    dropset = set(drop)
    if names is not None:
        for name in names:
            n = cl.node_by_name.get(name)
            if n is None:
                trees.append((name, [("Error", "Unknown node ")]))
            else:
                trees.append((name, node_tree(cl, n, "nonadjacent_duplicates" in quirks)))
    else:
        for n in cl.nodes:
            if n.name in dropset:
                continue
            trees.append((n.name, node_tree(cl, n, "nonadjacent_duplicates" in quirks)))
    _apply_node_quirks(dict(trees), targets)
    if not trees:
        return _finish(w.document(head), quirks)
    return _finish(w.document(head + [("nodes", trees)]), quirks)


def render_queues(cl, generation="G3", quirks=(), timestamp=None, names=None):
    """`qstat -Q -f -F json`."""
    quirks = set(quirks)
    w = Writer(generation, "queues")
    head = _header(cl, cl.now if timestamp is None else timestamp)
    if "missing_container" in quirks:
        return _finish(w.document(head), quirks)
    targets = quirk_targets(cl, quirks)
    byq = {}
    for j in cl.jobs:
        byq.setdefault(j.queue, []).append(j)
    trees = []
    for q in cl.queues:
        if names is not None and q.name not in names:
            continue
        trees.append((q.name, queue_tree(cl, q, byq.get(q.name, []),
                                         negative=q.name in targets.get("negative_assigned", []),
                                         dup=q.name in targets.get("duplicate_keys", []))))
    if not trees:
        return _finish(w.document(head), quirks)
    return _finish(w.document(head + [("Queue", trees)]), quirks)


def job_table(cl, jobs):
    """Plain `qstat` table (used by the mixed_text_json quirk)."""
    lines = ["Job id            Name             User              Time Use S Queue",
             "----------------  ---------------- ----------------  -------- - -----"]
    for j in jobs:
        jid = j.id if len(j.id) <= 16 else j.id[:16] + "*"
        name = j.name if len(j.name) <= 16 else j.name[:15] + "*"
        tu = fmt_duration(j.used[0] * j.used[1]) if j.used else "0"
        if len(tu) > 8:
            tu = tu[:7] + "*"
        lines.append("%-17s %-16s %-16s  %8s %1s %-16s" % (jid, name, j.owner.split("@")[0], tu,
                                                        j.state, j.queue))
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------
STATE_SHORT = {"RESV_NONE": "NO", "RESV_UNCONFIRMED": "UN", "RESV_CONFIRMED": "CO", "RESV_WAIT": "WT",
               "RESV_TIME_TO_RUN": "TR", "RESV_RUNNING": "RN", "RESV_FINISHED": "FN",
               "RESV_BEING_DELETED": "BD", "RESV_DELETED": "DE", "RESV_DELETING_JOBS": "DJ",
               "RESV_DEGRADED": "DG", "RESV_BEING_ALTERED": "AL", "RESV_IN_CONFLICT": "IC"}


def _rtime(tz, epoch):
    return _dt.datetime.fromtimestamp(epoch, tz).strftime("%a %b %d %H:%M:%S %Y")


def render_rstat_full(cl, quirks=(), resv_ids=None, limit=None):
    """`pbs_rstat -f` text."""
    tz = get_tz(cl.timezone)
    out = []
    resvs = cl.reservations if limit is None else cl.reservations[:limit]
    for i, r in enumerate(resvs):
        if resv_ids is not None and r.id not in resv_ids and r.id.split(".")[0] not in resv_ids:
            continue
        L = out.append
        L("Resv ID: %s" % r.id)
        L("Reserve_Name = %s" % r.name)
        L("Reserve_Owner = %s" % r.owner)
        L("reserve_state = %s" % r.state)
        L("reserve_substate = %d" % r.substate)
        L("reserve_start = %s" % _rtime(tz, r.start))
        L("reserve_end = %s" % _rtime(tz, r.end))
        L("reserve_duration = %d" % (r.end - r.start))
        L("queue = %s" % r.queue)
        L("Resource_List.ncpus = %d" % r.ncpus)
        if r.ngpus:
            L("Resource_List.ngpus = %d" % r.ngpus)
        if r.with_nodect:
            L("Resource_List.nodect = %d" % len(r.nodes))
        first = cl.node_by_name[r.nodes[0]] if r.nodes else None
        if first is not None:
            sel = "%d:ncpus=%d" % (len(r.nodes), first.ncpus)
            if first.ngpus:
                sel += ":ngpus=%d" % first.ngpus
            L("Resource_List.select = %s" % sel)
        L("Resource_List.place = excl")
        L("Resource_List.walltime = %s" % fmt_duration(r.end - r.start))
        L("resv_nodes = %s" % "+".join(
            "(%s:ncpus=%d%s)" % (nm, cl.node_by_name[nm].ncpus,
                                 ":ngpus=%d" % cl.node_by_name[nm].ngpus if cl.node_by_name[nm].ngpus else "")
            for nm in r.nodes))
        L("Authorized_Users = %s" % r.authorized_users)
        L("server = %s" % cl.server)
        L("ctime = %s" % _rtime(tz, r.ctime))
        L("mtime = %s" % _rtime(tz, r.mtime))
        vl = "PBS_O_LOGNAME=%s,PBS_O_HOST=%s,PBS_O_MAIL=/var/spool/mail/%s,PBS_TZID=%s" % (
            r.owner.split("@")[0], r.owner.split("@")[1], r.owner.split("@")[0], cl.timezone)
        if "high_byte_mangling" in quirks and i == 0:
            vl += ",PBS_O_TITLE=" + mangle_bytes("Wartung \u2013 M\u00e4rz".encode("utf-8"))
        L("Variable_List = %s" % vl)
        if r.standing:
            L("reserve_rrule = FREQ=WEEKLY;COUNT=3")
            L("reserve_index = 2")
            L("reserve_count = 3")
        else:
            L("reserve_count = 1")
        L("partition = %s" % r.partition)
        L("")
    text = "\n".join(out) + ("\n" if out else "")
    return text.encode("utf-8", "surrogateescape")


def _rel(tz, epoch, now):
    d = _dt.datetime.fromtimestamp(epoch, tz)
    n = _dt.datetime.fromtimestamp(now, tz)
    if d.date() == n.date():
        return d.strftime("Today %H:%M")
    if abs((d.date() - n.date()).days) < 7 and d.isocalendar()[1] == n.isocalendar()[1]:
        return d.strftime("%a %H:%M")
    if d.year == n.year:
        return d.strftime("%a %b %d %H:%M")
    return d.strftime("%a %b %d %Y %H:%M")


def render_rstat_short(cl):
    """`pbs_rstat` (short form)."""
    tz = get_tz(cl.timezone)
    lines = ["Resv ID    Queue    User     State             Start / Duration / End",
             "-" * 69]
    for r in cl.reservations:
        lines.append("%-10.10s %-8.8s %-8.8s %-5.5s %17.17s / %d / %-17.17s" % (
            r.id, r.queue, r.owner.split("@")[0], STATE_SHORT.get(r.state, "UN"),
            _rel(tz, r.start, cl.now), r.end - r.start, _rel(tz, r.end, cl.now)))
    return ("\n".join(lines) + "\n").encode()
