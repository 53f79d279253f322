"""DNS, mDNS and LLMNR against tshark 4.0 on every corpus capture that carries them.

Each of our events is matched with tshark's dissection of the packet that completed it (the
response, or the query for a query-only event): transaction id, question names and types, and
the response code must agree. Every response tshark dissects on our ports must have an event.
Every capture of the corpus is also decoded without a decoder error.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import msgspec
import pytest

from otshield.events import AnomalyEvent
from support import PCAPS, CorpusFile, corpus_params, decode, tshark_fields

from .it_a_build import Agreement, corpus_with

_FIELDS = ["dns.id", "dns.flags.response", "dns.qry.name", "dns.qry.type", "dns.flags.rcode",
           "udp.srcport", "udp.dstport", "tcp.srcport", "tcp.dstport", "_ws.malformed",
           "frame.protocols"]
_PORTS = {53, 5353, 5355}
_REPLACEMENTS = re.compile("\ufffd+")
_HIGH_ESCAPE = re.compile(r"\\(12[89]|1[3-9][0-9]|2[0-4][0-9]|25[0-5])")

# Disagreements looked at one by one.
_KNOWN: dict[tuple[str, int], str] = {
    ("DNS.pcap", 326): "tshark flags a malformed EDNS Client Subnet option; EDNS option "
                       "contents are not decoded (the message itself is well formed)",
}


def _tshark_style(name: str) -> str:
    """Names with bytes that are not UTF-8: we print the RFC 1035 section 5.1 escape \\DDD
    (lossless), tshark decodes the bytes as UTF-8 with U+FFFD for what is not. Turn our escapes
    back into bytes and decode them the same way to compare. How many U+FFFD a broken sequence
    becomes differs between Python and Wireshark, so runs of them count as one."""
    raw = _HIGH_ESCAPE.sub(lambda m: chr(0xDC00 + int(m[1])), name)
    return _squeeze(raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))


def _squeeze(text: str) -> str:
    return _REPLACEMENTS.sub("\ufffd", text)


def _ours(events: list[Any]) -> tuple[dict[int, list[dict[str, Any]]], set[int]]:
    by_frame: dict[int, list[dict[str, Any]]] = defaultdict(list)
    flagged: set[int] = set()
    for e in events:
        tag = e.__struct_config__.tag
        if tag == "dns":
            by_frame[e.frame].append(msgspec.to_builtins(e))
        elif isinstance(e, AnomalyEvent) and e.code.startswith("dns."):
            flagged.add(e.frame)
    return by_frame, flagged


@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(corpus_with("dns")))
def test_dns_agrees_with_tshark(capture: CorpusFile) -> None:
    events = decode(capture.path)
    assert not [e for e in events if isinstance(e, AnomalyEvent) and e.code.startswith(
        "internal.")], "decoder error"
    by_frame, flagged = _ours(events)
    rows = tshark_fields(capture.path, _FIELDS, "dns || mdns || llmnr")
    agree = Agreement(str(capture.path.relative_to(PCAPS)))
    for row in rows:
        frame = int(row[0])
        ident, response, names, types, rcode, us, ud, ts_, td, malformed, layers = row[1:12]
        stack = layers.split(":")
        if "," in us + ud + ts_ + td or stack.count("ip") + stack.count("ipv6") > 1:
            # The DNS travels inside a tunnel (GRE, GTP, 6in4, Teredo...), which the engine
            # does not decapsulate.
            agree.explain("inside a tunnel")
            continue
        ports = {int(p) for p in (us, ud, ts_, td) if p}
        if not ports & _PORTS:
            # tshark's heuristic dissector claims DNS on other ports (docker's embedded
            # resolver on 127.0.0.11 ephemeral ports); we only claim the DNS ports.
            agree.explain("on ports we do not claim")
            continue
        mine = by_frame.get(frame, [])
        known = _KNOWN.get((capture.path.name, frame))
        if known is not None:
            agree.explain(known)
            malformed = ""
        if frame in flagged or malformed:
            # A malformed message: both sides flag it (our anomaly, tshark's expert info);
            # fields after the defect are not comparable.
            agree.check(f"frame {frame} flagged malformed", frame in flagged, True)
            continue
        if response != "1" and not mine:
            continue  # a query: it is reported with its response (compared there)
        agree.check(f"frame {frame} has an event", len(mine), 1)
        if len(mine) != 1:
            continue
        ev = mine[0]
        agree.check(f"frame {frame} id", f"0x{ev['dns.id']:04x}", ident)
        our_names = [q["name"] for q in ev.get("dns.questions", [])] or (
            [ev["dns.question.name"]] if ev.get("dns.question.name") else [])
        their_names = ["." if n == "<Root>" else n for n in names.split(",")] if names else []
        if len(our_names) <= 32:
            agree.check(f"frame {frame} names", _tshark_style(",".join(our_names)),
                        _squeeze(",".join(their_names)))
        their_types = types.split(",") if types else []
        if their_types:
            agree.check(f"frame {frame} first type", str(ev.get("dns.question.type_id")),
                        their_types[0])
        if response == "1":
            agree.check(f"frame {frame} rcode", str(ev["dns.rcode"] & 0xF), rcode)
    agree.assert_all()


@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(corpus_with("dns", max_packets=10**9)))
def test_dns_corpus_decodes_without_errors(capture: CorpusFile) -> None:
    events = decode(capture.path)
    errors = [e for e in events if isinstance(e, AnomalyEvent) and e.code.startswith(
        "internal.")]
    assert errors == []
