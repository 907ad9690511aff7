import pytest

from ansible.module_utils.pbs_values import (exec_hosts, job_owner, size_to_kb, split_state, to_bool, to_int,
                                             to_text)


@pytest.mark.parametrize("value,kb", [
    ("251gb", 251 * 1024 ** 2), ("251GB", 251 * 1024 ** 2), ("0b", 0), ("0kb", 0), ("5652kb", 5652),
    ("2819mb", 2819 * 1024), ("692tb", 692 * 1024 ** 3), ("1pb", 1024 ** 4), ("2048b", 2), ("2047b", 1),
    ("1048576", 1024), (1048576, 1024), (2048.0, 2), ("1w", 0), ("128w", 1), ("1kw", 8), ("1mw", 8 * 1024),
    ("2gw", 16 * 1024 ** 2), ("5k", 5), ("4G", 4 * 1024 ** 2), (" 12950528mb ", 12950528 * 1024),
    ("1.5gb", 1572864), ("-2kb", -2),
    (None, None), (True, None), ("", None), ("12 parsecs", None), ("gb", None), ({"a": 1}, None), ("inf", None),
])
def test_size_to_kb(value, kb):
    assert size_to_kb(value) == kb


@pytest.mark.parametrize("value,expected", [
    (5, 5), (-230256, -230256), (1.0, 1), (1.9, 1), ("12", 12), (" 7 ", 7), ("007", 7), ("0000", 0), ("-29", -29),
    ("1.0", 1), ("1e3", 1000), ("+5", 5), (".5", 0),
    (None, None), (True, None), (False, None), ("True", None), ("inf", None), ("nan", None), (float("inf"), None),
    ("0x10", None), ("", None), ("12ab", None), ({"n": 1}, None), ([1], None),
])
def test_to_int(value, expected):
    assert to_int(value) == expected


@pytest.mark.parametrize("value,expected", [
    ("True", True), ("False", False), ("true", True), ("FALSE", False), (True, True), (False, False), (1, True),
    (0, False), ("1", True), ("0", False), (" True ", True), ("yes", True), ("no", False),
    (None, None), ("maybe", None), (2, None), ("", None), ({}, None),
])
def test_to_bool(value, expected):
    assert to_bool(value) is expected


@pytest.mark.parametrize("value,expected", [
    ("down,offline", ["down", "offline"]), ("free", ["free"]), ("State-Unknown, Down", ["state-unknown", "down"]),
    ("job-exclusive,resv-exclusive", ["job-exclusive", "resv-exclusive"]), ("", []), (None, []),
    (["Down", "offline"], ["down", "offline"]), ("down,,offline,", ["down", "offline"]),
])
def test_split_state(value, expected):
    assert split_state(value) == expected


@pytest.mark.parametrize("value,expected", [
    ("alice@host", "alice"), ("alice", "alice"), (" bob@x.y@z ", "bob"), ("", None), ("   ", None), (None, None),
    ("@host", None), (1234, "1234"),
])
def test_job_owner(value, expected):
    assert job_owner(value) == expected


@pytest.mark.parametrize("value,expected", [
    ("a/0*128+b/1*64", {"a", "b"}), ("pbs/0", {"pbs"}), ("qot-calc0/10+qot-calc0/11", {"qot-calc0"}),
    ("cpu1n001.hpc.local:15002/14*2", {"cpu1n001.hpc.local"}), ("x4618c0s0b0n0/0*208+x4618c0s1b0n0/0*208",
                                                                 {"x4618c0s0b0n0", "x4618c0s1b0n0"}),
    ("", set()), (None, set()), ("h1", {"h1"}),
])
def test_exec_hosts(value, expected):
    assert exec_hosts(value) == expected


@pytest.mark.parametrize("value,expected", [
    ("  UCSD0001 ", "UCSD0001"), ("", None), (None, None), (4321, "4321"), (100000.0, "100000"), (0.5, "0.5"),
    (True, "true"), ({"a": 1}, '{"a":1}'), ([1, "x"], '[1,"x"]'),
])
def test_to_text(value, expected):
    assert to_text(value) == expected
