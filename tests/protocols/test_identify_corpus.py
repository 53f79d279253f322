"""The identify-depth decoders on the corpus: every capture of their protocols decodes without
internal errors and with the expected protocol on its flows; where Wireshark has a dissector
(S-Bus, CN/IP, RTPS, C12.22) the message counts and identifying fields are compared with
tshark's, agreement printed per capture; the TCP captures replayed in 1-byte and random
segments give the same records."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from otshield.protocols.rtps.parser import SUBMESSAGES
from otshield.protocols.sbus.constants import ACK_CODES, COMMANDS
from resegment import one_byte, random_sizes, resegment
from support import (
    PCAPS,
    CorpusFile,
    corpus_params,
    decode,
    of_type,
    tshark_fields,
    without_position,
)

# capture -> (protocol, (transport, port) every flow on which must be that protocol)
CAPTURES: dict[str, tuple[str, tuple[str, int]]] = {
    "iti/melsec/melsoft_UDP_clean_1.pcap": ("melsec", ("udp", 5560)),
    "iti/melsec/melsoft_variant_clean.pcap": ("melsec", ("tcp", 5001)),
    "iti/niagara-fox/fox_info.pcap": ("fox", ("tcp", 1911)),
    "icsnpp/bsap/bsap-ip_example.pcap": ("bsap", ("udp", 1234)),
    "icsnpp/bsap/bsap-serial_example.pcapng": ("bsap", ("udp", 1235)),
    "ct-samples/saia-sbus/SBus-Ethernet.pcap": ("sbus", ("udp", 5050)),
    "emreekin/lonworks/Lon.pcap": ("cnip", ("udp", 1628)),
    "ct-samples/dlms-cosem/original_data.pcapng": ("dlms", ("tcp", 4060)),
    "ct-samples/c12.22/C12.22_over_IPv4.pcap": ("c1222", ("tcp", 1153)),
    "emreekin/dds-rtps/rtps.pcap": ("rtps", ("udp", 0)),
    "icsnpp/genisys/genisys.pcap": ("genisys", ("tcp", 10001)),
}


def _files(names: list[str] | None = None) -> list[CorpusFile]:
    out = []
    for rel in names or list(CAPTURES):
        path = PCAPS / rel
        if path.is_file():
            out.append(CorpusFile(path, CAPTURES[rel][0], "", 0, ""))
    return out


def _rel(cf: CorpusFile) -> str:
    return str(cf.path.relative_to(PCAPS))


def _summaries(events: list[Any], tag: str) -> list[Any]:
    return [e for e in of_type(events, tag) if e.phase == "summary"]


@pytest.mark.corpus
@pytest.mark.parametrize("cf", corpus_params(_files()))
def test_capture_identified(cf: CorpusFile) -> None:
    proto, (transport, port) = CAPTURES[_rel(cf)]
    events = decode(cf.path)
    anomalies = of_type(events, "anomaly")
    assert not [a for a in anomalies if a.code.startswith("internal.")]
    flows = [f for f in of_type(events, "flow") if f.transport == transport
             and (port == 0 or port in (f.src_port, f.dst_port))
             and f.packets_to_server + f.packets_to_client > 0]
    if proto == "rtps":
        flows = [f for f in flows if 7400 <= f.dst_port <= 7500]
    assert flows and all(f.protocol == proto for f in flows), Counter(f.protocol for f in flows)
    firsts = [e for e in of_type(events, proto) if e.phase == "first"]
    summaries = _summaries(events, proto)
    assert len(firsts) == len(summaries) >= 1
    valid = sum(s.messages for s in summaries)
    bad = sum(s.malformed for s in summaries)
    print(f"{proto} {cf.path.name}: {len(flows)} flows, {valid} units decoded, {bad} malformed")
    assert bad == 0


def test_fox_fingerprint_from_the_capture() -> None:
    """Values read off the capture with ``tshark -qz follow,tcp,ascii,0``."""
    path = PCAPS / "iti/niagara-fox/fox_info.pcap"
    if not path.is_file():
        pytest.skip("corpus absent")
    [summary] = _summaries(decode(path), "fox")
    assert summary.client.app_name == "Workbench" and summary.client.os_name == "Windows XP"
    assert (summary.server.app_name, summary.server.app_version, summary.server.station_name,
            summary.server.os_name, summary.server.host_id) == (
        "Station", "3.5.41.1", "Legion_HQ_V4", "QNX", "Qnx-NPM6-0000-1490-C30C")
    assert [(c.name, c.count) for c in summary.message_counts] == [
        ("fox hello", 2), ("fox challenge", 1)]


# -- tshark differential -------------------------------------------------------------------------
def _agreement(name: str, ours: Counter[str], theirs: Counter[str]) -> None:
    both = sum((ours & theirs).values())
    total = max(sum(ours.values()), sum(theirs.values()))
    print(f"tshark agreement {name}: {both}/{total} ({100.0 * both / max(total, 1):.1f}%)")
    assert ours == theirs, (ours - theirs, theirs - ours)


@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("cf", corpus_params(_files(["ct-samples/saia-sbus/SBus-Ethernet.pcap"])))
def test_sbus_counts_agree_with_tshark(cf: CorpusFile) -> None:
    theirs: Counter[str] = Counter()
    for _, att, cmd, nak in tshark_fields(cf.path, ["sbus.att", "sbus.cmd", "sbus.nakcode"],
                                          "sbus"):
        if att == "0x00":
            theirs[COMMANDS.get(int(cmd, 16), f"unknown_0x{int(cmd, 16):02x}")] += 1
        elif att == "0x01":
            theirs["response"] += 1
        else:
            theirs[ACK_CODES.get(int(nak, 16) if nak else -1, "nak_unknown")] += 1
    [summary] = _summaries(decode(cf.path), "sbus")
    _agreement(cf.path.name, Counter({c.name: c.count for c in summary.message_counts}), theirs)


@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("cf", corpus_params(_files(["emreekin/lonworks/Lon.pcap"])))
def test_cnip_counts_agree_with_tshark(cf: CorpusFile) -> None:
    rows = tshark_fields(cf.path, ["cnip.type", "cnip.vendorcode"], "cnip")
    theirs = Counter("data" if t == "0x01" else t for _, t, _ in rows)
    [summary] = _summaries(decode(cf.path), "cnip")
    _agreement(cf.path.name, Counter({c.name: c.count for c in summary.message_counts}), theirs)
    assert {int(v) for _, _, v in rows} == {summary.vendor_code}


@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("cf", corpus_params(_files(["emreekin/dds-rtps/rtps.pcap"])))
def test_rtps_counts_agree_with_tshark(cf: CorpusFile) -> None:
    """Per message, the run of submessage kinds (``INFO_TS+DATA``) and the vendor id. tshark
    also dissects the ICMP port-unreachable copies of the datagrams: only UDP rows count."""
    theirs: Counter[str] = Counter()
    vendors: set[int] = set()
    for _, proto, ids, vendor in tshark_fields(cf.path, ["ip.proto", "rtps.sm.id",
                                                         "rtps.vendorId"], "rtps"):
        if proto != "17":
            continue
        kinds: list[str] = []
        for sid in ids.split(",") if ids else []:
            name = SUBMESSAGES.get(int(sid, 16), sid)
            if not kinds or kinds[-1] != name:
                kinds.append(name)
        theirs["+".join(kinds) if kinds else "ping"] += 1
        vendors.add(int(vendor.split(",")[0], 16))
    summaries = _summaries(decode(cf.path), "rtps")
    ours: Counter[str] = Counter()
    for s in summaries:
        ours.update({c.name: c.count for c in s.message_counts})
    _agreement(cf.path.name, ours, theirs)
    assert {s.vendor_id for s in summaries} == vendors


@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("cf", corpus_params(_files(["ct-samples/c12.22/C12.22_over_IPv4.pcap"])))
def test_c1222_titles_agree_with_tshark(cf: CorpusFile) -> None:
    rows = tshark_fields(cf.path, ["c1222.called_ap_title_abs", "c1222.calling_ap_title_abs",
                                   "c1222.epsem.flags.security"], "c1222")
    [first] = [e for e in of_type(decode(cf.path), "c1222") if e.phase == "first"]
    _, called, calling, security = rows[0]
    ours = Counter([first.called_ap_title, first.calling_ap_title, first.security_mode])
    modes = {"0x00": "cleartext", "0x01": "cleartext_authenticated",
             "0x02": "ciphertext_authenticated"}
    _agreement(cf.path.name, ours, Counter([called, calling, modes[security]]))


# -- re-segmented TCP captures -------------------------------------------------------------------
TCP_CAPTURES = [rel for rel, (_, (t, _)) in CAPTURES.items() if t == "tcp"]


@pytest.mark.corpus
@pytest.mark.parametrize("split", [one_byte, random_sizes(3)], ids=["1-byte", "random"])
@pytest.mark.parametrize("cf", corpus_params(_files(TCP_CAPTURES[1:])))
def test_resegmented_tcp_gives_the_same_records(cf: CorpusFile, split: Any,
                                                tmp_path: Path) -> None:
    proto = CAPTURES[_rel(cf)][0]
    out = tmp_path / "split.pcap"
    resegment(cf.path, out, split)
    base = [e for e in decode(cf.path) if e.__struct_config__.tag == proto]
    other = [e for e in decode(out) if e.__struct_config__.tag == proto]
    assert base and without_position(other) == without_position(base)
