#!/usr/bin/env python3
"""LAB ONLY: a stand-in for the SAM System Status API on loopback.

It answers like the real SAM web application (Flask + marshmallow + Postgres) as documented in
/work/shared/docs/sam-api-contract.md, stores what the real server would store in SQLite, and
offers lab-only fault injection under /_lab/ (no auth, loopback clients only).

    python server.py --host 127.0.0.1 --port 5050 --db status.sqlite --key-file key.txt \
        [--user collector] [--pidfile PATH] [--log PATH]

--port 0 picks a free port; the line "listening on http://HOST:PORT" (flushed to stdout) names it.
Lab controls (loopback clients only, no auth; never part of the real API):
  POST   /_lab/faults   {"queue": [{"status": 503, "body": {...}, "count": 2},
                                   {"delay": 5.0}, {"status": 401}, {"drop": true}, ...]}
         appends canned behaviours; each incoming POST /api/v1/status/<x> consumes one use
         (count, default 1) of the first matching entry, then normal behaviour resumes.
         Keys: status (100-599), body (JSON value; a string is sent as text/plain), headers
         (dict), delay (seconds, applied first; without status/drop the request is then
         processed normally), drop (close the connection without answering), count,
         system (only match derecho|casper|jupyterhub|outage).
  GET    /_lab/faults   -> {"queue": [...what is left...]}
  DELETE /_lab/faults   -> clears the queue
  GET    /_lab/snapshots?system=derecho -> store.snapshots() as JSON
  GET    /_lab/requests -> store.request_log() as JSON

The key file holds the plaintext API key; only a salted PBKDF2 hash is kept in memory. Neither
the key nor the Authorization header is ever logged.  Python stdlib only, Python >= 3.9.
"""
import argparse
import base64
import binascii
import datetime as _dt
import hashlib
import hmac
import html
import ipaddress
import json
import os
import signal
import socket
import sqlite3
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ingest  # noqa: E402
import store  # noqa: E402

MAX_CONTENT_LENGTH = 16 * 1024 * 1024
STATUS_SYSTEMS = ("derecho", "casper", "jupyterhub")
POST_ROUTES = {"/api/v1/status/%s" % s: s for s in STATUS_SYSTEMS + ("outage",)}
SESSION_GET_ROUTES = {"/api/v1/status/%s/latest" % s for s in STATUS_SYSTEMS} | {
    "/api/v1/status/outages", "/api/v1/status/reservations"}

HTML_PAGES = {
    404: ("Not Found", "The requested URL was not found on the server. If you entered the URL "
          "manually please check your spelling and try again."),
    405: ("Method Not Allowed", "The method is not allowed for the requested URL."),
    413: ("Request Entity Too Large", "The data value transmitted exceeds the capacity limit."),
    415: ("Unsupported Media Type", "Did not attempt to load JSON data because the request "
          "Content-Type was not &#39;application/json&#39;."),
    500: ("Internal Server Error", "The server encountered an internal error and was unable to "
          "complete your request. Either the server is overloaded or there is an error in the "
          "application."),
}
BAD_REQUEST_DESCRIPTION = ("The browser (or proxy) sent a request that this server could not "
                           "understand.")


def html_error(code):
    title, text = HTML_PAGES[code]
    return ("<!doctype html>\n<html lang=en>\n<title>%d %s</title>\n<h1>%s</h1>\n<p>%s</p>\n"
            % (code, title, title, text)).encode()


def flask_json(obj):
    """Flask's jsonify: sorted keys, compact separators, trailing newline."""
    return (json.dumps(obj, sort_keys=True, separators=(",", ":")) + "\n").encode()


class KeyCheck(object):
    """Holds only a salted hash of the API key."""

    ITERATIONS = 20000

    def __init__(self, user, key):
        self.user = user
        self.salt = os.urandom(16)
        self.digest = self._hash(key)

    def _hash(self, key):
        return hashlib.pbkdf2_hmac("sha256", key.encode("utf-8"), self.salt, self.ITERATIONS)

    def check(self, user, key):
        ok_user = hmac.compare_digest(user.encode("utf-8"), self.user.encode("utf-8"))
        ok_key = hmac.compare_digest(self._hash(key), self.digest)
        return ok_user and ok_key


class Faults(object):
    """Queue of canned behaviours, consumed one per incoming status POST."""

    def __init__(self):
        self.lock = threading.Lock()
        self.queue = []

    @staticmethod
    def validate(entry):
        if not isinstance(entry, dict):
            raise ValueError("each fault must be an object")
        allowed = {"status", "body", "headers", "delay", "count", "drop", "system"}
        extra = set(entry) - allowed
        if extra:
            raise ValueError("unknown fault keys: %s" % ", ".join(sorted(extra)))
        out = dict(entry)
        count = out.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError("count must be an integer >= 1")
        out["count"] = count
        if "status" in out:
            st = out["status"]
            if isinstance(st, bool) or not isinstance(st, int) or not 100 <= st <= 599:
                raise ValueError("status must be an integer 100..599")
        if "delay" in out:
            d = out["delay"]
            if isinstance(d, bool) or not isinstance(d, (int, float)) or not 0 <= d <= 600:
                raise ValueError("delay must be a number of seconds 0..600")
        if "headers" in out and not (isinstance(out["headers"], dict) and all(
                isinstance(k, str) and isinstance(v, str) for k, v in out["headers"].items())):
            raise ValueError("headers must map strings to strings")
        if "system" in out and out["system"] not in POST_ROUTES.values():
            raise ValueError("system must be one of %s" % ", ".join(POST_ROUTES.values()))
        if not any(k in out for k in ("status", "delay", "drop")):
            raise ValueError("a fault needs status, delay or drop")
        return out

    def add(self, entries):
        checked = [self.validate(e) for e in entries]
        with self.lock:
            self.queue.extend(checked)
            return self.snapshot_locked()

    def take(self, system):
        with self.lock:
            for i, entry in enumerate(self.queue):
                if entry.get("system") not in (None, system):
                    continue
                entry["count"] -= 1
                if entry["count"] <= 0:
                    self.queue.pop(i)
                out = dict(entry)
                out.pop("count")
                return out
            return None

    def snapshot_locked(self):
        return [dict(e) for e in self.queue]

    def snapshot(self):
        with self.lock:
            return self.snapshot_locked()

    def clear(self):
        with self.lock:
            self.queue = []


class LabServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, handler, db_path, keycheck, log_path):
        super().__init__(addr, handler)
        self.db_path = db_path
        self.keycheck = keycheck
        self.faults = Faults()
        self.ingest_lock = threading.Lock()
        self.log_lock = threading.Lock()
        self.log_path = log_path


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SAM-lab-standin/1.0"
    sys_version = ""

    def version_string(self):
        return self.server_version

    # quiet: the server keeps its own log without headers
    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def do_OPTIONS(self):
        self._dispatch("OPTIONS")

    # ------------------------------------------------------------------ plumbing

    def _read_body(self):
        """Returns bytes, or None when over MAX_CONTENT_LENGTH (the body is then left unread)."""
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_CONTENT_LENGTH:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            n = int(length)
        except ValueError:
            n = -1
        if n < 0:
            raise ValueError("bad Content-Length")
        if n > MAX_CONTENT_LENGTH:
            return None
        return self.rfile.read(n)

    def _send(self, status, body=b"", content_type="application/json", headers=None,
              close=False):
        self._status = status
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _json(self, status, obj, headers=None, close=False):
        self._send(status, flask_json(obj), "application/json", headers, close)

    def _html(self, status, body=None, headers=None, close=False):
        self._send(status, body if body is not None else html_error(status),
                   "text/html; charset=utf-8", headers, close)

    def _log(self, method, path, status, system=None, fault=None, error=None):
        now = ingest.utcnow()
        if isinstance(error, str) and len(error) > 500:
            error = error[:500] + "..."
        try:
            conn = sqlite3.connect(self.server.db_path, timeout=30)
            try:
                conn.execute(
                    'INSERT INTO request_log ("time", method, path, status, system, fault, error)'
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (now.isoformat(), method, path, status, system, fault, error))
                conn.commit()
            finally:
                conn.close()
        except sqlite3.Error:
            pass
        if self.server.log_path:
            line = "%s %s %s %s %d%s%s\n" % (
                now.isoformat(), self.client_address[0], method, path, status,
                " system=%s" % system if system else "", " fault=%s" % fault if fault else "")
            with self.server.log_lock:
                with open(self.server.log_path, "a") as fh:
                    fh.write(line)

    # ------------------------------------------------------------------ routing

    def _dispatch(self, method):
        self._status = None
        self._error = None
        self._fault = None
        self._system = None
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path
        try:
            self._route(method, path, parsed.query)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return
        except Exception as exc:  # never leak a traceback to the client
            self._error = "%s: %s" % (type(exc).__name__, exc)
            if self._status is None:
                try:
                    self._html(500, close=True)
                except OSError:
                    pass
        if self._status is not None or self._fault == "drop":
            self._log(method, path, self._status or 0, self._system, self._fault, self._error)

    def _route(self, method, path, query):
        if path.startswith("/_lab/"):
            return self._lab(method, path, query)
        if path in POST_ROUTES:
            if method == "OPTIONS":
                return self._send(200, b"", "text/html; charset=utf-8",
                                  {"Allow": "OPTIONS, POST"})
            if method != "POST":
                self._discard_body()
                return self._html(405, headers={"Allow": "OPTIONS, POST"})
            return self._status_post(POST_ROUTES[path])
        if path in SESSION_GET_ROUTES or (
                path.startswith("/api/v1/status/outages/") and path.count("/") == 5):
            allowed = ("GET", "HEAD") if path in SESSION_GET_ROUTES else ("PATCH", "DELETE")
            if method not in allowed:
                self._discard_body()
                return self._html(405, headers={"Allow": ", ".join(allowed + ("OPTIONS",))})
            self._discard_body()
            return self._login_redirect(path)
        if path == "/api/v1/health":
            return self._redirect(308, "/api/v1/health/")
        if path in ("/api/v1/health/", "/api/v1/health/live", "/api/v1/health/ready"):
            if method not in ("GET", "HEAD"):
                self._discard_body()
                return self._html(405, headers={"Allow": "GET, HEAD, OPTIONS"})
            return self._health(path)
        if path in ("/login", "/auth/login") and method in ("GET", "HEAD"):
            return self._html(200, b"<!doctype html>\n<html lang=en>\n<title>SAM login (lab)"
                                   b"</title>\n<h1>Login</h1>\n<p>Lab stand-in: no sessions.</p>\n")
        self._discard_body()
        return self._html(404)

    def _discard_body(self):
        try:
            body = self._read_body()
        except ValueError:
            body = None
        if body is None:
            self.close_connection = True

    def _redirect(self, code, location):
        body = ('<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n'
                '<h1>Redirecting...</h1>\n<p>You should be redirected automatically to the target '
                'URL: <a href="%s">%s</a>. If not, click the link.\n'
                % (html.escape(location), html.escape(location))).encode()
        self._html(code, body, headers={"Location": location})

    def _login_redirect(self, path):
        self._redirect(302, "/login?next=" + urllib.parse.quote(path, safe=""))

    def _health(self, path):
        now = ingest.utcnow().isoformat()
        if path.endswith("/live"):
            return self._json(200, {"status": "alive", "timestamp": now})
        if path.endswith("/ready"):
            try:
                conn = sqlite3.connect(self.server.db_path, timeout=5)
                conn.execute("SELECT 1").fetchone()
                conn.close()
                ok = True
            except sqlite3.Error:
                ok = False
            body = {"status": "ready" if ok else "not ready", "timestamp": now,
                    "databases": {"sam": "ok", "system_status": "ok" if ok else "error"}}
            return self._json(200 if ok else 503, body)
        return self._json(200, {"status": "healthy", "service": "sam-api (lab stand-in)",
                                "timestamp": now})

    # ------------------------------------------------------------------ lab controls

    def _lab(self, method, path, query):
        try:
            loopback = ipaddress.ip_address(self.client_address[0]).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            self._discard_body()
            return self._json(403, {"error": "lab controls are loopback-only"})
        if path == "/_lab/faults":
            if method == "GET":
                return self._json(200, {"queue": self.server.faults.snapshot()})
            if method == "DELETE":
                self._discard_body()
                self.server.faults.clear()
                return self._json(200, {"queue": []})
            if method == "POST":
                body = self._read_body()
                if body is None:
                    return self._json(413, {"error": "too large"}, close=True)
                try:
                    data = json.loads(body.decode("utf-8"))
                    entries = data["queue"] if isinstance(data, dict) else None
                    if not isinstance(entries, list):
                        raise ValueError('body must be {"queue": [...]}')
                    queue = self.server.faults.add(entries)
                except (ValueError, KeyError, UnicodeDecodeError) as exc:
                    return self._json(400, {"error": str(exc)})
                return self._json(200, {"queue": queue})
            self._discard_body()
            return self._json(405, {"error": "method not allowed"})
        if path == "/_lab/snapshots" and method == "GET":
            qs = urllib.parse.parse_qs(query)
            system = (qs.get("system") or ["derecho"])[0]
            if system not in store.SYSTEM_TABLES:
                return self._json(400, {"error": "unknown system"})
            with self.server.ingest_lock:
                data = store.snapshots(self.server.db_path, system)
            return self._send(200, (json.dumps(data) + "\n").encode())
        if path == "/_lab/requests" and method == "GET":
            return self._send(200, (json.dumps(store.request_log(self.server.db_path))
                                    + "\n").encode())
        self._discard_body()
        return self._json(404, {"error": "unknown lab endpoint"})

    def _apply_fault(self, system):
        """Consume one fault (if any). Returns True when the fault answered the request."""
        fault = self.server.faults.take(system)
        if fault is None:
            return False
        desc = []
        if fault.get("delay"):
            time.sleep(float(fault["delay"]))
            desc.append("delay=%s" % fault["delay"])
        if fault.get("drop"):
            self._fault = "drop"
            self.close_connection = True
            try:
                self.wfile.flush()
                self.connection.shutdown(2)
            except OSError:
                pass
            return True
        if "status" in fault:
            status = fault["status"]
            desc.append("status=%d" % status)
            self._fault = " ".join(desc)
            headers = {}
            ctype = None
            for k, v in (fault.get("headers") or {}).items():
                if k.lower() == "content-type":
                    ctype = v
                else:
                    headers[k] = v
            body = fault.get("body")
            if body is None:
                if status == 401:
                    body = {"error": "Invalid credentials"}
                    headers.setdefault("WWW-Authenticate", 'Basic realm="SAM API"')
                else:
                    body = {"error": "lab fault: HTTP %d" % status}
            if isinstance(body, str):
                self._send(status, body.encode("utf-8"), ctype or "text/plain; charset=utf-8",
                           headers)
            else:
                self._send(status, flask_json(body), ctype or "application/json", headers)
            return True
        self._fault = " ".join(desc)
        return False

    # ------------------------------------------------------------------ the real routes

    def _auth_error(self):
        header = self.headers.get("Authorization")
        user = password = None
        if header:
            scheme, _, data = header.strip().partition(" ")
            if scheme.lower() == "basic":
                try:
                    raw = base64.b64decode(data.strip(), validate=False).decode("utf-8")
                    user, _, password = raw.partition(":")
                except (binascii.Error, UnicodeDecodeError, ValueError):
                    user = password = None
        if not user or not password:
            return 401, {"error": "Authentication required"}, {
                "WWW-Authenticate": 'Basic realm="SAM API"'}
        if not self.server.keycheck.check(user, password):
            return 401, {"error": "Invalid credentials"}, {
                "WWW-Authenticate": 'Basic realm="SAM API"'}
        return None

    def _status_post(self, system):
        self._system = system
        try:
            body = self._read_body()
        except ValueError:
            self._error = "bad Content-Length"
            return self._json(400, {"error": BAD_REQUEST_DESCRIPTION}, close=True)
        if body is not None and self._apply_fault(system):
            return
        auth = self._auth_error()
        if auth:
            self._error = auth[1]["error"]
            return self._json(auth[0], auth[1], headers=auth[2], close=body is None)
        if body is None:
            self._error = "body over 16 MB"
            return self._html(413, close=True)
        ctype = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if not (ctype == "application/json" or (
                ctype.startswith("application/") and ctype.endswith("+json"))):
            self._error = "unsupported media type"
            return self._html(415)
        try:
            data = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            self._error = "body is not JSON"
            return self._json(400, {"error": BAD_REQUEST_DESCRIPTION})
        if not data:
            self._error = "JSON body required"
            return self._json(400, {"error": "JSON body required"})
        if not isinstance(data, dict):
            # data.get('timestamp') raises AttributeError outside the route's try
            self._error = "non-object JSON body (AttributeError)"
            return self._html(500)
        if system == "outage":
            return self._outage(data)

        now = ingest.utcnow()
        raw_ts = data.get("timestamp")
        if not raw_ts:
            timestamp = now
        elif not isinstance(raw_ts, str):
            self._error = "non-string timestamp (TypeError)"
            return self._html(500)
        else:
            try:
                timestamp = ingest.fromisoformat(raw_ts.replace("Z", "+00:00"))
            except ValueError:
                try:
                    timestamp = _dt.datetime.strptime(raw_ts, "%Y-%m-%d %H:%M:%S")
                except ValueError:
                    msg = ("Invalid timestamp format: %s. Use ISO format or "
                           "'YYYY-MM-DD HH:MM:SS'" % raw_ts)
                    self._error = msg
                    return self._json(400, {"error": msg})
        self._run_tx(lambda conn: ingest.ingest_jupyterhub(conn, data, timestamp, now)
                     if system == "jupyterhub"
                     else ingest.ingest_system(conn, system, data, timestamp, now))

    def _outage(self, data):
        now = ingest.utcnow()
        try:
            times = ingest.outage_precheck(data, now)
        except ingest.BadRequest as exc:
            self._error = str(exc)
            return self._json(400, {"error": str(exc)})
        self._run_tx(lambda conn: ingest.ingest_outage(conn, data, times, now))

    def _run_tx(self, work):
        with self.server.ingest_lock:
            conn = sqlite3.connect(self.server.db_path, timeout=30, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = work(conn)
                except Exception as exc:
                    conn.execute("ROLLBACK")
                    msg = "Database error: %s" % (exc,)
                    self._error = msg
                    return self._json(500, {"error": msg})
                conn.execute("COMMIT")
            finally:
                conn.close()
        return self._json(201, result)


def main(argv=None):
    ap = argparse.ArgumentParser(description="LAB ONLY stand-in for the SAM System Status API")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=5050, help="0 = pick a free port")
    ap.add_argument("--db", required=True, help="SQLite file (created if missing)")
    ap.add_argument("--key-file", required=True, help="file holding the plaintext API key")
    ap.add_argument("--user", default="collector", help="Basic-auth user name (exact match)")
    ap.add_argument("--pidfile")
    ap.add_argument("--log", help="append one line per request (never headers or bodies)")
    args = ap.parse_args(argv)

    with open(args.key_file, "r", encoding="utf-8") as fh:
        key = fh.read().strip()
    if not key:
        sys.stderr.write("key file is empty\n")
        return 2
    keycheck = KeyCheck(args.user, key)
    del key

    store.init_db(args.db)
    if ":" in args.host:
        LabServer.address_family = socket.AF_INET6
    httpd = LabServer((args.host, args.port), Handler, args.db, keycheck, args.log)
    host, port = httpd.server_address[:2]

    def _stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if args.pidfile:
        with open(args.pidfile, "w") as fh:
            fh.write("%d\n" % os.getpid())
    try:
        shown = "[%s]" % host if ":" in host else host
        sys.stdout.write("listening on http://%s:%d\n" % (shown, port))
        sys.stdout.flush()
        httpd.serve_forever(poll_interval=0.2)
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        httpd.server_close()
        if args.pidfile:
            try:
                os.unlink(args.pidfile)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
