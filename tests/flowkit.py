"""A stand-in for ``protocols.base.FlowContext`` that records what a session emits, shared by
the session unit tests of every decoder."""

from __future__ import annotations

from typing import Any

from otshield.config import Settings
from otshield.events import AnomalyEvent, CommonFields, Event


class RecordingFlow:
    """Implements ``FlowContext``; ``ts`` and ``frame`` are moved on by the test."""

    protocol: str | None = None
    """The ``protocol`` of the anomalies it records; None takes the code's prefix."""

    def __init__(self, client: tuple[str, int], server: tuple[str, int], transport: str = "tcp",
                 settings: Settings | None = None, ts: float = 1_700_000_000.0, frame: int = 0,
                 flow_id: int = 7, community_id: str = "1:test") -> None:
        self.id = flow_id
        self.community_id = community_id
        self.transport = transport
        self.client_ip, self.client_port = client
        self.server_ip, self.server_port = server
        self.ts = ts
        self.frame = frame
        self.settings = settings or Settings()
        self.opened_by_client = True
        self.state: dict[Any, Any] = {}
        self.events: list[Event] = []

    def fields(self, from_client: bool) -> CommonFields:
        c, s = (self.client_ip, self.client_port), (self.server_ip, self.server_port)
        (sip, sport), (dip, dport) = (c, s) if from_client else (s, c)
        return {"ts": self.ts, "frame": self.frame, "flow_id": self.id,
                "community_id": self.community_id, "src_ip": sip, "src_port": sport,
                "dst_ip": dip, "dst_port": dport, "transport": self.transport}

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def shared(self) -> dict[Any, Any]:
        return self.state



    def anomaly(self, code: str, detail: str, from_client: bool) -> None:
        self.events.append(AnomalyEvent(**self.fields(from_client), code=code, detail=detail,
                                        protocol=self.protocol or code.split(".")[0]))

    def of(self, dataset: str) -> list[Any]:
        return [e for e in self.events if e.__struct_config__.tag == dataset]

    def codes(self) -> list[str]:
        return [e.code for e in self.events if isinstance(e, AnomalyEvent)]
