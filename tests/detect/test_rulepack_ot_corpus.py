"""The OT rule pack (``ot_*.yaml``) on the real captures of ../shared/data/pcaps.

For every OT capture that MANIFEST.md labels suspicious, attack or mixed, an alert of the pack
must fire whose ATT&CK technique fits what the MANIFEST says the capture contains (a stop is
T0858/T0881, a download T0843, a restart T0816, a flood T0814...). The expectation is read from
the MANIFEST's words, never from alert counts; captures without a telling word only need some
alert of the pack. Captures in which the action cannot be seen are listed with the reason.
For the normal OT captures the pack must stay within the noise budget of issue #5: on average
at most one medium-or-higher alert per capture.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

from detect.detectkit import analyse_with
from otshield.detect.alert import Alert, severity_at_least
from otshield.detect.rules import BUILTIN_DIR, RuleSet, load_rules
from support import MANIFEST, PCAPS, CorpusFile, corpus, corpus_params

pytestmark = pytest.mark.corpus

PACK_FILES = sorted(BUILTIN_DIR.glob("ot_*.yaml"))

ANY = frozenset({"*"})
"""The capture exercises many functions (IDS test sets, mixed lab captures): any alert fits."""

# MANIFEST words -> the ATT&CK for ICS techniques an alert about them carries (at least one).
TECHNIQUES_BY_WORD: tuple[tuple[str, frozenset[str]], ...] = (
    (r"\bstop\b", frozenset({"T0858", "T0881"})),
    (r"\bstart\b", frozenset({"T0858"})),
    (r"download|hardware config|copy RAM to ROM", frozenset({"T0843", "T0889"})),
    (r"control protocol change", frozenset({"T0843", "T0889", "T0858", "T0836"})),
    (r"\bupload", frozenset({"T0845"})),
    (r"firmware", frozenset({"T0857", "T0839", "T0800"})),
    (r"restart|reboot|\breset", frozenset({"T0816"})),
    (r"\bwrites?\b|set-point|Set_Attribute|FC ?(15|22|23)\b|mask write|command ASDU|"
     r"analog output|select/operate|variable table|Set IP|change-(date|time)|"
     r"port configuration", frozenset({"T0855", "T0836"})),
    (r"file delete", frozenset({"T0809"})),
    (r"file write", frozenset({"T0843", "T0857"})),
    (r"add-route", frozenset({"T0886", "T0859"})),
    (r"flash LED", frozenset({"T0855"})),
    (r"flood", frozenset({"T0814"})),
    (r"injection", frozenset({"T0855", "T0816", "T0830"})),
    (r"replay|hijack|masquerad|spoof", frozenset({"T0830", "T0848", "T0856"})),
    (r"nmap|recon|\bscan|enumeration|characteri[sz]ation", frozenset({"T0846", "T0888", "T0861"})),
    (r"covert channel", frozenset({"T0869"})),
    (r"IDS-signature test data|exercising many|mixed lab capture|function-specific capture",
     ANY),
)

# Captures whose action is not visible to the OT pack, and why.
NOT_VISIBLE: dict[str, str] = {
    "emreekin/dnp3/binaryoutSelectOp.pcap":
        "only READs of binary output status on the wire (tshark agrees): no select/operate",
    "iti/quickdraw/CL5000EIP-Software_Download_Failure.pcap":
        "the PLC never answered ARP: the capture holds no EtherNet/IP packet",
    "iti/quickdraw/CL5000EIP-Software_Upload_Failure.pcap":
        "the capture holds no EtherNet/IP packet (STP, CDP, NetBIOS only)",
    "lemay-modbus/CnC_uploading_exe_modbus_6RTU_with_operate.pcap":
        "the attack is an SMB transfer: the IT/network pack's part",
    "lemay-modbus/moving_two_files_modbus_6RTU.pcap":
        "the attack is an SMB transfer: the IT/network pack's part",
}
# Captures the pack should catch but cannot yet, and why (xfail, not strict: they pass when
# the cause is fixed).
KNOWN_GAPS: dict[str, str] = {
    "lemay-modbus/channel_4d_12s.pcap":
        "a timing covert channel in ordinary Modbus writes: needs a statistical baseline",
}


@functools.cache
def pack() -> RuleSet:
    return load_rules(PACK_FILES, builtin=False)


@functools.cache
def descriptions() -> dict[str, str]:
    """What MANIFEST.md says about each capture: the notes column of the file table, plus the
    description in the labelled-attack lists."""
    out: dict[str, str] = {}
    if not MANIFEST.exists():
        return out
    for line in MANIFEST.read_text(encoding="utf-8").splitlines():
        m = re.match(r"- `([^`]+\.pcap(?:ng)?)` \u2013 (.+)$", line)
        if m:
            out[m.group(1)] = m.group(2) + " " + out.get(m.group(1), "")
        elif line.startswith("| `"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 12:
                rel = cells[0].strip("`")
                out[rel] = out.get(rel, "") + " " + cells[11]
    return out


def relpath(capture: CorpusFile) -> str:
    return str(capture.path.relative_to(PCAPS))


def is_ot(capture: CorpusFile) -> bool:
    return not capture.protocol.startswith("IT")


def expected_techniques(text: str) -> frozenset[str]:
    found: set[str] = set()
    for pattern, techniques in TECHNIQUES_BY_WORD:
        if re.search(pattern, text, re.IGNORECASE):
            found |= techniques
    return frozenset(found) or ANY


def flagged() -> list[CorpusFile]:
    return [c for c in corpus() if is_ot(c) and c.label in ("suspicious", "attack", "mixed")
            and relpath(c) not in NOT_VISIBLE]


def flagged_params() -> list[object]:
    params = corpus_params(flagged())
    out: list[object] = []
    for p in params:
        capture = p.values[0]
        if capture is not None and relpath(capture) in KNOWN_GAPS:
            out.append(pytest.param(capture, id=relpath(capture), marks=pytest.mark.xfail(
                reason=KNOWN_GAPS[relpath(capture)], strict=False)))
        else:
            out.append(p)
    return out


@functools.cache
def analyse(path: Path) -> tuple[Alert, ...]:
    """Decode, inventory and the OT pack in one pass, as ``analyze`` does."""
    return tuple(analyse_with(pack(), path))


@pytest.mark.parametrize("capture", flagged_params())
def test_flagged_ot_capture_raises_a_fitting_alert(capture: CorpusFile) -> None:
    text = descriptions().get(relpath(capture), "")
    wanted = expected_techniques(text)
    alerts = analyse(capture.path)
    fitting = [a for a in alerts if "*" in wanted or wanted & set(a.techniques)]
    assert fitting, (f"{relpath(capture)} ({text.strip()}): no alert with a technique in "
                     f"{sorted(wanted)}; got {[(a.rule_id, a.techniques) for a in alerts]}")


def test_not_visible_list_names_real_captures() -> None:
    """The exceptions above must stay true to the corpus (a renamed file is noticed)."""
    if not MANIFEST.exists():
        pytest.skip(f"third-party corpus not found at {PCAPS}")
    known = {relpath(c): c for c in corpus()}
    for rel in [*NOT_VISIBLE, *KNOWN_GAPS]:
        assert rel in known, rel
        assert known[rel].label in ("suspicious", "attack", "mixed"), rel


def test_normal_ot_captures_stay_within_the_noise_budget() -> None:
    normal = [c for c in corpus() if is_ot(c) and c.label == "normal"]
    if not normal:
        pytest.skip(f"third-party corpus not found at {PCAPS}")
    per_capture = {relpath(c): sum(1 for a in analyse(c.path)
                                   if severity_at_least(a.severity, "medium"))
                   for c in normal}
    mean = sum(per_capture.values()) / len(per_capture)
    noisy = {k: v for k, v in per_capture.items() if v}
    print(f"medium+ alerts per normal OT capture: mean {mean:.2f} over {len(per_capture)}; "
          f"non-zero: {noisy}")
    assert mean <= 1.0, noisy
    # plain polling and reporting captures are quiet
    for rel in ("zeek/modbus/modbusSmall.pcap", "iti/modbus/ModbusTCP.pcap",
                "ct-samples/s7/Plant1_S7comm.pcap", "emreekin/enip/enip_local.pcap",
                "iti/iec61850/Sample_File_GOOSE.pcap",
                "qut-dnp3/Control_testing_frequent_attacker.pcap",
                "icsnpp/dnp3/dnp3_example.pcap", "iti/enip/EthernetIP-CIP.pcap"):
        if rel in per_capture:
            assert per_capture[rel] == 0, (rel, per_capture[rel])
