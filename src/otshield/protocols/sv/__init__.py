"""IEC 61850-9-2 Sampled Values decoder (Ethertype 0x88BA).

One link-layer session follows every stream (source MAC, APPID, svID): ``sv_stream`` when a
stream appears, ``sv_stream_summary`` at the end (and periodically), anomalies for smpCnt gaps
and repeats, confRev changes, invalid quality and lost time synchronisation. Samples are decoded
as value + quality pairs; 9-2LE streams (8 channels) get amperes and volts.
"""

from __future__ import annotations

from otshield.protocols.base import FlowContext, LinkContext, LinkSession, ProtocolSpec, Session
from otshield.protocols.sv.constants import ANOMALY_CODES, ETHERTYPE_SV
from otshield.protocols.sv.events import SvStreamEvent, SvSummaryEvent
from otshield.protocols.sv.session import SvSession

__all__ = ["SPEC", "SvSession"]


def _no_flow_session(flow: FlowContext) -> Session:
    # Sampled Values claims no ports: the engine never builds a flow session for it.
    raise NotImplementedError("Sampled Values is a link-layer protocol")


def _link_session(ctx: LinkContext) -> LinkSession:
    return SvSession(ctx)


SPEC = ProtocolSpec(
    name="sv",
    title="IEC 61850 Sampled Values",
    session_factory=_no_flow_session,
    event_types=(SvStreamEvent, SvSummaryEvent),
    anomaly_codes=ANOMALY_CODES,
    depth="full",
    ethertypes=frozenset({ETHERTYPE_SV}),
    link_session_factory=_link_session,
)
