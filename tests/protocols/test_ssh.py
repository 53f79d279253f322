"""SSH: identification strings, binary packets and KEXINIT (RFC 4253 sections 4.2, 6, 7.1),
algorithm negotiation, HASSH, the session over any chunking, golden captures and anomalies."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from otshield.errors import Malformed
from otshield.protocols.ssh.events import SshEvent
from otshield.protocols.ssh.parser import (
    hassh,
    negotiate,
    packet_size,
    parse_banner,
    parse_disconnect,
    parse_kexinit,
    payload,
    probe,
)
from otshield.protocols.ssh.session import SshSession

from .it_a_build import (
    FakeFlow,
    comparable,
    events_of,
    kexinit,
    md5,
    one_byte,
    random_sizes,
    ssh_packet,
    write_tcp,
)

CLIENT_KEX = kexinit(["curve25519-sha256", "ecdh-sha2-nistp256", "ext-info-c"],
                     ["ssh-ed25519", "rsa-sha2-512"],
                     ["chacha20-poly1305@openssh.com", "aes128-ctr"],
                     ["hmac-sha2-256-etm@openssh.com", "hmac-sha2-256"],
                     ["none", "zlib@openssh.com"])
SERVER_KEX = kexinit(["diffie-hellman-group14-sha256", "curve25519-sha256"],
                     ["rsa-sha2-512", "ssh-ed25519"], ["aes128-ctr", "aes256-ctr"],
                     ["hmac-sha2-256", "hmac-sha1"], ["none"])
NEWKEYS = ssh_packet(b"\x15")


def test_banner_vectors() -> None:
    b = parse_banner(b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r")
    assert (b.text, b.version, b.software, b.comments) == (
        "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13", "2.0", "OpenSSH_9.6p1", "Ubuntu-3ubuntu13")
    b = parse_banner(b"SSH-1.99-Cisco-1.25")
    assert (b.version, b.software, b.comments) == ("1.99", "Cisco-1.25", None)
    for bad in (b"SSH-2.0", b"SSH--x", b"HTTP/1.1 200 OK", b"SSH-2.0-"):
        with pytest.raises(Malformed) as err:
            parse_banner(bad)
        assert err.value.code == "ssh.invalid_banner"
    assert probe(b"SSH-2.0-x\r\n", False) and not probe(b"GET / HTTP/1.1", True)


def test_packet_and_kexinit_vectors() -> None:
    packet = bytes.fromhex(
        "0000000c"    # packet_length 12
        "0a"          # padding_length 10
        "15"          # payload: SSH_MSG_NEWKEYS
        + "00" * 10)  # padding
    assert packet_size(packet) == 16 and payload(packet) == b"\x15"
    assert packet_size(packet[:4]) is None
    with pytest.raises(Malformed) as bad:
        packet_size(b"\x00\x10\x00\x00\x04")  # 1 MiB
    assert bad.value.code == "ssh.packet_too_large"
    with pytest.raises(Malformed) as bad:
        packet_size(b"\x00\x00\x00\x04\x08")  # padding longer than the packet
    assert bad.value.code == "ssh.invalid_packet"
    k = parse_kexinit(CLIENT_KEX)
    assert k.kex == "curve25519-sha256,ecdh-sha2-nistp256,ext-info-c"
    assert (k.enc_c2s, k.mac_s2c, k.comp_c2s) == ("chacha20-poly1305@openssh.com,aes128-ctr",
                                                  "hmac-sha2-256-etm@openssh.com,hmac-sha2-256",
                                                  "none,zlib@openssh.com")
    for cut in (5, 17, 30, 60):
        with pytest.raises(Malformed) as bad:
            parse_kexinit(CLIENT_KEX[:cut])
        assert bad.value.code == "ssh.invalid_kexinit"
    assert parse_disconnect(b"\x01" + struct.pack("!II", 2, 14) + b"protocol error") == \
        "2 protocol error"


def test_negotiation_and_hassh() -> None:
    assert negotiate("a,b,c", "c,b") == "b"
    assert negotiate("a", "b") is None
    # HASSH: MD5 of "kex;ciphers;macs;compression" of the client's client-to-server lists
    assert hassh("k1,k2", "c1", "m1", "none") == md5("k1,k2;c1;m1;none")


def conversation(client_banner: bytes = b"SSH-2.0-OpenSSH_9.6\r\n") -> list[tuple[bool, bytes]]:
    return [
        (False, b"Welcome to the plant gateway\r\nSSH-2.0-dropbear_2022.83\r\n"),
        (True, client_banner),
        (True, ssh_packet(CLIENT_KEX)),
        (False, ssh_packet(SERVER_KEX)),
        (True, ssh_packet(b"\x1e" + b"\x00" * 36)),  # KEX_ECDH_INIT
        (False, ssh_packet(b"\x1f" + b"\x00" * 200) + NEWKEYS),  # KEX_ECDH_REPLY + NEWKEYS
        (True, NEWKEYS + b"\x8f\x21 encrypted from here \xff" * 4),
        (False, b"\x00\x00\x00\x10 encrypted"),
    ]


def run(messages: list[tuple[bool, bytes]], chunk: int = 0) -> FakeFlow:
    flow = FakeFlow("tcp", server=("10.0.0.20", 22))
    s = SshSession(flow)
    for from_client, data in messages:
        flow.step()
        step = chunk or len(data)
        for i in range(0, len(data), step):
            s.on_data(data[i:i + step], from_client)
    s.close()
    return flow


def test_session_full_key_exchange() -> None:
    flow = run(conversation())
    assert flow.codes() == []
    (ev,) = flow.of("ssh")
    assert isinstance(ev, SshEvent)
    assert (ev.client_banner, ev.client_software, ev.server_software, ev.server_version) == (
        "SSH-2.0-OpenSSH_9.6", "OpenSSH_9.6", "dropbear_2022.83", "2.0")
    assert ev.client_kex == ["curve25519-sha256", "ecdh-sha2-nistp256", "ext-info-c"]
    assert ev.server_ciphers == ["aes128-ctr", "aes256-ctr"]
    assert (ev.kex_algorithm, ev.host_key_algorithm, ev.cipher_c2s, ev.mac_c2s,
            ev.compression_c2s) == ("curve25519-sha256", "ssh-ed25519", "aes128-ctr",
                                    "hmac-sha2-256", "none")
    assert ev.hassh == md5("curve25519-sha256,ecdh-sha2-nistp256,ext-info-c;"
                           "chacha20-poly1305@openssh.com,aes128-ctr;"
                           "hmac-sha2-256-etm@openssh.com,hmac-sha2-256;none,zlib@openssh.com")
    assert ev.hassh_server == md5("diffie-hellman-group14-sha256,curve25519-sha256;"
                                  "aes128-ctr,aes256-ctr;hmac-sha2-256,hmac-sha1;none")
    assert ev.kex_complete and ev.frame == 7


@pytest.mark.parametrize("chunk", [1, 5, 64])
def test_session_any_chunking(chunk: int) -> None:
    assert run(conversation(), chunk=chunk).of("ssh") == run(conversation()).of("ssh")


def test_aead_cipher_needs_no_mac() -> None:
    server = kexinit(["curve25519-sha256"], ["ssh-ed25519"], ["chacha20-poly1305@openssh.com"],
                     ["hmac-sha2-256"])
    msgs = conversation()
    msgs[3] = (False, ssh_packet(server))
    (ev,) = run(msgs).of("ssh")
    assert (ev.cipher_c2s, ev.mac_c2s, ev.mac_s2c) == ("chacha20-poly1305@openssh.com", None,
                                                       None)


def test_no_common_algorithm() -> None:
    server = kexinit(["diffie-hellman-group1-sha1"], ["ssh-dss"], ["3des-cbc"], ["hmac-md5"])
    msgs = conversation()[:4]
    msgs[3] = (False, ssh_packet(server))
    flow = run(msgs)
    assert flow.codes() == ["ssh.no_common_algorithm"]
    (ev,) = flow.of("ssh")
    assert ev.kex_algorithm is None and not ev.kex_complete


def test_ssh1_is_flagged_and_not_read() -> None:
    flow = run([(False, b"SSH-1.99-OpenSSH_3.4\r\n"), (True, b"SSH-1.5-PuTTY\r\n"),
                (False, b"\x00\x00\x01\x04 ssh-1 packet"), (True, b"\x00\x00\x00\x90 x")])
    assert flow.codes() == ["ssh.protocol_1"]
    (ev,) = flow.of("ssh")
    assert (ev.client_version, ev.server_version, ev.kex_complete) == ("1.5", "1.99", False)


def test_banner_anomalies() -> None:
    assert run([(True, b"hello\r\nSSH-2.0-x\r\n")]).codes() == ["ssh.invalid_banner"]
    assert run([(True, b"SSH-2.0-" + b"A" * 2000)]).codes() == ["ssh.banner_too_long"]
    assert run([(False, b"x\r\n" * 2000)]).codes() == ["ssh.invalid_banner"]


def test_packet_anomalies_and_disconnect() -> None:
    bad = run([(False, b"SSH-2.0-x\r\n"), (False, b"\x7f\x00\x00\x00\x04")])
    assert bad.codes() == ["ssh.packet_too_large"]
    kex = run([(False, b"SSH-2.0-x\r\n"), (False, ssh_packet(b"\x14" + b"\x00" * 20))])
    assert kex.codes() == ["ssh.invalid_kexinit"]
    msg = b"\x01" + struct.pack("!II", 11, 17) + b"Too many failures" + b"\x00\x00\x00\x00"
    flow = run([(False, b"SSH-2.0-x\r\n"), (False, ssh_packet(msg))])
    assert flow.of("ssh")[0].disconnect == "server: 11 Too many failures"


def test_gap_stops_the_direction() -> None:
    flow = FakeFlow("tcp", server=("10.0.0.20", 22))
    s = SshSession(flow)
    s.on_data(b"SSH-2.0-x\r\n", False)
    s.on_gap(False, 100)
    s.on_data(b"\xff" * 50, False)
    s.close()
    assert flow.codes() == [] and len(flow.of("ssh")) == 1


def test_golden_capture(tmp_path: Path) -> None:
    path = write_tcp(tmp_path / "ssh.pcap", ("10.0.0.20", 22), conversation())
    (ev,) = events_of(path, "ssh")
    for key in ("@timestamp", "flow_id", "network.community_id"):
        ev.pop(key)
    assert ev == {
        "event.dataset": "ssh",
        "ssh.client.banner": "SSH-2.0-OpenSSH_9.6", "ssh.client.protocol_version": "2.0",
        "ssh.client.software": "OpenSSH_9.6",
        "ssh.server.banner": "SSH-2.0-dropbear_2022.83", "ssh.server.protocol_version": "2.0",
        "ssh.server.software": "dropbear_2022.83",
        "ssh.client.kex_algorithms": ["curve25519-sha256", "ecdh-sha2-nistp256", "ext-info-c"],
        "ssh.client.host_key_algorithms": ["ssh-ed25519", "rsa-sha2-512"],
        "ssh.client.encryption_algorithms": ["chacha20-poly1305@openssh.com", "aes128-ctr"],
        "ssh.client.mac_algorithms": ["hmac-sha2-256-etm@openssh.com", "hmac-sha2-256"],
        "ssh.client.compression_algorithms": ["none", "zlib@openssh.com"],
        "ssh.server.kex_algorithms": ["diffie-hellman-group14-sha256", "curve25519-sha256"],
        "ssh.server.host_key_algorithms": ["rsa-sha2-512", "ssh-ed25519"],
        "ssh.server.encryption_algorithms": ["aes128-ctr", "aes256-ctr"],
        "ssh.server.mac_algorithms": ["hmac-sha2-256", "hmac-sha1"],
        "ssh.server.compression_algorithms": ["none"],
        # RFC 4253 7.1: the first algorithm of the client's list the server also offers
        "ssh.kex_algorithm": "curve25519-sha256", "ssh.host_key_algorithm": "ssh-ed25519",
        "ssh.cipher_client_to_server": "aes128-ctr", "ssh.cipher_server_to_client": "aes128-ctr",
        "ssh.mac_client_to_server": "hmac-sha2-256", "ssh.mac_server_to_client": "hmac-sha2-256",
        "ssh.compression_client_to_server": "none", "ssh.compression_server_to_client": "none",
        "ssh.client.hassh": md5("curve25519-sha256,ecdh-sha2-nistp256,ext-info-c;"
                                "chacha20-poly1305@openssh.com,aes128-ctr;"
                                "hmac-sha2-256-etm@openssh.com,hmac-sha2-256;"
                                "none,zlib@openssh.com"),
        "ssh.server.hassh": md5("diffie-hellman-group14-sha256,curve25519-sha256;"
                                "aes128-ctr,aes256-ctr;hmac-sha2-256,hmac-sha1;none"),
        "ssh.kex_complete": True,
        "frame": 16,  # message 7 (the client's NEWKEYS): 3 handshake frames + 2 * 6 + 1
        "source.ip": "10.0.0.10", "source.port": 50123, "destination.ip": "10.0.0.20",
        "destination.port": 22, "network.transport": "tcp",
    }
    assert events_of(path, "anomaly") == []
    # found by the probe on another port
    other = write_tcp(tmp_path / "ssh2.pcap", ("10.0.0.20", 2222), conversation())
    assert [e["ssh.client.software"] for e in events_of(other, "ssh")] == ["OpenSSH_9.6"]


@pytest.mark.parametrize("mode", ["one_byte", "random"])
def test_golden_resegmented(tmp_path: Path, mode: str) -> None:
    whole = write_tcp(tmp_path / "whole.pcap", ("10.0.0.20", 22), conversation())
    split = one_byte if mode == "one_byte" else random_sizes(9)
    again = write_tcp(tmp_path / "split.pcap", ("10.0.0.20", 22), conversation(), split=split)
    assert comparable(again, ("ssh",)) == comparable(whole, ("ssh",))
    assert len(comparable(whole, ("ssh",))) == 1


def test_long_algorithm_lists_are_capped_and_flagged() -> None:
    names = [f"cipher{i}@example.org" for i in range(70)]
    msgs = conversation()
    msgs[2] = (True, ssh_packet(kexinit(["curve25519-sha256"], ["ssh-ed25519"],
                                        [*names, "aes128-ctr"], ["hmac-sha2-256"])))
    (ev,) = run(msgs).of("ssh")
    assert len(ev.client_ciphers) == 64 and ev.lists_truncated
    assert ev.cipher_c2s == "aes128-ctr"  # negotiation still uses the whole list
