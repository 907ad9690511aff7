# -*- coding: utf-8 -*-
"""Parse ``pbs_rstat -f`` text (sam-api-contract §2.5). Target side, stdlib only, Python >= 3.9
(zoneinfo; needs the system tz database or the tzdata package).

Output: {"reservations": [...], "unreadable": [...], "parse": <parse report>}
  reservation: {"resv_id", "reservation_name", "start_time", "end_time", "node_count",
                "partition", "state"}
  unreadable:  {"resv_id", "reason"}

* Blocks are split on blank lines (and on every "Resv ID:" line); "key = value" lines are split on
  the first " = " ("key =" with nothing after gives ""). Lines outside a "Resv ID:" block
  ("pbs_rstat: ..." messages) are ignored.
* reservation_name = Reserve_Name; the literal "NULL" means unnamed -> the queue attribute. A block
  without Reserve_Name (or NULL without queue) is skipped.
* reserve_start/reserve_end: "%a %b %d %H:%M:%S %Y" (zero- or space-padded day), read with English
  day/month names whatever the locale, in the given IANA zone, returned as naive UTC ISO
  (datetime.isoformat(): no microseconds). An unreadable time skips the reservation.
  DST: a wall time that does not exist (spring-forward gap) or occurs twice (fall-back) is read
  with fold=0, i.e. with the UTC offset in force BEFORE the change: 02:30 on the March change day
  in America/Denver is read as MST (-07:00) -> 09:30 UTC; 01:30 on the November day as the first
  (MDT, -06:00) occurrence -> 07:30 UTC.
* node_count = Resource_List.nodect, else the number of "+"-separated resv_nodes entries, else None.
* partition = partition or None; state = reserve_state or None.
"""
from __future__ import absolute_import, division, print_function

import datetime
import re

from ansible.module_utils.pbs_json import add_example, add_repair, add_skip, new_report
from ansible.module_utils.pbs_values import to_int

_MONTHS = dict((m, i + 1) for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")))
_DAYS = frozenset(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
_TIME = re.compile(r"\s*([A-Za-z]{3})\s+([A-Za-z]{3})\s+([0-9]{1,2})\s+([0-9]{1,2}):([0-9]{2}):([0-9]{2})\s+([0-9]{4})\s*\Z")


class TimezoneUnavailable(LookupError):
    """The cluster time zone cannot be loaded (no zoneinfo module or no tz database)."""


def load_zone(name):
    try:
        import zoneinfo
    except ImportError:
        raise TimezoneUnavailable("Python %s has no zoneinfo module (needs Python >= 3.9) to read "
                                  "reservation times in %s" % (_pyver(), name))
    try:
        return zoneinfo.ZoneInfo(name)
    except Exception as exc:  # ZoneInfoNotFoundError (a KeyError), ValueError for a malformed key
        raise TimezoneUnavailable("time zone %r is not available on this host (%s): install the "
                                  "system tz database (/usr/share/zoneinfo, package tzdata) or the "
                                  "Python tzdata package" % (name, exc.__class__.__name__))


def _pyver():
    import sys
    return "%d.%d" % sys.version_info[:2]


def parse_pbs_time(text, zone):
    """'Wed Aug 06 10:00:00 2025' in zone -> naive UTC datetime; None if unreadable."""
    m = _TIME.match(text or "")
    if not m:
        return None
    wday, mon, day, hh, mm, ss, year = m.groups()
    if wday.lower() not in _DAYS or mon.lower() not in _MONTHS:
        return None
    try:
        local = datetime.datetime(int(year), _MONTHS[mon.lower()], int(day), int(hh), int(mm), int(ss),
                                  tzinfo=zone, fold=0)
    except ValueError:
        return None
    return local.astimezone(datetime.timezone.utc).replace(tzinfo=None)


def _blocks(text):
    """Yield (resv_id, {key: value}, first_line_no) per reservation block."""
    current = None
    attrs = None
    start = 0
    for no, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s:
            if current is not None:
                yield current, attrs, start
            current = None
            continue
        if s.startswith("Resv ID:"):
            if current is not None:
                yield current, attrs, start
            current, attrs, start = s[len("Resv ID:"):].strip(), {}, no
            continue
        if current is None:
            continue
        if " = " in line:
            key, value = line.split(" = ", 1)
        elif line.rstrip().endswith(" ="):
            key, value = line.rstrip()[:-2], ""
        else:
            attrs.setdefault("\0unreadable", []).append(no)
            continue
        attrs[key.strip()] = value.strip()
    if current is not None:
        yield current, attrs, start


def parse_rstat(text, timezone="America/Denver"):
    """Parse pbs_rstat -f output (str). Raises TimezoneUnavailable (a LookupError) if the zone
    cannot be loaded."""
    zone = load_zone(timezone)
    report = new_report()
    text = text or ""
    bad = text.count(u"\ufffd")
    if bad:
        add_repair(report, "invalid_utf8", "undecodable bytes replaced by U+FFFD (%d)" % bad, bad)
    reservations = []
    skipped = []

    def skip(resv_id, reason):
        skipped.append({"resv_id": resv_id, "reason": reason})
        add_skip(report, "reservation %r skipped: %s" % (resv_id[:80], reason))

    for resv_id, attrs, line_no in _blocks(text):
        junk = attrs.pop("\0unreadable", None)
        if junk:
            add_repair(report, "junk_line", "line %d: not a 'key = value' line, ignored" % junk[0], len(junk))
        name = attrs.get("Reserve_Name")
        if name is None:
            skip(resv_id, "no Reserve_Name")
            continue
        if name == "NULL":
            name = attrs.get("queue") or None
            if name is None:
                skip(resv_id, "Reserve_Name is NULL and there is no queue")
                continue
        times = []
        for attr in ("reserve_start", "reserve_end"):
            raw = attrs.get(attr)
            when = parse_pbs_time(raw, zone) if raw is not None else None
            if when is None:
                times = None
                skip(resv_id, "%s %s" % ("missing" if raw is None else "unreadable", attr))
                break
            times.append(when.isoformat())
        if times is None:
            continue
        node_count = to_int(attrs.get("Resource_List.nodect"))
        if node_count is None:
            nodes = attrs.get("resv_nodes")
            if nodes:
                node_count = len([p for p in nodes.split("+") if p.strip()]) or None
        reservations.append({"resv_id": resv_id, "reservation_name": name,
                             "start_time": times[0], "end_time": times[1],
                             "node_count": node_count,
                             "partition": attrs.get("partition") or None,
                             "state": attrs.get("reserve_state") or None})
    if not reservations and not skipped and text.strip() and "Resv ID:" not in text:
        add_example(report, "no 'Resv ID:' block in the output")
    return {"reservations": reservations, "unreadable": skipped, "parse": report}
