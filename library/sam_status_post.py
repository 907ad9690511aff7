#!/usr/bin/python
# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: sam_status_post
short_description: Deliver a system status snapshot to the SAM API, spooling what cannot be delivered yet
description:
  - POSTs one Derecho or Casper snapshot to C(<url>/api/v1/status/<system>) with HTTP Basic auth.
  - Retries, with exponential backoff and jitter, only what can succeed later (connection errors,
    timeouts, 429, 502, 503, 504, and a 500 whose body is not the server's contract error).
    401, 403, 400 and contract 500s (C(Database error)) fail at once with the server's message.
  - With O(spool_dir), a snapshot that could not be delivered is kept on disk and replayed, oldest
    first, before the next snapshot of the same system, so the server still sees time move forward.
    A snapshot refused for its content moves to C(<spool_dir>/dead-letter/) with the error beside it.
  - In check mode nothing is sent and the spool is not touched; the payload is written to
    O(artifacts_dir) and, with C(--diff), compared with the last delivered payload.
version_added: "1.0.0"
author: SAM collectors team
options:
  url:
    description: Base URL of the SAM web application, without C(/api/v1/...).
    type: str
    required: true
  system:
    description: Which status endpoint to post to.
    type: str
    required: true
    choices: [derecho, casper]
  payload:
    description: The snapshot, already validated against the contract. Must carry a naive-UTC C(timestamp).
    type: dict
    required: true
  api_user:
    description: API user name (HTTP Basic). Falls back to C(SAM_API_USER), then C(collector).
    type: str
  api_key:
    description: API key (HTTP Basic password). Falls back to C(SAM_API_KEY), then C(STATUS_API_KEY). Never logged.
    type: str
    required: true
  validate_certs:
    description: Verify the server's TLS certificate.
    type: bool
    default: true
  ca_path:
    description: CA bundle to verify the server with, instead of the system store.
    type: path
  allow_insecure_http:
    description: Allow plain C(http://) to a host other than loopback. Off, because the key travels in every request.
    type: bool
    default: false
  timeout:
    description: Seconds per HTTP request.
    type: float
    default: 30
  retries:
    description: Extra attempts for a retryable failure.
    type: int
    default: 3
  backoff:
    description: Base delay in seconds; attempt N waits a random time up to C(backoff * 2**N), capped at 60 s.
    type: float
    default: 1.0
  spool_dir:
    description: Directory for undelivered snapshots (created with mode 0700). Without it nothing is spooled.
    type: path
  spool_max_age_days:
    description: Spooled snapshots older than this are dropped (the server keeps 7 days of history).
    type: float
    default: 7
  spool_max_files:
    description: At most this many spooled snapshots per system; the oldest are dropped first.
    type: int
    default: 2100
  artifacts_dir:
    description: Where check mode writes the payload it would have sent.
    type: path
attributes:
  check_mode:
    support: full
    details: Sends nothing, leaves the spool alone, writes the payload to O(artifacts_dir).
  diff_mode:
    support: full
    details: Shows the difference from the last payload delivered for this system.
requirements:
  - requests
"""

EXAMPLES = r"""
- name: Post the Derecho snapshot
  sam_status_post:
    url: https://sam.example.org
    system: derecho
    payload: "{{ derecho_payload }}"
    api_key: "{{ sam_api_key }}"
    spool_dir: /var/spool/sam-collector
  no_log: false
"""

RETURN = r"""
status_code:
  description: HTTP status of the last request for the new snapshot (null when none was answered).
  returned: always
  type: int
response:
  description: The server's JSON answer for the new snapshot (ids on success, the error otherwise).
  returned: always
  type: dict
delivered:
  description: Timestamps delivered in this run, replayed ones first, in order.
  returned: always
  type: list
  elements: str
spooled:
  description: Snapshots of this system waiting in the spool after this run.
  returned: always
  type: int
dead_lettered:
  description: Snapshots moved to the dead-letter folder in this run, with the reason.
  returned: always
  type: list
  elements: dict
dropped:
  description: Spooled snapshots dropped for age or count, with the reason.
  returned: always
  type: list
  elements: dict
artifact:
  description: Path of the payload written in check mode.
  returned: check mode with artifacts_dir
  type: str
"""

import fcntl
import ipaddress
import json
import os
import random
import time
from datetime import datetime, timedelta, timezone

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover
    from urlparse import urlsplit

try:
    import requests
    HAS_REQUESTS = True
except ImportError:
    HAS_REQUESTS = False

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

RETRYABLE_STATUS = (429, 502, 503, 504)


class Outcome(object):
    """What one delivery attempt (with its retries) ended in."""

    def __init__(self, kind, status=None, body=None, message=""):
        self.kind = kind  # delivered | retryable | refused | auth
        self.status = status
        self.body = body if isinstance(body, dict) else ({"text": body} if body else {})
        self.message = message


def is_loopback(host):
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def classify(resp):
    try:
        body = resp.json()
    except ValueError:
        body = resp.text[:500]
    if resp.status_code in (200, 201):
        return Outcome("delivered", resp.status_code, body)
    error = body.get("error") if isinstance(body, dict) else None
    message = "HTTP %d: %s" % (resp.status_code, error or (body if isinstance(body, str) else json.dumps(body))[:300])
    if resp.status_code in (401, 403):
        return Outcome("auth", resp.status_code, body, message)
    if resp.status_code in RETRYABLE_STATUS:
        return Outcome("retryable", resp.status_code, body, message)
    if resp.status_code == 500 and not (isinstance(error, str) and error.startswith("Database error")):
        return Outcome("retryable", resp.status_code, body, message)
    return Outcome("refused", resp.status_code, body, message)


class Poster(object):
    def __init__(self, module):
        p = module.params
        self.module = module
        self.endpoint = p["url"].rstrip("/") + "/api/v1/status/" + p["system"]
        self.session = requests.Session()
        self.session.auth = (p["api_user"] or "collector", p["api_key"])
        self.session.headers["Content-Type"] = "application/json"
        self.verify = p["ca_path"] or p["validate_certs"]
        self.attempts = []

    def post(self, payload):
        p = self.module.params
        outcome = None
        for attempt in range(p["retries"] + 1):
            if attempt:
                time.sleep(random.uniform(0, min(60.0, p["backoff"] * 2 ** attempt)))
            try:
                resp = self.session.post(self.endpoint, data=json.dumps(payload), timeout=p["timeout"], verify=self.verify)
                outcome = classify(resp)
            except requests.exceptions.RequestException as exc:
                outcome = Outcome("retryable", None, None, "%s: %s" % (type(exc).__name__, exc))
            self.attempts.append({"timestamp": payload.get("timestamp"), "status": outcome.status, "outcome": outcome.kind})
            if outcome.kind != "retryable":
                break
        return outcome


class Spool(object):
    """One JSON file per undelivered snapshot: <dir>/<system>/<timestamp>.json, written atomically."""

    def __init__(self, root, system):
        self.root = root
        self.dir = os.path.join(root, system)
        self.dead = os.path.join(root, "dead-letter", system)
        self.last = os.path.join(root, "last-delivered", system + ".json")
        for path in (root, self.dir, self.dead, os.path.dirname(self.last)):
            if not os.path.isdir(path):
                os.makedirs(path, 0o700)
            os.chmod(path, 0o700)
        self.lock_handle = open(os.path.join(root, ".lock"), "a")
        fcntl.flock(self.lock_handle, fcntl.LOCK_EX)

    @staticmethod
    def write_atomic(path, data):
        tmp = "%s.tmp.%d" % (path, os.getpid())
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(tmp, path)
        dfd = os.open(os.path.dirname(path), os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    def name(self, payload):
        return payload["timestamp"].replace(":", "") + ".json"

    def pending(self):
        return sorted(f for f in os.listdir(self.dir) if f.endswith(".json"))

    def load(self, fname):
        with open(os.path.join(self.dir, fname)) as handle:
            return json.load(handle)

    def add(self, payload):
        self.write_atomic(os.path.join(self.dir, self.name(payload)), json.dumps(payload, sort_keys=True))

    def remove(self, fname):
        os.unlink(os.path.join(self.dir, fname))

    def dead_letter(self, payload, outcome, fname=None):
        base = self.name(payload)
        self.write_atomic(os.path.join(self.dead, base), json.dumps(payload, sort_keys=True))
        self.write_atomic(os.path.join(self.dead, base[:-5] + ".error.json"),
                          json.dumps({"status": outcome.status, "error": outcome.message, "response": outcome.body}, sort_keys=True))
        if fname:
            self.remove(fname)

    def prune(self, max_age_days, max_files):
        dropped = []
        cutoff = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(days=max_age_days)
        files = self.pending()
        for fname in files:
            try:
                stamp = datetime.strptime(fname[:-5], "%Y-%m-%dT%H%M%S.%f")
            except ValueError:
                stamp = None
            if stamp is not None and stamp < cutoff:
                self.remove(fname)
                dropped.append({"file": fname, "reason": "older than %s days" % max_age_days})
        files = self.pending()
        for fname in files[:max(0, len(files) - max_files)]:
            self.remove(fname)
            dropped.append({"file": fname, "reason": "more than %d snapshots spooled" % max_files})
        return dropped

    def close(self):
        fcntl.flock(self.lock_handle, fcntl.LOCK_UN)
        self.lock_handle.close()

    def remember_delivered(self, payload):
        self.write_atomic(self.last, json.dumps(payload, sort_keys=True))

    def last_delivered(self):
        return last_delivered(self.root, os.path.basename(self.dir))


def last_delivered(spool_dir, system):
    """The last payload delivered for system, read without creating or locking anything (check mode)."""
    try:
        with open(os.path.join(spool_dir, "last-delivered", system + ".json")) as handle:
            return json.load(handle)
    except (OSError, ValueError, TypeError):
        return None


def check_url(module):
    p = module.params
    parts = urlsplit(p["url"])
    if parts.scheme not in ("http", "https") or not parts.hostname:
        module.fail_json(msg="url must be http(s)://host[:port], got %r" % p["url"])
    if parts.scheme == "http" and not is_loopback(parts.hostname) and not p["allow_insecure_http"]:
        module.fail_json(msg="refusing plain http:// to %s: the API key would travel unencrypted; use https "
                             "or set allow_insecure_http" % parts.hostname)
    stamp = p["payload"].get("timestamp")
    try:
        parsed = datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        module.fail_json(msg="payload timestamp must be a naive-UTC ISO string, got %r" % (stamp,))
    if parsed.tzinfo is not None:
        module.fail_json(msg="payload timestamp must be naive UTC (no Z or offset), got %r" % stamp)


def run_check_mode(module):
    p = module.params
    result = dict(changed=False, status_code=None, response={}, delivered=[], spooled=0, dead_lettered=[], dropped=[])
    if p["artifacts_dir"]:
        if not os.path.isdir(p["artifacts_dir"]):
            os.makedirs(p["artifacts_dir"], 0o700)
        path = os.path.join(p["artifacts_dir"], "%s-%s.json" % (p["system"], p["payload"]["timestamp"].replace(":", "")))
        Spool.write_atomic(path, json.dumps(p["payload"], indent=2, sort_keys=True) + "\n")
        Spool.write_atomic(os.path.join(p["artifacts_dir"], "%s-latest.json" % p["system"]),
                           json.dumps(p["payload"], indent=2, sort_keys=True) + "\n")
        result["artifact"] = path
    if module._diff:
        before = last_delivered(p["spool_dir"], p["system"]) or {}
        result["diff"] = dict(before=json.dumps(before, indent=2, sort_keys=True) + "\n",
                              after=json.dumps(p["payload"], indent=2, sort_keys=True) + "\n",
                              before_header="last delivered %s" % before.get("timestamp", "(none)"),
                              after_header="would send %s" % p["payload"]["timestamp"])
    result["msg"] = "check mode: %s snapshot %s not sent" % (p["system"], p["payload"]["timestamp"])
    module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            system=dict(type="str", required=True, choices=["derecho", "casper"]),
            payload=dict(type="dict", required=True),
            api_user=dict(type="str", fallback=(env_fallback, ["SAM_API_USER"])),
            api_key=dict(type="str", required=True, no_log=True, fallback=(env_fallback, ["SAM_API_KEY", "STATUS_API_KEY"])),
            validate_certs=dict(type="bool", default=True),
            ca_path=dict(type="path"),
            allow_insecure_http=dict(type="bool", default=False),
            timeout=dict(type="float", default=30),
            retries=dict(type="int", default=3),
            backoff=dict(type="float", default=1.0),
            spool_dir=dict(type="path"),
            spool_max_age_days=dict(type="float", default=7),
            spool_max_files=dict(type="int", default=2100),
            artifacts_dir=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"))
    check_url(module)
    if module.check_mode:
        run_check_mode(module)

    spool = Spool(module.params["spool_dir"], module.params["system"]) if module.params["spool_dir"] else None
    try:
        deliver(module, spool)
    finally:
        if spool:
            spool.close()


def deliver(module, spool):
    p = module.params
    poster = Poster(module)
    payload = p["payload"]
    result = dict(changed=False, status_code=None, response={}, delivered=[], spooled=0, dead_lettered=[], dropped=[])
    before = spool.last_delivered() if spool else None

    blocked = None  # an outcome that stops delivery of anything newer (API down, auth refused)
    if spool:
        result["dropped"] = spool.prune(p["spool_max_age_days"], p["spool_max_files"])
        for fname in spool.pending():
            if fname >= spool.name(payload):
                continue
            old = spool.load(fname)
            outcome = poster.post(old)
            if outcome.kind == "delivered":
                spool.remove(fname)
                spool.remember_delivered(old)
                result["delivered"].append(old["timestamp"])
                result["changed"] = True
            elif outcome.kind == "refused":
                spool.dead_letter(old, outcome, fname)
                result["dead_lettered"].append({"timestamp": old["timestamp"], "error": outcome.message})
                result["changed"] = True
            else:
                blocked = outcome
                break

    outcome = blocked or poster.post(payload)
    result["status_code"] = outcome.status
    result["response"] = outcome.body
    result["attempts"] = poster.attempts
    if outcome.kind == "delivered":
        result["delivered"].append(payload["timestamp"])
        result["changed"] = True
        if spool:
            spool.remember_delivered(payload)
    elif spool and outcome.kind in ("retryable", "auth"):
        spool.add(payload)
        result["changed"] = True
    elif spool and outcome.kind == "refused":
        spool.dead_letter(payload, outcome)
        result["dead_lettered"].append({"timestamp": payload["timestamp"], "error": outcome.message})
        result["changed"] = True
    result["spooled"] = len(spool.pending()) if spool else 0
    if module._diff and outcome.kind == "delivered":
        result["diff"] = dict(before=json.dumps(before or {}, indent=2, sort_keys=True) + "\n",
                              after=json.dumps(payload, indent=2, sort_keys=True) + "\n")

    if outcome.kind == "delivered":
        result["msg"] = "%s snapshot %s delivered (HTTP %s)" % (p["system"], payload["timestamp"], outcome.status)
        if result["dead_lettered"]:
            module.fail_json(msg=result["msg"] + "; %d spooled snapshot(s) refused and dead-lettered" % len(result["dead_lettered"]), **result)
        module.exit_json(**result)
    if blocked is not None:
        how = "not sent: an older spooled snapshot could not be delivered (%s)" % outcome.message
    elif outcome.kind == "refused":
        how = "refused by the server, not retried (%s)" % outcome.message
    elif outcome.kind == "auth":
        how = "refused: authentication failed (%s)" % outcome.message
    else:
        how = "not delivered after %d attempt(s) (%s)" % (p["retries"] + 1, outcome.message)
    where = "; kept in the spool (%d waiting)" % result["spooled"] if spool and outcome.kind in ("retryable", "auth") else ""
    where = where or ("; moved to the dead-letter folder" if spool and outcome.kind == "refused" else "")
    module.fail_json(msg="%s snapshot %s %s%s" % (p["system"], payload["timestamp"], how, where), **result)


if __name__ == "__main__":
    main()
