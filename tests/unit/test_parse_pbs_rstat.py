from pathlib import Path

import pytest

from ansible.module_utils.pbs_rstat import TimezoneUnavailable, parse_pbs_time, parse_rstat, load_zone

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "pbs-samples"


def block(resv_id, **attrs):
    lines = ["Resv ID: %s" % resv_id]
    lines += ["%s = %s" % (k.replace("__", "."), v) for k, v in attrs.items()]
    return "\n".join(lines) + "\n\n"


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared/pbs-samples not available")
def test_aurora_sample():
    out = parse_rstat((SAMPLES / "aurora-pbs_monitor__pbspro-2022.1.7__pbs_rstat-f.txt").read_text())
    res = out["reservations"]
    assert len(res) == 7 and out["unreadable"] == []
    assert res[0] == {"resv_id": "S6703362.aurora-pbs-0001.hostmgmt.cm.aurora.alcf.anl.gov",
                      "reservation_name": "HACC-DAOS-Dbg", "start_time": "2025-08-06T16:00:00",
                      "end_time": "2025-08-06T20:00:00", "node_count": 8200, "partition": "pbs-default",
                      "state": "RESV_RUNNING"}
    assert [r["node_count"] for r in res] == [8200, 512, 512, 1024, 1024, 1024, 40]
    assert res[-1]["start_time"] == "2025-07-28T22:00:00" and res[-1]["end_time"] == "2025-08-14T06:00:00"
    assert not any(out["parse"]["repairs"].values()) and out["parse"]["skipped_records"] == 0
    # in the site's own zone
    chicago = parse_rstat((SAMPLES / "aurora-pbs_monitor__pbspro-2022.1.7__pbs_rstat-f.txt").read_text(), "America/Chicago")
    assert chicago["reservations"][0]["start_time"] == "2025-08-06T15:00:00"


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared/pbs-samples not available")
@pytest.mark.parametrize("name", ["aurora-pbs_monitor__pbspro-2022.1.7__pbs_rstat.txt",
                                  "alcf-user-guides__pbspro-2022.1.x__pbs_rstat-default__edited-example.txt"])
def test_short_form_is_not_read_as_reservations(name):
    out = parse_rstat((SAMPLES / name).read_text())
    assert out["reservations"] == [] and out["unreadable"] == []
    assert out["parse"]["examples"] == ["no 'Resv ID:' block in the output"]


def test_reservation_across_march_dst_change_in_denver():
    # DST starts Sun 2026-03-08 02:00 MST -> 03:00 MDT
    text = block("R416808.casper-pbs", Reserve_Name="maint", reserve_state="RESV_CONFIRMED",
                 reserve_start="Sat Mar 07 20:00:00 2026", reserve_end="Sun Mar 08 08:00:00 2026",
                 queue="R416808", Resource_List__nodect="4", partition="pbs-default")
    r = parse_rstat(text)["reservations"][0]
    assert r["start_time"] == "2026-03-08T03:00:00"       # MST, UTC-7
    assert r["end_time"] == "2026-03-08T14:00:00"         # MDT, UTC-6: 11 h of wall time, 12 h on the clock
    assert r["node_count"] == 4 and r["partition"] == "pbs-default" and r["state"] == "RESV_CONFIRMED"


def test_nonexistent_and_ambiguous_local_times_use_fold_0():
    zone = load_zone("America/Denver")
    # 02:30 does not exist on 2026-03-08: read with the offset before the change (MST, -7)
    assert parse_pbs_time("Sun Mar 08 02:30:00 2026", zone).isoformat() == "2026-03-08T09:30:00"
    # 01:30 happens twice on 2026-11-01: the first (MDT, -6)
    assert parse_pbs_time("Sun Nov 01 01:30:00 2026", zone).isoformat() == "2026-11-01T07:30:00"


def test_space_padded_day_and_bad_times():
    zone = load_zone("America/Denver")
    assert parse_pbs_time("Fri Nov  4 11:04:12 2022", zone).isoformat() == "2022-11-04T17:04:12"
    for bad in ("", "Fri Nov 31 11:04:12 2022", "Fri Foo 04 11:04:12 2022", "2022-11-04 11:04:12", "Today 10:00"):
        assert parse_pbs_time(bad, zone) is None


def test_names_nodes_and_skips():
    text = (
        "pbs_rstat: some warning before the list\n\n"
        + block("R1.pbs", Reserve_Name="NULL", queue="R1", reserve_start="Wed Aug 06 10:00:00 2025",
                reserve_end="Wed Aug 06 14:00:00 2025", resv_nodes="(n1:ncpus=4)+(n2:ncpus=4)+(n3:ncpus=4)")
        + block("R2.pbs", queue="R2", reserve_start="Wed Aug 06 10:00:00 2025", reserve_end="Wed Aug 06 14:00:00 2025")
        + block("R3.pbs", Reserve_Name="bad", reserve_start="Wed Aug 06 25:00:00 2025",
                reserve_end="Wed Aug 06 14:00:00 2025")
        + block("R4.pbs", Reserve_Name="nonodes", reserve_start="Wed Aug 06 10:00:00 2025",
                reserve_end="Wed Aug 06 14:00:00 2025")
        + block("R5.pbs", Reserve_Name="NULL", reserve_start="Wed Aug 06 10:00:00 2025",
                reserve_end="Wed Aug 06 14:00:00 2025")
        + "Resv ID: R6.pbs\nReserve_Name = nogap\nreserve_start = Wed Aug 06 10:00:00 2025\n"
          "reserve_end = Wed Aug 06 11:00:00 2025\nAuthorized_Users =\nthis line is junk\n"
        + "Resv ID: R7.pbs\nReserve_Name = a = b\nreserve_start = Wed Aug 06 10:00:00 2025\n"
          "reserve_end = Wed Aug 06 11:00:00 2025\nResource_List.nodect = 2\n")
    out = parse_rstat(text)
    by = dict((r["resv_id"], r) for r in out["reservations"])
    assert list(by) == ["R1.pbs", "R4.pbs", "R6.pbs", "R7.pbs"]
    assert by["R1.pbs"]["reservation_name"] == "R1" and by["R1.pbs"]["node_count"] == 3
    assert by["R4.pbs"]["node_count"] is None and by["R4.pbs"]["partition"] is None and by["R4.pbs"]["state"] is None
    assert by["R7.pbs"]["reservation_name"] == "a = b" and by["R7.pbs"]["node_count"] == 2
    assert out["unreadable"] == [{"resv_id": "R2.pbs", "reason": "no Reserve_Name"},
                              {"resv_id": "R3.pbs", "reason": "unreadable reserve_start"},
                              {"resv_id": "R5.pbs", "reason": "Reserve_Name is NULL and there is no queue"}]
    assert out["parse"]["skipped_records"] == 3 and out["parse"]["repairs"]["junk_line"] == 1


def test_empty_output_means_no_reservations():
    out = parse_rstat("")
    assert out["reservations"] == [] and out["unreadable"] == [] and out["parse"]["examples"] == []


def test_unknown_time_zone_is_a_clear_lookup_error():
    with pytest.raises(TimezoneUnavailable) as exc:
        parse_rstat("", "Mars/Olympus_Mons")
    assert isinstance(exc.value, LookupError)
    assert "Mars/Olympus_Mons" in str(exc.value) and "tzdata" in str(exc.value)
