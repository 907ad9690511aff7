"""Deterministic in-memory model of a Derecho-like or Casper-like PBS Pro cluster.

Everything here is plain data: nodes, jobs, queues and reservations, with the
attribute *text* PBS would hold.  The writers in :mod:`pbssim.render` turn the
model into command output; :mod:`pbssim.expected` derives the SAM payload from
the same objects.  Pure stdlib, Python 3.9+.
"""
import datetime as _dt
import random
import time as _time

try:  # Python 3.9+
    from zoneinfo import ZoneInfo
except ImportError:  # pragma: no cover
    ZoneInfo = None

KIB_PER_GIB = 1024 * 1024

SYSTEM_DEFAULTS = {
    "derecho": {"server": "desched1", "pbs_version": "2022.1.5.20230309203834",
                "timezone": "America/Denver", "seed": 1, "scale": 1.0, "jobs": None},
    "casper": {"server": "casper-pbs", "pbs_version": "2022.1.5.20230309203834",
               "timezone": "America/Denver", "seed": 1, "scale": 1.0, "jobs": None},
}

# Casper node types: (key, count, name prefix, ncpus, ngpus, mem text, Qlist, gpu_type, mem_kb)
# Counts follow sam-api-contract.md section 4.  v100 is split into 4-way and 8-way nodes
# (two node types for the same gpu_type); h100 carries a comma in gpu_type.
CASPER_TYPES = [
    # key,          count, prefix,     ncpus, ngpus, mem,             Qlist,               gpu_type
    ("htc",           118, "crhtc",      62, 0, "737280mb",      "htc",                None),
    ("jhublogin",      17, "crhub",      62, 0, "737280mb",      "jhublogin",          None),
    ("largemem",        8, "crlmem",     36, 0, "1572864000kb",  "htc,largemem",       None),
    ("gdex",            8, "crgdex",     36, 0, "360gb",         "gdex",               None),
    ("a100",           10, "crga100-",   64, 4, "980gb",         "a100,nvgpu",         "a100"),
    ("h100",            2, "crgh100-",   64, 4, "980gb",         "h100,nvgpu",         "h100,sxm5"),
    ("v100x4",          4, "crgv100a",   36, 4, "720gb",         "v100,nvgpu",         "v100"),
    ("v100x8",          4, "crgv100b",   36, 8, "1440gb",        "v100,nvgpu",         "v100"),
    ("mi300a",          2, "crgmi300-",  96, 4, "480gb",         "mi300a,amdgpu",      "mi300a"),
    ("l40",             6, "crvl40-",    64, 4, "480gb",         "l40,vis",            "l40"),
    ("gp100",           9, "crvgp100-",  36, 1, "360gb",         "gp100,vis",          "gp100"),
]

FIRST = ["al", "be", "ca", "da", "el", "fa", "ga", "ha", "io", "ja", "ka", "la", "ma", "na",
         "ol", "pa", "qu", "ra", "sa", "ta", "ul", "va", "wi", "xa", "yo", "za"]
LAST = ["ndr", "rt", "ms", "lly", "nz", "th", "ck", "ng", "ss", "ld", "rk", "mp", "vn", "x"]
INSTITUTIONS = ["UCSD", "NCIS", "UMIT", "UCLA", "NCAR", "UCUB", "UWAS", "UMIA", "UPSU", "UOKL",
                "CESM", "NMMM", "ACOM", "HAOS", "RDAS", "CISL", "UCIR", "UNYU"]


def mem_to_kb(text):
    """Size text like '235gb', '737280mb', '5652kb' -> KiB (int).  'b' or bare numbers -> 0."""
    t = text.strip().lower()
    for suf, mult in (("tb", 1024 ** 3), ("gb", 1024 ** 2), ("mb", 1024), ("kb", 1)):
        if t.endswith(suf):
            return int(t[:-2]) * mult
    return 0


def fmt_size(kb):
    """KiB -> PBS size text, choosing the largest unit that divides exactly."""
    if kb == 0:
        return "0kb"
    if kb % KIB_PER_GIB == 0:
        return "%dgb" % (kb // KIB_PER_GIB)
    if kb % 1024 == 0:
        return "%dmb" % (kb // 1024)
    return "%dkb" % kb


def fmt_duration(seconds):
    seconds = int(seconds)
    return "%02d:%02d:%02d" % (seconds // 3600, (seconds // 60) % 60, seconds % 60)


def get_tz(name):
    if ZoneInfo is None:  # pragma: no cover
        return _dt.timezone.utc
    try:
        return ZoneInfo(name)
    except Exception:  # pragma: no cover - no tzdata
        return _dt.timezone.utc


class Node(object):
    __slots__ = ("name", "ntype", "ncpus", "ngpus", "mem", "mem_kb", "qlist", "gpu_type", "state",
                 "comment", "resv", "sharing", "exclusive", "jobs", "assigned_ncpus",
                 "assigned_ngpus", "assigned_mem_kb", "assigned_mpiprocs", "last_state_change_time",
                 "last_used_time", "shared_pool", "slot", "queue")

    def __init__(self, name, ntype, ncpus, ngpus, mem, qlist, gpu_type):
        self.name = name
        self.ntype = ntype            # model's own type key (not the contract's classification)
        self.ncpus = ncpus
        self.ngpus = ngpus
        self.mem = mem                # resources_available.mem text
        self.mem_kb = mem_to_kb(mem)
        self.qlist = qlist
        self.gpu_type = gpu_type
        self.state = []               # list of state tokens in PBS order; [] -> computed later
        self.comment = None
        self.resv = None
        self.sharing = "default_shared"
        self.exclusive = False        # has an exclusive job
        self.jobs = []                # list of (job_id, ncpus) chunk placements in order
        self.assigned_ncpus = 0
        self.assigned_ngpus = 0
        self.assigned_mem_kb = 0
        self.assigned_mpiprocs = 0
        self.last_state_change_time = 0
        self.last_used_time = 0
        self.shared_pool = None       # name of the shared pool this node belongs to, or None
        self.slot = 0                 # next exec_host index
        self.queue = None

    @property
    def free_ncpus(self):
        return self.ncpus - self.assigned_ncpus

    @property
    def state_text(self):
        return ",".join(self.state)


class Job(object):
    __slots__ = ("id", "seq", "name", "owner", "submit_host", "account", "state", "queue",
                 "ncpus", "ngpus", "mem_kb", "nodect", "select", "place", "walltime",
                 "exec_host", "exec_vnode", "hosts", "chunks", "ctime", "qtime", "etime", "stime",
                 "mtime", "hold_types", "substate", "comment", "variables", "session_id",
                 "array_indices", "subjobs", "array_parent", "array_index", "priority",
                 "run_count", "used", "mpiprocs", "interactive", "submit_args", "route_dest")

    def __init__(self):
        self.account = None
        self.exec_host = None
        self.exec_vnode = None
        self.hosts = []
        self.chunks = []              # list of (node_name, ncpus, ngpus, mem_kb)
        self.stime = None
        self.hold_types = "n"
        self.comment = None
        self.session_id = None
        self.array_indices = None     # "1-10" for array parents
        self.subjobs = []
        self.array_parent = None
        self.array_index = None
        self.priority = 0
        self.run_count = 0
        self.used = None
        self.interactive = False
        self.route_dest = None

    @property
    def username(self):
        if self.owner is None:
            return None
        return self.owner.split("@", 1)[0]


class Queue(object):
    def __init__(self, name, qtype, **kw):
        self.name = name
        self.queue_type = qtype
        self.priority = kw.get("priority")
        self.enabled = kw.get("enabled", True)
        self.started = kw.get("started", True)
        self.from_route_only = kw.get("from_route_only")
        self.route_destinations = kw.get("route_destinations")
        self.resources_max = kw.get("resources_max", [])
        self.resources_min = kw.get("resources_min", [])
        self.resources_default = kw.get("resources_default", [])
        self.default_chunk = kw.get("default_chunk", [])
        self.max_queued = kw.get("max_queued", [])      # list of limit strings (several -> duplicate keys)
        self.max_run = kw.get("max_run", [])
        self.max_run_res = kw.get("max_run_res", [])
        self.backfill_depth = kw.get("backfill_depth")
        self.acl_users = kw.get("acl_users")
        self.partition = kw.get("partition")


class Reservation(object):
    def __init__(self, **kw):
        self.__dict__.update(kw)


class Cluster(object):
    def __init__(self, system, server, pbs_version, timezone, now, seed, scale, njobs):
        self.system = system
        self.server = server
        self.pbs_version = pbs_version
        self.timezone = timezone
        self.now = now
        self.seed = seed
        self.scale = scale
        self.njobs = njobs
        self.nodes = []
        self.jobs = []        # top-level jobs as listed by qstat -f (array parents, not subjobs)
        self.queues = []      # server order
        self.reservations = []
        self.node_by_name = {}

    def all_jobs(self, expand=False):
        """Jobs as `qstat -f` lists them; with expand=True array subjobs follow their parent (-t)."""
        if not expand:
            return list(self.jobs)
        out = []
        for j in self.jobs:
            out.append(j)
            out.extend(j.subjobs)
        return out

    def placed_jobs(self):
        """Every job or subjob that holds resources on nodes."""
        out = []
        for j in self.jobs:
            if j.chunks:
                out.append(j)
            for s in j.subjobs:
                if s.chunks:
                    out.append(s)
        return out


# --------------------------------------------------------------------------------------------
def _rng(system, seed, what):
    return random.Random("pbssim:%s:%s:%s" % (system, seed, what))


def _scaled(n, scale, minimum=1):
    if n == 0:
        return 0
    return max(minimum, int(round(n * scale)))


def _user_pool(rng, n):
    users = []
    seen = set()
    while len(users) < n:
        u = rng.choice(FIRST) + rng.choice(LAST) + rng.choice(FIRST)[:1]
        if rng.random() < 0.4:
            u += str(rng.randint(1, 99))
        if u not in seen:
            seen.add(u)
            users.append(u)
    return users


def _project_pool(rng, n):
    projs = []
    seen = set()
    while len(projs) < n:
        r = rng.random()
        if r < 0.8:
            p = "%s%04d" % (rng.choice(INSTITUTIONS), rng.randint(1, 60))
        else:
            p = "P%08d" % rng.randint(10000000, 99999999)
        if p not in seen:
            seen.add(p)
            projs.append(p)
    # one digit-only project: the old JSON writer prints it as a number ("Account_Name":21500042)
    projs[7] = "21500042"
    return projs


def next_dst_transition(tz, after_epoch):
    """Epoch of the first UTC-offset change of tz after after_epoch (hour resolution), or None."""
    t = int(after_epoch // 3600 * 3600)
    off = _dt.datetime.fromtimestamp(t, tz).utcoffset()
    for _ in range(24 * 400):
        t += 3600
        o = _dt.datetime.fromtimestamp(t, tz).utcoffset()
        if o != off:
            return t
    return None


# --------------------------------------------------------------------------------------------
def build_cluster(system, seed=1, scale=1.0, jobs=None, now=None, server=None, pbs_version=None,
                  timezone=None):
    """Build a deterministic cluster model.

    system: "derecho" or "casper".  seed/scale/jobs: see module docs.  now: epoch seconds used
    for every time attribute; None means the current time floored to the hour, so every host
    asking within the same hour sees the same state.
    """
    system = system.lower()
    if system not in SYSTEM_DEFAULTS:
        raise ValueError("unknown system %r (derecho or casper)" % system)
    d = SYSTEM_DEFAULTS[system]
    if now is None:
        now = float(int(_time.time()) // 3600 * 3600)
    scale = float(scale)
    if jobs is None:
        base = 2000 if system == "derecho" else 5500
        jobs = max(1, int(round(base * scale)))
    cl = Cluster(system, server or d["server"], pbs_version or d["pbs_version"],
                 timezone or d["timezone"], float(now), seed, scale, int(jobs))
    if system == "derecho":
        _derecho_nodes(cl)
    else:
        _casper_nodes(cl)
    cl.node_by_name = dict((n.name, n) for n in cl.nodes)
    _queues(cl)
    _reservations(cl)
    _jobs(cl)
    _finish_nodes(cl)
    _finish_reservations(cl)
    return cl


def _derecho_nodes(cl):
    ncpu = _scaled(2488, cl.scale)
    ngpu = _scaled(82, cl.scale)
    ndev = max(1, int(round(ncpu * 0.012)))
    ngdev = max(1, int(round(ngpu * 0.05)))
    for i in range(ncpu):
        dev = i >= ncpu - ndev
        n = Node("dec%04d" % (i + 1), "cpu", 128, 0, "235gb", "cpu,cpudev" if dev else "cpu", None)
        n.shared_pool = "cpudev" if dev else None
        cl.nodes.append(n)
    for i in range(ngpu):
        dev = i >= ngpu - ngdev
        n = Node("deg%04d" % (i + 1), "gpu", 64, 4, "503316480kb", "a100,gpudev" if dev else "a100",
                 "a100")
        n.shared_pool = "gpudev" if dev else None
        cl.nodes.append(n)


def _casper_nodes(cl):
    for key, count, prefix, ncpus, ngpus, mem, qlist, gtype in CASPER_TYPES:
        cnt = _scaled(count, cl.scale)
        width = 3 if count >= 100 else 2
        for i in range(cnt):
            n = Node("%s%0*d" % (prefix, width, i + 1), key, ncpus, ngpus, mem, qlist, gtype)
            n.shared_pool = key      # Casper nodes are shared
            cl.nodes.append(n)


def _queues(cl):
    Q = cl.queues
    if cl.system == "derecho":
        Q.append(Queue("cpu", "Execution", priority=100, from_route_only=True,
                       resources_max=[("ngpus", "0")],
                       default_chunk=[("mem", "235gb"), ("ncpus", "128"), ("Qlist", "cpu")],
                       max_queued=["[u:PBS_GENERIC=500]"], backfill_depth=5))
        Q.append(Queue("gpu", "Execution", priority=100, from_route_only=True,
                       resources_max=[("gpu_type", "a100")],
                       resources_min=[("gpu_type", "a100"), ("ngpus", "1")],
                       resources_default=[("ncpus", "64"), ("ngpus", "4")],
                       default_chunk=[("mem", "480gb"), ("ncpus", "64"), ("ngpus", "4"), ("Qlist", "a100")],
                       max_queued=["[u:PBS_GENERIC=200]"], backfill_depth=5))
        Q.append(Queue("main", "Route",
                       resources_max=[("mem", "692tb"), ("ncpus", "323712"), ("ngpus", "328")],
                       route_destinations="cpu,gpu,cpudev,gpudev"))
        Q.append(Queue("cpudev", "Execution", priority=150, from_route_only=False,
                       resources_max=[("ncpus", "128"), ("ngpus", "0"), ("walltime", "06:00:00")],
                       default_chunk=[("mem", "2gb"), ("ncpus", "1"), ("Qlist", "cpudev")],
                       max_run=["[u:PBS_GENERIC=8]"], max_run_res=[("ncpus", "[u:PBS_GENERIC=128]")]))
        Q.append(Queue("gpudev", "Execution", priority=150, from_route_only=False,
                       resources_max=[("ngpus", "4"), ("walltime", "01:00:00")],
                       default_chunk=[("mem", "60gb"), ("ncpus", "8"), ("ngpus", "1"), ("Qlist", "gpudev")],
                       max_run=["[u:PBS_GENERIC=2]"]))
    else:
        Q.append(Queue("htc", "Execution", from_route_only=True,
                       resources_max=[("mps", "0"), ("ncpus", "144"), ("ngpus", "0"), ("nvpus", "0")],
                       resources_min=[("mps", "0")], default_chunk=[("Qlist", "htc")],
                       max_queued=["[u:PBS_GENERIC=5000]"],
                       max_run_res=[("mem", "[u:PBS_GENERIC=3600gb]"), ("ncpus", "[u:PBS_GENERIC=360]")],
                       backfill_depth=50))
        Q.append(Queue("casper", "Route", resources_max=[("mem", "25tb"), ("ncpus", "7168"),
                                                         ("walltime", "340:00:00")],
                       max_queued=["[u:PBS_GENERIC=5000]"],
                       route_destinations="htc,vis,largemem,nvgpu,amdgpu,gdex"))
        Q.append(Queue("vis", "Execution", from_route_only=False,
                       resources_min=[("ngpus", "1")], default_chunk=[("Qlist", "vis")],
                       max_run_res=[("ngpus", "[u:PBS_GENERIC=2]")], backfill_depth=50))
        Q.append(Queue("largemem", "Execution", from_route_only=True,
                       resources_max=[("ncpus", "36"), ("ngpus", "0"), ("nodect", "1")],
                       resources_min=[("mem", "354gb")], default_chunk=[("Qlist", "largemem")],
                       max_queued=["[u:PBS_GENERIC=5]"], max_run=["[u:PBS_GENERIC=3]"], backfill_depth=20))
        Q.append(Queue("nvgpu", "Execution", from_route_only=True,
                       resources_min=[("ngpus", "1")], default_chunk=[("Qlist", "nvgpu")],
                       max_run_res=[("ngpus", "[u:PBS_GENERIC=32]")], backfill_depth=50))
        Q.append(Queue("amdgpu", "Execution", from_route_only=False,
                       resources_min=[("ngpus", "1")], default_chunk=[("Qlist", "amdgpu")]))
        Q.append(Queue("gdex", "Execution", resources_max=[("mem", "360gb"), ("ncpus", "36"),
                                                           ("ngpus", "0"), ("walltime", "168:00:00")],
                       default_chunk=[("Qlist", "gdex")]))
        Q.append(Queue("jhublogin", "Execution", default_chunk=[("Qlist", "jhublogin")],
                       max_run=["[u:PBS_GENERIC=4]"]))
        Q.append(Queue("cpu", "Execution", enabled=False, started=False,
                       default_chunk=[("Qlist", "cpu")]))


# --------------------------------------------------------------------------------------------
def _reservations(cl):
    """Create reservations (queues R.../S...) and mark their nodes."""
    rng = _rng(cl.system, cl.seed, "resv")
    tz = get_tz(cl.timezone)
    now = int(cl.now)
    base_seq = 416800 if cl.system == "casper" else 8123400
    hour = now // 3600 * 3600
    plans = []
    if cl.system == "derecho":
        pool_cpu = [n for n in cl.nodes if n.ntype == "cpu" and n.shared_pool is None]
        pool_gpu = [n for n in cl.nodes if n.ntype == "gpu" and n.shared_pool is None]
        plans.append(("R", "climate_run", pool_cpu[-max(2, int(16 * cl.scale)):], hour - 3 * 3600,
                      hour + 9 * 3600, "RESV_RUNNING", True))
        plans.append(("R", "NULL", pool_gpu[-max(1, int(2 * cl.scale)):], hour + 2 * 86400,
                      hour + 2 * 86400 + 4 * 3600, "RESV_CONFIRMED", True))
        plans.append(("S", "weekly_maint", pool_cpu[-max(4, int(20 * cl.scale)):-max(2, int(16 * cl.scale))],
                      hour + 86400, hour + 86400 + 2 * 3600, "RESV_CONFIRMED", True))
        dst_nodes = pool_cpu[-max(6, int(24 * cl.scale)):-max(4, int(20 * cl.scale))]
    else:
        htc = [n for n in cl.nodes if n.ntype == "htc"]
        a100 = [n for n in cl.nodes if n.ntype == "a100"]
        plans.append(("R", "NULL", htc[-max(1, int(2 * cl.scale)):], hour - 3600, hour + 5 * 3600,
                      "RESV_RUNNING", True))
        plans.append(("R", "gpu_hackathon", a100[-1:], hour + 3 * 86400, hour + 3 * 86400 + 8 * 3600,
                      "RESV_CONFIRMED", False))
        plans.append(("S", "jhub_training", htc[-max(2, int(3 * cl.scale)):-max(1, int(2 * cl.scale))],
                      hour + 86400, hour + 86400 + 3 * 3600, "RESV_CONFIRMED", True))
        dst_nodes = htc[-max(3, int(4 * cl.scale)):-max(2, int(3 * cl.scale))]
    # one reservation crossing the next DST change of the cluster time zone
    tr = next_dst_transition(tz, now + 3600)
    if tr is not None:
        plans.append(("R", "dst_crossing", dst_nodes, tr - 26 * 3600, tr + 22 * 3600,
                      "RESV_CONFIRMED" if tr - 26 * 3600 > now else "RESV_RUNNING", True))
    for i, (kind, name, nodes, start, end, state, with_nodect) in enumerate(plans):
        seq = base_seq + 17 * i + rng.randint(0, 9)
        qname = "%s%d" % (kind, seq)
        rid = "%s.%s" % (qname, cl.server)
        owner = "%s@%s" % (rng.choice(["csgteam", "sysadmin", "hpcops"]),
                           "derecho1" if cl.system == "derecho" else "crlogin1")
        r = Reservation(id=rid, name=name, queue=qname, owner=owner, state=state,
                        substate={"RESV_RUNNING": 5, "RESV_CONFIRMED": 2}.get(state, 1),
                        start=int(start), end=int(end), nodes=[n.name for n in nodes],
                        ncpus=sum(n.ncpus for n in nodes), ngpus=sum(n.ngpus for n in nodes),
                        with_nodect=with_nodect, standing=(kind == "S"),
                        ctime=now - 14 * 86400 - rng.randint(0, 86400), partition="pbs-default",
                        authorized_users=owner.split("@")[0] + ",+%s" % rng.choice(["alice1", "bob2"]))
        r.mtime = r.ctime + 3600
        cl.reservations.append(r)
        for n in nodes:
            n.resv = rid
            if state == "RESV_RUNNING":
                n.state = ["resv-exclusive"]
        cl.queues.append(Queue(qname, "Execution", acl_users=owner, partition="pbs-default",
                               resources_max=[("ncpus", str(r.ncpus))] +
                               ([("ngpus", str(r.ngpus))] if r.ngpus else []),
                               started=(state == "RESV_RUNNING"), enabled=True))
    # one node that is offline while inside the running reservation
    running = [r for r in cl.reservations if r.state == "RESV_RUNNING"]
    if running and len(running[0].nodes) > 1:
        n = cl.node_by_name[running[0].nodes[0]]
        n.state = ["offline", "resv-exclusive"]
        n.comment = "offline for hardware check"


def _finish_reservations(cl):
    pass


# --------------------------------------------------------------------------------------------
DOWN_PATTERNS = [
    (["down"], "node down: communication closed"),
    (["offline"], "offline: memory errors, ticket 4242"),
    (["down", "offline"], "down for maintenance"),
    (["state-unknown", "down"], None),
    (["offline"], "drained for firmware update"),
]


def _mark_down_nodes(cl, rng):
    cand = [n for n in cl.nodes if not n.state and n.shared_pool not in ("cpudev", "gpudev")]
    if cl.system == "derecho":
        k = max(5, int(round(len([n for n in cl.nodes if n.ntype == "cpu"]) * 0.008)))
        kg = max(2, int(round(len([n for n in cl.nodes if n.ntype == "gpu"]) * 0.04)))
        pick = rng.sample([n for n in cand if n.ntype == "cpu"], min(k, len(cand)))
        gc = [n for n in cand if n.ntype == "gpu"]
        pick += rng.sample(gc, min(kg, len(gc)))
    else:
        bytype = {}
        for n in cand:
            bytype.setdefault(n.ntype, []).append(n)
        pick = []
        for t in ("htc", "htc", "htc", "jhublogin", "v100x8", "gp100", "gdex"):
            lst = [n for n in bytype.get(t, []) if n not in pick]
            if len(lst) > 1:
                pick.append(rng.choice(lst))
    for i, n in enumerate(pick):
        st, comment = DOWN_PATTERNS[i % len(DOWN_PATTERNS)]
        n.state = list(st)
        n.comment = comment


# --------------------------------------------------------------------------------------------
ENV_EXTRA = [
    ("NCAR_HOST", "{system}"), ("LMOD_SYSTEM_NAME", "{system}"), ("TERM", "xterm-256color"),
    ("LANG", "en_US.UTF-8"), ("TMPDIR", "/glade/derecho/scratch/{user}/tmp"),
    ("SCRATCH", "/glade/derecho/scratch/{user}"), ("WORK", "/glade/work/{user}"),
    ("MODULEPATH", "/glade/u/apps/{system}/modules/environment:/glade/u/apps/{system}/23.09/modules/lmod/Core"),
    ("NCAR_DEFAULT_PATH", "/glade/u/apps/{system}/23.09/opt/view/bin:/usr/local/bin:/usr/bin"),
    ("LMOD_VERSION", "8.7.20"), ("HISTSIZE", "1000"), ("OMP_NUM_THREADS", "1"),
    ("PBS_ACCOUNT", "{project}"), ("CONDA_PREFIX", "/glade/work/{user}/conda-envs/analysis"),
    ("NCAR_ROOT_CESM", "/glade/work/{user}/cesm2.3"), ("CASE", "b.e23.BHIST.f09_g17.{seq}"),
    ("EDITOR", "vim"), ("SHLVL", "2"), ("NCAR_ENV_VERSION", "23.09"), ("INPUTDATA", "/glade/campaign/cesm/inputdata"),
]


def _variables(cl, rng, user, project, queue, host, seq):
    path = ("/glade/u/apps/%s/23.09/spack/opt/spack/ncarcompilers/1.0.0/bin:/glade/u/apps/%s/23.09/opt/view/bin:"
            "/glade/u/home/%s/bin:/usr/local/bin:/usr/bin:/bin:/opt/pbs/bin" % (cl.system, cl.system, user))
    v = [("PBS_O_HOME", "/glade/u/home/%s" % user), ("PBS_O_LANG", "en_US.UTF-8"),
         ("PBS_O_LOGNAME", user), ("PBS_O_PATH", path), ("PBS_O_MAIL", "/var/spool/mail/%s" % user),
         ("PBS_O_SHELL", "/bin/bash"), ("PBS_O_WORKDIR", "/glade/work/%s/run%d" % (user, seq % 97)),
         ("PBS_O_SYSTEM", "Linux"), ("PBS_O_QUEUE", queue), ("PBS_O_HOST", host)]
    n = rng.randint(5, len(ENV_EXTRA))
    fmt = {"system": cl.system, "user": user, "project": project or "none", "seq": seq}
    for k, val in ENV_EXTRA[:n]:
        v.append((k, val.format(**fmt)))
    return v


def _jobs(cl):
    rng = _rng(cl.system, cl.seed, "jobs")
    _mark_down_nodes(cl, _rng(cl.system, cl.seed, "down"))
    users = _user_pool(_rng(cl.system, cl.seed, "users"), 320)
    projects = _project_pool(_rng(cl.system, cl.seed, "projects"), 160)
    user_projects = {}
    prng = _rng(cl.system, cl.seed, "userproj")
    for u in users:
        user_projects[u] = prng.sample(projects, prng.choice([1, 1, 1, 2, 2, 3]))
    # heavy-tailed user activity
    weights = [1.0 / (1 + i) ** 0.8 for i in range(len(users))]
    login_hosts = (["derecho%d" % i for i in range(1, 9)] if cl.system == "derecho"
                   else ["crlogin1", "crlogin2", "crlogin3"])
    now = int(cl.now)
    N = cl.njobs
    seq0 = 4500000 if cl.system == "derecho" else 2400000
    seq = seq0

    if cl.system == "derecho":
        state_mix = [("R", 0.625), ("Q", 0.25), ("H", 0.04), ("B", 0.005), ("E", 0.005)]
        r_queues = [("cpu", 0.84), ("cpudev", 0.08), ("gpu", 0.04), ("gpudev", 0.02), ("resv", 0.02)]
        q_queues = [("cpu", 0.8), ("gpu", 0.12), ("cpudev", 0.05), ("gpudev", 0.03)]
    else:
        state_mix = [("R", 0.172), ("Q", 0.80), ("H", 0.011), ("B", 0.001), ("E", 0.001), ("W", 0.0004)]
        r_queues = [("htc", 0.58), ("jhublogin", 0.29), ("gdex", 0.04), ("nvgpu", 0.025),
                    ("vis", 0.015), ("largemem", 0.006), ("amdgpu", 0.003), ("resv", 0.011)]
        q_queues = [("htc", 0.96), ("nvgpu", 0.02), ("largemem", 0.01), ("vis", 0.01)]

    def pick(mix, default="Q"):
        x = rng.random()
        acc = 0.0
        for k, w in mix:
            acc += w
            if x < acc:
                return k
        return default

    running_resv = [r for r in cl.reservations if r.state == "RESV_RUNNING"]
    # placement pools
    pools = {}
    for n in cl.nodes:
        pools.setdefault(n.shared_pool or n.ntype, []).append(n)
    for r in running_resv:
        pools["resv:" + r.id] = [cl.node_by_name[x] for x in r.nodes]

    def usable(n, resv_id=None):
        if n.resv and (resv_id is None or n.resv != resv_id):
            # nodes of a running reservation only take that reservation's jobs; future ones are free
            r = [x for x in running_resv if x.id == n.resv]
            if r:
                return False
        if resv_id is not None and n.resv != resv_id:
            return False
        return not any(s in ("down", "offline", "state-unknown") for s in n.state)

    def place(job, pool_names, nchunks, cpc, gpc, memc, excl, resv_id=None):
        """Place nchunks chunks; returns True on success (and records chunks on nodes)."""
        cand = []
        for p in pool_names:
            cand.extend(pools.get(p, []))
        chosen = []
        if not cand:
            return False
        start = rng.randrange(len(cand))
        for k in range(len(cand)):
            n = cand[(start + k) % len(cand)]
            if not usable(n, resv_id) or n.exclusive or n in chosen:
                continue
            if excl:
                if n.assigned_ncpus or n.assigned_ngpus:
                    continue
            elif (n.free_ncpus < cpc or n.ngpus - n.assigned_ngpus < gpc or
                  n.mem_kb - n.assigned_mem_kb < memc):
                continue
            chosen.append(n)
            if len(chosen) == nchunks:
                break
        if len(chosen) < nchunks:
            return False
        parts_h, parts_v = [], []
        for n in chosen:
            n.assigned_ncpus += cpc
            n.assigned_ngpus += gpc
            n.assigned_mem_kb += memc
            n.assigned_mpiprocs += cpc
            n.exclusive = n.exclusive or excl
            n.jobs.append((job.id, cpc))
            parts_h.append("%s/%d*%d" % (n.name, n.slot, cpc))
            n.slot += 1
            v = "(%s:ncpus=%d" % (n.name, cpc)
            if gpc:
                v += ":ngpus=%d" % gpc
            v += ":mem=%dkb)" % memc
            parts_v.append(v)
            job.chunks.append((n.name, cpc, gpc, memc))
        job.exec_host = "+".join(parts_h)
        job.exec_vnode = "+".join(parts_v)
        job.hosts = [n.name for n in chosen]
        return True

    def shape(queue):
        """-> (pool names, nchunks, ncpus/chunk, ngpus/chunk, mem_kb/chunk, excl, place)"""
        if cl.system == "derecho":
            if queue == "cpu":
                nn = pick_n([(1, .75), (2, .12), (4, .07), (8, .04), (16, .015), (64, .005)])
                cpc = 128 if rng.random() < 0.85 else rng.choice([32, 64, 96])
                return (["cpu"], nn, cpc, 0, 235 * KIB_PER_GIB, True, "scatter:excl")
            if queue == "gpu":
                nn = pick_n([(1, .8), (2, .15), (4, .05)])
                return (["gpu"], nn, 64, 4, 480 * KIB_PER_GIB, True, "scatter:excl")
            if queue == "cpudev":
                c = rng.choice([1, 1, 2, 4, 8, 16, 32, 64, 128])
                return (["cpudev"], 1, c, 0, c * 2 * KIB_PER_GIB if c < 128 else 235 * KIB_PER_GIB, False, "pack")
            if queue == "gpudev":
                g = rng.choice([1, 1, 2, 4])
                return (["gpudev"], 1, 8 * g, g, 60 * g * KIB_PER_GIB, False, "pack")
        else:
            if queue == "htc":
                c = pick_n([(1, .55), (2, .15), (4, .12), (8, .1), (16, .05), (36, .02), (62, .01)])
                return (["htc"], 1, c, 0, rng.choice([2, 4, 8]) * c * KIB_PER_GIB, False, "pack")
            if queue == "jhublogin":
                return (["jhublogin"], 1, rng.choice([1, 1, 2, 4]), 0, rng.choice([4, 10, 20]) * KIB_PER_GIB, False, "pack")
            if queue == "gdex":
                return (["gdex"], 1, rng.choice([1, 2, 4]), 0, rng.choice([10, 20]) * KIB_PER_GIB, False, "pack")
            if queue == "largemem":
                return (["largemem"], 1, rng.choice([1, 4, 8]), 0, rng.choice([400, 700]) * KIB_PER_GIB, False, "pack")
            if queue == "nvgpu":
                t = rng.choice(["a100", "a100", "a100", "h100", "v100x4", "v100x8"])
                g = rng.choice([1, 1, 2, 4])
                return ([t], 1, rng.choice([1, 4, 8]), g, rng.choice([40, 100]) * KIB_PER_GIB, False, "pack")
            if queue == "vis":
                return ([rng.choice(["gp100", "l40"])], 1, rng.choice([1, 2, 4]), 1, 40 * KIB_PER_GIB, False, "pack")
            if queue == "amdgpu":
                return (["mi300a"], 1, 8, rng.choice([1, 2]), 60 * KIB_PER_GIB, False, "pack")
        return (["?"], 1, 1, 0, KIB_PER_GIB, False, "pack")

    def pick_n(mix):
        x = rng.random()
        acc = 0.0
        for k, w in mix:
            acc += w
            if x < acc:
                return k
        return mix[0][0]

    def new_job(state, queue):
        nonlocal seq
        seq += rng.randint(1, 3)
        j = Job()
        j.seq = seq
        j.id = "%d.%s" % (seq, cl.server)
        user = rng.choices(users, weights)[0]
        host = rng.choice(login_hosts)
        j.submit_host = host
        j.owner = "%s@%s.hpc.ucar.edu" % (user, host)
        r = rng.random()
        if r < 0.012:
            j.account = None            # no Account_Name attribute at all
        elif r < 0.018:
            j.account = ""              # blank Account_Name
        else:
            j.account = rng.choice(user_projects[user])
        j.state = state
        j.queue = queue
        j.name = rng.choice(["run_cesm", "wrf_d01", "STDIN", "postproc", "ncl_plot", "mpas_240km",
                             "ensemble_%02d" % rng.randint(1, 40), "train_unet", "jupyterhub",
                             "dask-worker", "regrid", "xios_test"])
        j.walltime = rng.choice(["00:30:00", "01:00:00", "04:00:00", "06:00:00", "12:00:00", "24:00:00"])
        j.ctime = now - rng.randint(600, 5 * 86400)
        j.qtime = j.ctime + rng.randint(0, 5)
        j.etime = j.qtime
        j.mtime = min(now - 1, j.ctime + rng.randint(10, 3600))
        j.substate = {"Q": 10, "R": 42, "H": 20, "E": 51, "B": 70, "W": 30}[state]
        j.interactive = queue == "jhublogin" or (j.name == "STDIN")
        return j

    def fill_resources(j, sh):
        pools_, nn, cpc, gpc, memc, excl, placement = sh
        j.ncpus = nn * cpc
        j.ngpus = nn * gpc
        j.mem_kb = nn * memc
        j.nodect = nn
        j.mpiprocs = nn * cpc
        sel = "%d:ncpus=%d" % (nn, cpc)
        if gpc:
            sel += ":ngpus=%d" % gpc
        sel += ":mem=%s" % fmt_size(memc)
        if rng.random() < 0.03:
            sel = "%d" % nn        # bare chunk count (prints as a number)
        j.select = sel
        j.place = placement

    jobs = []
    for i in range(N):
        st = pick(state_mix)
        if st in ("R", "E"):
            q = pick(r_queues, r_queues[0][0])
            resv = None
            if q == "resv":
                if running_resv:
                    resv = running_resv[i % len(running_resv)]
                    q = resv.queue
                else:
                    q = r_queues[0][0]
            j = new_job(st, q)
            if resv is not None:
                base = "cpu" if cl.system == "derecho" else "htc"
                sh = list(shape(base))
                sh[0] = ["resv:" + resv.id]
                sh[1] = 1
                if cl.system == "casper":
                    sh[5] = False
                sh = tuple(sh)
                ok = place(j, sh[0], sh[1], sh[2], sh[3], sh[4], sh[5], resv_id=resv.id)
            else:
                sh = shape(q)
                ok = place(j, sh[0], sh[1], sh[2], sh[3], sh[4], sh[5])
                if not ok and st == "E":
                    # exiting jobs always hold nodes: retry as a small shared job
                    j.queue = q = "cpudev" if cl.system == "derecho" else "htc"
                    sh = (shape(q)[0], 1, 1, 0, KIB_PER_GIB, False, "pack")
                    ok = place(j, sh[0], sh[1], sh[2], sh[3], sh[4], sh[5])
            fill_resources(j, sh)
            if ok:
                j.stime = now - rng.randint(60, 6 * 3600)
                j.etime = min(j.etime, j.stime)
                j.mtime = max(j.mtime, j.stime)
                j.session_id = rng.randint(1000, 999999)
                j.run_count = 1
                el = now - j.stime
                j.used = (el, j.ncpus)
                j.comment = "Job run at %s on %s" % (_short_when(cl, j.stime), _cut(j.exec_vnode))
            else:
                j.state = "Q"
                j.substate = 10
                j.comment = "Not Running: Not enough free nodes available"
        elif st == "B":
            q = "cpu" if cl.system == "derecho" else "htc"
            j = new_job("B", q)
            sh = shape(q)
            fill_resources(j, (sh[0], 1, sh[2] if cl.system == "casper" else 128, 0, sh[4], sh[5], sh[6]))
            size = rng.choice([4, 6, 10])
            j.array_indices = "1-%d" % size
            j.id = "%d[].%s" % (j.seq, cl.server)
            nrun = 0
            for k in range(1, size + 1):
                s = Job()
                s.seq = j.seq
                s.id = "%d[%d].%s" % (j.seq, k, cl.server)
                for a in ("name", "owner", "submit_host", "account", "queue", "walltime", "ctime", "qtime",
                          "etime", "mtime", "ncpus", "ngpus", "mem_kb", "nodect", "select", "place",
                          "mpiprocs", "interactive"):
                    setattr(s, a, getattr(j, a))
                s.array_parent = j.id
                s.array_index = k
                if k <= 2:
                    s.state, s.substate = "X", 92
                elif k <= 5:
                    s.state, s.substate = "R", 42
                    if place(s, sh[0], 1, j.ncpus, 0, j.mem_kb, sh[5]):
                        s.stime = now - rng.randint(60, 3600)
                        s.session_id = rng.randint(1000, 999999)
                        s.run_count = 1
                        s.used = (now - s.stime, s.ncpus)
                        nrun += 1
                    else:
                        s.state, s.substate = "Q", 10
                else:
                    s.state, s.substate = "Q", 10
                j.subjobs.append(s)
            j.stime = now - rng.randint(60, 3600)
        elif st == "W":
            q = "casper" if cl.system == "casper" else "main"
            j = new_job("W", q)
            fill_resources(j, (["htc"], 1, 1, 0, 4 * KIB_PER_GIB, False, "pack"))
            j.comment = None
        else:
            q = pick(q_queues, q_queues[0][0])
            j = new_job(st, q)
            sh = shape(q)
            fill_resources(j, sh)
            if st == "H":
                j.hold_types = rng.choice(["u", "u", "s", "o"])
                j.comment = ("Job held by %s on %s" % (j.owner.split("@")[0], _ctime(cl, j.mtime))
                             if j.hold_types == "u" else "job held, too many failed attempts to run")
                j.run_count = 0 if j.hold_types == "u" else 21
            else:
                j.comment = rng.choice(["Not Running: Insufficient amount of resource: ncpus ",
                                        "Not Running: Job would conflict with reservation or top job",
                                        "Not Running: User has reached queue %s running job limit." % q])
        j.variables = _variables(cl, rng, j.owner.split("@")[0], j.account, j.queue, j.submit_host, j.seq)
        j.submit_args = "-A %s -q %s -l walltime=%s %s.pbs" % (j.account or "UNKNOWN", j.queue, j.walltime,
                                                               j.name) if j.account else "-q %s job.pbs" % j.queue
        jobs.append(j)
        for s in j.subjobs:
            s.variables = j.variables
            s.submit_args = j.submit_args
    cl.jobs = jobs


def _ctime(cl, epoch):
    d = _dt.datetime.fromtimestamp(epoch, get_tz(cl.timezone))
    return "%s %2d %s" % (d.strftime("%a %b"), d.day, d.strftime("%H:%M:%S %Y"))


def _short_when(cl, epoch):
    d = _dt.datetime.fromtimestamp(epoch, get_tz(cl.timezone))
    return d.strftime("%a %b ") + ("%2d" % d.day) + d.strftime(" at %H:%M")


def _cut(vnodes):
    if len(vnodes) > 80:
        return vnodes[:76] + "..."
    return vnodes


def _finish_nodes(cl):
    now = int(cl.now)
    rng = _rng(cl.system, cl.seed, "nodetimes")
    for n in cl.nodes:
        n.last_state_change_time = now - rng.randint(60, 30 * 86400)
        n.last_used_time = n.last_state_change_time + (rng.randint(0, 600) if n.jobs else 0)
        down = [s for s in n.state if s in ("state-unknown", "down", "offline")]
        resv = "resv-exclusive" in n.state
        job_bits = []
        if n.jobs:
            if n.exclusive:
                job_bits = ["job-exclusive"]
            elif n.assigned_ncpus >= n.ncpus or (n.ngpus and n.assigned_ngpus >= n.ngpus):
                job_bits = ["job-busy"]
        st = down + job_bits + (["resv-exclusive"] if resv else [])
        n.state = st or ["free"]
