"""SSH transport layer (RFC 4253): identification strings, KEXINIT algorithm lists, negotiated
algorithms and HASSH fingerprints, up to NEWKEYS; one event per connection."""

from __future__ import annotations

from otshield.protocols.base import FlowContext, ProtocolSpec, Session
from otshield.protocols.ssh.events import SshEvent
from otshield.protocols.ssh.parser import probe
from otshield.protocols.ssh.session import SshSession

__all__ = ["SPEC"]


def _session(flow: FlowContext) -> Session:
    return SshSession(flow)


SPEC = ProtocolSpec(
    name="ssh",
    title="Secure Shell",
    session_factory=_session,
    tcp_ports=frozenset({22}),
    probe=probe,
    frame_size=None,  # a text line, then binary packets: the session takes the stream
    event_types=(SshEvent,),
    anomaly_codes={
        "ssh.invalid_banner": "an identification string that is not 'SSH-version-software', "
                              "or (client) lines before it",
        "ssh.banner_too_long": "an identification line beyond 1024 bytes",
        "ssh.protocol_1": "a side speaks SSH protocol 1.x (not 1.99), which is broken",
        "ssh.invalid_packet": "an unencrypted binary packet whose lengths do not fit",
        "ssh.packet_too_large": "an unencrypted packet longer than 256 KiB",
        "ssh.invalid_kexinit": "a KEXINIT whose name-lists do not fit the packet",
        "ssh.no_common_algorithm": "the two KEXINITs share no algorithm of some kind: the key "
                                   "exchange fails",
    },
)
