#!/usr/bin/python
# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: filesystem_usage_info
short_description: Read size, use and inodes of mounted filesystems with a time limit per path
description:
  - Runs C(df -P -B1) and C(df -P -i) for each configured path, all paths at once, each under its own
    time limit, so a hung mount fails only its own entry and never hangs the play.
  - A path whose C(df) fails or times out is returned with C(ok=false), the reason, and no numbers.
version_added: "1.0.0"
author: SAM collectors team
options:
  filesystems:
    description:
      - Filesystems to measure. A string is a mount path, reported under the same name.
      - A dict has C(name) (reported, e.g. the mount path the dashboard knows) and C(path) (measured).
    type: list
    elements: raw
    required: true
  timeout:
    description: Seconds each C(df) may take before it is killed and that path is reported as failed.
    type: int
    default: 10
attributes:
  check_mode:
    support: full
    details: Read-only; does its full work in check mode.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Measure the GLADE filesystems
  filesystem_usage_info:
    filesystems: [/glade/u/home, /glade/work, /glade/campaign]
    timeout: 10
  register: filesystems
"""

RETURN = r"""
collected_at:
  description: Naive-UTC time taken before the first C(df) ran.
  returned: always
  type: str
filesystems:
  description: One entry per configured filesystem, in the configured order.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: /glade/u/home, path: /glade/u/home, ok: true, size_bytes: 109951162777600, used_bytes: 54975581388800,
       avail_bytes: 54975581388800, inodes_total: 1000000, inodes_used: 250000, error: null}
    - {name: /glade/campaign, path: /glade/campaign, ok: false, size_bytes: null, used_bytes: null, avail_bytes: null,
       inodes_total: null, inodes_used: null, error: "df did not finish within 10 s and was killed"}
"""

from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.df_parse import parse_df_posix
from ansible.module_utils.pbs_command import CommandTimeout, run_argv, utc_now_iso

NUMBERS = ("size_bytes", "used_bytes", "avail_bytes", "inodes_total", "inodes_used")


def normalise(module, entries):
    out = []
    for entry in entries:
        if isinstance(entry, str):
            out.append({"name": entry, "path": entry})
        elif isinstance(entry, dict) and set(entry) <= {"name", "path"} and entry.get("path"):
            out.append({"name": entry.get("name") or entry["path"], "path": entry["path"]})
        else:
            module.fail_json(msg="each filesystems entry must be a path or a dict with name and path, got %r" % (entry,))
    names = [e["name"] for e in out]
    dup = sorted(set(n for n in names if names.count(n) > 1))
    if dup:
        module.fail_json(msg="filesystem names must be unique: %s" % ", ".join(dup))
    return out


def measure(df, fs, timeout):
    entry = dict(fs, ok=False, error=None, **dict.fromkeys(NUMBERS))
    try:
        rc, out, err = run_argv([df, "-P", "-B1", "--", fs["path"]], timeout)
        if rc != 0:
            entry["error"] = "df exited %d: %s" % (rc, err or "no message")
            return entry
        usage = parse_df_posix(out.decode("utf-8", "replace"))
        rc, out, err = run_argv([df, "-P", "-i", "--", fs["path"]], timeout)
        if rc != 0:
            entry["error"] = "df -i exited %d: %s" % (rc, err or "no message")
            return entry
        inodes = parse_df_posix(out.decode("utf-8", "replace"))
    except CommandTimeout as exc:
        entry["error"] = str(exc)
        return entry
    except ValueError as exc:
        entry["error"] = "df output could not be read: %s" % exc
        return entry
    entry.update(ok=True, size_bytes=usage["size"], used_bytes=usage["used"], avail_bytes=usage["avail"],
                 inodes_total=inodes["size"], inodes_used=inodes["used"])
    return entry


def main():
    module = AnsibleModule(
        argument_spec=dict(filesystems=dict(type="list", elements="raw", required=True),
                           timeout=dict(type="int", default=10)),
        supports_check_mode=True)
    filesystems = normalise(module, module.params["filesystems"])
    df = module.get_bin_path("df", required=True)
    collected_at = utc_now_iso()
    with ThreadPoolExecutor(max_workers=max(1, len(filesystems))) as pool:
        results = list(pool.map(lambda fs: measure(df, fs, module.params["timeout"]), filesystems))
    module.exit_json(changed=False, collected_at=collected_at, filesystems=results)


if __name__ == "__main__":
    main()
