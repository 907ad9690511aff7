"""SQLite storage of the lab SAM System Status API stand-in, plus read-back helpers for tests.

LAB ONLY. The schema mirrors what the real SAM server stores (see
/work/shared/docs/sam-api-contract.md, sections 1.4-1.9): the parent status rows with every
column after coercion and defaults, the child status rows, the lookup tables, the span-coalesced
user/project/queue history, reservations and the queue roster.  Timestamps are stored as naive
UTC text 'YYYY-MM-DD HH:MM:SS.ffffff' (fixed width, so text order is time order) and are read back
as ISO strings (``datetime.isoformat()``).

Read-back API (all take the SQLite file path):
    snapshots(db_path, system)          -> list of parent rows (+ children), oldest first
    reservations(db_path, system)       -> list of reservation rows
    queue_roster(db_path, system)       -> list of queue lookup rows (queue_type, last_defined_at)
    user_project_queue_spans(db_path, system) -> raw coalesced spans
    outages(db_path)                    -> list of outage rows
    request_log(db_path)                -> list of {time, method, path, status, system, ...}

CLI:  python store.py dump --db PATH [--system derecho]
"""
import argparse
import datetime as _dt
import json
import sqlite3
import sys

# ---------------------------------------------------------------------------
# column catalogue (shared with the server's schema emulation)
# ---------------------------------------------------------------------------

COMMON_STATUS_COLUMNS = [
    # (name, sqlite type)
    ("cpu_nodes_total", "INTEGER"), ("cpu_nodes_available", "INTEGER"),
    ("cpu_nodes_down", "INTEGER"), ("cpu_nodes_reserved", "INTEGER"),
    ("gpu_nodes_total", "INTEGER"), ("gpu_nodes_available", "INTEGER"),
    ("gpu_nodes_down", "INTEGER"), ("gpu_nodes_reserved", "INTEGER"),
    ("cpu_cores_total", "INTEGER"), ("cpu_cores_allocated", "INTEGER"),
    ("cpu_cores_idle", "INTEGER"), ("cpu_utilization_percent", "REAL"),
    ("gpu_count_total", "INTEGER"), ("gpu_count_allocated", "INTEGER"),
    ("gpu_count_idle", "INTEGER"), ("gpu_utilization_percent", "REAL"),
    ("memory_total_gb", "REAL"), ("memory_allocated_gb", "REAL"),
    ("memory_utilization_percent", "REAL"),
    ("running_jobs", "INTEGER"), ("pending_jobs", "INTEGER"), ("held_jobs", "INTEGER"),
    ("active_users", "INTEGER"),
]
CASPER_EXTRA_COLUMNS = [
    ("viz_nodes_total", "INTEGER"), ("viz_nodes_available", "INTEGER"),
    ("viz_nodes_down", "INTEGER"), ("viz_nodes_reserved", "INTEGER"),
    ("viz_count_total", "INTEGER"), ("viz_count_allocated", "INTEGER"),
    ("viz_count_idle", "INTEGER"), ("viz_utilization_percent", "REAL"),
]
JUPYTERHUB_COLUMNS = [
    ("available", "BOOLEAN"), ("active_users", "INTEGER"), ("active_sessions", "INTEGER"),
    ("nodes_total", "INTEGER"), ("nodes_free", "INTEGER"), ("nodes_busy", "INTEGER"),
    ("nodes_down", "INTEGER"), ("cpus_total", "INTEGER"), ("cpus_free", "INTEGER"),
    ("cpus_used", "INTEGER"), ("gpus_total", "INTEGER"), ("gpus_free", "INTEGER"),
    ("gpus_used", "INTEGER"), ("jobs_running", "INTEGER"), ("casper_login_jobs", "INTEGER"),
    ("casper_batch_jobs", "INTEGER"), ("derecho_batch_jobs", "INTEGER"),
    ("jobs_suspended", "INTEGER"), ("memory_total_gb", "REAL"), ("memory_free_gb", "REAL"),
    ("memory_used_gb", "REAL"), ("cpu_utilization_percent", "REAL"),
    ("gpu_utilization_percent", "REAL"), ("memory_utilization_percent", "REAL"),
    ("nodes", "JSON"),
]
QUEUE_COUNTERS = [
    "running_jobs", "pending_jobs", "held_jobs", "cores_allocated", "gpus_allocated",
    "nodes_allocated", "cores_pending", "gpus_pending", "cores_held", "gpus_held",
]
LOGIN_NODE_STATUS_COLUMNS = [
    ("available", "BOOLEAN"), ("degraded", "BOOLEAN"), ("user_count", "INTEGER"),
    ("num_cpus", "INTEGER"), ("load_1min", "REAL"), ("load_5min", "REAL"), ("load_15min", "REAL"),
]
FILESYSTEM_STATUS_COLUMNS = [
    ("available", "BOOLEAN"), ("degraded", "BOOLEAN"), ("capacity_tb", "REAL"), ("used_tb", "REAL"),
    ("utilization_percent", "REAL"), ("capacity_inodes", "REAL"), ("used_inodes", "REAL"),
    ("inodes_utilization_percent", "REAL"),
]
NODE_TYPE_COLUMNS = [
    ("node_type", "TEXT"), ("nodes_total", "INTEGER"), ("nodes_available", "INTEGER"),
    ("nodes_down", "INTEGER"), ("nodes_allocated", "INTEGER"), ("cores_per_node", "INTEGER"),
    ("memory_gb_per_node", "INTEGER"), ("gpu_model", "TEXT"), ("gpus_per_node", "INTEGER"),
    ("utilization_percent", "REAL"), ("memory_utilization_percent", "REAL"),
]

SYSTEM_TABLES = {"derecho": "derecho_status", "casper": "casper_status",
                 "jupyterhub": "jupyterhub_status"}


def status_columns(system):
    if system == "derecho":
        return list(COMMON_STATUS_COLUMNS)
    if system == "casper":
        return list(COMMON_STATUS_COLUMNS) + list(CASPER_EXTRA_COLUMNS)
    if system == "jupyterhub":
        return list(JUPYTERHUB_COLUMNS)
    raise ValueError("unknown system %r" % (system,))


def _cols_sql(cols):
    out = []
    for name, typ in cols:
        out.append('"%s" %s' % (name, "TEXT" if typ == "JSON" else typ))
    return ",\n    ".join(out)


def schema_sql():
    parts = [
        """CREATE TABLE IF NOT EXISTS systems (
    system_id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE)""",
        """CREATE TABLE IF NOT EXISTS login_nodes (
    login_node_id INTEGER PRIMARY KEY AUTOINCREMENT,
    system_id INTEGER NOT NULL REFERENCES systems(system_id),
    name TEXT NOT NULL, node_type TEXT,
    UNIQUE (system_id, name))""",
        """CREATE TABLE IF NOT EXISTS queues (
    queue_id INTEGER PRIMARY KEY AUTOINCREMENT,
    system_id INTEGER NOT NULL REFERENCES systems(system_id),
    name TEXT NOT NULL, queue_type TEXT, last_defined_at TEXT,
    UNIQUE (system_id, name))""",
        """CREATE TABLE IF NOT EXISTS status_users (
    user_id INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT NOT NULL UNIQUE)""",
        """CREATE TABLE IF NOT EXISTS project_codes (
    project_code_id INTEGER PRIMARY KEY AUTOINCREMENT, project_code TEXT NOT NULL UNIQUE)""",
        """CREATE TABLE IF NOT EXISTS filesystems (
    filesystem_id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE)""",
    ]
    for system, table in SYSTEM_TABLES.items():
        parts.append("""CREATE TABLE IF NOT EXISTS %s (
    status_id INTEGER PRIMARY KEY AUTOINCREMENT,
    "timestamp" TEXT NOT NULL,
    created_at TEXT NOT NULL,
    %s)""" % (table, _cols_sql(status_columns(system))))
        parts.append('CREATE INDEX IF NOT EXISTS ix_%s_ts ON %s ("timestamp")' % (table, table))
    parts += [
        """CREATE TABLE IF NOT EXISTS login_node_status (
    login_node_status_id INTEGER PRIMARY KEY AUTOINCREMENT,
    system_id INTEGER NOT NULL, status_id INTEGER NOT NULL, "timestamp" TEXT NOT NULL,
    login_node_id INTEGER NOT NULL REFERENCES login_nodes(login_node_id),
    %s)""" % _cols_sql(LOGIN_NODE_STATUS_COLUMNS),
        """CREATE TABLE IF NOT EXISTS queue_status (
    queue_status_id INTEGER PRIMARY KEY AUTOINCREMENT,
    system_id INTEGER NOT NULL, status_id INTEGER NOT NULL, "timestamp" TEXT NOT NULL,
    queue_id INTEGER NOT NULL REFERENCES queues(queue_id),
    %s, active_users INTEGER,
    UNIQUE ("timestamp", queue_id))""" % ", ".join('"%s" INTEGER' % c for c in QUEUE_COUNTERS),
        """CREATE TABLE IF NOT EXISTS user_proj_queue_status (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    system_id INTEGER NOT NULL, "timestamp" TEXT NOT NULL, last_seen TEXT NOT NULL,
    user_id INTEGER NOT NULL, project_code_id INTEGER NOT NULL, queue_id INTEGER NOT NULL,
    %s,
    UNIQUE ("timestamp", user_id, project_code_id, queue_id))"""
        % ", ".join('"%s" INTEGER' % c for c in QUEUE_COUNTERS),
        'CREATE INDEX IF NOT EXISTS ix_upq_sys_seen ON user_proj_queue_status (system_id, last_seen)',
        """CREATE TABLE IF NOT EXISTS filesystem_status (
    filesystem_status_id INTEGER PRIMARY KEY AUTOINCREMENT,
    system_id INTEGER NOT NULL, status_id INTEGER NOT NULL, "timestamp" TEXT NOT NULL,
    filesystem_id INTEGER NOT NULL REFERENCES filesystems(filesystem_id),
    %s,
    UNIQUE ("timestamp", filesystem_id))""" % _cols_sql(FILESYSTEM_STATUS_COLUMNS),
        """CREATE TABLE IF NOT EXISTS casper_node_type_status (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    status_id INTEGER NOT NULL, "timestamp" TEXT NOT NULL,
    %s,
    UNIQUE ("timestamp", node_type))""" % _cols_sql(NODE_TYPE_COLUMNS),
        """CREATE TABLE IF NOT EXISTS resource_reservations (
    reservation_id INTEGER PRIMARY KEY AUTOINCREMENT,
    system_id INTEGER NOT NULL, reservation_name TEXT NOT NULL, description TEXT,
    start_time TEXT NOT NULL, end_time TEXT NOT NULL, node_count INTEGER, "partition" TEXT,
    created_at TEXT NOT NULL, updated_at TEXT)""",
        """CREATE TABLE IF NOT EXISTS system_outages (
    outage_id INTEGER PRIMARY KEY AUTOINCREMENT,
    system_id INTEGER NOT NULL, component TEXT, title TEXT NOT NULL, description TEXT,
    severity TEXT NOT NULL, status TEXT NOT NULL, start_time TEXT NOT NULL, end_time TEXT,
    estimated_resolution TEXT, created_at TEXT NOT NULL, updated_at TEXT)""",
        """CREATE TABLE IF NOT EXISTS request_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    "time" TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL, status INTEGER NOT NULL,
    system TEXT, fault TEXT, error TEXT)""",
    ]
    return parts


def init_db(db_path):
    conn = sqlite3.connect(db_path, timeout=30)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        for stmt in schema_sql():
            conn.execute(stmt)
        conn.commit()
    finally:
        conn.close()


# ---------------------------------------------------------------------------
# timestamp helpers
# ---------------------------------------------------------------------------

def ts_to_db(value):
    """naive datetime -> fixed-width text."""
    v = value
    return "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (
        v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond)


def ts_from_db(text):
    if text is None:
        return None
    return _dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f")


def _iso(text):
    return None if text is None else ts_from_db(text).isoformat()


# ---------------------------------------------------------------------------
# read-back helpers
# ---------------------------------------------------------------------------

def _connect(db_path):
    conn = sqlite3.connect(db_path, timeout=30)
    conn.row_factory = sqlite3.Row
    return conn


def _system_id(conn, system):
    row = conn.execute("SELECT system_id FROM systems WHERE name = ?", (system,)).fetchone()
    return None if row is None else row[0]


def _fix_types(d, cols):
    for name, typ in cols:
        if name not in d:
            continue
        if typ == "BOOLEAN" and d[name] is not None:
            d[name] = bool(d[name])
        elif typ == "JSON" and d[name] is not None:
            d[name] = json.loads(d[name])
    return d


def snapshots(db_path, system):
    """Stored snapshots of ``system`` ('derecho', 'casper', 'jupyterhub'), oldest first.

    Each item is the parent row (status_id, timestamp, created_at and every data column) and,
    for derecho/casper, the children lists ``login_nodes``, ``queues``, ``user_project_queues``,
    ``filesystems`` and (casper) ``node_types`` with the contract's field names.
    ``user_project_queues`` are the coalesced spans that cover the snapshot's timestamp
    (span.timestamp <= T <= span.last_seen).
    """
    table = SYSTEM_TABLES[system]
    cols = status_columns(system)
    conn = _connect(db_path)
    try:
        out = []
        rows = conn.execute('SELECT * FROM %s ORDER BY "timestamp", status_id' % table).fetchall()
        sid = _system_id(conn, system)
        for row in rows:
            d = _fix_types(dict(row), cols)
            ts_text = d["timestamp"]
            d["timestamp"] = _iso(ts_text)
            d["created_at"] = _iso(d["created_at"])
            if system == "jupyterhub":
                out.append(d)
                continue
            status_id = d["status_id"]
            d["login_nodes"] = [
                _fix_types(dict(r), LOGIN_NODE_STATUS_COLUMNS) for r in conn.execute(
                    "SELECT ln.name AS node_name, ln.node_type AS node_type, "
                    + ", ".join("s.%s" % c for c, _ in LOGIN_NODE_STATUS_COLUMNS)
                    + " FROM login_node_status s JOIN login_nodes ln USING (login_node_id)"
                    " WHERE s.system_id = ? AND s.status_id = ? ORDER BY s.login_node_status_id",
                    (sid, status_id))]
            d["queues"] = [dict(r) for r in conn.execute(
                "SELECT q.name AS queue_name, "
                + ", ".join("s.%s" % c for c in QUEUE_COUNTERS)
                + ", s.active_users FROM queue_status s JOIN queues q USING (queue_id)"
                " WHERE s.system_id = ? AND s.status_id = ? ORDER BY s.queue_status_id",
                (sid, status_id))]
            d["user_project_queues"] = [dict(r) for r in conn.execute(
                "SELECT u.username, p.project_code, q.name AS queue_name, "
                + ", ".join("s.%s" % c for c in QUEUE_COUNTERS)
                + " FROM user_proj_queue_status s JOIN status_users u USING (user_id)"
                " JOIN project_codes p USING (project_code_id) JOIN queues q USING (queue_id)"
                ' WHERE s.system_id = ? AND s."timestamp" <= ? AND s.last_seen >= ?'
                " ORDER BY s.id", (sid, ts_text, ts_text))]
            d["filesystems"] = [
                _fix_types(dict(r), FILESYSTEM_STATUS_COLUMNS) for r in conn.execute(
                    "SELECT f.name AS filesystem_name, "
                    + ", ".join("s.%s" % c for c, _ in FILESYSTEM_STATUS_COLUMNS)
                    + " FROM filesystem_status s JOIN filesystems f USING (filesystem_id)"
                    " WHERE s.system_id = ? AND s.status_id = ? ORDER BY s.filesystem_status_id",
                    (sid, status_id))]
            if system == "casper":
                d["node_types"] = [dict(r) for r in conn.execute(
                    "SELECT " + ", ".join(c for c, _ in NODE_TYPE_COLUMNS)
                    + " FROM casper_node_type_status WHERE status_id = ? ORDER BY id",
                    (status_id,))]
            out.append(d)
        return out
    finally:
        conn.close()


def user_project_queue_spans(db_path, system):
    """Raw coalesced user/project/queue spans of ``system`` (id, timestamp, last_seen, names, counters)."""
    conn = _connect(db_path)
    try:
        sid = _system_id(conn, system)
        out = []
        for r in conn.execute(
                'SELECT s.id, s."timestamp", s.last_seen, u.username, p.project_code, '
                "q.name AS queue_name, " + ", ".join("s.%s" % c for c in QUEUE_COUNTERS)
                + " FROM user_proj_queue_status s JOIN status_users u USING (user_id)"
                " JOIN project_codes p USING (project_code_id) JOIN queues q USING (queue_id)"
                " WHERE s.system_id = ? ORDER BY s.id", (sid,)):
            d = dict(r)
            d["timestamp"] = _iso(d["timestamp"])
            d["last_seen"] = _iso(d["last_seen"])
            out.append(d)
        return out
    finally:
        conn.close()


def reservations(db_path, system):
    """Reservation rows of ``system`` ordered by start_time (upsert key: system + reservation_name)."""
    conn = _connect(db_path)
    try:
        sid = _system_id(conn, system)
        out = []
        for r in conn.execute(
                "SELECT reservation_id, reservation_name, description, start_time, end_time,"
                ' node_count, "partition", created_at, updated_at FROM resource_reservations'
                " WHERE system_id = ? ORDER BY start_time, reservation_id", (sid,)):
            d = dict(r)
            for k in ("start_time", "end_time", "created_at", "updated_at"):
                d[k] = _iso(d[k])
            out.append(d)
        return out
    finally:
        conn.close()


def queue_roster(db_path, system):
    """Queue lookup rows of ``system``: queue_id, queue_name, queue_type, last_defined_at."""
    conn = _connect(db_path)
    try:
        sid = _system_id(conn, system)
        out = []
        for r in conn.execute(
                "SELECT queue_id, name AS queue_name, queue_type, last_defined_at FROM queues"
                " WHERE system_id = ? ORDER BY queue_id", (sid,)):
            d = dict(r)
            d["last_defined_at"] = _iso(d["last_defined_at"])
            out.append(d)
        return out
    finally:
        conn.close()


def login_node_definitions(db_path, system):
    conn = _connect(db_path)
    try:
        sid = _system_id(conn, system)
        return [dict(r) for r in conn.execute(
            "SELECT login_node_id, name AS node_name, node_type FROM login_nodes"
            " WHERE system_id = ? ORDER BY login_node_id", (sid,))]
    finally:
        conn.close()


def outages(db_path):
    conn = _connect(db_path)
    try:
        out = []
        for r in conn.execute(
                "SELECT o.*, s.name AS system_name FROM system_outages o"
                " JOIN systems s USING (system_id) ORDER BY o.outage_id"):
            d = dict(r)
            for k in ("start_time", "end_time", "estimated_resolution", "created_at", "updated_at"):
                d[k] = _iso(d[k])
            out.append(d)
        return out
    finally:
        conn.close()


def request_log(db_path):
    """Every request the server answered: id, time, method, path, status, system, fault, error."""
    conn = _connect(db_path)
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM request_log ORDER BY id")]
    finally:
        conn.close()


def dump(db_path, system=None):
    systems = [system] if system else ["derecho", "casper", "jupyterhub"]
    out = {}
    for s in systems:
        entry = {"snapshots": snapshots(db_path, s)}
        if s != "jupyterhub":
            entry["reservations"] = reservations(db_path, s)
            entry["queue_roster"] = queue_roster(db_path, s)
            entry["login_node_definitions"] = login_node_definitions(db_path, s)
            entry["user_project_queue_spans"] = user_project_queue_spans(db_path, s)
        out[s] = entry
    if not system:
        out["outages"] = outages(db_path)
        out["request_log"] = request_log(db_path)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description="Read back the lab SAM API SQLite store.")
    sub = ap.add_subparsers(dest="cmd")
    d = sub.add_parser("dump", help="print the stored data as JSON")
    d.add_argument("--db", required=True)
    d.add_argument("--system", choices=sorted(SYSTEM_TABLES))
    args = ap.parse_args(argv)
    if args.cmd != "dump":
        ap.print_help()
        return 2
    json.dump(dump(args.db, args.system), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
