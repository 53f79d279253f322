"""The IT / network rule pack on the real captures of ../shared/data/pcaps.

For every attack capture whose attack is visible at the IT/network level (the IT attack
captures, the Lemay SMB / command-and-control / characterization runs and the nmap phase of the
QUT DNP3 runs), a medium-or-higher alert of the pack must fire whose ATT&CK tactic fits what
MANIFEST.md says the capture contains. For the normal IT captures, the pack must stay within
the noise budget of issue #5 (on average at most one medium-or-higher alert per capture).
The expectations come from the MANIFEST descriptions, not from alert counts."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

from detect.detectkit import analyse_with
from otshield.detect.alert import Alert, severity_at_least
from otshield.detect.rules import BUILTIN_DIR, RuleSet, load_rules
from support import MANIFEST, PCAPS, CorpusFile, corpus_files, corpus_params

pytestmark = pytest.mark.corpus

PACK_FILES = sorted([*BUILTIN_DIR.glob("it_*.yaml"), *BUILTIN_DIR.glob("net_*.yaml")])

# What the MANIFEST's words for an attack mean in ATT&CK for ICS tactics: a fitting alert has
# at least one of them.
TACTICS_BY_WORD: tuple[tuple[str, frozenset[str]], ...] = (
    (r"\bscan|nmap|reconnaissance|enumeration", frozenset({"discovery"})),
    (r"\bflood", frozenset({"inhibit-response-function"})),
    (r"command-and-control", frozenset({"command-and-control"})),
    (r"lateral movement", frozenset({"lateral-movement"})),
    (r"\bevasion", frozenset({"evasion"})),
    (r"spoof", frozenset({"evasion", "collection"})),
    (r"CVE-\d|exploit|\bRCE\b|Log4Shell|traversal|malformed",
     frozenset({"initial-access", "lateral-movement"})),
)

# Attack captures whose attack is only visible in the industrial protocol (the OT pack's part)
OT_ONLY = re.compile(r"covert channel")


@functools.cache
def pack() -> RuleSet:
    return load_rules(PACK_FILES, builtin=False)


@functools.cache
def descriptions() -> dict[str, str]:
    """MANIFEST's description of each labelled attack capture (``- `path` <en dash> text``)."""
    out: dict[str, str] = {}
    if not MANIFEST.exists():
        return out
    for line in MANIFEST.read_text(encoding="utf-8").splitlines():
        m = re.match(r"- `([^`]+\.pcap(?:ng)?)` \u2013 (.+)$", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def network_attacks() -> list[CorpusFile]:
    files = []
    for c in corpus_files(label="attack"):
        text = descriptions().get(str(c.path.relative_to(PCAPS)), "")
        if text and not OT_ONLY.search(text) and expected_tactics(text):
            files.append(c)
    return files


def expected_tactics(text: str) -> frozenset[str]:
    found: set[str] = set()
    for pattern, tactics in TACTICS_BY_WORD:
        if re.search(pattern, text, re.IGNORECASE):
            found |= tactics
    return frozenset(found)


def analyse(path: Path) -> list[Alert]:
    """Decode, inventory and the pack's rules in one pass, as ``analyze`` does."""
    return analyse_with(pack(), path)


@pytest.mark.parametrize("capture", corpus_params(network_attacks()))
def test_attack_capture_raises_a_fitting_alert(capture: CorpusFile) -> None:
    text = descriptions()[str(capture.path.relative_to(PCAPS))]
    wanted = expected_tactics(text)
    alerts = [a for a in analyse(capture.path) if severity_at_least(a.severity, "medium")]
    fitting = [a for a in alerts if wanted & set(a.tactics)]
    assert fitting, (f"{capture.path.name} ({text}): no medium+ alert with a tactic in "
                     f"{sorted(wanted)}; got {[(a.rule_id, a.tactics) for a in alerts]}")


def test_every_it_attack_capture_is_covered() -> None:
    it_attacks = corpus_files(protocol="IT (attack)", label="attack")
    if not it_attacks:
        pytest.skip(f"third-party corpus not found at {PCAPS}")
    covered = {c.path for c in network_attacks()}
    assert [c.path.name for c in it_attacks if c.path not in covered] == []


def test_normal_it_captures_stay_within_the_noise_budget() -> None:
    normal = [c for c in corpus_files(protocol="IT", label="normal")
              if c.protocol == "IT"]
    if not normal:
        pytest.skip(f"third-party corpus not found at {PCAPS}")
    per_capture = {c.path.name: sum(1 for a in analyse(c.path)
                                    if severity_at_least(a.severity, "medium"))
                   for c in normal}
    mean = sum(per_capture.values()) / len(per_capture)
    print(f"medium+ alerts per normal IT capture: {per_capture} (mean {mean:.2f})")
    assert mean <= 1.0, per_capture
    # background traffic alone (DHCP, DNS lookups, NetBIOS, SMB file access, SSH) is quiet
    for name in ("DHCP.pcap", "mdns.pcap", "smb2.pcap", "KRB5.pcap", "TFTP.pcap"):
        if name in per_capture:
            assert per_capture[name] == 0, name
