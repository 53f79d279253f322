"""TLS against tshark 4.0: on every corpus capture with TLS, and on handshakes written here (the
corpus holds a single plaintext handshake outside tunnels).

Our event is per connection, tshark's fields per packet, so hellos are matched by connection
(client and server address and port): SNI, ClientHello version, offered cipher suites and JA3 of
the ClientHello; chosen cipher, negotiated version and JA3S of the ServerHello.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import msgspec
import pytest

from otshield.events import AnomalyEvent
from otshield.protocols.tls.constants import GREASE, cipher_name, version_text
from support import PCAPS, CorpusFile, corpus_params, decode, require_tshark, tshark_fields

from .it_a_build import (
    Agreement,
    client_hello,
    corpus_with,
    ext_alpn,
    ext_sni,
    ext_u16s,
    server_hello,
    tls_record,
    write_tcp,
)
from .test_tls_golden import _conversation

_FIELDS = ["tls.handshake.type", "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst",
           "tcp.dstport", "tls.handshake.extensions_server_name", "tls.handshake.version",
           "tls.handshake.ciphersuite", "tls.handshake.ja3", "tls.handshake.ja3s",
           "tls.handshake.extensions.supported_version", "frame.protocols"]


def compare(path: Path, agree: Agreement) -> None:
    events = decode(path)
    assert not [e for e in events if isinstance(e, AnomalyEvent)
                and e.code.startswith("internal.")], "decoder error"
    ours: dict[tuple[str, int, str, int], list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        if e.__struct_config__.tag == "tls":
            ours[(e.src_ip, e.src_port, e.dst_ip, e.dst_port)].append(msgspec.to_builtins(e))
    rows = tshark_fields(path, _FIELDS, "tls.handshake.type == 1 || tls.handshake.type == 2")
    seen_ch: dict[tuple[str, int, str, int], int] = defaultdict(int)
    for row in rows:
        frame = int(row[0])
        (types, ip4s, ip6s, sport, ip4d, ip6d, dport, sni, versions, ciphers, ja3, ja3s,
         supported, layers) = row[1:15]
        stack = layers.split(":")
        if stack.count("ip") + stack.count("ipv6") > 1 or "," in sport:
            agree.explain("inside a tunnel")  # the engine does not decapsulate tunnels
            continue
        src, dst = ip4s or ip6s, ip4d or ip6d
        kinds = types.split(",")
        if "1" in kinds:
            key = (src, int(sport), dst, int(dport))
            index = seen_ch[key]
            seen_ch[key] += 1
            if index:
                agree.explain("second ClientHello (after a HelloRetryRequest)")
                continue
            mine = ours.get(key, [])
            agree.check(f"frame {frame} ClientHello has an event", len(mine), 1)
            if len(mine) != 1:
                continue
            ev = mine[0]
            agree.check(f"frame {frame} SNI", ev.get("tls.client.server_name"), sni or None)
            first_version = int(versions.split(",")[0], 16)
            agree.check(f"frame {frame} hello version", ev.get("tls.client.version"),
                        version_text(first_version)[1])
            offered = [int(c, 16) for c in ciphers.split(",") if c]
            agree.check(f"frame {frame} ciphers", ev.get("tls.client.supported_ciphers", []),
                        [cipher_name(c) for c in offered if c not in GREASE])
            agree.check(f"frame {frame} JA3", ev.get("tls.client.ja3"), ja3.split(",")[0])
        if "2" in kinds:
            key = (dst, int(dport), src, int(sport))
            mine = ours.get(key, [])
            agree.check(f"frame {frame} ServerHello has an event", len(mine), 1)
            if len(mine) != 1:
                continue
            ev = mine[0]
            position = kinds.index("2")
            chosen = int(ciphers.split(",")[-1], 16) if "1" not in kinds else None
            if chosen is not None:
                agree.check(f"frame {frame} cipher", ev.get("tls.cipher_id"), chosen)
            negotiated = int((supported or versions.split(",")[position]).split(",")[-1], 16)
            agree.check(f"frame {frame} version", ev.get("tls.version"),
                        version_text(negotiated)[1])
            agree.check(f"frame {frame} JA3S", ev.get("tls.server.ja3s"), ja3s.split(",")[-1])


@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(corpus_with("tls")))
def test_tls_corpus_agrees_with_tshark(capture: CorpusFile) -> None:
    agree = Agreement(str(capture.path.relative_to(PCAPS)))
    compare(capture.path, agree)
    agree.assert_all()


def _tls13_with_retry() -> list[tuple[bool, bytes]]:
    ch = client_hello([0x1A1A, 0x1301, 0x1303], [
        ext_sni("historian.plant"), ext_u16s(43, [0x2A2A, 0x0304, 0x0303], 1),
        ext_u16s(13, [0x0403, 0x0804]), ext_u16s(10, [0x001D, 0x0017]),
        (51, b"\x00\x00"), ext_alpn([b"h2"])], session_id=b"\x33" * 32)
    hrr = server_hello(0x1301, [(43, b"\x03\x04"), (51, b"\x00\x17")], session_id=b"\x33" * 32,
                       random=bytes.fromhex("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E07"
                                            "9E09E2C8A8339C"))
    sh = server_hello(0x1301, [(43, b"\x03\x04"), (51, b"\x00\x17\x00\x41" + b"\x04" * 65)],
                      session_id=b"\x33" * 32)
    ccs = tls_record(20, b"\x01")
    return [(True, tls_record(22, ch, 0x0301)), (False, tls_record(22, hrr) + ccs),
            (True, ccs + tls_record(22, ch)),
            (False, tls_record(22, sh) + tls_record(23, b"\x10" * 500)),
            (True, tls_record(23, b"\x20" * 60)), (False, tls_record(23, b"\x30" * 90))]


@pytest.mark.tshark
@pytest.mark.parametrize("case", ["tls12", "tls13_retry"])
def test_written_handshakes_agree_with_tshark(tmp_path: Path, case: str) -> None:
    require_tshark()
    messages = _conversation() if case == "tls12" else _tls13_with_retry()
    path = write_tcp(tmp_path / f"{case}.pcap", ("10.0.0.20", 443), messages)
    agree = Agreement(f"written {case}")
    compare(path, agree)
    agree.assert_all()
    assert agree.compared >= 9
