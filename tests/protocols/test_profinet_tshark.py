"""Differential tests against tshark on the corpus: PROFINET DCP/RT/alarms, PNIO CM, EtherCAT
and POWERLINK, compared per frame through our parsers (the events are aggregated: summaries,
transactions), field by field, with an agreement line printed per capture (``pytest -s``).

Every corpus capture of these protocols also goes through the engine without an internal error
and yields events of the protocol.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from otshield.capture import open_capture
from otshield.events import AnomalyEvent
from otshield.netstack import Packet, decode
from otshield.protocols.ethercat.parser import parse as parse_ecat
from otshield.protocols.pnio_cm.parser import parse_body, parse_header
from otshield.protocols.powerlink.parser import parse as parse_epl
from otshield.protocols.profinet_dcp.constants import SERVICE_TYPES
from otshield.protocols.profinet_dcp.parser import parse as parse_dcp
from otshield.protocols.profinet_rt.parser import classify, parse_alarm, trailer
from support import CorpusFile, corpus_files, corpus_params, of_type, tshark_fields
from support import decode as decode_events

PROFINET = corpus_files("PROFINET")
ETHERCAT = corpus_files("EtherCAT")
POWERLINK = corpus_files("POWERLINK")


def _frames(path: Path) -> Iterator[tuple[int, Packet]]:
    with open_capture(path) as reader:
        for n, (_ts, lt, data) in enumerate(reader, 1):
            p = Packet()
            decode(lt, data, p)
            yield n, p


class Agreement:
    def __init__(self) -> None:
        self.checked = 0
        self.bad: list[str] = []

    def check(self, frame: int, field: str, ours: object, theirs: object) -> None:
        self.checked += 1
        if ours != theirs:
            self.bad.append(f"frame {frame} {field}: ours {ours!r} tshark {theirs!r}")

    def report(self, name: str) -> None:
        ok = self.checked - len(self.bad)
        pct = 100.0 * ok / self.checked if self.checked else 100.0
        print(f"{name}: {ok}/{self.checked} field values agree ({pct:.1f}%)")
        assert not self.bad, self.bad[:10]


def _int(s: str) -> int:
    return int(s, 0)


def _first(s: str) -> str:
    return s.split(",")[0]


def _rows(path: Path, fields: list[str], flt: str) -> dict[int, list[str]]:
    return {int(r[0]): r[1:] + [""] * (len(fields) + 1 - len(r)) for r in
            tshark_fields(path, fields, flt)}


@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(PROFINET))
def test_profinet_rt_and_dcp_agree_with_tshark(capture: CorpusFile) -> None:
    fields = ["pn_rt.frame_id", "pn_rt.cycle_counter", "pn_rt.ds", "pn_rt.transfer_status",
              "pn_dcp.service_id", "pn_dcp.service_type", "pn_dcp.xid",
              "pn_dcp.suboption_device_nameofstation", "pn_dcp.suboption_ip_ip",
              "pn_io.error_code", "pn_io.error_decode", "pn_io.error_code1", "pn_io.error_code2",
              "pn_io.alarm_type"]
    rows = _rows(capture.path, fields, "pn_rt")
    agree = Agreement()
    for n, p in _frames(capture.path):
        if p.ethertype != 0x8892:
            continue
        row = rows.pop(n, None)
        assert row is not None, f"tshark does not see PROFINET RT in frame {n}"
        fid, cc, ds, tstat, sid, stype, xid, name, ip, ec, ed, ec1, ec2, atype = row
        pl = p.l2_payload
        ours_fid = pl[0] << 8 | pl[1]
        agree.check(n, "frame_id", ours_fid, _int(fid))
        fclass, cyclic = classify(ours_fid)
        if cyclic and cc:
            c, d, t = trailer(pl)
            agree.check(n, "cycle_counter", c, _int(cc))
            agree.check(n, "data_status", d, _int(ds))
            agree.check(n, "transfer_status", t, _int(tstat))
        elif fclass == "dcp":
            d_ = parse_dcp(pl[2:])
            agree.check(n, "service_id", d_.service_id, _int(sid))
            agree.check(n, "service_type", d_.service_type, SERVICE_TYPES.get(_int(stype)))
            agree.check(n, "xid", d_.xid, _int(xid))
            agree.check(n, "name_of_station", d_.station_name, name or None)
            agree.check(n, "ip", d_.ip, ip or None)
        elif fclass in ("alarm_high", "alarm_low"):
            a = parse_alarm(pl)
            if ec:  # ERR PDU or AlarmAck: PNIOStatus bytes
                status = bytes(_int(x) for x in (ec, ed, ec1, ec2)).hex()
                agree.check(n, "pnio_status", (a.pnio_status or "")[2:10], status)
            if atype:
                agree.check(n, "alarm_type_present", a.alarm_type is not None, True)
    assert not rows, f"frames tshark sees as PROFINET RT but we do not: {sorted(rows)[:5]}"
    agree.report(capture.path.name)


@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(PROFINET))
def test_pnio_cm_agrees_with_tshark(capture: CorpusFile) -> None:
    fields = ["dcerpc.pkt_type", "dcerpc.opnum", "dcerpc.dg_seqnum", "dcerpc.dg_act_id",
              "dcerpc.dg_if_id", "pn_io.index", "pn_io.ar_uuid", "dcerpc.fragment"]
    rows = _rows(capture.path, fields, "dcerpc && udp")
    agree = Agreement()
    for n, p in _frames(capture.path):
        row = rows.pop(n, None)
        if row is None:
            continue
        ptype, opnum, seq, act, iface, index, ar_uuid, _frag = row
        h, body = parse_header(p.payload)
        agree.check(n, "ptype", h.ptype, _int(ptype))
        if opnum:
            agree.check(n, "opnum", h.opnum, _int(opnum))
        agree.check(n, "seq", h.seq, _int(seq))
        agree.check(n, "activity", h.activity, act)
        agree.check(n, "interface", h.interface, iface)
        if h.interface_name in (None, "epmap") or h.ptype not in (0, 2):
            continue
        if h.fragment:
            # tshark decodes the PNIO arguments of a fragmented call once reassembled (in the
            # last fragment's row); our session reassembles too (test_pnio_cm covers it), a
            # single fragment has no complete arguments to compare.
            continue
        b = parse_body(body, h.little, h.ptype == 2)
        if index:
            agree.check(n, "index", b.index, _int(_first(index)))
        if ar_uuid and b.ar_uuid is not None:
            agree.check(n, "ar_uuid", b.ar_uuid, _first(ar_uuid))
    agree.report(capture.path.name)


@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(ETHERCAT))
def test_ethercat_agrees_with_tshark(capture: CorpusFile) -> None:
    fields = ["ecat.cmd", "ecat.idx", "ecat.cnt", "ecat.adp", "ecat.ado", "ecat.lad"]
    rows = _rows(capture.path, fields, "ecat")
    agree = Agreement()
    for n, p in _frames(capture.path):
        if p.ethertype != 0x88A4:
            continue
        cmd, idx, cnt, adp, ado, lad = rows.pop(n)
        _t, dgs = parse_ecat(p.l2_payload)
        agree.check(n, "cmd", [d[0] for d in dgs], [_int(x) for x in cmd.split(",")])
        agree.check(n, "idx", [d[1] for d in dgs], [_int(x) for x in idx.split(",")])
        agree.check(n, "wkc", [d[5] for d in dgs], [_int(x) for x in cnt.split(",")])
        physical = [d for d in dgs if d[0] not in (10, 11, 12)]
        logical = [d for d in dgs if d[0] in (10, 11, 12)]
        if adp:
            agree.check(n, "adp/ado", [(d[2], d[3]) for d in physical],
                        list(zip([_int(x) for x in adp.split(",")],
                                 [_int(x) for x in ado.split(",")], strict=True)))
        if lad:
            agree.check(n, "logical", [d[3] << 16 | d[2] for d in logical],
                        [_int(x) for x in lad.split(",")])
    assert not rows
    agree.report(capture.path.name)


@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(POWERLINK))
def test_powerlink_agrees_with_tshark(capture: CorpusFile) -> None:
    fields = ["epl.mtyp", "epl.src", "epl.dest", "epl.asnd.svid", "epl.soa.svid",
              "epl.asnd.nmtcommand.cid", "epl.asnd.ires.vendorid", "epl.asnd.ires.productcode",
              "epl.asnd.ires.devicetype"]
    rows = _rows(capture.path, fields, "epl")
    agree = Agreement()
    for n, p in _frames(capture.path):
        if p.ethertype != 0x88AB:
            continue
        mtyp, src, dst, asvid, soasvid, cid, vendor, product, dtype = rows.pop(n)
        m = parse_epl(p.l2_payload)
        agree.check(n, "mtyp", m.mtype, _int(mtyp))
        agree.check(n, "src", m.src, _int(src))
        agree.check(n, "dst", m.dst, _int(dst))
        if asvid or soasvid:
            agree.check(n, "service", m.service, _int(asvid or soasvid))
        if cid:
            agree.check(n, "nmt_command", m.nmt_command, _int(cid))
        if vendor:
            assert m.ident is not None
            agree.check(n, "vendor_id", m.ident.vendor_id, _int(vendor))
            agree.check(n, "product_code", m.ident.product_code, _int(product))
            agree.check(n, "device_profile", m.ident.device_type & 0xFFFF, _int(dtype))
    assert not rows
    agree.report(capture.path.name)


_DATASETS: dict[str, tuple[str, ...]] = {
    "PROFINET": ("profinet_dcp", "profinet_rt", "pnio_cm"),
    "EtherCAT": ("ethercat",),
    "POWERLINK": ("powerlink",),
}


@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(PROFINET + ETHERCAT + POWERLINK))
def test_corpus_capture_decodes(capture: CorpusFile) -> None:
    events = decode_events(capture.path)
    bugs = [e for e in events if isinstance(e, AnomalyEvent) and e.code.startswith("internal.")]
    assert not bugs, bugs[:3]
    group = next(k for k in _DATASETS if k.lower() in capture.protocol.lower())
    found = {d: len(of_type(events, d)) for d in _DATASETS[group]}
    print(f"{capture.path.name}: {found}")
    assert any(found.values())

