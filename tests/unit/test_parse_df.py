import pytest

from ansible.module_utils.df_parse import parse_df_posix

GNU_B1 = """Filesystem         1-blocks        Used   Available Capacity Mounted on
/dev/vda       270553174016 23269642240 85674651648      22% /
"""
GNU_I = """Filesystem       Inodes  IUsed    IFree IUse% Mounted on
/dev/vda       16777216 413001 16364215    3% /
"""
WRAPPED = """Filesystem                                              1-blocks           Used      Available Capacity Mounted on
10.10.10.10@o2ib:10.10.10.11@o2ib:/a-very-long-lustre-fs-name
                                                 8796093022208 4398046511104 4398046511104      50% /glade/derecho/scratch
"""
SPACE_MOUNT = """Filesystem     1024-blocks  Used Available Capacity Mounted on
tmpfs                 1000   250       750      25% /mnt/with space
"""


def test_gnu_bytes():
    r = parse_df_posix(GNU_B1)
    assert (r["kind"], r["size"], r["used"], r["avail"], r["mount"]) == (
        "bytes", 270553174016, 23269642240, 85674651648, "/")


def test_gnu_inodes():
    r = parse_df_posix(GNU_I)
    assert (r["kind"], r["size"], r["used"], r["avail"], r["total"], r["free"]) == (
        "inodes", 16777216, 413001, 16364215, 16777216, 16364215)


def test_wrapped_long_device_name():
    r = parse_df_posix(WRAPPED)
    assert r["filesystem"] == "10.10.10.10@o2ib:10.10.10.11@o2ib:/a-very-long-lustre-fs-name"
    assert (r["size"], r["used"], r["mount"]) == (8796093022208, 4398046511104, "/glade/derecho/scratch")


def test_block_size_header_is_multiplied_and_mounts_may_hold_spaces():
    r = parse_df_posix(SPACE_MOUNT)
    assert (r["size"], r["used"], r["avail"], r["mount"]) == (1024000, 256000, 768000, "/mnt/with space")


def test_inodes_not_reported():
    r = parse_df_posix("Filesystem Inodes IUsed IFree IUse% Mounted on\nfuse - - - - /mnt/x\n")
    assert (r["size"], r["used"], r["avail"]) == (None, None, None)


def test_bytes_input_and_last_row_wins():
    text = (GNU_B1 + "/dev/vdb 100 40 60 40% /data\n").encode()
    assert parse_df_posix(text)["mount"] == "/data"


@pytest.mark.parametrize("text,msg", [
    ("", "printed nothing"), (None, "printed nothing"),
    ("Filesystem 1-blocks Used Available Capacity Mounted on\n", "no df data line"),
    ("df: /nope: No such file or directory\n", "no df data line"),
    ("Filesystem Size Used Avail Use% Mounted on\n/dev/x 1G 1G 0 100% /\n", "unknown df size column"),
])
def test_unreadable_raises_value_error(text, msg):
    with pytest.raises(ValueError, match=msg):
        parse_df_posix(text)
