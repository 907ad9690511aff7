# -*- coding: utf-8 -*-
"""Parse POSIX ``df -P -B1 PATH`` and ``df -P -i PATH`` output. Target side, stdlib only.

parse_df_posix(stdout) -> {"kind": "bytes"|"inodes", "size": int, "used": int, "avail": int|None,
                           "filesystem": str, "mount": str}
  bytes:  size/used/avail in bytes (the block size in the header, "1-blocks", "1B-blocks",
          "1024-blocks", "512-blocks", "1K-blocks", "1M-blocks"..., is multiplied out);
  inodes: size/used/avail = Inodes/IUsed/IFree (also under "total"/"free" for clarity).
A "-" field (a file system that reports no inode numbers) gives None.
Long device names that make df wrap the line are joined with the next line. When several file
systems are listed the LAST one is returned. Raises ValueError with a reason when nothing can be read.
"""
from __future__ import absolute_import, division, print_function

import re

_ROW = re.compile(r"^(?P<fs>\S.*?)\s+(?P<size>[0-9]+|-)\s+(?P<used>[0-9]+|-)\s+(?P<avail>[0-9]+|-)\s+"
                  r"(?P<pct>[0-9]+%|-)\s+(?P<mount>/.*?)\s*$")
_BLOCKS = re.compile(r"^([0-9]+)([kmgtpe]?)(i?b?)-blocks$", re.I)
_SHIFT = {"": 0, "k": 10, "m": 20, "g": 30, "t": 40, "p": 50, "e": 60}


def _num(text):
    return None if text == "-" else int(text)


def parse_df_posix(stdout):
    if stdout is None:
        raise ValueError("df printed nothing")
    if isinstance(stdout, bytes):
        stdout = stdout.decode("utf-8", "replace")
    lines = [ln.rstrip("\r") for ln in stdout.splitlines() if ln.strip()]
    if not lines:
        raise ValueError("df printed nothing")
    header = None
    if lines[0].split()[0] == "Filesystem":
        header = lines.pop(0).split()
    kind = "bytes"
    unit = 1
    if header and len(header) > 1:
        col = header[1]
        if col.lower() in ("inodes", "itotal"):
            kind = "inodes"
        else:
            m = _BLOCKS.match(col)
            if not m:
                raise ValueError("unknown df size column %r (expected N-blocks or Inodes)" % col[:40])
            mult = m.group(2).lower()
            base = 1000 if (mult and m.group(3).upper() == "B") else 1024
            unit = int(m.group(1)) * (base ** (_SHIFT[mult] // 10))
    found = None
    pending = ""
    for line in lines:
        candidate = (pending + " " + line.strip()) if pending else line
        m = _ROW.match(candidate)
        if m:
            found = m
            pending = ""
        else:
            pending = candidate.strip()
    if found is None:
        raise ValueError("no df data line found (%d lines after the header)" % len(lines))
    size, used, avail = (_num(found.group(k)) for k in ("size", "used", "avail"))
    if size is None or used is None:
        if kind == "bytes":
            raise ValueError("df reported no size for %s" % found.group("mount")[:80])
    if kind == "bytes":
        size, used = size * unit, used * unit
        avail = None if avail is None else avail * unit
    result = {"kind": kind, "size": size, "used": used, "avail": avail,
              "filesystem": found.group("fs"), "mount": found.group("mount")}
    if kind == "inodes":
        result["total"] = size
        result["free"] = avail
    return result
