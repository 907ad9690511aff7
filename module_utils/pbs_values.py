# -*- coding: utf-8 -*-
"""Normalise PBS attribute values. Target side, stdlib only, Python >= 3.7.

PBS's JSON writers guess types (see docs/pbs-formats.md §3): a number may arrive as a JSON number or
a string, a boolean as "True"/"False" (old writer) or true/false (cJSON), a string that looks like
JSON as a nested object (cJSON). Every helper here accepts any of those and returns None (or an
empty collection) for what it cannot read, never raises.
"""
from __future__ import absolute_import, division, print_function

import json
import math
import re

_SIZE = re.compile(r"\s*([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([kmgtp]?)([bw]?)\s*\Z", re.I)
_SHIFT = {"": 0, "k": 10, "m": 20, "g": 30, "t": 40, "p": 50}
_NUMBER = re.compile(r"\s*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*\Z")


def size_to_kb(value):
    """PBS size -> int KiB (floor). "251gb" -> 263192576.

    Units b/kb/mb/gb/tb/pb (powers of 1024) and w/kw/mw/gw/tw/pw (words of 8 bytes), any case; a
    number with no unit, or a unit with no b/w ("5k"), counts bytes, as PBS does. A JSON number
    is bytes too. Returns None when unreadable (None, bool, "", "12 parsecs", nested objects).
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value // 1024
    if isinstance(value, float):
        if math.isinf(value) or math.isnan(value):
            return None
        return int(value // 1024)
    if not isinstance(value, str):
        return None
    m = _SIZE.match(value)
    if not m:
        return None
    sign, num, mult, unit = m.groups()
    shift = _SHIFT[mult.lower()]
    word = unit.lower() == "w"
    if "." in num:
        nbytes = float(num) * (1 << shift) * (8 if word else 1)
        kb = int(nbytes // 1024)
    else:
        nbytes = int(num) << shift
        if word:
            nbytes *= 8
        kb = nbytes // 1024
    return -kb if sign == "-" else kb


def to_int(value):
    """Integer from an int, an integral-or-not float (truncated), or a numeric string ("12",
    " 7 ", "007", "1.0", "1e3"). None for None, booleans, "True", "inf", "nan", "0x10", "", objects."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isinf(value) or math.isnan(value):
            return None
        return int(value)
    if isinstance(value, str):
        if not _NUMBER.match(value):
            return None
        s = value.strip()
        try:
            return int(s)
        except ValueError:
            pass
        try:
            f = float(s)
        except ValueError:
            return None
        if math.isinf(f) or math.isnan(f):
            return None
        return int(f)
    return None


_TRUE = frozenset(("true", "1", "yes"))
_FALSE = frozenset(("false", "0", "no"))


def to_bool(value):
    """"True"/"False" (any case), true/false, 1/0, "1"/"0", "yes"/"no" -> bool; anything else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if value in (0, 1):
            return bool(value)
        return None
    if isinstance(value, str):
        s = value.strip().lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
    return None


def to_text(value):
    """A scalar as PBS meant it, stripped; None for None/blank.

    Numbers typed by the writer come back as text ("12345"), cJSON booleans as "true"/"false",
    nested objects/arrays (cJSON turning a JSON-looking value into structure) as compact JSON.
    """
    if value is None:
        return None
    if isinstance(value, str):
        s = value.strip()
        return s or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    try:
        return json.dumps(value, separators=(",", ":"), sort_keys=False)
    except (TypeError, ValueError):
        return str(value)


def split_state(value):
    """"down,offline" -> ["down", "offline"]: split on commas, stripped, lowercased, PBS order kept,
    empty parts dropped. A list (cJSON) is accepted; None -> []."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        parts = [to_text(v) or "" for v in value]
    else:
        parts = (to_text(value) or "").split(",")
    return [p.strip().lower() for p in parts if p and p.strip()]


def job_owner(value):
    """Job_Owner "alice@host" -> "alice" (whole value if there is no "@"); None for missing/blank."""
    s = to_text(value)
    if s is None:
        return None
    user = s.split("@", 1)[0].strip()
    return user or None


def exec_hosts(value):
    """exec_host "a/0*128+b/1*64" -> {"a", "b"}; also strips a MoM port ("h:15002/14*2" -> "h")."""
    s = to_text(value)
    hosts = set()
    if not s:
        return hosts
    for chunk in s.split("+"):
        host = chunk.strip().split("/", 1)[0].split(":", 1)[0].strip()
        if host:
            hosts.add(host)
    return hosts
