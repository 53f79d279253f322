"""TLS session: handshakes of TLS 1.2 and 1.3 (HelloRetryRequest, resumption), records and
handshake messages split any way, certificates, alerts, and every anomaly."""

from __future__ import annotations

import pytest

from otshield.config import Settings
from otshield.protocols.tls.events import TlsEvent
from otshield.protocols.tls.session import TlsSession

from .it_a_build import (
    FakeFlow,
    certificate,
    client_hello,
    der_cert,
    ext,
    ext_alpn,
    ext_point_formats,
    ext_sni,
    ext_u16s,
    handshake,
    server_hello,
    tls_record,
)

SERVER = ("10.0.0.20", 443)
LEAF = der_cert([("C", "DE"), ("O", "ACME"), ("CN", "scada.plant.example")],
                [("C", "DE"), ("CN", "ACME CA")], serial=0x1001,
                san_dns=["scada.plant.example"])
CA = der_cert([("C", "DE"), ("CN", "ACME CA")], [("C", "DE"), ("CN", "ACME CA")], serial=1)

CH12 = client_hello([0xC02F, 0xC030, 0x009C], [
    ext_sni("scada.plant.example"), ext_alpn([b"http/1.1"]),
    ext_u16s(13, [0x0401, 0x0501]), ext_u16s(10, [0x0017, 0x0018]), ext_point_formats([0])])
SH12 = server_hello(0xC02F, [ext(0xFF01, b"\x00")])
CCS = tls_record(20, b"\x01")
FINISHED = tls_record(22, b"\x9f" * 40)  # protected: must not be parsed
APP = tls_record(23, b"\x42" * 100)


def run(messages: list[tuple[bool, bytes]], settings: Settings | None = None,
        chunk: int = 0) -> FakeFlow:
    flow = FakeFlow("tcp", server=SERVER, settings=settings)
    s = TlsSession(flow)
    for from_client, data in messages:
        flow.step()
        if chunk:
            for i in range(0, len(data), chunk):
                s.on_data(data[i:i + chunk], from_client)
        else:
            s.on_data(data, from_client)
    s.close()
    return flow


def tls12_conversation() -> list[tuple[bool, bytes]]:
    server_flight = SH12 + certificate([LEAF, CA]) + handshake(14, b"")
    return [
        (True, tls_record(22, CH12, 0x0301)),
        # the server flight split over three records, cutting messages in the middle
        (False, tls_record(22, server_flight[:30]) + tls_record(22, server_flight[30:700])
         + tls_record(22, server_flight[700:])),
        (True, tls_record(22, handshake(16, b"\x00" * 66)) + CCS + FINISHED),
        (False, CCS + FINISHED),
        (True, APP),
        (False, APP),
    ]


def test_tls12_full_handshake() -> None:
    flow = run(tls12_conversation())
    assert flow.codes() == []
    (ev,) = flow.of("tls")
    assert isinstance(ev, TlsEvent)
    assert ev.frame == 5  # the first application data record after both ChangeCipherSpecs
    assert (ev.version, ev.version_protocol, ev.cipher, ev.cipher_id) == (
        "1.2", "tls", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0xC02F)
    assert (ev.established, ev.resumed, ev.sni, ev.alpn, ev.client_version) == (
        True, False, "scada.plant.example", ["http/1.1"], "1.2")
    assert ev.client_ciphers == ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                                 "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                                 "TLS_RSA_WITH_AES_128_GCM_SHA256"]
    assert ev.client_extensions == [0, 16, 13, 10, 11]
    assert ev.ja3 is not None and len(ev.ja3) == 32 and ev.ja3s is not None
    assert ev.ja4 is not None and ev.ja4.startswith("t12d0305h1_")
    assert (ev.subject, ev.issuer, ev.serial) == ("CN=scada.plant.example,O=ACME,C=DE",
                                                  "CN=ACME CA,C=DE", "1001")
    assert ev.alt_names == ["scada.plant.example"]
    assert [c.subject for c in ev.chain] == ["CN=scada.plant.example,O=ACME,C=DE",
                                             "CN=ACME CA,C=DE"]
    assert ev.chain[1].self_issued
    assert (ev.src_ip, ev.dst_port) == ("10.0.0.10", 443)


@pytest.mark.parametrize("chunk", [1, 3, 7, 250])
def test_any_chunking_gives_the_same_event(chunk: int) -> None:
    whole = run(tls12_conversation()).of("tls")
    split = run(tls12_conversation(), chunk=chunk).of("tls")
    assert split == whole


def tls13_conversation(hrr: bool = False) -> list[tuple[bool, bytes]]:
    ch = client_hello([0x1A1A, 0x1301, 0x1302], [
        ext_sni("historian.plant"), ext_u16s(43, [0x2A2A, 0x0304, 0x0303], 1),
        ext_u16s(13, [0x0403, 0x0804]), ext_u16s(10, [0x001D]), ext_alpn([b"h2"])],
        session_id=b"\x33" * 32)
    sh = server_hello(0x1301, [(43, b"\x03\x04"), (51, b"\x00\x1d\x00\x20" + b"\x01" * 32)],
                      session_id=b"\x33" * 32)
    out = [(True, tls_record(22, ch, 0x0301))]
    if hrr:
        retry = server_hello(0x1301, [(43, b"\x03\x04"), (51, b"\x00\x1d")], random=bytes.fromhex(
            "CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C"))
        out += [(False, tls_record(22, retry)), (True, CCS + tls_record(22, ch))]
    out += [
        (False, tls_record(22, sh) + CCS + tls_record(23, b"\x10" * 900)),  # EE..Finished
        (True, CCS + tls_record(23, b"\x20" * 50)),  # compatibility CCS, client Finished
        (False, tls_record(23, b"\x30" * 200)),  # NewSessionTicket / application data
        (True, APP),
    ]
    return out


def test_tls13_handshake() -> None:
    flow = run(tls13_conversation())
    (ev,) = flow.of("tls")
    assert (ev.version, ev.cipher, ev.established, ev.resumed, ev.hello_retry) == (
        "1.3", "TLS_AES_128_GCM_SHA256", True, False, False)
    assert ev.frame == 4  # server data after the client's Finished
    assert ev.supported_versions == ["1.3", "1.2"]
    assert ev.ja4 is not None and ev.ja4.startswith("t13d0205h2_")
    assert ev.subject is None and ev.chain == []  # certificates are encrypted in 1.3
    assert flow.codes() == []


def test_tls13_hello_retry_request() -> None:
    flow = run(tls13_conversation(hrr=True))
    (ev,) = flow.of("tls")
    assert (ev.version, ev.hello_retry, ev.established) == ("1.3", True, True)
    assert flow.codes() == []


def test_tls13_psk_resumption() -> None:
    msgs = tls13_conversation()
    sh = server_hello(0x1301, [(43, b"\x03\x04"), (41, b"\x00\x00")])
    msgs[1] = (False, tls_record(22, sh) + tls_record(23, b"\x10" * 100))
    (ev,) = run(msgs).of("tls")
    assert ev.resumed


def test_tls12_abbreviated_handshake_is_resumed() -> None:
    ch = client_hello([0xC02F], [ext_sni("a.example")], session_id=b"\x44" * 32)
    sh = server_hello(0xC02F, session_id=b"\x44" * 32)
    flow = run([(True, tls_record(22, ch)), (False, tls_record(22, sh) + CCS + FINISHED),
                (True, CCS + FINISHED + APP)])
    (ev,) = flow.of("tls")
    assert (ev.resumed, ev.established, ev.subject) == (True, True, None)


def test_failed_handshake_alerts() -> None:
    flow = run([(True, tls_record(22, CH12)), (False, tls_record(21, b"\x02\x28"))])
    (ev,) = flow.of("tls")
    assert (ev.established, ev.version, ev.alerts) == (False, None,
                                                       ["server:fatal:handshake_failure"])
    assert ev.sni == "scada.plant.example"


def test_client_rejects_certificate() -> None:
    server_flight = SH12 + certificate([LEAF]) + handshake(14, b"")
    flow = run([(True, tls_record(22, CH12)), (False, tls_record(22, server_flight)),
                (True, tls_record(21, b"\x02\x30"))])  # fatal unknown_ca
    (ev,) = flow.of("tls")
    assert ev.alerts == ["client:fatal:unknown_ca"] and not ev.established
    assert ev.subject == "CN=scada.plant.example,O=ACME,C=DE"


def test_mutual_tls_client_certificate() -> None:
    client_cert = der_cert([("CN", "engineering-ws-07")], [("CN", "ACME CA")])
    msgs = tls12_conversation()
    msgs[2] = (True, tls_record(22, certificate([client_cert]) + handshake(16, b"\x00" * 66))
               + CCS + FINISHED)
    (ev,) = run(msgs).of("tls")
    assert (ev.client_subject, ev.client_issuer) == ("CN=engineering-ws-07", "CN=ACME CA")


def test_midstream_connection_gives_no_event() -> None:
    flow = run([(True, APP + APP), (False, APP)])
    assert flow.events == []


def test_invalid_record_stops_the_direction() -> None:
    flow = run([(True, tls_record(22, CH12)), (False, b"HTTP/1.1 400 Bad Request\r\n\r\n"),
                (False, b"more garbage" * 10)])
    assert flow.codes() == ["tls.invalid_record"]
    (ev,) = flow.of("tls")
    assert ev.sni == "scada.plant.example" and ev.version is None


def test_invalid_hello_is_an_anomaly() -> None:
    flow = run([(True, tls_record(22, handshake(1, b"\x03\x03" + b"\x00" * 10)))])
    assert flow.codes() == ["tls.invalid_handshake"]
    assert flow.of("tls") == []


def test_handshake_too_large() -> None:
    flow = run([(True, tls_record(22, b"\x0b\x10\x00\x00" + b"\x00" * 100))],
               settings=Settings(max_frame_bytes=64 * 1024))
    assert flow.codes() == ["tls.handshake_too_large"]


def test_heartbleed() -> None:
    flow = run([(True, tls_record(22, CH12)),
                (True, tls_record(24, b"\x01\x40\x00" + b"A" * 3))])
    assert flow.codes() == ["tls.heartbleed"]


def test_explicit_curve_certificate_and_broken_certificate() -> None:
    curveball = der_cert([("CN", "www.example.com")], [("CN", "Fake Root")], key="ec-explicit")
    flow = run([(True, tls_record(22, CH12)),
                (False, tls_record(22, SH12 + certificate([b"\x30\x03\x02\x01\x01", curveball])
                                   + handshake(14, b"")))])
    assert flow.codes() == ["tls.invalid_certificate", "tls.certificate_explicit_curve"]
    (ev,) = flow.of("tls")
    assert (ev.subject, ev.key_curve) == ("CN=www.example.com", "explicit")


def test_invalid_alert() -> None:
    flow = run([(True, tls_record(22, CH12)), (False, tls_record(21, b"\x07\x28"))])
    assert flow.codes() == ["tls.invalid_alert"]


def test_gap_stops_reading_that_direction() -> None:
    flow = FakeFlow("tcp", server=SERVER)
    s = TlsSession(flow)
    s.on_data(tls_record(22, CH12), True)
    s.on_gap(False, 1000)
    s.on_data(b"\x00" * 50, False)  # mid-record bytes: ignored, no anomaly
    s.close()
    assert flow.codes() == []
    assert len(flow.of("tls")) == 1


def test_sslv2_client_hello_and_server() -> None:
    body = b"\x01\x00\x02\x00\x03\x00\x00\x00\x10" + b"\x01\x00\x80" + b"\x55" * 16
    record = bytes([0x80, len(body)]) + body
    server = bytes([0x80, 0x05]) + b"\x04\x00\x01\x00\x02"
    flow = run([(True, record), (False, server)])
    (ev,) = flow.of("tls")
    assert (ev.sslv2_hello, ev.client_version, ev.version, ev.version_protocol) == (
        True, "2.0", "2.0", "ssl")
    assert ev.client_ciphers == ["SSL_CK_RC4_128_WITH_MD5"] and ev.ja3 is None


def test_lists_are_capped_and_flagged() -> None:
    ch = client_hello([0xC02F], [ext_alpn([b"p%d" % i for i in range(20)])])
    chain = certificate([CA] * 12)
    flow = run([(True, tls_record(22, ch)),
                (False, tls_record(22, SH12 + chain[:16000]) + tls_record(22, chain[16000:])
                 + tls_record(21, b"\x01\x00" * 20))])
    (ev,) = flow.of("tls")
    assert len(ev.alpn) == 16 and ev.client_lists_truncated
    assert len(ev.chain) == 10 and ev.chain_truncated
    assert len(ev.alerts) == 16 and ev.alerts_truncated
