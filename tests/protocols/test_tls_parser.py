"""TLS parser unit tests: record framing, probe, hellos, certificates (DER walker), alerts,
heartbeat, SSL 2.0 hello, and the JA3 / JA3S / JA4 fingerprints against published vectors."""

from __future__ import annotations

import hashlib
import struct

import pytest

from otshield.errors import Malformed
from otshield.protocols.tls.fingerprint import ja3, ja3_string, ja3s, ja4, ja4_raw
from otshield.protocols.tls.parser import (
    ClientHello,
    frame_size,
    heartbeat_overflow,
    parse_alerts,
    parse_certificate_list,
    parse_client_hello,
    parse_server_hello,
    parse_sslv2_client_hello,
    probe,
)
from otshield.protocols.tls.x509 import parse_certificate

from .it_a_build import (
    certificate,
    client_hello,
    der_cert,
    ext,
    ext_alpn,
    ext_point_formats,
    ext_sni,
    ext_u16s,
    server_hello,
    tls_record,
)


def _body(msg: bytes) -> bytes:
    return msg[4:]  # handshake header: type(1) length(3)


# -- record layer ------------------------------------------------------------------------------
def test_frame_size_vectors() -> None:
    assert frame_size(b"\x16\x03") is None
    assert frame_size(b"\x16\x03\x01\x00") is None
    assert frame_size(bytes.fromhex(
        "16"      # content type handshake
        "0301"    # record version TLS 1.0 (ClientHello compatibility)
        "0200"    # length 512
    )) == 517
    # application data of 18432 = 2^14 + 2048 bytes, the largest allowed
    assert frame_size(b"\x17\x03\x03\x48\x00") == 5 + 0x4800
    # SSL 2.0 record header: 0x80 | length high, length low, msg type CLIENT-HELLO
    assert frame_size(b"\x80\x2e\x01\x03\x01") == 2 + 0x2E


@pytest.mark.parametrize("head", [b"\x15\x02\x00\x00\x02",   # version 2.0 in a 5-byte header
                                  b"\x16\x03\x05\x00\x10",   # minor 5
                                  b"\x19\x03\x03\x00\x10",   # content type 25
                                  b"GET / HTTP/1.1",         # not TLS at all
                                  b"\x17\x03\x03\x48\x01"])  # one byte over 2^14 + 2048
def test_frame_size_rejects(head: bytes) -> None:
    with pytest.raises(Malformed) as bad:
        frame_size(head)
    assert bad.value.code == "tls.invalid_record"


def test_probe() -> None:
    ch = tls_record(22, client_hello([0x1301]), 0x0301)
    sh = tls_record(22, server_hello(0x1301))
    assert probe(ch, True) and not probe(ch, False)
    assert probe(sh, False) and not probe(sh, True)
    # mid-stream: a run of well-formed application data records
    data = tls_record(23, b"\x00" * 40) + tls_record(23, b"\x01" * 10)[:7]
    assert probe(data, True) and probe(data, False)
    assert not probe(b"\x17\x03\x03\x00\x28" + b"\x00" * 40 + b"junk!", True)
    assert probe(b"\x80\x2e\x01\x00\x02\x00\x15", True)  # SSL 2.0 CLIENT-HELLO, version 2
    assert not probe(b"SSH-2.0-OpenSSH_9.6\r\n", False)
    assert not probe(b"", True)


# -- hellos -----------------------------------------------------------------------------------
CH_VECTOR = bytes.fromhex(
    "0303"                    # legacy_version TLS 1.2
    + "11" * 32               # random
    + "00"                    # session id length 0
    + "0006"                  # cipher suites: 6 bytes
    + "1a1a"                  #   GREASE
    + "1301"                  #   TLS_AES_128_GCM_SHA256
    + "c02f"                  #   TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    + "0100"                  # compression: 1 method, null
    + "004b"                  # extensions: 75 bytes
    + "0a0a0000"              #   GREASE extension, empty
    + "0000000e000c0000096c6f63616c686f7374"  # server_name: host_name "localhost"
    + "0010000e000c02683208687474702f312e31"  # ALPN: "h2", "http/1.1"
    + "002b0005041a1a0304"    #   supported_versions: GREASE, TLS 1.3
    + "000d0006000404030804"  #   signature_algorithms: ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256
    + "000a000600040a0a001d"  #   supported_groups: GREASE, x25519
    + "000b00020100"          #   ec_point_formats: uncompressed
)


def test_client_hello_vector() -> None:
    hello = parse_client_hello(CH_VECTOR)
    assert hello.version == 0x0303
    assert hello.ciphers == [0x1A1A, 0x1301, 0xC02F]
    assert hello.compression == [0]
    assert hello.extensions == [0x0A0A, 0, 16, 43, 13, 10, 11]
    assert hello.sni == "localhost"
    assert hello.alpn == [b"h2", b"http/1.1"]
    assert hello.supported_versions == [0x1A1A, 0x0304]
    assert hello.signature_algorithms == [0x0403, 0x0804]
    assert hello.groups == [0x0A0A, 0x001D]
    assert hello.point_formats == [0]
    assert not hello.truncated_lists


def test_client_hello_without_extensions() -> None:
    hello = parse_client_hello(_body(client_hello([0x002F], with_extensions=False,
                                                  version=0x0301)))
    assert (hello.version, hello.ciphers, hello.extensions, hello.sni) == (0x0301, [0x2F], [],
                                                                            None)


@pytest.mark.parametrize("cut", [10, 37, 40, 46, 60, len(CH_VECTOR) - 1])
def test_client_hello_cut_short(cut: int) -> None:
    with pytest.raises(Malformed) as bad:
        parse_client_hello(CH_VECTOR[:cut])
    assert bad.value.code == "tls.invalid_handshake"


def test_client_hello_bad_extension_lengths() -> None:
    bad_sni = _body(client_hello([0x1301], [ext(0, b"\x00\x10\x00\x00\x05abc")]))
    with pytest.raises(Malformed):
        parse_client_hello(bad_sni)
    odd_ciphers = bytearray(_body(client_hello([0x1301])))
    odd_ciphers[35:37] = b"\x00\x03"  # 3 bytes of cipher suites
    with pytest.raises(Malformed):
        parse_client_hello(bytes(odd_ciphers))


def test_server_hello_tls13() -> None:
    body = _body(server_hello(0x1302, [(43, b"\x03\x04"),
                                       ext(41, b"\x00\x00"), ext_alpn([b"h2"])],
                              session_id=b"\x22" * 32))
    hello = parse_server_hello(body)
    assert (hello.version, hello.cipher, hello.selected_version, hello.negotiated) == (
        0x0303, 0x1302, 0x0304, 0x0304)
    assert hello.extensions == [43, 41, 16]
    assert hello.psk and hello.alpn == "h2" and not hello.retry_request
    assert hello.session_id == b"\x22" * 32


def test_hello_retry_request() -> None:
    hrr_random = bytes.fromhex(
        "CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C")
    hello = parse_server_hello(_body(server_hello(0x1301, [(43, b"\x03\x04")],
                                                  random=hrr_random)))
    assert hello.retry_request


def test_sslv2_client_hello() -> None:
    body = (b"\x01"              # msg type CLIENT-HELLO
            + b"\x03\x01"        # version TLS 1.0 (SSL 2.0-compatible hello)
            + b"\x00\x06"        # cipher spec length: 2 specs
            + b"\x00\x00"        # session id length
            + b"\x00\x10"        # challenge length 16
            + b"\x01\x00\x80"    # SSL_CK_RC4_128_WITH_MD5
            + b"\x00\x00\x2f"    # TLS_RSA_WITH_AES_128_CBC_SHA
            + b"\x77" * 16)      # challenge
    record = bytes([0x80 | (len(body) >> 8), len(body) & 0xFF]) + body
    assert frame_size(record) == len(record)
    hello = parse_sslv2_client_hello(record)
    assert hello.sslv2 and hello.version == 0x0301
    assert hello.ciphers == [0x010080, 0x2F]


# -- certificates -----------------------------------------------------------------------------
def test_certificate_rsa_with_san() -> None:
    der = der_cert([("C", "DE"), ("O", "ACME Plant"), ("CN", "hmi01.plant.example")],
                   [("C", "DE"), ("O", "ACME"), ("CN", "ACME Issuing CA")], serial=0x0ABCDEF1,
                   san_dns=["hmi01.plant.example", "hmi01"])
    info = parse_certificate(der)
    assert info.subject == "CN=hmi01.plant.example,O=ACME Plant,C=DE"
    assert info.issuer == "CN=ACME Issuing CA,O=ACME,C=DE"
    assert info.serial == "0ABCDEF1"
    assert (info.not_before, info.not_after) == ("2024-01-01T00:00:00Z", "2035-01-01T00:00:00Z")
    assert info.alt_names == ["hmi01.plant.example", "hmi01"]
    assert (info.key_algorithm, info.key_size, info.key_curve) == ("RSA", 2048, None)
    assert info.subject_cn == ["hmi01.plant.example"] and info.issuer_o == ["ACME"]
    assert info.sha256 == hashlib.sha256(der).hexdigest()
    assert info.version == 3 and not info.self_issued


def test_certificate_ec_named_and_explicit_curves() -> None:
    named = parse_certificate(der_cert([("CN", "plc")], [("CN", "plc")], key="ec-p256"))
    assert (named.key_algorithm, named.key_size, named.key_curve, named.self_issued) == (
        "EC", 256, "prime256v1", True)
    explicit = parse_certificate(der_cert([("CN", "x")], [("CN", "y")], key="ec-explicit"))
    assert explicit.key_curve == "explicit"


def test_dn_escaping() -> None:
    info = parse_certificate(der_cert([("O", "Smith, Jones + Co"), ("CN", " lead#")],
                                      [("CN", "#ca")]))
    assert info.subject == "CN=\\ lead#,O=Smith\\, Jones \\+ Co"
    assert info.issuer == "CN=\\#ca"


def test_certificate_list_and_broken_der() -> None:
    good = der_cert([("CN", "a")], [("CN", "b")])
    assert parse_certificate_list(_body(certificate([good, good]))) == [good, good]
    with pytest.raises(Malformed) as bad:
        parse_certificate_list(_body(certificate([good]))[:-3])
    assert bad.value.code == "tls.invalid_certificate"
    for broken in (good[:50], b"\x30\x03\x02\x01", b"\x31" + good[1:], good[:4] + b"\xff" * 20):
        with pytest.raises(Malformed) as bad:
            parse_certificate(broken)
        assert bad.value.code == "tls.invalid_certificate"


# -- alerts, heartbeat ------------------------------------------------------------------------
def test_alerts() -> None:
    assert parse_alerts(b"\x02\x28") == [(2, 40)]  # fatal handshake_failure
    assert parse_alerts(b"\x01\x00\x02\x30") == [(1, 0), (2, 48)]
    for bad in (b"", b"\x02", b"\x03\x28"):
        with pytest.raises(Malformed) as err:
            parse_alerts(bad)
        assert err.value.code == "tls.invalid_alert"


def test_heartbeat_overflow() -> None:
    # type request, payload_length 16384, 3 bytes of payload: Heartbleed
    assert heartbeat_overflow(b"\x01\x40\x00abc") == 0x4000
    # a proper request: 4 bytes of payload, 16 bytes of padding
    assert heartbeat_overflow(b"\x01\x00\x04" + b"ping" + b"\x00" * 16) is None


# -- fingerprints -----------------------------------------------------------------------------
def _hello(ciphers: list[int], exts: list[int], sigs: list[int], alpn: list[bytes],
           versions: list[int], version: int = 0x0303, groups: list[int] | None = None,
           points: list[int] | None = None) -> ClientHello:
    return ClientHello(version, b"", ciphers, [0], exts, sni="x" if 0 in exts else None,
                       alpn=alpn, supported_versions=versions, signature_algorithms=sigs,
                       groups=groups or [], point_formats=points or [])


def _hexes(text: str) -> list[int]:
    return [int(x, 16) for x in text.split(",")]


def test_ja4_foxio_rust_unit_vector() -> None:
    # FoxIO ja4 repository, rust/ja4/src/tls.rs test_client_stats_into_out
    hello = _hello(
        _hexes("1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035"),
        _hexes("001b,0000,0033,0010,4469,0017,002d,000d,0005,0023,0012,002b,ff01,000b,000a,"
               "0015"),
        _hexes("0403,0804,0401,0503,0805,0501,0806,0601"), [b"h2"], [0x0304])
    assert ja4(hello) == "t13d1516h2_8daaf6152771_e5627efa2ab1"
    head, ciphers, exts = ja4_raw(hello)
    assert f"{head}_{ciphers}_{exts}" == (
        "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,"
        "cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,"
        "0401,0503,0805,0501,0806,0601")


def test_ja4_foxio_badcurveball_vector() -> None:
    # FoxIO ja4 repository, python/test/testdata/badcurveball.pcap.json (JA4_ro lists)
    hello = _hello(
        _hexes("1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035,"
               "000a"),
        _hexes("0000,0017,ff01,000a,000b,0023,0010,0005,000d,0012,0033,002d,002b,001b,0015"),
        _hexes("0403,0804,0401,0503,0805,0501,0806,0601,0201"), [b"h2", b"http/1.1"],
        [0x0304, 0x0303])
    assert ja4(hello) == "t13d1615h2_46e7e9700bed_45f260be83e2"


def test_ja4_foxio_sigalg_grease_vector_with_grease_everywhere() -> None:
    # FoxIO ja4 repository, python/test/testdata/sigalg-grease.pcapng.json; GREASE values
    # added to every list must not change it.
    hello = _hello(
        [0x2A2A, *_hexes("1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,"
                         "002f,0035")],
        [0x3A3A, *_hexes("fe0d,0010,0017,0033,44cd,ff01,000a,000d,0023,002b,000b,ca34,002d,"
                         "0000,0005,001b,0012"), 0x4A4A],
        [0x5A5A, *_hexes("0904,0905,0906,0403,0804,0401,0503,0805,0501,0806,0601")], [b"h2"],
        [0x6A6A, 0x0304, 0x0303])
    assert ja4(hello) == "t13d1517h2_8daaf6152771_cb7bf5808d99"


def test_ja4_header_cases() -> None:
    base = dict(ciphers=[0x2F], exts=[13], sigs=[0x0401], versions=[])
    no_alpn = _hello(alpn=[], **base)  # type: ignore[arg-type]
    assert ja4(no_alpn).startswith("t12i0101" + "00_")
    assert ja4(_hello(alpn=[b"\x00zz\xff"], **base)).startswith("t12i0101" + "0f")  # type: ignore[arg-type]
    assert ja4(_hello(alpn=[b"a"], **base)).startswith("t12i0101aa")  # type: ignore[arg-type]
    tls10 = _hello(alpn=[], version=0x0301, **base)  # type: ignore[arg-type]
    assert ja4(tls10).startswith("t10i")
    odd = _hello(alpn=[], version=0x0305, **base)  # type: ignore[arg-type]
    assert ja4(odd).startswith("t00i")
    empty = _hello([], [], [], [], [], version=0x0303)
    assert ja4(empty) == "t12i000000_000000000000_000000000000"
    many = _hello(list(range(1, 150)), [], [], [], [])
    assert ja4(many).startswith("t12i9900")


def test_ja3_and_ja3s() -> None:
    hello = parse_client_hello(CH_VECTOR)
    # version, ciphers, extensions, groups, point formats; GREASE left out (decimal)
    assert ja3_string(hello) == "771,4865-49199,0-16-43-13-10-11,29,0"
    assert ja3(hello) == hashlib.md5(b"771,4865-49199,0-16-43-13-10-11,29,0").hexdigest()
    sh = parse_server_hello(_body(server_hello(0xC02F, [ext(0xFF01, b"\x00"),
                                                        ext_point_formats([0])])))
    assert ja3s(sh) == hashlib.md5(b"771,49199,65281-11").hexdigest()


def test_extension_builders_roundtrip() -> None:
    # the test kit's builders against hand-written bytes
    assert ext_sni("ab") == (0, b"\x00\x05\x00\x00\x02ab")
    assert ext_alpn([b"h2"]) == (16, b"\x00\x03\x02h2")
    assert ext_u16s(43, [0x0304], 1) == (43, b"\x02\x03\x04")
    assert struct.unpack("!H", client_hello([1])[4:6]) == (0x0303,)
