"""Ingest logic of the lab SAM System Status API stand-in (LAB ONLY).

Emulates, in order, what the real server does with a POSTed snapshot
(/work/shared/docs/sam-api-contract.md sections 1.3-1.9 and 7):
  * marshmallow ``schema.load`` with ``unknown=EXCLUDE`` (required fields, null handling, type
    coercion, String(64) length checks, nested lists, error dict format);
  * Postgres behaviour on flush (VARCHAR length limits, int4 range, NUL bytes, unique keys,
    aware timestamps converted to naive UTC) with psycopg2/SQLAlchemy-like error texts;
  * lookups (write-once login-node definitions), the user/project/queue span coalescer,
    reservation upsert and queue-roster upsert.
Every function here runs inside one SQLite transaction opened by the caller; any exception
means rollback and a 500 ``{"error": "Database error: <str(exc)>"}``.
"""
import datetime as _dt
import math
import re
import sys

import store

MISSING = object()
MAX_SPAN_GAP = _dt.timedelta(minutes=20)
INT4_MIN, INT4_MAX = -2 ** 31, 2 ** 31 - 1


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------

class ValidationError(Exception):
    """Like marshmallow.ValidationError: str() is the repr of the messages dict."""

    def __init__(self, messages):
        super().__init__(messages)
        self.messages = messages


class _FieldError(Exception):
    def __init__(self, messages):
        super().__init__(messages)
        self.messages = messages


class DBError(Exception):
    """An SQLAlchemy-wrapped psycopg2 error; str() mimics SQLAlchemy's text."""

    def __init__(self, pgclass, message, sql=None, params=None, code="9h9h"):
        text = "(psycopg2.errors.%s) %s" % (pgclass, message)
        if sql:
            text += "\n[SQL: %s]" % sql
        if params is not None:
            text += "\n[parameters: %r]" % (params,)
        text += "\n(Background on this error at: https://sqlalche.me/e/20/%s)" % code
        super().__init__(text)


# ---------------------------------------------------------------------------
# marshmallow-like schema
# ---------------------------------------------------------------------------

class Fld(object):
    def __init__(self, name, kind, required=False, nullable=False, load_default=MISSING,
                 max_len=None, nested=None, db_default=MISSING):
        self.name = name
        self.db_default = db_default  # column default used when omitted (MISSING = by kind)
        self.kind = kind              # int | float | bool | str | raw | nested | datetime
        self.required = required
        self.nullable = nullable
        self.load_default = load_default
        self.max_len = max_len
        self.nested = nested


_TRUTHY = {"t", "T", "true", "True", "TRUE", "on", "On", "ON", "y", "Y", "yes", "Yes", "YES",
           "1", 1}
_FALSY = {"f", "F", "false", "False", "FALSE", "off", "Off", "OFF", "n", "N", "no", "No", "NO",
          "0", 0}


def _is_collection(v):
    return isinstance(v, (list, tuple, set, frozenset))


def _deserialize(f, value):
    kind = f.kind
    if kind == "int":
        if value is True or value is False:
            raise _FieldError(["Not a valid integer."])
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _FieldError(["Not a valid integer."])
        except OverflowError:
            raise _FieldError(["Number too large."])
    if kind == "float":
        if value is True or value is False:
            raise _FieldError(["Not a valid number."])
        try:
            num = float(value)
        except (TypeError, ValueError):
            raise _FieldError(["Not a valid number."])
        except OverflowError:
            raise _FieldError(["Number too large."])
        if math.isnan(num) or math.isinf(num):
            raise _FieldError(["Special numeric values (nan or infinity) are not permitted."])
        return num
    if kind == "bool":
        try:
            if value in _TRUTHY:
                return True
            if value in _FALSY:
                return False
        except TypeError:
            pass
        raise _FieldError(["Not a valid boolean."])
    if kind == "str":
        if not isinstance(value, str):
            raise _FieldError(["Not a valid string."])
        if f.max_len is not None and len(value) > f.max_len:
            raise _FieldError(["Longer than maximum length %d." % f.max_len])
        return value
    if kind == "datetime":
        if isinstance(value, _dt.datetime):
            return value
        if not isinstance(value, str):
            raise _FieldError(["Not a valid datetime."])
        try:
            return fromisoformat(value)
        except ValueError:
            raise _FieldError(["Not a valid datetime."])
    if kind == "raw":
        return value
    if kind == "nested":
        if not _is_collection(value):
            raise _FieldError({"_schema": ["Invalid input type."]})
        out, errors = [], {}
        for i, item in enumerate(value):
            try:
                out.append(load(f.nested, item))
            except ValidationError as e:
                errors[i] = e.messages
        if errors:
            raise _FieldError(errors)
        return out
    raise AssertionError(kind)


def load(fields, data):
    """schema.load(data) with unknown=EXCLUDE; raises ValidationError with all errors."""
    if not isinstance(data, dict):
        raise ValidationError({"_schema": ["Invalid input type."]})
    result, errors = {}, {}
    for f in fields:
        raw = data.get(f.name, MISSING)
        if raw is MISSING:
            if f.required:
                errors[f.name] = ["Missing data for required field."]
            elif f.load_default is not MISSING:
                result[f.name] = list(f.load_default) if isinstance(f.load_default, list) \
                    else f.load_default
            continue
        if raw is None:
            if f.nullable:
                result[f.name] = None
            else:
                errors[f.name] = ["Field may not be null."]
            continue
        try:
            result[f.name] = _deserialize(f, raw)
        except _FieldError as e:
            errors[f.name] = e.messages
    if errors:
        raise ValidationError(errors)
    return result


def _ints(names, **kw):
    return [Fld(n, "int", **kw) for n in names]


def _floats(names, **kw):
    return [Fld(n, "float", **kw) for n in names]


LOGIN_NODE_SCHEMA = [
    Fld("node_name", "str", required=True),
    Fld("node_type", "str", load_default="cpu"),
    Fld("available", "bool"), Fld("degraded", "bool"),
    Fld("user_count", "int", nullable=True), Fld("num_cpus", "int", nullable=True),
] + _floats(["load_1min", "load_5min", "load_15min"], nullable=True)

QUEUE_SCHEMA = [Fld("queue_name", "str", required=True)] \
    + _ints(store.QUEUE_COUNTERS) + [Fld("active_users", "int")]

UPQ_SCHEMA = [Fld("username", "str", required=True), Fld("project_code", "str", required=True),
              Fld("queue_name", "str", required=True)] + _ints(store.QUEUE_COUNTERS)

FILESYSTEM_SCHEMA = [Fld("filesystem_name", "str", required=True),
                     Fld("available", "bool"), Fld("degraded", "bool")] \
    + _floats(["capacity_tb", "used_tb", "utilization_percent", "capacity_inodes",
               "used_inodes", "inodes_utilization_percent"], nullable=True)

NODE_TYPE_SCHEMA = [
    Fld("node_type", "str", required=True, max_len=64),
    Fld("nodes_total", "int", required=True), Fld("nodes_available", "int", required=True),
    Fld("nodes_down", "int"), Fld("nodes_allocated", "int"),
    Fld("cores_per_node", "int", nullable=True), Fld("memory_gb_per_node", "int", nullable=True),
    Fld("gpu_model", "str", nullable=True, max_len=64), Fld("gpus_per_node", "int", nullable=True),
    Fld("utilization_percent", "float", nullable=True),
    Fld("memory_utilization_percent", "float", nullable=True),
]

_REQUIRED_COMMON = {
    "cpu_nodes_total", "cpu_nodes_available", "gpu_nodes_total", "gpu_nodes_available",
    "cpu_cores_total", "cpu_cores_allocated", "cpu_cores_idle", "gpu_count_total",
    "gpu_count_allocated", "gpu_count_idle", "memory_total_gb", "memory_allocated_gb",
}
_REQUIRED_CASPER = {"viz_nodes_total", "viz_nodes_available", "viz_count_total",
                    "viz_count_allocated", "viz_count_idle"}
_NULLABLE_FLOATS = {"cpu_utilization_percent", "gpu_utilization_percent",
                    "memory_utilization_percent", "viz_utilization_percent"}


def _status_schema(system):
    required = _REQUIRED_COMMON | (_REQUIRED_CASPER if system == "casper" else set())
    fields = [Fld("timestamp", "datetime")]
    for name, typ in store.status_columns(system):
        kind = "int" if typ == "INTEGER" else "float"
        fields.append(Fld(name, kind, required=name in required,
                          nullable=name in _NULLABLE_FLOATS))
    fields += [
        Fld("login_nodes", "nested", nested=LOGIN_NODE_SCHEMA, load_default=[]),
        Fld("queues", "nested", nested=QUEUE_SCHEMA, load_default=[]),
        Fld("user_project_queues", "nested", nested=UPQ_SCHEMA, load_default=[]),
        Fld("filesystems", "nested", nested=FILESYSTEM_SCHEMA, load_default=[]),
    ]
    if system == "casper":
        fields.append(Fld("node_types", "nested", nested=NODE_TYPE_SCHEMA, load_default=[]))
    return fields


_JH_NULLABLE_INTS = [
    "nodes_total", "nodes_free", "nodes_busy", "nodes_down", "cpus_total", "cpus_free",
    "cpus_used", "gpus_total", "gpus_free", "gpus_used", "jobs_running", "casper_login_jobs",
    "casper_batch_jobs", "derecho_batch_jobs", "jobs_suspended"]

SCHEMAS = {
    "derecho": _status_schema("derecho"),
    "casper": _status_schema("casper"),
    "jupyterhub": [Fld("timestamp", "datetime"), Fld("available", "bool"),
                   Fld("active_users", "int"), Fld("active_sessions", "int")]
    + _ints(_JH_NULLABLE_INTS, nullable=True, db_default=0)
    + _floats(["memory_total_gb", "memory_free_gb", "memory_used_gb", "cpu_utilization_percent",
               "gpu_utilization_percent", "memory_utilization_percent"], nullable=True)
    + [Fld("nodes", "raw", nullable=True)],
}

# DB-side defaults for omitted optional columns (NOT NULL DEFAULT ...).
_BOOL_DEFAULTS = {"available": True, "degraded": False}


def _db_default(f):
    if f.db_default is not MISSING:
        return f.db_default
    if f.kind == "int":
        return None if f.nullable else 0
    if f.kind == "bool":
        return _BOOL_DEFAULTS.get(f.name, False)
    return None


def with_defaults(fields, loaded):
    out = {}
    for f in fields:
        if f.kind in ("nested", "datetime"):
            continue
        out[f.name] = loaded[f.name] if f.name in loaded else _db_default(f)
    return out


# ---------------------------------------------------------------------------
# timestamps
# ---------------------------------------------------------------------------

_FRAC_RE = re.compile(r"^(.*T?\d\d:\d\d:\d\d)[.,](\d+)(.*)$")


def fromisoformat(text):
    """datetime.fromisoformat with Python >= 3.11 leniency (trailing Z, 1-9 fraction digits)."""
    try:
        return _dt.datetime.fromisoformat(text)
    except ValueError:
        if sys.version_info >= (3, 11) or not isinstance(text, str):
            raise
        err = ValueError("Invalid isoformat string: %r" % (text,))
    s = text
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    m = _FRAC_RE.match(s)
    if m:
        s = "%s.%s%s" % (m.group(1), (m.group(2) + "000000")[:6], m.group(3))
    try:
        return _dt.datetime.fromisoformat(s)
    except ValueError:
        raise err


def to_naive_utc(value):
    if value.tzinfo is not None and value.utcoffset() is not None:
        return value.astimezone(_dt.timezone.utc).replace(tzinfo=None)
    return value.replace(tzinfo=None)


def is_aware(value):
    return value.tzinfo is not None and value.utcoffset() is not None


def utcnow():
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)


def pg_ts(value):
    """How Postgres prints a timestamp in an error DETAIL."""
    s = value.strftime("%Y-%m-%d %H:%M:%S")
    if value.microsecond:
        s += (".%06d" % value.microsecond).rstrip("0")
    return s


# ---------------------------------------------------------------------------
# Postgres value checks
# ---------------------------------------------------------------------------

def _pg_text(value, table, column, max_len=None, nullable=True):
    if value is None:
        if nullable:
            return None
        raise DBError("NotNullViolation",
                      'null value in column "%s" of relation "%s" violates not-null constraint'
                      % (column, table), code="gkpj")
    if not isinstance(value, str):
        raise DBError("DatatypeMismatch",
                      'column "%s" is of type %s but expression is of type %s'
                      % (column, "character varying" if max_len else "text",
                         _pg_type_name(value)), code="f405")
    if "\x00" in value:
        raise ValueError("A string literal cannot contain NUL (0x00) characters.")
    if max_len is not None and len(value) > max_len:
        raise DBError("StringDataRightTruncation",
                      "value too long for type character varying(%d)\n" % max_len,
                      sql="INSERT INTO %s (%s) VALUES (%%(%s)s)" % (table, column, column),
                      params={column: value})
    return value


def _pg_type_name(value):
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "numeric"
    return "jsonb" if isinstance(value, (dict, list)) else "unknown"


def _check_ints(table, row, fields):
    for f in fields:
        if f.kind == "int":
            v = row.get(f.name)
            if v is not None and not (INT4_MIN <= v <= INT4_MAX):
                raise DBError("NumericValueOutOfRange", "integer out of range\n",
                              sql="INSERT INTO %s (...) VALUES (...)" % table)


def _unique_violation(constraint, cols, values, table):
    raise DBError(
        "UniqueViolation",
        'duplicate key value violates unique constraint "%s"\nDETAIL:  Key (%s)=(%s) already exists.\n'
        % (constraint, ", ".join(cols), ", ".join(str(v) for v in values)),
        sql="INSERT INTO %s (...) VALUES (...)" % table, code="gkpj")


# ---------------------------------------------------------------------------
# lookups
# ---------------------------------------------------------------------------

def get_system(conn, name):
    row = conn.execute("SELECT system_id FROM systems WHERE name = ?", (name,)).fetchone()
    if row:
        return row[0]
    return conn.execute("INSERT INTO systems (name) VALUES (?)", (name,)).lastrowid


def _lookup(conn, table, idcol, keycol, value, max_len, extra_where=None):
    _pg_text(value, table, keycol, max_len, nullable=False)
    where, params = "%s = ?" % keycol, [value]
    if extra_where:
        where += " AND system_id = ?"
        params.append(extra_where)
    row = conn.execute("SELECT %s FROM %s WHERE %s" % (idcol, table, where), params).fetchone()
    if row:
        return row[0]
    if extra_where:
        return conn.execute("INSERT INTO %s (%s, system_id) VALUES (?, ?)" % (table, keycol),
                            (value, extra_where)).lastrowid
    return conn.execute("INSERT INTO %s (%s) VALUES (?)" % (table, keycol), (value,)).lastrowid


def queue_id(conn, system_id, name):
    return _lookup(conn, "queues", "queue_id", "name", name, 32, system_id)


def login_node_id(conn, system_id, name, node_type):
    _pg_text(name, "login_nodes", "name", 32, nullable=False)
    row = conn.execute("SELECT login_node_id FROM login_nodes WHERE system_id = ? AND name = ?",
                       (system_id, name)).fetchone()
    if row:
        return row[0]      # write-once: the first node_type wins
    _pg_text(node_type, "login_nodes", "node_type", 11)
    return conn.execute("INSERT INTO login_nodes (system_id, name, node_type) VALUES (?, ?, ?)",
                        (system_id, name, node_type)).lastrowid


# ---------------------------------------------------------------------------
# system snapshot ingest (derecho / casper)
# ---------------------------------------------------------------------------

def _insert(conn, table, row):
    cols = list(row)
    return conn.execute(
        "INSERT INTO %s (%s) VALUES (%s)" % (table, ", ".join('"%s"' % c for c in cols),
                                             ", ".join("?" for _ in cols)),
        [row[c] for c in cols]).lastrowid


def ingest_system(conn, system, data, timestamp, now):
    """Ingest one derecho/casper snapshot. ``data`` is the JSON dict, ``timestamp`` the parsed
    (possibly aware) datetime.  Returns the 201 body."""
    reservations = data.pop("reservations", [])
    queue_definitions = data.pop("queue_definitions", [])
    data["timestamp"] = timestamp
    schema = SCHEMAS[system]
    loaded = load(schema, data)

    aware = is_aware(timestamp)
    ts = to_naive_utc(timestamp)
    ts_db = store.ts_to_db(ts)
    sid = get_system(conn, system)

    # lookups (created on first sight, before the status rows are inserted)
    ln_ids = [login_node_id(conn, sid, ln["node_name"], ln.get("node_type"))
              for ln in loaded["login_nodes"]]
    q_ids = [queue_id(conn, sid, q["queue_name"]) for q in loaded["queues"]]
    upq_keys = []
    for r in loaded["user_project_queues"]:
        uid = _lookup(conn, "status_users", "user_id", "username", r["username"], 32)
        pid = _lookup(conn, "project_codes", "project_code_id", "project_code",
                      r["project_code"], 16)
        upq_keys.append((uid, pid, queue_id(conn, sid, r["queue_name"])))
    fs_ids = [_lookup(conn, "filesystems", "filesystem_id", "name", f["filesystem_name"], 32)
              for f in loaded["filesystems"]]

    # parent row
    table = store.SYSTEM_TABLES[system]
    parent = with_defaults(schema, loaded)
    _check_ints(table, parent, schema)
    parent["timestamp"] = ts_db
    parent["created_at"] = store.ts_to_db(now)
    status_id = _insert(conn, table, parent)

    # children
    login_node_ids = []
    for ln, lid in zip(loaded["login_nodes"], ln_ids):
        row = with_defaults(LOGIN_NODE_SCHEMA, ln)
        _check_ints("login_node_status", row, LOGIN_NODE_SCHEMA)
        for k in ("node_name", "node_type"):
            row.pop(k)
        row.update(system_id=sid, status_id=status_id, timestamp=ts_db, login_node_id=lid)
        login_node_ids.append(_insert(conn, "login_node_status", row))

    queue_ids = []
    for q, qid in zip(loaded["queues"], q_ids):
        row = with_defaults(QUEUE_SCHEMA, q)
        _check_ints("queue_status", row, QUEUE_SCHEMA)
        row.pop("queue_name")
        if conn.execute('SELECT 1 FROM queue_status WHERE "timestamp" = ? AND queue_id = ?',
                        (ts_db, qid)).fetchone():
            _unique_violation("uq_queue_status_timestamp_queue_id", ('"timestamp"', "queue_id"),
                              (pg_ts(ts), qid), "queue_status")
        row.update(system_id=sid, status_id=status_id, timestamp=ts_db, queue_id=qid)
        queue_ids.append(_insert(conn, "queue_status", row))

    filesystem_ids = []
    for f, fid in zip(loaded["filesystems"], fs_ids):
        row = with_defaults(FILESYSTEM_SCHEMA, f)
        row.pop("filesystem_name")
        if conn.execute('SELECT 1 FROM filesystem_status WHERE "timestamp" = ? '
                        "AND filesystem_id = ?", (ts_db, fid)).fetchone():
            _unique_violation("uq_filesystem_status_timestamp_filesystem_id",
                              ('"timestamp"', "filesystem_id"), (pg_ts(ts), fid),
                              "filesystem_status")
        row.update(system_id=sid, status_id=status_id, timestamp=ts_db, filesystem_id=fid)
        filesystem_ids.append(_insert(conn, "filesystem_status", row))

    node_type_ids = []
    if system == "casper":
        for n in loaded["node_types"]:
            row = with_defaults(NODE_TYPE_SCHEMA, n)
            _check_ints("casper_node_type_status", row, NODE_TYPE_SCHEMA)
            _pg_text(row["node_type"], "casper_node_type_status", "node_type", 64, False)
            _pg_text(row["gpu_model"], "casper_node_type_status", "gpu_model", 64)
            if conn.execute('SELECT 1 FROM casper_node_type_status WHERE "timestamp" = ? '
                            "AND node_type = ?", (ts_db, row["node_type"])).fetchone():
                _unique_violation("uq_casper_node_type_status_timestamp_node_type",
                                  ('"timestamp"', "node_type"), (pg_ts(ts), row["node_type"]),
                                  "casper_node_type_status")
            row.update(status_id=status_id, timestamp=ts_db)
            node_type_ids.append(_insert(conn, "casper_node_type_status", row))

    upq_ids = coalesce_user_project_queues(conn, sid, ts, aware, loaded["user_project_queues"],
                                           upq_keys)

    body = {
        "success": True,
        "message": "%s status ingested successfully" % system.capitalize(),
        "status_id": status_id,
        "timestamp": ts.isoformat(),
        "login_node_ids": login_node_ids,
        "queue_ids": queue_ids,
        "user_project_queue_ids": upq_ids,
        "filesystem_ids": filesystem_ids,
    }
    if system == "casper":
        body["node_type_ids"] = node_type_ids
    if reservations:
        body["reservation_ids"] = handle_reservations(conn, sid, reservations, now)
    if queue_definitions:
        body["queue_definitions_applied"] = update_queue_definitions(
            conn, sid, queue_definitions, ts, aware)
    return body


def coalesce_user_project_queues(conn, sid, ts, aware, rows, keys):
    """Span coalescer (contract 1.9).  Returns ids of newly inserted spans only."""
    if not rows:
        return []
    ts_db = store.ts_to_db(ts)
    prev = conn.execute("SELECT MAX(last_seen) FROM user_proj_queue_status WHERE system_id = ?",
                        (sid,)).fetchone()[0]
    active = {}
    if prev is not None:
        if aware:
            raise TypeError("can't subtract offset-naive and offset-aware datetimes")
        if ts - store.ts_from_db(prev) <= MAX_SPAN_GAP:
            for r in conn.execute(
                    "SELECT id, user_id, project_code_id, queue_id, "
                    + ", ".join(store.QUEUE_COUNTERS)
                    + " FROM user_proj_queue_status WHERE system_id = ? AND last_seen = ?",
                    (sid, prev)):
                active[(r[1], r[2], r[3])] = (r[0], tuple(r[4:]))
    new_ids = []
    for r, key in zip(rows, keys):
        row = with_defaults(UPQ_SCHEMA, r)
        counters = tuple(row[c] for c in store.QUEUE_COUNTERS)
        span = active.get(key)
        if span is not None and span[1] == counters:
            conn.execute("UPDATE user_proj_queue_status SET last_seen = ? WHERE id = ?",
                         (ts_db, span[0]))
            continue
        _check_ints("user_proj_queue_status", row, UPQ_SCHEMA)
        if conn.execute('SELECT 1 FROM user_proj_queue_status WHERE "timestamp" = ? AND user_id = ?'
                        " AND project_code_id = ? AND queue_id = ?", (ts_db,) + key).fetchone():
            _unique_violation("uq_user_proj_queue_status_timestamp_user_project_queue",
                              ('"timestamp"', "user_id", "project_code_id", "queue_id"),
                              (pg_ts(ts),) + key, "user_proj_queue_status")
        ins = {c: row[c] for c in store.QUEUE_COUNTERS}
        ins.update(system_id=sid, timestamp=ts_db, last_seen=ts_db, user_id=key[0],
                   project_code_id=key[1], queue_id=key[2])
        new_ids.append(_insert(conn, "user_proj_queue_status", ins))
    return new_ids


def _pg_int(value, table, column):
    if value is None:
        return None
    if isinstance(value, bool):
        raise DBError("DatatypeMismatch", 'column "%s" is of type integer but expression is of '
                      "type boolean" % column, code="f405")
    if isinstance(value, int):
        out = value
    elif isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise DBError("NumericValueOutOfRange", "integer out of range\n")
        out = int(math.floor(abs(value) + 0.5)) * (1 if value >= 0 else -1)
    elif isinstance(value, str):
        try:
            out = int(value.strip())
        except ValueError:
            raise DBError("InvalidTextRepresentation",
                          'invalid input syntax for type integer: "%s"\n' % value)
    else:
        raise DBError("ProgrammingError", "can't adapt type '%s'" % type(value).__name__,
                      code="f405")
    if not (INT4_MIN <= out <= INT4_MAX):
        raise DBError("NumericValueOutOfRange", "integer out of range\n")
    return out


def handle_reservations(conn, sid, reservations, now):
    """Upsert keyed on (system, reservation_name) in application code (contract 1.5)."""
    ids = []
    for r in reservations:
        name = r["reservation_name"]
        start = to_naive_utc(fromisoformat(r["start_time"]))
        end = to_naive_utc(fromisoformat(r["end_time"]))
        values = {
            "description": _pg_text(r.get("description"), "resource_reservations", "description"),
            "start_time": store.ts_to_db(start),
            "end_time": store.ts_to_db(end),
            "node_count": _pg_int(r.get("node_count"), "resource_reservations", "node_count"),
            "partition": _pg_text(r.get("partition"), "resource_reservations", "partition", 64),
        }
        if name is not None and not isinstance(name, str):
            _pg_text(name, "resource_reservations", "reservation_name", 128, False)
        row = None
        if name is not None:
            row = conn.execute("SELECT reservation_id FROM resource_reservations WHERE system_id = ?"
                               " AND reservation_name = ? ORDER BY reservation_id LIMIT 1",
                               (sid, name)).fetchone()
        if row:
            values["updated_at"] = store.ts_to_db(now)
            conn.execute("UPDATE resource_reservations SET %s WHERE reservation_id = ?"
                         % ", ".join('"%s" = ?' % k for k in values),
                         list(values.values()) + [row[0]])
            ids.append(row[0])
        else:
            _pg_text(name, "resource_reservations", "reservation_name", 128, False)
            values.update(system_id=sid, reservation_name=name, created_at=store.ts_to_db(now))
            ids.append(_insert(conn, "resource_reservations", values))
    return ids


def update_queue_definitions(conn, sid, definitions, ts, aware):
    """Queue roster upsert: create the queue lookup if needed, set queue_type and
    last_defined_at = max(existing, timestamp).  Returns the number of entries applied."""
    applied = 0
    touched = set()       # queues whose last_defined_at was set (as a possibly aware value) here
    ts_db = store.ts_to_db(ts)
    for d in definitions:
        name = (d.get("queue_name") or "").strip()
        if not name:
            continue
        qtype = d.get("queue_type")
        qid = queue_id(conn, sid, name)
        if qtype:
            _pg_text(qtype, "queues", "queue_type", 16)
            conn.execute("UPDATE queues SET queue_type = ? WHERE queue_id = ?", (qtype, qid))
        last = conn.execute("SELECT last_defined_at FROM queues WHERE queue_id = ?",
                            (qid,)).fetchone()[0]
        if last is None:
            conn.execute("UPDATE queues SET last_defined_at = ? WHERE queue_id = ?", (ts_db, qid))
        else:
            if aware and qid not in touched:
                raise TypeError("can't compare offset-naive and offset-aware datetimes")
            if ts_db > last:
                conn.execute("UPDATE queues SET last_defined_at = ? WHERE queue_id = ?",
                             (ts_db, qid))
        touched.add(qid)
        applied += 1
    return applied


# ---------------------------------------------------------------------------
# jupyterhub and outages
# ---------------------------------------------------------------------------

def ingest_jupyterhub(conn, data, timestamp, now):
    import json
    data["timestamp"] = timestamp
    schema = SCHEMAS["jupyterhub"]
    loaded = load(schema, data)
    ts = to_naive_utc(timestamp)
    get_system(conn, "jupyterhub")
    row = with_defaults(schema, loaded)
    _check_ints("jupyterhub_status", row, schema)
    if row.get("available") is None:
        row["available"] = True
    row["nodes"] = None if row.get("nodes") is None else json.dumps(row["nodes"])
    row["timestamp"] = store.ts_to_db(ts)
    row["created_at"] = store.ts_to_db(now)
    status_id = _insert(conn, "jupyterhub_status", row)
    return {"success": True, "message": "JupyterHub status ingested successfully",
            "status_id": status_id, "timestamp": ts.isoformat()}


SEVERITIES = ("critical", "major", "minor", "maintenance")
OUTAGE_STATUSES = ("investigating", "identified", "monitoring", "resolved")


class BadRequest(Exception):
    pass


def outage_precheck(data, now):
    """The hand-written 400 checks of the outage route (texts are the lab's own wording)."""
    for field in ("system_name", "title", "severity"):
        if not data.get(field):
            raise BadRequest("Missing required field: %s" % field)
    if data["severity"] not in SEVERITIES:
        raise BadRequest("Invalid severity. Must be one of: %s" % ", ".join(SEVERITIES))
    times = {}
    for field in ("start_time", "estimated_resolution"):
        raw = data.get(field)
        if raw:
            try:
                times[field] = fromisoformat(raw.replace("Z", "+00:00"))
            except (ValueError, AttributeError, TypeError):
                raise BadRequest("Invalid %s format. Use ISO format" % field)
    return times


def ingest_outage(conn, data, times, now):
    loaded_errors = {}
    status = data.get("status", "investigating")
    if status is None or status not in OUTAGE_STATUSES:
        loaded_errors["status"] = ["Must be one of: %s." % ", ".join(OUTAGE_STATUSES)]
    end_time = None
    if data.get("end_time") is not None:
        try:
            end_time = _deserialize(Fld("end_time", "datetime"), data["end_time"])
        except _FieldError as e:
            loaded_errors["end_time"] = e.messages
    if loaded_errors:
        raise ValidationError(loaded_errors)
    name = _pg_text(data["system_name"], "systems", "name", 32, False)
    sid = get_system(conn, name)
    row = {
        "system_id": sid,
        "component": _pg_text(data.get("component"), "system_outages", "component", 128),
        "title": _pg_text(data["title"], "system_outages", "title", 255, False),
        "description": _pg_text(data.get("description"), "system_outages", "description"),
        "severity": data["severity"], "status": status,
        "start_time": store.ts_to_db(to_naive_utc(times.get("start_time", now))),
        "end_time": None if end_time is None else store.ts_to_db(to_naive_utc(end_time)),
        "estimated_resolution": None if "estimated_resolution" not in times
        else store.ts_to_db(to_naive_utc(times["estimated_resolution"])),
        "created_at": store.ts_to_db(now),
    }
    outage_id = _insert(conn, "system_outages", row)
    return {"success": True, "message": "Outage reported successfully", "outage_id": outage_id,
            "system_name": name, "severity": data["severity"]}
