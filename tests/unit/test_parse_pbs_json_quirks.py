"""Hand-made inputs, one per docs/pbs-formats.md §12 quirk that applies to JSON
(1-14, 16, 18, 20, 25), plus the reader's own guarantees (skip-one-record, report limits, speed path)."""
import sys
import textwrap

import pytest

from ansible.module_utils.pbs_json import PBSJSONError, load_pbs_json
from ansible.module_utils.pbs_jobs import summarize_jobs
from ansible.module_utils.pbs_nodes import summarize_nodes


def old_writer(container, records_text, header=True):
    """Wrap record lines (already at 8-space indent) in the old writer's envelope."""
    head = '{\n    "timestamp":1700000000,\n    "pbs_version":"2022.1.5.20240213134632",\n    "pbs_server":"desched1",\n'
    return head + '    "%s":{\n' % container + textwrap.dedent(records_text).strip("\n").replace("\n", "\n        ").join(
        ["        ", "\n"]) + "    }\n}\n"


def job(job_id, *members, **kw):
    lines = ['"%s":{' % job_id]
    lines += ['    ' + m for m in members]
    lines.append('}' + kw.get("end", ","))
    return "\n".join(lines)


def repairs(report):
    return dict((k, v) for k, v in report["repairs"].items() if v)


def read(text, container="Jobs"):
    return load_pbs_json(text.encode("utf-8") if isinstance(text, str) else text, container)


# ---------------------------------------------------------------- 1, 2: non-JSON numerals, inf/nan

def test_q1_bare_non_json_numbers_become_strings():
    doc = old_writer("Jobs", job("1.pbs",
                                 '"Job_Name":00,', '"a":-007,', '"CI_COMMIT_BEFORE_SHA":' + "0" * 40 + ",",
                                 '"b":.5,', '"c":5.,', '"d":+5,', '"e":0x0,', '"session_id":1234', end=""))
    h, r, rep = read(doc)
    j = r["1.pbs"]
    assert (j["Job_Name"], j["a"], j["CI_COMMIT_BEFORE_SHA"], j["b"], j["c"], j["d"], j["e"]) == (
        "00", "-007", "0" * 40, ".5", "5.", "+5", "0x0")
    assert j["session_id"] == 1234
    assert repairs(rep) == {"bare_number": 7}
    assert rep["examples"][0] == "line 7: non-JSON bare number kept as string in 'Job_Name' (record '1.pbs')"
    assert not any("0000" in e for e in rep["examples"])


def test_q2_inf_nan_unquoted():
    doc = old_writer("Jobs", job("1.pbs", '"Job_Name":inf,', '"x":nan,', '"y":-nan,', '"z":Infinity,', '"w":-inf',
                                 end=""))
    h, r, rep = read(doc)
    assert r["1.pbs"] == {"Job_Name": "inf", "x": "nan", "y": "-nan", "z": "Infinity", "w": "-inf"}
    assert repairs(rep) == {"bare_number": 5}


def test_q2_python_only_constants_on_the_strict_path_stay_text():
    # json.loads would accept these as floats; PBS meant the text (valid otherwise, so strict path)
    h, r, rep = read('{"Jobs":{"1.pbs":{"Job_Name":Infinity,"n":NaN,"m":-Infinity,"big":1e999}}}')
    assert r["1.pbs"] == {"Job_Name": "Infinity", "n": "NaN", "m": "-Infinity", "big": "1e999"}
    assert repairs(rep) == {"bare_number": 4}


# ---------------------------------------------------------------- 3, 4: typing and big integers

def test_q3_numeric_looking_strings_typed_as_numbers_are_read_as_text_by_summaries():
    doc = old_writer("Jobs", job("7.pbs", '"Job_Name":12345,', '"Job_Owner":"bob@login1",', '"job_state":"Q",',
                                 '"queue":"cpu",', '"Account_Name":4321,', '"Resource_List":{', '    "ncpus":"36",',
                                 '    "select":40', '},', '"Variable_List":{', '    "PBS_NCPUS":1', '}', end=""))
    h, r, rep = read(doc)
    assert not any(rep["repairs"].values())
    assert r["7.pbs"]["Job_Name"] == 12345 and r["7.pbs"]["Resource_List"]["select"] == 40
    row = summarize_jobs(h, r)["rows"][0]
    assert (row["username"], row["project"], row["pending_jobs"], row["cores_pending"]) == ("bob", "4321", 1, 36)


def test_q4_big_integers_are_kept_exactly_and_cjson_exponent_form_is_a_float():
    doc = old_writer("Jobs", job("1.pbs", '"LONG":123456789012345678901234567890,', '"g4":1e+15', end=""))
    h, r, rep = read(doc)
    assert r["1.pbs"]["LONG"] == 123456789012345678901234567890
    assert r["1.pbs"]["g4"] == 1e15


def test_q4_integer_too_long_for_int_is_kept_as_text():
    digits = "9" * 5000
    h, r, rep = read(old_writer("Jobs", job("1.pbs", '"LONG":%s' % digits, end="")))
    assert str(r["1.pbs"]["LONG"]) == digits
    if hasattr(sys, "get_int_max_str_digits") and sys.get_int_max_str_digits():
        assert repairs(rep) == {"bare_number": 1}


# ---------------------------------------------------------------- 5: empty value

def test_q5_whitespace_only_value_writes_nothing():
    doc = old_writer("Jobs", job("1.pbs", '"comment":', '"job_state":"R"', end=""))
    h, r, rep = read(doc)
    assert r["1.pbs"] == {"comment": "", "job_state": "R"}
    assert repairs(rep) == {"empty_value": 1}


# ---------------------------------------------------------------- 6, 7, 8: quotes and backslashes

def test_q6_raw_quotes_and_backslashes():
    doc = old_writer("Jobs", job("1.pbs", r'"comment":"say "hi" \q now",', r'"Job_Name":"a"b"', end=""))
    h, r, rep = read(doc)
    assert r["1.pbs"]["comment"] == r'say "hi" \q now'
    assert r["1.pbs"]["Job_Name"] == 'a"b'
    assert repairs(rep) == {"raw_quote": 2, "invalid_escape": 1}


def test_q7_invalid_escapes_and_lone_trailing_backslash():
    secret = "s3cr3t-token"
    doc = old_writer("Jobs", job(
        "1.pbs", '"Variable_List":{',
        r'    "BASH_FUNC_module%%":"() {  eval \$(/usr/bin/modulecmd bash \$*)\n}",',
        r'    "PROMPT":"\(' + secret + r'\) \w",',
        r'    "TRAIL":"C:\dir\",',
        r'    "OK":"a\"b\,c"',
        '}', end=""))
    h, r, rep = read(doc)
    v = r["1.pbs"]["Variable_List"]
    assert v["BASH_FUNC_module%%"] == "() {  eval \\$(/usr/bin/modulecmd bash \\$*)\n}"
    assert v["PROMPT"] == "\\(" + secret + "\\) \\w"
    assert v["TRAIL"] == "C:\\dir\\"
    assert v["OK"] == 'a"b\\,c'
    assert repairs(rep) == {"invalid_escape": 4}
    assert "line 9: invalid backslash escape doubled in 'PROMPT' (record '1.pbs')" in rep["examples"]
    assert not any(secret in e or "modulecmd" in e for e in rep["examples"])


def test_q8_quote_at_position_zero_left_unescaped():
    doc = old_writer("Jobs", job("1.pbs", r'"Job_Name":""quoted\" name",', r'"comment":"""', end=""))
    h, r, rep = read(doc)
    assert r["1.pbs"]["Job_Name"] == '"quoted" name'
    assert r["1.pbs"]["comment"] == '"'
    assert repairs(rep) == {"raw_quote": 2}


# ---------------------------------------------------------------- 9, 10: control characters, high bytes

def test_q9_control_characters_raw_caret_and_cjson():
    doc = old_writer("Jobs", job("1.pbs", '"raw":"\x1b[1m bold\x07",', '"caret":"^[[1m",', r'"g4":"\u001b[1m"', end=""))
    h, r, rep = read(doc)
    assert r["1.pbs"] == {"raw": "\x1b[1m bold\x07", "caret": "^[[1m", "g4": "\x1b[1m"}
    assert repairs(rep) == {"control_char": 1}


def test_q9_raw_newline_inside_a_value_is_joined():
    doc = old_writer("Jobs", job("1.pbs", '"comment":"first line@@second line",', '"job_state":"R"', end=""))
    h, r, rep = read(doc.replace("@@", "\n"))
    assert r["1.pbs"]["comment"] == "first line\nsecond line"
    assert r["1.pbs"]["job_state"] == "R"
    assert repairs(rep) == {"control_char": 1}


def test_q10_high_byte_mangling():
    # show_nonprint_chars on x86: each byte >= 0x80 becomes '^' + (byte + 64) % 256.
    def mangle(text):
        out = bytearray()
        for b in text.encode("utf-8"):
            out += bytes([0x5E, (b + 64) % 256]) if b >= 0x80 else bytes([b])
        return bytes(out)

    value = mangle(u"caf\u00e9 it\u2019s")        # e-acute: ^ + 0x03 ^ + 0xE9; right quote: ^" ^\xc0 ^\xd9
    assert b'^"' in value and b"\x03" in value
    doc = old_writer("Jobs", job("1.pbs", '"Job_Name":"@@",', '"job_state":"R"', end="")).encode().replace(b"@@", value)
    h, r, rep = read(doc)
    assert r["1.pbs"]["Job_Name"] == u'caf^\x03^\ufffd it^"^\ufffd^\ufffds'
    assert r["1.pbs"]["job_state"] == "R"
    assert repairs(rep) == {"invalid_utf8": 3, "raw_quote": 1, "control_char": 1}


def test_invalid_utf8_in_otherwise_valid_json_is_replaced_and_counted():
    h, r, rep = read(b'{"Jobs":{"1.pbs":{"Job_Name":"a\xff\xfeb"}}}')
    assert r["1.pbs"]["Job_Name"] == u"a\ufffd\ufffdb"
    assert repairs(rep) == {"invalid_utf8": 2}


def test_str_input_with_surrogate_escapes_is_cleaned():
    h, r, rep = load_pbs_json(b'{"Jobs":{"1.pbs":{"Job_Name":"a\xffb"}}}'.decode("utf-8", "surrogateescape"), "Jobs")
    assert r["1.pbs"]["Job_Name"] == u"a\ufffdb"
    assert repairs(rep) == {"invalid_utf8": 1}


# ---------------------------------------------------------------- 11: duplicate keys

def test_q11_duplicate_keys_keep_last_and_are_counted():
    doc = old_writer("Queue", '''
        "workq":{
            "queue_type":"Execution",
            "max_queued":"[o:PBS_ALL=10]",
            "max_queued":"[u:PBS_GENERIC=2]",
            "max_queued":"[u:tom=15]",
            "enabled":"True"
        }''')
    h, r, rep = read(doc, "Queue")
    assert r["workq"] == {"queue_type": "Execution", "max_queued": "[u:tom=15]", "enabled": "True"}
    assert list(r["workq"]) == ["queue_type", "max_queued", "enabled"]
    assert repairs(rep) == {"duplicate_key": 2}


def test_repeated_container_is_merged_not_replaced():
    doc = '{\n    "pbs_server":"pbs",\n    "Jobs":{\n        "1.pbs":{\n            "job_state":"R"\n        }\n    },\n' \
          '    "Jobs":{\n        "2.pbs":{\n            "job_state":"Q"\n        }\n    }\n}\n'
    h, r, rep = read(doc)
    assert list(r) == ["1.pbs", "2.pbs"]
    assert repairs(rep) == {"duplicate_key": 1}


# ---------------------------------------------------------------- 12: unbalanced braces

def test_q12_missing_closing_brace():
    doc = old_writer("Jobs", '''
        "1.pbs":{
            "job_state":"R",
            "Resource_List":{
                "ncpus":4
        },
        "2.pbs":{
            "job_state":"Q",
            "Resource_List":{
                "ncpus":8
            }
        }''')
    h, r, rep = read(doc)
    assert r == {"1.pbs": {"job_state": "R", "Resource_List": {"ncpus": 4}},
                 "2.pbs": {"job_state": "Q", "Resource_List": {"ncpus": 8}}}
    assert repairs(rep) == {"unbalanced": 1}
    assert rep["examples"] == ["line 10: missing '}' supplied for 'Resource_List'"]


def test_q12_extra_closing_brace():
    doc = old_writer("Jobs", '''
        "1.pbs":{
            "job_state":"R",
            "Resource_List":{
                "ncpus":4
            }
            }
        },
        "2.pbs":{
            "job_state":"Q"
        }''')
    h, r, rep = read(doc)
    assert r == {"1.pbs": {"job_state": "R", "Resource_List": {"ncpus": 4}}, "2.pbs": {"job_state": "Q"}}
    assert repairs(rep) == {"unbalanced": 1}
    assert rep["examples"] == ["line 11: extra closing bracket dropped (record '1.pbs')"]


def test_q12_misnested_but_valid_json_is_not_detected():
    """Known limit: a missing '}' balanced by an extra one later is valid JSON, so the strict path reads it as
    PBS nested it (job 2 inside job 1). No evidence that PBS ever wrote this; pinned here so a change is seen."""
    doc = old_writer("Jobs", '''
        "1.pbs":{
            "Resource_List":{
                "ncpus":4
        },
        "2.pbs":{
            "job_state":"Q"
            }
        }''')
    h, r, rep = read(doc)
    assert list(r) == ["1.pbs"] and "2.pbs" in r["1.pbs"]


def test_q12_truncated_output_closes_what_is_open():
    doc = old_writer("Jobs", job("1.pbs", '"job_state":"R"') + "\n" + '"2.pbs":{\n    "job_state":"Q"')
    doc = doc[:doc.rindex("    }\n}")]
    h, r, rep = read(doc)
    assert r == {"1.pbs": {"job_state": "R"}, "2.pbs": {"job_state": "Q"}}
    assert repairs(rep) == {"unbalanced": 3}


# ---------------------------------------------------------------- 13, 14: mixed text, missing container

def test_q13_text_table_before_json():
    text = ("VMa: \n" "Job ID  Username Queue\n" "------- -------- -----\n" "2000.VMa amehm5 workq\n"
            "{\n\t\"timestamp\":\t1749572608,\n\t\"pbs_version\":\t\"23.06.06\",\n\t\"pbs_server\":\t\"VMa\"\n}\n")
    h, r, rep = read(text)
    assert h["pbs_server"] == "VMa"
    assert rep["container_missing"] is True and r == {}
    assert repairs(rep) == {"leading_text": 1}


def test_q13_empty_line_before_json_is_not_a_repair():
    h, r, rep = read("\n\n" + old_writer("Jobs", job("1.pbs", '"job_state":"R"', end="")))
    assert list(r) == ["1.pbs"] and not any(rep["repairs"].values())


def test_q14_missing_container_when_nothing_matched():
    h, r, rep = read('{\n    "timestamp":1,\n    "pbs_version":"23.06.06",\n    "pbs_server":"pbs"\n}\n', "nodes")
    assert h == {"timestamp": 1, "pbs_version": "23.06.06", "pbs_server": "pbs"}
    assert r == {} and rep["container_missing"] is True and not any(rep["repairs"].values())


# ---------------------------------------------------------------- 16, 18, 20: pbsnodes specifics

NODES = '''
    "n1":{
        "state":"job-busy",
        "jobs":[
            "11.pbs",
            "12.pbs",
            "11.pbs"
        ],
        "resources_available":{
            "mem":"251gb",
            "ncpus":128,
            "ngpus":0
        },
        "resources_assigned":{
            "ncpus":64
        }
    },
    "n2":{
        "state":"free",
        "resources_available":{
            "mem":"251gb",
            "ncpus":128
        },
        "resources_assigned":{
        }
    },
    "bogus":{
        "Error":"Unknown node "
    },
    "n3":{
        "state":"job-busy",
        "resources_available":{
            "mem":"251gb",
            "ncpus":128,
            "ngpus":0
        },
        "resources_assigned":{
            "ncpus":128,
            "mem":"10gb"
        }
    }'''


def test_q16_q18_q20_nodes():
    h, r, rep = read(old_writer("nodes", NODES), "nodes")
    assert not any(rep["repairs"].values())
    assert r["n1"]["jobs"] == ["11.pbs", "12.pbs", "11.pbs"]          # 16: duplicates kept
    assert r["n2"]["resources_assigned"] == {}                         # 18
    out = summarize_nodes(h, r, rep)                                   # 20: Error record skipped, counted
    assert out["node_count"] == 3
    assert rep["skipped_records"] == 1
    assert rep["examples"] == ["node 'bogus' skipped: pbsnodes answered Unknown node"]
    g1, g2 = out["node_groups"]
    assert (g1["count"], g1["first_node"], g1["assigned_ncpus"], g1["assigned_mem_kb"], g1["mem_kb"]) == (
        2, "n1", 192, 10 * 1024 * 1024, 251 * 1024 * 1024)
    assert (g2["count"], g2["state"], g2["assigned_ncpus"]) == (1, ["free"], 0)


def test_q20_cjson_unknown_node_form():
    text = '{\n\t"pbs_server":\t"pbs",\n\t"nodes":\t{\n\t\t"nosuch":\t{\n\t\t\t"nosuch":\t"Unknown node "\n\t\t}\n\t}\n}\n'
    h, r, rep = read(text, "nodes")
    out = summarize_nodes(h, r, rep)
    assert out["node_count"] == 0 and out["node_groups"] == [] and rep["skipped_records"] == 1


# ---------------------------------------------------------------- 25 and the cJSON (G4) layout

def test_q25_json_text_values_old_writer_string_cjson_object():
    old = old_writer("Jobs", job("1.pbs", '"Resource_List":{', r'    "site":"{\"job.q_prio\": 100.0}"', '}', end=""))
    h, r, rep = read(old)
    assert r["1.pbs"]["Resource_List"]["site"] == '{"job.q_prio": 100.0}'
    g4 = ('{\n\t"pbs_server":\t"pbs",\n\t"Jobs":\t{\n\t\t"1.pbs":\t{\n\t\t\t"Account_Name":\t{\n'
          '\t\t\t\t"a":\t1\n\t\t\t},\n\t\t\t"Resource_List":\t{\n\t\t\t\t"site":\t{\n\t\t\t\t\t"job.q_prio":\t100\n'
          '\t\t\t\t},\n\t\t\t\t"ncpus":\t2\n\t\t\t},\n\t\t\t"job_state":\t"Q",\n\t\t\t"queue":\t"cpu"\n\t\t}\n\t}\n}\n')
    h, r, rep = read(g4)
    assert r["1.pbs"]["Resource_List"]["site"] == {"job.q_prio": 100}
    row = summarize_jobs(h, r)["rows"][0]
    assert (row["project"], row["cores_pending"]) == ('{"a":1}', 2)


def test_cjson_layout_through_the_repair_path():
    g4 = ('{\n\t"timestamp":\t1749572608,\n\t"pbs_version":\t"latest",\n\t"pbs_server":\t"VMa",\n\t"nodes":\t{\n'
          '\t\t"n1":\t{\n\t\t\t"state":\t"free",\n\t\t\t"jobs":\t["1.VMa", "2.VMa"],\n\t\t\t"resources_assigned":\t{\n'
          '\t\t\t},\n\t\t\t"flag":\ttrue,\n\t\t\t"odd":\t00\n\t\t},\n'
          '\t\t"n2":\t{\n\t\t\t"state":\t"free" oops\n\t\t},\n'
          '\t\t"n3":\t{\n\t\t\t"state":\t"down",\n\t\t\t"x":\tnull\n\t\t}\n\t}\n}\n')
    h, r, rep = read(g4, "nodes")
    assert h["pbs_version"] == "latest"
    assert r == {"n1": {"state": "free", "jobs": ["1.VMa", "2.VMa"], "resources_assigned": {}, "flag": True, "odd": "00"},
                 "n3": {"state": "down", "x": None}}
    assert repairs(rep) == {"bare_number": 1}
    assert rep["skipped_records"] == 1
    assert "record 'n2' skipped: line 15 has an unreadable value for 'state'" in rep["examples"]


# ---------------------------------------------------------------- reader guarantees

def test_record_beyond_repair_is_skipped_and_the_others_are_read():
    doc = old_writer("Jobs", "\n".join([
        job("1.pbs", '"job_state":"R",', r'"Job_Name":"ok \$x"'),
        job("2.pbs", '"job_state":"Q",', '"Job_Name":"broken" trailing', '"Resource_List":{', '    "ncpus":4', '}'),
        job("3.pbs", '"job_state":"H"', end="")]))
    h, r, rep = read(doc)
    assert list(r) == ["1.pbs", "3.pbs"]
    assert r["1.pbs"]["Job_Name"] == "ok \\$x"
    assert rep["skipped_records"] == 1
    assert repairs(rep) == {"invalid_escape": 1}
    assert "record '2.pbs' skipped: line 12 has an unreadable value for 'Job_Name'" in rep["examples"]
    assert summarize_jobs(h, r)["job_count"] == 2


def test_examples_are_capped_short_and_never_hold_values():
    secret = "TOPSECRET" * 40
    members = ['"V%d":"%s \\$ \\(",' % (i, secret) for i in range(20)] + ['"last":1']
    h, r, rep = read(old_writer("Jobs", job("1.pbs", *members, end="")))
    assert rep["repairs"]["invalid_escape"] == 20
    assert len(rep["examples"]) == 5
    assert all(len(e) <= 200 and "TOPSECRET" not in e for e in rep["examples"])


def test_long_keys_and_ids_are_shortened_in_examples():
    long_id = "9" * 300 + ".pbs"
    h, r, rep = read(old_writer("Jobs", job(long_id, '"%s":\\q' % ("K" * 300), end="")))
    assert rep["skipped_records"] == 1
    assert len(rep["examples"][0]) <= 200


def test_text_after_the_json_object_is_ignored_and_counted():
    h, r, rep = read(old_writer("Jobs", job("1.pbs", '"job_state":"R"', end="")) + "qstat: Unknown Job Id 9.pbs\n")
    assert list(r) == ["1.pbs"] and repairs(rep) == {"junk_line": 1}


@pytest.mark.parametrize("text", ["", "   \n", "qstat: cannot connect to server pbs (errno=111)\n"])
def test_no_json_at_all_raises_a_value_error(text):
    with pytest.raises(PBSJSONError) as exc:
        read(text)
    assert isinstance(exc.value, ValueError)
    assert "no JSON object" in str(exc.value)


def test_compact_invalid_json_cannot_be_line_repaired():
    with pytest.raises(ValueError, match="one-member-per-line"):
        read('{"Jobs":{"1.pbs":{"Job_Name":00}}}')


def test_valid_document_takes_the_strict_path_unchanged():
    import json
    doc = old_writer("Jobs", "\n".join(job("%d.pbs" % i, '"job_state":"R",', '"n":%d' % i, end="," if i < 49 else "")
                                       for i in range(50)))
    h, r, rep = read(doc)
    assert (h, r) == (lambda d: ({k: v for k, v in d.items() if k != "Jobs"}, d["Jobs"]))(json.loads(doc))
    assert not any(rep["repairs"].values()) and rep["examples"] == []


def test_compact_valid_json_followed_by_a_message_keeps_the_strict_result():
    h, r, rep = read('{"pbs_server":"pbs","Jobs":{"1.pbs":{"Job_Name":"a","n":NaN}}}\nqstat: Unknown Job Id 9.pbs\n')
    assert r == {"1.pbs": {"Job_Name": "a", "n": "NaN"}}
    assert repairs(rep) == {"junk_line": 1, "bare_number": 1}
