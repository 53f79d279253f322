"""The detection evaluation's ground truth and scoring (benchmarks/groundtruth.py): manifest
parsing, expected techniques, Lemay per-packet scoring, QUT attack windows. Synthetic input,
results worked out by hand."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from otshield.detect.alert import AssetRef, make_alert
from otshield.detect.attack import load_attack_table
from otshield.events import AnomalyEvent
from support import MANIFEST

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import evaluate_detection as ev  # noqa: E402
import groundtruth as gt  # noqa: E402

A = gt.canonical_key("10.0.0.1", 1000, "10.0.0.2", 502, 6)
B = gt.canonical_key("10.0.0.3", 2000, "10.0.0.2", 502, 6)

MANIFEST_TEXT = """\
# title

| source repo | snapshot commit | files | license |
|---|---|---:|---|
| https://github.com/x/y | abc | 3 | MIT |

## Files

| path | protocol | label | packets | bytes | main protocols (tshark io,phs) | source repo \
| commit | original path | sha256 | license | notes |
|---|---|---|---:|---:|---|---|---|---|---|---|---|
| `x/LICENSE` | - | text | - | 10 | - | x/y | abc | `LICENSE` | 00 | MIT | licence text |
| `s7/stop.pcap` | S7comm | suspicious | 4 | 400 | s7comm | x/y | abc | `stop.pcap` | 11 | MIT \
| STEP7 PLC STOP. Identical copy also in: z/download.pcap |
| `dnp3/log.log` | DNP3 | labels | - | 99 | - | x/y | abc | `a.log` | 22 | MIT | windows |
| `mb/poll.pcap` | Modbus/TCP | normal | 120 | 9000 | mbtcp | x/y | abc | `p.pcap` | 33 | MIT \
| Modbus polling |

## Too big

| dataset | where | layout | size | why not staged |
|---|---|---|---|---|
| `not/a.pcap` | here | - | 5 | 5 |
""".replace("\\\n", "")


def entry(notes: str, path: str = "dir/capture.pcap", label: str = "attack") -> gt.ManifestEntry:
    return gt.ManifestEntry(path=path, protocol="x", label=label, packets=10, notes=notes)


# -- manifest and expected techniques --------------------------------------------------------
def test_parse_manifest_reads_only_the_files_table_captures() -> None:
    assert gt.parse_manifest(MANIFEST_TEXT) == [
        gt.ManifestEntry(path="s7/stop.pcap", protocol="S7comm", label="suspicious", packets=4,
                         notes="STEP7 PLC STOP. Identical copy also in: z/download.pcap"),
        gt.ManifestEntry(path="mb/poll.pcap", protocol="Modbus/TCP", label="normal",
                         packets=120, notes="Modbus polling"),
    ]


def test_expected_from_notes_ignores_the_paths_of_copies() -> None:
    techs, behaviours = gt.expected_techniques(
        entry("STEP7 PLC STOP. Identical copy also in: z/download.pcap"))
    assert techs == {"T0858", "T0881", "T0816"}
    assert len(behaviours) == 1


def test_file_name_is_read_only_when_the_notes_say_nothing() -> None:
    generic = "DNP3 function-specific capture recorded for firewall parser tests"
    assert gt.expected_techniques(entry(generic, "d/warm_restart_and_response.pcap"))[0] == {
        "T0816"}
    # the notes describe the attack; "with_operate" in the name is the testbed's background
    techs, _ = gt.expected_techniques(entry(
        "command-and-control: uploading an executable to a compromised host (SMB) amid Modbus "
        "polling; per-packet labels in CnC_uploading_exe_modbus_6RTU_with_operate_labeled.csv",
        "lemay/CnC_uploading_exe_modbus_6RTU_with_operate.pcap"))
    assert techs == {"T0867", "T0869", "T0885", "T0886", "T0866"}


def test_camel_case_and_word_boundaries() -> None:
    assert gt.expected_techniques(entry("MMS initiateDownloadSequence"))[0] == {
        "T0843", "T0845", "T0889", "T0853", "T0873"}
    # "restart" is not "start"; "time windows" is not a time set
    assert gt.expected_techniques(entry("cold restart; labels = attack time windows"))[0] == {
        "T0816"}


def test_file_write_is_a_write_and_a_transfer() -> None:
    assert gt.expected_techniques(entry("DNP3 file write"))[0] == {
        "T0855", "T0836", "T0831", "T0806", "T0843", "T0867"}


def test_no_behaviour_gives_an_empty_set() -> None:
    assert gt.expected_techniques(entry("Modbus polling", "m/capture.pcap")) == (frozenset(), ())


def test_every_table_technique_exists_in_attack_for_ics() -> None:
    table = load_attack_table()
    used = {t for _name, _pattern, techs in gt.BEHAVIOUR_TECHNIQUES for t in techs}
    assert sorted(t for t in used if table.get(t) is None) == []


@pytest.mark.corpus
def test_every_labelled_corpus_capture_has_expected_techniques() -> None:
    if not MANIFEST.exists():
        pytest.skip("third-party corpus (../shared) not present")
    entries = gt.parse_manifest(MANIFEST.read_text(encoding="utf-8"))
    scored = [e for e in entries if e.label in ("attack", "suspicious")]
    assert len(scored) >= 60
    assert [e.path for e in scored if not gt.expected_techniques(e)[0]] == []


# -- alert occurrences ---------------------------------------------------------------------
def test_occurrence_collects_every_named_address() -> None:
    event = AnomalyEvent(ts=5.0, frame=7, flow_id=3, src_ip="10.0.0.1", dst_ip="10.0.0.2",
                         code="arp.spoof")
    alert = make_alert(event, rule_id="r1", title="t", severity="high", techniques=("T0830",),
                       destination=AssetRef(ip="10.0.0.9"))
    occ = ev.occurrence(alert)
    assert (occ.ts, occ.frame, occ.flow_id, occ.rule_id, occ.severity) == (
        5.0, 7, 3, "r1", "high")
    assert occ.techniques == ("T0830",)
    assert occ.frames == (7,)
    assert occ.hosts == {"10.0.0.1", "10.0.0.2", "10.0.0.9"}


def test_fitting_keeps_rules_with_expected_techniques() -> None:
    occs = [gt.Occurrence(ts=1, frame=1, rule_id="a", severity="low", techniques=("T0816",)),
            gt.Occurrence(ts=2, frame=2, rule_id="b", severity="high", techniques=("T0846",)),
            gt.Occurrence(ts=3, frame=3, rule_id="a", severity="low",
                          techniques=("T0816", "T0858"))]
    assert gt.fitting(occs, frozenset({"T0816", "T0858"})) == {"a": {"T0816", "T0858"}}
    assert gt.fitting(occs, frozenset()) == {}


# -- Lemay per-packet scoring --------------------------------------------------------------
def test_parse_lemay_labels_crlf_and_errors() -> None:
    assert gt.parse_lemay_labels("1;0\r\n2;1\r\n3;1\r\n") == {1: False, 2: True, 3: True}
    with pytest.raises(ValueError, match=r"lab\.csv:2: "):
        gt.parse_lemay_labels("1;0\n2;x\n", "lab.csv")
    with pytest.raises(ValueError, match=r"lab\.csv:1: "):
        gt.parse_lemay_labels("1;\n", "lab.csv")


def test_canonical_key_is_direction_free() -> None:
    assert gt.canonical_key("10.0.0.2", 502, "10.0.0.1", 1000, 6) == A
    assert A == ("10.0.0.1", 1000, "10.0.0.2", 502, 6)


PACKETS = [
    gt.PacketKey(frame=1, ts=1.0, key=A),
    gt.PacketKey(frame=2, ts=2.0, key=A),
    gt.PacketKey(frame=3, ts=3.0, key=B),
    gt.PacketKey(frame=4, ts=4.0, key=None),  # ARP
    gt.PacketKey(frame=5, ts=10.0, key=A),  # the same 5-tuple, a later connection
    gt.PacketKey(frame=6, ts=11.0, key=B),
]
FLOWS = [gt.FlowSpan(flow_id=1, key=A, start=1.0, end=2.0),
         gt.FlowSpan(flow_id=2, key=B, start=3.0, end=11.0),
         gt.FlowSpan(flow_id=3, key=A, start=10.0, end=10.0)]
OCCS = [gt.Occurrence(ts=2.0, frame=2, rule_id="w", severity="high", flow_id=1, frames=(2,)),
        gt.Occurrence(ts=4.0, frame=4, rule_id="arp", severity="medium", frames=(4,))]
LABELS = {1: True, 2: True, 3: False, 4: False, 5: True, 6: False}


def test_flagged_frames_by_flow_and_by_frame() -> None:
    by_flow, by_frame = gt.flagged_frames(PACKETS, FLOWS, OCCS)
    assert by_flow == {1, 2, 4}
    assert by_frame == {2, 4}


def test_score_packets_exact() -> None:
    by_flow, by_frame = gt.flagged_frames(PACKETS, FLOWS, OCCS)
    s = gt.score_packets(LABELS, by_flow)
    assert (s.tp, s.fp, s.fn, s.tn) == (2, 1, 1, 2)
    assert s.precision == pytest.approx(2 / 3)
    assert s.recall == pytest.approx(2 / 3)
    s = gt.score_packets(LABELS, by_frame)
    assert (s.tp, s.fp, s.fn, s.tn) == (1, 1, 2, 2)
    assert s.precision == 0.5
    assert s.recall == pytest.approx(1 / 3)
    empty = gt.score_packets(LABELS, set())
    assert (empty.precision, empty.recall) == (None, 0.0)
    assert gt.score_packets({1: False}, {1}).recall is None


# -- QUT attack windows --------------------------------------------------------------------
LOG = """\
2016-08-15 10:24:17.065063 nmap START
2016-08-15 10:24:20.143525 nmap END
2016-08-15 10:40:20.5 injection_WarmRestart 192.168.10.222 192.168.10.221 START
2016-08-15 10:41:39.5 injection_WarmRestart 192.168.10.222 192.168.10.221 END
2016-08-15 11:00:00 reconnaissance 192.168.10.222 START
"""


def test_parse_qut_log_local_time_pairs_and_open_windows() -> None:
    windows = gt.parse_qut_log(LOG)
    # 2016-08-15 00:24:17 UTC is epoch 1471220657 (the capture's first packet, 2016-08-14
    # 23:55:21 UTC, is 1471218921: 1736 s earlier)
    assert (windows[0].name, windows[0].hosts, windows[0].closed) == ("nmap", (), True)
    assert windows[0].start == pytest.approx(1471220657.065063)
    assert windows[0].end == pytest.approx(1471220660.143525)
    assert windows[1].name == "injection_WarmRestart"
    assert windows[1].hosts == ("192.168.10.222", "192.168.10.221")
    assert windows[1].start == pytest.approx(1471220657 + 963.5)
    assert windows[1].end - windows[1].start == pytest.approx(79.0)
    assert windows[2].closed is False
    assert windows[2].end == windows[2].start == 1471220657 + 2143
    assert gt.parse_qut_log("", 10.0) == []


def test_parse_qut_log_errors_name_the_line() -> None:
    with pytest.raises(ValueError, match=r"a\.log:2: "):
        gt.parse_qut_log("2016-08-15 10:24:17 nmap START\nnot a line\n", origin="a.log")
    with pytest.raises(ValueError, match=r"a\.log:1: END of nmap without a START"):
        gt.parse_qut_log("2016-08-15 10:24:17 nmap END\n", origin="a.log")


WINDOWS = [gt.AttackWindow(name="nmap", start=100.0, end=110.0),
           gt.AttackWindow(name="injection_ColdRestart", start=200.0, end=260.0,
                           hosts=("10.0.0.2",)),
           gt.AttackWindow(name="injection_ColdRestart", start=400.0, end=410.0,
                           hosts=("10.0.0.9",))]
WOCCS = [gt.Occurrence(ts=105.0, frame=1, rule_id="scan", severity="medium",
                       techniques=("T0846",), hosts=frozenset({"1.1.1.1"})),
         gt.Occurrence(ts=180.0, frame=2, rule_id="x", severity="low", hosts=frozenset()),
         gt.Occurrence(ts=230.0, frame=3, rule_id="y", severity="low",
                       hosts=frozenset({"10.0.0.5"})),
         gt.Occurrence(ts=300.0, frame=4, rule_id="restart", severity="high",
                       techniques=("T0816",), hosts=frozenset({"10.0.0.2", "10.0.0.66"})),
         gt.Occurrence(ts=471.0, frame=5, rule_id="restart", severity="high",
                       techniques=("T0816",), hosts=frozenset({"10.0.0.9"}))]


def test_score_windows_hosts_grace_and_ttd() -> None:
    r = gt.score_windows(WINDOWS, list(reversed(WOCCS)), grace=60.0)
    assert [x.detected for x in r] == [True, True, False]
    assert (r[0].ttd, r[0].rules, r[0].techniques) == (5.0, ("scan",), ("T0846",))
    assert (r[1].ttd, r[1].rules, r[1].occurrences) == (100.0, ("restart",), 1)
    assert r[2].ttd is None
    short = gt.score_windows(WINDOWS, WOCCS, grace=30.0)
    assert [x.detected for x in short] == [True, False, False]


def test_attack_types_and_per_type_scores() -> None:
    assert gt.attack_type("master_flooding_2") == "master_flooding"
    assert gt.attack_type("injection_push") == "injection_push"
    assert gt.attack_type("nmap") == "nmap"
    w = gt.AttackWindow(name="a_1", start=0.0, end=1.0)
    results = [gt.WindowResult(window=w, detected=True, techniques=("T1",), ttd=4.0),
               gt.WindowResult(window=w, detected=True, techniques=("T2",), ttd=10.0),
               gt.WindowResult(window=w, detected=False),
               gt.WindowResult(window=gt.AttackWindow(name="b", start=0.0, end=1.0),
                               detected=False)]
    assert gt.score_types(results) == [
        gt.TypeResult(name="a", windows=3, detected=2, median_ttd=7.0, techniques=("T1", "T2")),
        gt.TypeResult(name="b", windows=1, detected=0, median_ttd=None, techniques=())]


def test_outside_windows_uses_the_grace() -> None:
    out = gt.outside_windows(WINDOWS, WOCCS, grace=60.0)
    assert [o.ts for o in out] == [180.0, 471.0]
    assert [o.ts for o in gt.outside_windows(WINDOWS, WOCCS, grace=0.0)] == [180.0, 300.0,
                                                                             471.0]
    assert gt.outside_windows([], WOCCS[:1]) == WOCCS[:1]


def test_score_capture_hit_medium_counts_and_errors() -> None:
    e = entry("DNP3 warm restart", "d/warm.pcap", label="suspicious")
    run = ev.CaptureRun(rel=e.path, label=e.label, occurrences=[
        gt.Occurrence(ts=1.0, frame=1, rule_id="restart", severity="low", techniques=("T0816",)),
        gt.Occurrence(ts=2.0, frame=2, rule_id="talker", severity="medium",
                      techniques=("T0848",)),
        gt.Occurrence(ts=3.0, frame=3, rule_id="talker", severity="medium",
                      techniques=("T0848",))],
        merged=[ev.Merged(rule_id="talker", severity="medium", key="k1", count=2,
                          techniques=("T0848",)),
                ev.Merged(rule_id="restart", severity="low", key="k2", count=1,
                          techniques=("T0816",))])
    s = ev.score_capture(e, run)
    assert s.hit is True
    assert s.expected == ["T0816"]
    assert s.fitting == {"restart": ["T0816"]}
    assert s.fired == {"restart": ["T0816"], "talker": ["T0848"]}
    assert (s.medium_merged, s.medium_raw, s.alerts_merged) == (1, 2, 2)
    assert s.medium_by_rule == {"talker": 1}
    run.error = "RuleLoadError: x"
    assert ev.score_capture(e, run).hit is False
