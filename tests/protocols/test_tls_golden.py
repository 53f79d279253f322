"""TLS golden tests: handshakes written with pcapwriter, decoded end to end, compared with the
event expected from RFC 5246 / RFC 8446 and the JA3/JA4 definitions (computed by hand here from
the lists the capture carries); re-split into 1-byte and random segments they must decode the
same. A TLS server on a port of its own is found by the probe."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from .it_a_build import (
    certificate,
    client_hello,
    comparable,
    der_cert,
    events_of,
    ext,
    ext_alpn,
    ext_point_formats,
    ext_sni,
    ext_u16s,
    handshake,
    one_byte,
    random_sizes,
    server_hello,
    tls_record,
    write_tcp,
)

LEAF = der_cert([("C", "DE"), ("O", "ACME"), ("CN", "scada.plant.example")],
                [("C", "DE"), ("CN", "ACME CA")], serial=0x2002, san_dns=["scada.plant.example"],
                not_before="230601120000Z", not_after="20330601120000Z")
CCS = tls_record(20, b"\x01")


def _conversation() -> list[tuple[bool, bytes]]:
    ch = client_hello([0x0A0A, 0xC02B, 0xC02F, 0x009C], [
        (0x1A1A, b""), ext_sni("scada.plant.example"), ext_alpn([b"h2", b"http/1.1"]),
        ext_u16s(13, [0x0403, 0x0401]), ext_u16s(10, [0x2A2A, 0x001D, 0x0017]),
        ext_point_formats([0]), ext(23, b"")])
    sh = server_hello(0xC02F, [ext(0xFF01, b"\x00"), ext_alpn([b"h2"]), ext(23, b"")])
    return [
        (True, tls_record(22, ch, 0x0301)),
        (False, tls_record(22, sh + certificate([LEAF]) + handshake(14, b""))),
        (True, tls_record(22, handshake(16, b"\x41" * 33)) + CCS + tls_record(22, b"\x99" * 40)),
        (False, CCS + tls_record(22, b"\x98" * 40)),
        (True, tls_record(23, b"\x01" * 300)),
        (False, tls_record(23, b"\x02" * 3000)),
        (True, tls_record(21, b"\x03" * 26)),  # protected close_notify
    ]


def _expected_ja3() -> str:
    # legacy version 771; ciphers, extensions, groups without GREASE; point formats
    text = "771,49195-49199-156,0-16-13-10-11-23,29-23,0"
    return hashlib.md5(text.encode()).hexdigest()


def _expected_ja4() -> str:
    ciphers = "009c,c02b,c02f"  # sorted, GREASE out
    exts = "000a,000b,000d,0017"  # sorted, GREASE, SNI and ALPN out
    sigs = "0403,0401"  # as offered
    b = hashlib.sha256(ciphers.encode()).hexdigest()[:12]
    c = hashlib.sha256(f"{exts}_{sigs}".encode()).hexdigest()[:12]
    # TLS 1.2 (no supported_versions), SNI, 3 ciphers, 6 extensions, ALPN "h2"
    return f"t12d0306h2_{b}_{c}"


@pytest.mark.parametrize("port", [443, 4433])
def test_tls12_handshake(tmp_path: Path, port: int) -> None:
    path = write_tcp(tmp_path / "tls.pcap", ("10.0.0.20", port), _conversation())
    (ev,) = events_of(path, "tls")
    cert_der = LEAF
    expected = {
        "event.dataset": "tls",
        "tls.version": "1.2", "tls.version_protocol": "tls",
        "tls.cipher": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "tls.cipher_id": 0xC02F,
        "tls.established": True, "tls.next_protocol": "h2",
        "tls.client.server_name": "scada.plant.example", "tls.client.version": "1.2",
        "tls.client.supported_ciphers": ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                                         "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                                         "TLS_RSA_WITH_AES_128_GCM_SHA256"],
        "tls.client.extensions": [0, 16, 13, 10, 11, 23],
        "tls.client.alpn": ["h2", "http/1.1"],
        "tls.client.signature_algorithms": [0x0403, 0x0401],
        "tls.client.supported_groups": [0x001D, 0x0017],
        "tls.client.ja3": _expected_ja3(), "tls.client.ja4": _expected_ja4(),
        "tls.server.ja3s": hashlib.md5(b"771,49199,65281-16-23").hexdigest(),
        "tls.server.extensions": [0xFF01, 16, 23],
        "tls.server.subject": "CN=scada.plant.example,O=ACME,C=DE",
        "tls.server.issuer": "CN=ACME CA,C=DE",
        "tls.server.x509.subject.common_name": ["scada.plant.example"],
        "tls.server.x509.subject.organization": ["ACME"],
        "tls.server.x509.issuer.common_name": ["ACME CA"],
        "tls.server.not_before": "2023-06-01T12:00:00Z",
        "tls.server.not_after": "2033-06-01T12:00:00Z",
        "tls.server.x509.serial_number": "2002",
        "tls.server.x509.alternative_names": ["scada.plant.example"],
        "tls.server.x509.public_key_algorithm": "RSA", "tls.server.x509.public_key_size": 2048,
        "tls.server.hash.sha1": hashlib.sha1(cert_der).hexdigest(),
        "tls.server.hash.sha256": hashlib.sha256(cert_der).hexdigest(),
        # three handshake frames, then payload + ack per message: the client's application
        # data is message 5 -> frame 3 + 2 * 4 + 1
        "frame": 12, "source.ip": "10.0.0.10", "source.port": 50123,
        "destination.ip": "10.0.0.20", "destination.port": port, "network.transport": "tcp",
    }
    chain = ev.pop("tls.server.chain")
    for key in ("@timestamp", "flow_id", "network.community_id"):
        ev.pop(key)
    assert ev == expected
    assert [c["subject"] for c in chain] == ["CN=scada.plant.example,O=ACME,C=DE"]
    assert events_of(path, "anomaly") == []


@pytest.mark.parametrize("mode", ["one_byte", "random"])
def test_tls_resegmented(tmp_path: Path, mode: str) -> None:
    whole = write_tcp(tmp_path / "whole.pcap", ("10.0.0.20", 443), _conversation())
    split = one_byte if mode == "one_byte" else random_sizes(5)
    again = write_tcp(tmp_path / "split.pcap", ("10.0.0.20", 443), _conversation(), split=split)
    assert comparable(again, ("tls",)) == comparable(whole, ("tls",))
    assert len(comparable(whole, ("tls",))) == 1


def test_non_tls_on_a_tls_port_is_not_claimed(tmp_path: Path) -> None:
    path = write_tcp(tmp_path / "x.pcap", ("10.0.0.20", 443),
                     [(True, b"hello, this is not TLS\r\n" * 4), (False, b"nor this" * 20)])
    assert events_of(path, "tls") == [] and events_of(path, "anomaly") == []
    (flow,) = events_of(path, "flow")
    assert flow["protocol"] == "guess:tls"
