"""SSH against tshark 4.0 on the corpus captures with SSH: identification strings of both
sides, the key exchange algorithm lists and the HASSH / HASSH-server fingerprints, matched by
connection and direction."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from otshield.events import AnomalyEvent
from support import PCAPS, CorpusFile, corpus_params, decode, tshark_fields

from .it_a_build import Agreement, corpus_with

_FIELDS = ["ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport",
           "ssh.protocol", "ssh.kex_algorithms", "ssh.kex.hassh", "ssh.kex.hasshserver",
           "frame.protocols"]


@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(corpus_with("ssh")))
def test_ssh_agrees_with_tshark(capture: CorpusFile) -> None:
    events = decode(capture.path)
    assert not [e for e in events if isinstance(e, AnomalyEvent)
                and e.code.startswith("internal.")], "decoder error"
    ours: dict[tuple[str, int, str, int], dict[str, Any]] = {}
    for e in events:
        if e.__struct_config__.tag == "ssh":
            ours[(e.src_ip, e.src_port, e.dst_ip, e.dst_port)] = msgspec.to_builtins(e)
    agree = Agreement(str(capture.path.relative_to(PCAPS)))
    filt = "ssh.protocol || ssh.kex_algorithms"
    for row in tshark_fields(capture.path, _FIELDS, filt):
        frame = int(row[0])
        ip4s, ip6s, sport, ip4d, ip6d, dport, banner, kex, hassh, hassh_server, layers = \
            row[1:12]
        stack = layers.split(":")
        if stack.count("ip") + stack.count("ipv6") > 1 or "," in sport:
            agree.explain("inside a tunnel")  # the engine does not decapsulate tunnels
            continue
        src, dst = ip4s or ip6s, ip4d or ip6d
        forward = (src, int(sport), dst, int(dport))
        backward = (dst, int(dport), src, int(sport))
        from_client = forward in ours
        ev = ours.get(forward) or ours.get(backward)
        agree.check(f"frame {frame} has an event", ev is not None, True)
        if ev is None:
            continue
        side = "client" if from_client else "server"
        if banner:
            agree.check(f"frame {frame} {side} banner", ev.get(f"ssh.{side}.banner"), banner)
        if kex:
            version = ev.get(f"ssh.{side}.protocol_version")
            if version not in ("2.0", "1.99") or ev.get(
                    "ssh.client.protocol_version") not in ("2.0", "1.99"):
                agree.explain("key exchange of an SSH-1 connection (tshark reads SSH-1 "
                              "packets, we do not)")
                continue
            agree.check(f"frame {frame} {side} kex", ",".join(ev.get(f"ssh.{side}.kex_algorithms",
                                                                     [])), kex)
            if hassh:
                agree.check(f"frame {frame} hassh", ev.get("ssh.client.hassh"), hassh)
            if hassh_server:
                agree.check(f"frame {frame} hassh server", ev.get("ssh.server.hassh"),
                            hassh_server)
    agree.assert_all()
