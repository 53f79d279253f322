"""Differential tests: otshield's BACnet events against tshark on every BACnet corpus capture.

Matching is by frame number. Our event's ``frame`` is the packet that completed it: the reply
of a confirmed transaction (the request for one left unanswered), the packet of an unconfirmed
request or network/BVLC message. What is compared on that frame:
- ``bvlc.function`` (BVLC function code), ``bvlc.result``, ``bvlc.reg_ttl``, the
  Forwarded-NPDU original address ``bvlc.fwd_ip``/``bvlc.fwd_port``, ``bacnet.mesgtyp``
  (network message type);
- ``bacapp.type``: the reply's PDU type, 1 for unconfirmed requests, 0 for unanswered ones;
- ``bacapp.confirmed_service`` / ``bacapp.unconfirmed_service`` (not on Reject/Abort frames,
  which carry no service choice), ``bacapp.invoke_id``;
- ``bacapp.objectType``, ``bacapp.instance_number``, ``bacapp.property_identifier`` when the
  frame carries them: unconfirmed requests, unanswered requests and ComplexACKs of
  ReadProperty (a SimpleACK or Error frame does not repeat the request's object);
- ``bacapp.vendor_identifier`` (I-Am, private transfer), ``bacapp.error_class`` /
  ``bacapp.error_code``, ``bacapp.reject_reason``, ``bacapp.abort_reason``;
- ``bacnet.dnet`` of unconfirmed requests and network messages.
tshark lists every occurrence of a field in a frame (object identifiers inside values too), so
our values must be a sub-multiset of tshark's. Names are compared through our tables, numbers
through tshark's. A field agrees on a frame when all our values are found; every field must
agree at 100% except the disagreements listed in ``EXPLAINED``.

Frames tshark decodes that carry none of our events are checked too (``reported``): they must
be confirmed requests (each one must be the ``request_frame`` of an event of ours with the same
service choice and invoke id: ``requests``), Segment-ACKs, or ComplexACK segments before the
one that completed a transaction.
"""

from __future__ import annotations

import collections
from typing import Any

import pytest

from otshield.protocols.bacnet import constants as C
from protocols.bacnet_build import decode_bacnet
from support import CorpusFile, corpus_files, corpus_params, tshark_fields

CAPTURES = corpus_files(protocol="BACnet")

FIELDS = ["bvlc.function", "bacnet.mesgtyp", "bacapp.type", "bacapp.confirmed_service",
          "bacapp.unconfirmed_service", "bacapp.invoke_id", "bacapp.objectType",
          "bacapp.instance_number", "bacapp.property_identifier", "bacapp.vendor_identifier",
          "bacapp.error_class", "bacapp.error_code", "bacapp.reject_reason",
          "bacapp.abort_reason", "bacnet.dnet", "bvlc.result", "bvlc.reg_ttl", "bvlc.fwd_ip",
          "bvlc.fwd_port"]

_REPLY_TYPES = {"simple-ack": 2, "complex-ack": 3, "error": 5, "reject": 6, "abort": 7}
_BVLC = {v: k for k, v in C.BVLC_FUNCTIONS.items()}

EXPLAINED: dict[tuple[str, int, str], str] = {
    # bacnet-stack-services.cap frame 1: the BVLL message carries an APDU with no NPDU header
    # (octet 4 is 0x10, the Unconfirmed-Request PDU type, where the NPDU version 1 must be).
    # tshark takes it for an NPDU anyway and shows a SimpleACK in what follows; we report
    # bacnet.bad_npdu and decode nothing.
    ("bacnet-stack-services.cap", 1, "reported"): "no NPDU header",
}


def _num(text: str) -> int:
    return int(text, 16) if text.startswith("0x") else int(text)


def _named(table: dict[int, str], text: str) -> str:
    code = _num(text)
    return table.get(code) or str(code)


def _reason(table: dict[int, str], text: str) -> str:
    code = _num(text)
    return f"proprietary-{code}" if code >= 64 else (table.get(code) or str(code))


_THEIRS: dict[str, Any] = {
    "bvlc.function": _num, "bacnet.mesgtyp": _num, "bacapp.type": _num,
    "bacapp.confirmed_service": _num, "bacapp.unconfirmed_service": _num,
    "bacapp.invoke_id": _num,
    "bacapp.objectType": lambda t: _named(C.OBJECT_TYPES, t),
    "bacapp.instance_number": _num,
    "bacapp.property_identifier": lambda t: _named(C.PROPERTIES, t),
    "bacapp.vendor_identifier": _num,
    "bacapp.error_class": lambda t: _named(C.ERROR_CLASSES, t),
    "bacapp.error_code": lambda t: _named(C.ERROR_CODES, t),
    "bacapp.reject_reason": lambda t: _reason(C.REJECT_REASONS, t),
    "bacapp.abort_reason": lambda t: _reason(C.ABORT_REASONS, t),
    "bacnet.dnet": _num,
    "bvlc.result": _num,
    "bvlc.reg_ttl": _num,
    "bvlc.fwd_ip": str,
    "bvlc.fwd_port": _num,
}


def _requests(events: list[Any]) -> dict[int, list[tuple[int, int]]]:
    """Frame of each confirmed request we saw -> (service choice, invoke id)."""
    out: dict[int, list[tuple[int, int]]] = collections.defaultdict(list)
    for e in events:
        if e.__struct_config__.tag == "bacnet" and e.pdu_type == "confirmed-request":
            out[e.request_frame if e.answered else e.frame].append((e.service_choice,
                                                                    e.invoke_id))
    return out


def _ours(events: list[Any]) -> dict[int, dict[str, list[Any]]]:
    out: dict[int, dict[str, list[Any]]] = collections.defaultdict(
        lambda: collections.defaultdict(list))
    for e in events:
        tag = e.__struct_config__.tag
        if tag not in ("bacnet", "bacnet_network"):
            continue
        f = out[e.frame]
        if e.bvlc_function is not None:
            f["bvlc.function"].append(_BVLC[e.bvlc_function])
        origin = e.forwarded_from if tag == "bacnet" else (
            e.address if e.bvlc_function == "Forwarded-NPDU" else None)
        if origin is not None:
            ip, port = origin.rsplit(":", 1)
            f["bvlc.fwd_ip"].append(ip)
            f["bvlc.fwd_port"].append(int(port))
        if tag == "bacnet_network":
            if e.bvlc_result_code is not None:
                f["bvlc.result"].append(e.bvlc_result_code)
            if e.ttl is not None:
                f["bvlc.reg_ttl"].append(e.ttl)
            if e.message_type is not None:
                f["bacnet.mesgtyp"].append(e.message_type)
                if e.dnet is not None:
                    f["bacnet.dnet"].append(e.dnet)
            continue
        unconfirmed = e.pdu_type == "unconfirmed-request"
        if unconfirmed:
            f["bacapp.type"].append(1)
            f["bacapp.unconfirmed_service"].append(e.service_choice)
            if e.dnet is not None:
                f["bacnet.dnet"].append(e.dnet)
        else:
            f["bacapp.type"].append(_REPLY_TYPES[e.reply] if e.answered else 0)
            if e.service_choice is not None and e.reply not in ("reject", "abort"):
                f["bacapp.confirmed_service"].append(e.service_choice)
            if e.invoke_id is not None:
                f["bacapp.invoke_id"].append(e.invoke_id)
        object_frame = unconfirmed or not e.answered or (
            e.reply == "complex-ack" and e.service == "readProperty")
        if object_frame and not e.segments_missing:
            if e.object_type is not None:
                f["bacapp.objectType"].append(e.object_type)
            if e.object_instance is not None:
                f["bacapp.instance_number"].append(e.object_instance)
            if e.property is not None:
                f["bacapp.property_identifier"].append(e.property)
        if e.vendor_id is not None and (unconfirmed or e.reply == "complex-ack"):
            f["bacapp.vendor_identifier"].append(e.vendor_id)
        if e.error_class is not None:
            f["bacapp.error_class"].append(e.error_class)
            f["bacapp.error_code"].append(e.error_code)
        if e.reject_reason is not None:
            f["bacapp.reject_reason"].append(e.reject_reason)
        if e.abort_reason is not None:
            f["bacapp.abort_reason"].append(e.abort_reason)
    return out


def _sub_multiset(ours: list[Any], theirs: list[Any]) -> bool:
    left = collections.Counter(theirs)
    for v in ours:
        if left[v] <= 0:
            return False
        left[v] -= 1
    return True


@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(CAPTURES))
def test_agrees_with_tshark(capture: CorpusFile) -> None:
    rows = tshark_fields(capture.path, FIELDS, display_filter="bvlc || bacnet")
    theirs: dict[int, dict[str, list[Any]]] = {}
    for row in rows:
        row += [""] * (len(FIELDS) + 1 - len(row))
        frame = int(row[0])
        theirs[frame] = {name: [_THEIRS[name](v) for v in cell.split(",") if v]
                         for name, cell in zip(FIELDS, row[1:], strict=True)}
    events = decode_bacnet(capture.path)
    ours = _ours(events)
    requests = _requests(events)
    name = capture.path.name
    agree: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    bad: list[str] = []
    frames = sorted(set(ours) | {f for f, v in theirs.items()
                                 if v["bacapp.type"] or v["bacnet.mesgtyp"]})
    for frame in frames:
        their = theirs.get(frame, {})
        pdus = their.get("bacapp.type", [])
        if pdus[:1] == [0]:
            # a confirmed request: reported at its reply, with request_frame pointing here
            total["requests"] += 1
            pairs = list(zip(their.get("bacapp.confirmed_service", []),
                             their.get("bacapp.invoke_id", []), strict=False))
            if _sub_multiset(requests.get(frame, []), pairs) and requests.get(frame):
                agree["requests"] += 1
            else:
                bad.append(f"frame {frame}: tshark request {pairs}, ours {requests.get(frame)}")
        if frame not in ours:
            # tshark decodes a PDU we report on another frame, or not at all
            total["reported"] += 1
            if (pdus and (pdus[0] in (0, 4) or (pdus[0] == 3
                                               and _segment_frame(frame, theirs, ours)))) \
                    or (name, frame, "reported") in EXPLAINED:
                agree["reported"] += 1  # requests complete at their reply; Segment-ACKs
            else:
                bad.append(f"frame {frame}: tshark {pdus or their.get('bacnet.mesgtyp')}, "
                           "no event of ours")
            continue
        mine = ours[frame]
        for field in FIELDS:
            values = mine.get(field, [])
            if not values:
                continue
            total[field] += 1
            if _sub_multiset(values, their.get(field, [])) or (name, frame, field) in EXPLAINED:
                agree[field] += 1
            else:
                bad.append(f"frame {frame} {field}: ours {values} tshark {their.get(field)}")
    line = ", ".join(f"{f} {agree[f]}/{total[f]}" for f in [*FIELDS, "reported", "requests"]
                     if total[f])
    print(f"{capture.path.relative_to(capture.path.parents[2])}: {line}")
    assert not bad, "\n".join(bad[:20])


def _segment_frame(frame: int, theirs: dict[int, dict[str, list[Any]]],
                   ours: dict[int, dict[str, list[Any]]]) -> bool:
    """A ComplexACK segment before the one that completed the transaction."""
    invoke = theirs[frame].get("bacapp.invoke_id") or [None]
    for later in range(frame + 1, frame + 64):
        mine = ours.get(later)
        if mine and invoke[0] in mine.get("bacapp.invoke_id", []):
            return True
    return False
