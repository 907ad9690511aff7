# -*- coding: utf-8 -*-
"""Tolerant reader for PBS ``-F json`` output (pbsnodes, qstat -f, qstat -Q -f, qstat -B -f).

Target side, stdlib only, Python >= 3.7 (tested on 3.9 and 3.12).

Two paths:

1. *Strict*: ``json.JSONDecoder.raw_decode`` from the first ``{`` with an ``object_pairs_hook``
   that keeps the LAST value of a duplicated key (as PBS's own readers do) and counts duplicates.
   Valid output costs about what ``json.loads`` costs.
2. *Line repair*, only when the strict parse fails. Every JSON writer PBS has shipped puts one
   member per line (old writer: 4-space indent, ``"key":value``; cJSON: TAB indent,
   ``"key":<TAB>value``), and keys are never broken. So each line is read on its own:

   * string values are taken from the first ``"`` after the colon to the LAST ``"`` of the line
     (before an optional ``,``); raw ``"`` inside are re-escaped (raw_quote), backslash pairs that
     are not JSON escapes and a lone trailing backslash are doubled (invalid_escape), raw control
     bytes become ``\\u00XX`` (control_char). A string left open at the end of its line (a raw
     newline, from the high-byte mangling bug) is joined with the following non-structural lines;
     unquoted values that are not JSON (``0000``, ``-007``, ``.5``, ``5.``, ``+5``, ``0x0``,
     ``inf``, ``nan``, ``-nan``, ``Infinity``...) are kept as strings (bare_number); a member with
     nothing after the colon becomes ``""`` (empty_value);
   * nesting comes from the brackets, checked against the indentation: a line indented at or
     left of the innermost open object's key line closes that object (a missing ``}``), and a
     closing brace indented deeper than the open object is dropped (an extra ``}``); both count as
     unbalanced;
   * a line that is none of these (PBS never writes one) makes the record (job, node, queue) that
     holds it unreadable: that record is skipped and counted, every other record is still read.
     Lines that are only an ellipsis (``...``, used by people publishing excerpts) and text
     outside any record are dropped and counted as junk_line.

Report (``new_report()``): counts per repair kind (each counts values/lines repaired, not
characters), ``skipped_records``, ``examples`` (at most 5, each at most 200 characters; they name the
line, key, record id and the repair, never a value, because values may be environment variables)
and ``container_missing``. The repair kinds are those of the shared spec plus ``junk_line``.
"""
from __future__ import absolute_import, division, print_function

import json
import math
import re

REPAIR_KINDS = ("invalid_escape", "raw_quote", "bare_number", "empty_value", "control_char",
                "invalid_utf8", "leading_text", "duplicate_key", "unbalanced", "junk_line")
CONTAINERS = ("Jobs", "nodes", "Queue", "Server")
MAX_EXAMPLES = 5
MAX_EXAMPLE_LEN = 200

_DESCR = {
    "invalid_escape": "invalid backslash escape doubled",
    "raw_quote": "raw quote escaped",
    "bare_number": "non-JSON bare number kept as string",
    "empty_value": "empty value read as \"\"",
    "control_char": "raw control character escaped",
}


class PBSJSONError(ValueError):
    """The output holds no readable PBS JSON document."""


class _NotLineLayout(PBSJSONError):
    pass


def new_report():
    return {"repairs": dict((k, 0) for k in REPAIR_KINDS), "skipped_records": 0, "examples": [],
            "container_missing": False}


def add_repair(report, kind, message=None, count=1):
    """Count a repair in a report made by new_report(); keep the message as an example if room."""
    report["repairs"][kind] = report["repairs"].get(kind, 0) + count
    if message:
        add_example(report, message)


def add_skip(report, message=None):
    report["skipped_records"] += 1
    if message:
        add_example(report, message)


def add_example(report, message):
    ex = report["examples"]
    if len(ex) < MAX_EXAMPLES:
        if len(message) > MAX_EXAMPLE_LEN:
            message = message[:MAX_EXAMPLE_LEN - 3] + "..."
        ex.append(message)


def _name(text, limit=60):
    """A key or record id for an example: printable, short, quoted."""
    text = "".join(ch if (" " <= ch < "\x7f") else "?" for ch in str(text))
    if len(text) > limit:
        text = text[:limit - 3] + "..."
    return "'%s'" % text


# --------------------------------------------------------------------------- decoding

_SURROGATE = re.compile(u"[\ud800-\udfff]")


def _decode(data, report):
    if isinstance(data, (bytes, bytearray)):
        data = bytes(data)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("utf-8", "replace")
            n = text.count(u"\ufffd") - data.count(b"\xef\xbf\xbd")
            add_repair(report, "invalid_utf8", "invalid UTF-8 replaced by U+FFFD (%d sequences)" % n, max(n, 1))
            return text
    text = data if isinstance(data, str) else str(data)
    if not text.isascii():
        n = len(_SURROGATE.findall(text))
        if n:
            text = _SURROGATE.sub(u"\ufffd", text)
            add_repair(report, "invalid_utf8", "undecodable bytes replaced by U+FFFD (%d)" % n, n)
    return text


_DOC_START = re.compile(r"^[ \t]*\{", re.M)


# --------------------------------------------------------------------------- public entry

def load_pbs_json(data, container):
    """Read PBS ``-F json`` output.

    data: bytes (preferred) or str, the command's whole stdout.
    container: "Jobs" | "nodes" | "Queue" | "Server".
    Returns (header, records, report): header is the top-level object without the container
    (timestamp, pbs_version, pbs_server), records the container's object in PBS order ({} when the
    container key is missing, with report["container_missing"] True).
    Raises PBSJSONError (a ValueError) when there is no JSON object at all or it cannot be read.
    """
    report = new_report()
    text = _decode(data, report)
    m = _DOC_START.search(text)
    start = m.end() - 1 if m else text.find("{")
    if start < 0:
        raise PBSJSONError("no JSON object in the output (%d characters, %d lines)"
                           % (len(text), text.count("\n") + (1 if text else 0)))
    lead = text[:start]
    if lead.strip():
        add_repair(report, "leading_text", "leading text before the JSON object skipped (%d lines)"
                   % len(lead.strip().splitlines()))

    strict = new_report()
    obj = None
    strict_error = strict_obj = None
    try:
        obj, end = _strict_decoder(strict, container).raw_decode(text, start)
        if text[end:].strip():
            # Text after the object: a message, or an extra '}' that closed the document early
            # (the rest would be lost). The line reader tells the two apart.
            strict_obj, obj = obj, None
            strict_error = ValueError("text after the JSON object at character %d" % end)
    except (ValueError, RecursionError) as exc:
        strict_error = exc
    if obj is not None:
        _merge_reports(report, strict)
    else:
        try:
            obj = _LineParser(text, start, container, report).parse(strict_error)
        except _NotLineLayout:
            if strict_obj is None:
                raise
            # compact valid JSON followed by text: keep the strict result, drop the text
            # (the line reader stops at the first line, before counting anything)
            _merge_reports(report, strict)
            add_repair(report, "junk_line", "text after the JSON object ignored")
            obj = strict_obj

    if not isinstance(obj, dict):
        raise PBSJSONError("top-level JSON value is not an object")
    header = dict((k, v) for k, v in obj.items() if k != container)
    if container not in obj:
        report["container_missing"] = True
        records = {}
    else:
        records = obj[container]
        if not isinstance(records, dict):
            report["container_missing"] = True
            add_example(report, "container %s is not an object; no records read" % _name(container))
            records = {}
    return header, records, report


def _merge_reports(into, other):
    for k, v in other["repairs"].items():
        into["repairs"][k] = into["repairs"].get(k, 0) + v
    into["skipped_records"] += other["skipped_records"]
    for e in other["examples"]:
        add_example(into, e)


def _finite_float(report):
    def parse_float(s):
        f = float(s)
        if math.isinf(f) or math.isnan(f):
            add_repair(report, "bare_number", "out-of-range number kept as string")
            return s
        return f
    return parse_float


def _constant(report):
    def parse_constant(s):
        # NaN / Infinity / -Infinity are not JSON; PBS meant the text.
        add_repair(report, "bare_number", "bare %s kept as string" % s)
        return s
    return parse_constant


def _pairs_hook(report, container):
    def hook(pairs):
        d = dict(pairs)
        if len(d) != len(pairs):
            _handle_duplicates(pairs, d, report, container)
        return d
    return hook


def _handle_duplicates(pairs, d, report, container):
    seen = {}
    for k, v in pairs:
        if k in seen:
            add_repair(report, "duplicate_key", "duplicate key %s: last value kept" % _name(k))
            if k == container and isinstance(v, dict) and isinstance(seen[k], dict):
                # old qstat repeated "Jobs":{ per job id: merge instead of dropping
                merged = seen[k]
                merged.update(v)
                v = merged
            seen[k] = v
        else:
            seen[k] = v
    if container in seen and isinstance(seen[container], dict):
        d[container] = seen[container]


def _strict_decoder(report, container):
    return json.JSONDecoder(object_pairs_hook=_pairs_hook(report, container),
                            parse_constant=_constant(report), parse_float=_finite_float(report))


# --------------------------------------------------------------------------- line repair

_KEY = re.compile(r'"([^"\\]*)"[ \t]*:[ \t]*')
_KEY_ESC = re.compile(r'"((?:[^"\\]|\\.)*)"[ \t]*:[ \t]*')
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?\Z")
_STRTOD = re.compile(r"[+-]?(?:inf(?:inity)?|nan(?:\([0-9a-z_]*\))?"
                     r"|0x(?:[0-9a-f]+\.?[0-9a-f]*|\.[0-9a-f]+)(?:p[+-]?[0-9]+)?"
                     r"|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[+-]?[0-9]+)?)\Z", re.I)
_SPECIAL = re.compile(u'[\\\\"\x00-\x1f]')
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
_ESCAPABLE = frozenset('"\\/bfnrt')
_MAX_CONTINUATION = 200

_VALUE, _OPEN_OBJ, _OPEN_ARR, _JUNK = 0, 1, 2, 3


class _Frame(object):
    __slots__ = ("obj", "key", "indent", "is_array", "depth", "is_container", "record", "bad")

    def __init__(self, obj, key, indent, is_array, depth):
        self.obj = obj
        self.key = key
        self.indent = indent
        self.is_array = is_array
        self.depth = depth
        self.is_container = False
        self.record = False
        self.bad = None


class _LineParser(object):
    def __init__(self, text, start, container, report):
        self.lines = text[start:].split("\n")
        self.offset = text.count("\n", 0, start)  # line numbers are 1-based in the whole output
        self.container = container
        self.report = report
        self.stack = []
        self.indent_mode = None
        self.done = False
        self.hook = _pairs_hook(report, container)

    # -- helpers
    def _lineno(self, i):
        return self.offset + i + 1

    def _record(self):
        st = self.stack
        if len(st) > 2 and st[1].is_container:
            return st[2]
        return None

    def _where(self, key):
        rec = self._record()
        parts = []
        if key is not None:
            parts.append("in %s" % _name(key, 50))
        if rec is not None:
            parts.append("(record %s)" % _name(rec.key, 60))
        return (" " + " ".join(parts)) if parts else ""

    def _repair(self, kind, i, key):
        add_repair(self.report, kind, "line %d: %s%s" % (self._lineno(i), _DESCR[kind], self._where(key)))

    def _junk(self, i, why):
        rec = self._record()
        if rec is not None:
            if rec.bad is None:
                rec.bad = "line %d %s" % (self._lineno(i), why)
        else:
            add_repair(self.report, "junk_line", "line %d: %s, dropped (outside any record)" % (self._lineno(i), why))

    # -- main loop
    def parse(self, strict_error):
        lines = self.lines
        first = lines[0].strip(" \t\r")
        if first != "{":
            # not PBS's line layout (compact or re-serialised on one line): nothing to repair by line
            raise _NotLineLayout("invalid JSON and not in PBS's one-member-per-line layout: %s" % _err(strict_error))
        root = _Frame({}, None, _indent(lines[0]), False, 0)
        self.stack = [root]
        i = 0
        n = len(lines)
        while i + 1 < n:
            i += 1
            raw = lines[i]
            content = raw.strip(" \t\r")
            if not content:
                continue
            if self.done:
                add_repair(self.report, "junk_line", "line %d: text after the JSON object ignored" % self._lineno(i))
                break
            ind = _indent(raw)
            if self.indent_mode is None:
                self.indent_mode = ind > root.indent
            c0 = content[0]
            if c0 == "}" or c0 == "]":
                if content[1:].strip(" \t") not in ("", ","):
                    self._junk(i, "has text after a closing bracket")
                self._close_line(ind, i)
                continue
            if content.startswith("...") or content.startswith(u"\u2026"):
                add_repair(self.report, "junk_line", "line %d: elision line (...) dropped%s"
                           % (self._lineno(i), self._where(None)))
                continue
            if self.indent_mode:
                while len(self.stack) > 1 and ind <= self.stack[-1].indent:
                    self._pop(i, implicit=True)
            top = self.stack[-1]
            if top.is_array:
                key, rest = None, content
            else:
                m = _KEY.match(content) or _KEY_ESC.match(content)
                if m is None:
                    self._junk(i, "is not a \"key\":value member")
                    continue
                key = m.group(1)
                if "\\" in key:
                    try:
                        key = json.loads('"%s"' % key)
                    except ValueError:
                        pass
                rest = content[m.end():]
            kind, value, i = self._value(rest, i, key)
            if kind == _JUNK:
                self._junk(i, "has an unreadable value" + ("" if key is None else " for %s" % _name(key, 50)))
            elif kind == _VALUE:
                self._store(top, key, value, i)
            else:
                self._open(top, key, ind, kind == _OPEN_ARR, i)
        while self.stack:
            self._pop(len(lines) - 1, implicit=True, at_end=True)
        return root.obj

    # -- structure
    def _open(self, parent, key, ind, is_array, i):
        fr = _Frame([] if is_array else {}, key, ind, is_array, parent.depth + 1)
        if parent.depth == 0 and key == self.container and not is_array:
            fr.is_container = True
            existing = parent.obj.get(key)
            if isinstance(existing, dict):
                add_repair(self.report, "duplicate_key", "line %d: container %s repeated, merged"
                           % (self._lineno(i), _name(key)))
                fr.obj = existing
        elif parent.is_container:
            fr.record = True
        self.stack.append(fr)

    def _close_line(self, ind, i):
        st = self.stack
        if self.indent_mode:
            top = st[-1]
            if ind > top.indent:
                add_repair(self.report, "unbalanced", "line %d: extra closing bracket dropped%s"
                           % (self._lineno(i), self._where(None)))
                return
            if ind < top.indent:
                for j in range(len(st) - 2, -1, -1):
                    if st[j].indent == ind:
                        while len(st) - 1 > j:
                            self._pop(i, implicit=True)
                        break
        self._pop(i, implicit=False)

    def _pop(self, i, implicit, at_end=False):
        fr = self.stack.pop()
        if implicit:
            what = "']'" if fr.is_array else "'}'"
            where = "end of output" if at_end else "line %d" % self._lineno(i)
            label = "document" if fr.depth == 0 else _name(fr.key, 60)
            add_repair(self.report, "unbalanced", "%s: missing %s supplied for %s" % (where, what, label))
        if fr.depth == 0:
            self.done = True
            return
        parent = self.stack[-1]
        if fr.record and fr.bad is not None:
            add_skip(self.report, "record %s skipped: %s" % (_name(fr.key, 80), fr.bad))
            return
        if fr.is_container and parent.obj.get(fr.key) is fr.obj:
            return
        self._store(parent, fr.key, fr.obj, i)

    def _store(self, frame, key, value, i):
        if frame.is_array:
            frame.obj.append(value)
            return
        d = frame.obj
        if key in d:
            add_repair(self.report, "duplicate_key", "line %d: duplicate key %s, last value kept%s"
                       % (self._lineno(i), _name(key, 50), self._where(None)))
        d[key] = value

    # -- values
    def _value(self, v, i, key):
        """Read the text after the colon (or an array element). Returns (kind, value, last_line_index)."""
        v = v.rstrip(" \t\r")
        v2 = v[:-1].rstrip(" \t") if v.endswith(",") else v
        if not v2:
            self._repair("empty_value", i, key)
            return _VALUE, "", i
        c = v2[0]
        if c == '"':
            if len(v2) < 2 or v2[-1] != '"':
                return self._continued(v, i, key)
            return self._string(v2[1:-1], i, key)
        if v2 == "{":
            return _OPEN_OBJ, None, i
        if v2 == "[":
            return _OPEN_ARR, None, i
        if c == "{" or c == "[":
            try:
                return _VALUE, json.loads(v2, object_pairs_hook=self.hook), i
            except ValueError:
                return _JUNK, None, i
        if v2 == "true":
            return _VALUE, True, i
        if v2 == "false":
            return _VALUE, False, i
        if v2 == "null":
            return _VALUE, None, i
        m = _JSON_NUMBER.match(v2)
        if m:
            try:
                if m.group(1) is None and m.group(2) is None:
                    return _VALUE, int(v2), i
                f = float(v2)
                if not (math.isinf(f) or math.isnan(f)):
                    return _VALUE, f, i
            except ValueError:  # more digits than int() accepts
                pass
            self._repair("bare_number", i, key)
            return _VALUE, v2, i
        if _STRTOD.match(v2):
            self._repair("bare_number", i, key)
            return _VALUE, v2, i
        return _JUNK, None, i

    def _continued(self, v, i, key):
        """A string still open at the end of its line: a raw newline inside the value."""
        lines = self.lines
        acc = v
        j = i
        while j + 1 < len(lines) and j - i < _MAX_CONTINUATION:
            nxt = lines[j + 1]
            c = nxt.strip(" \t\r")
            if c in ("}", "},", "]", "],") or _KEY.match(c) or c.startswith("...") or c == "{":
                break
            j += 1
            acc = acc + "\n" + nxt.rstrip("\r")
            t = acc.rstrip(" \t\r")
            t2 = t[:-1].rstrip(" \t") if t.endswith(",") else t
            if len(t2) >= 2 and t2[-1] == '"':
                kind, value, _ = self._string(t2[1:-1], j, key)
                return kind, value, j
        return _JUNK, None, i

    def _string(self, body, i, key):
        if _SPECIAL.search(body) is None:
            return _VALUE, body, i
        out = []
        pos = 0
        n = len(body)
        kinds = set()
        while True:
            m = _SPECIAL.search(body, pos)
            if m is None:
                out.append(body[pos:])
                break
            j = m.start()
            out.append(body[pos:j])
            ch = body[j]
            if ch == "\\":
                nxt = body[j + 1] if j + 1 < n else ""
                if nxt and nxt in _ESCAPABLE:
                    out.append(body[j:j + 2])
                    pos = j + 2
                elif nxt == "u" and _HEX4.match(body, j + 2):
                    out.append(body[j:j + 6])
                    pos = j + 6
                else:
                    out.append("\\\\")
                    kinds.add("invalid_escape")
                    pos = j + 1
            elif ch == '"':
                out.append('\\"')
                kinds.add("raw_quote")
                pos = j + 1
            else:
                out.append("\\u%04x" % ord(ch))
                kinds.add("control_char")
                pos = j + 1
        for kind in sorted(kinds):
            self._repair(kind, i, key)
        try:
            return _VALUE, json.loads('"%s"' % "".join(out)), i
        except ValueError:
            return _JUNK, None, i


def _indent(line):
    return len(line) - len(line.lstrip(" \t"))


def _err(exc):
    """A JSON error without the document text (json messages carry only position information)."""
    return str(exc).split("\n")[0][:150]
