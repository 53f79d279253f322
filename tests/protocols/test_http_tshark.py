"""HTTP against tshark 4.0 on every corpus capture with HTTP, and on the conversation of the
golden test. Requests and responses are matched per connection and in order (our transactions
are emitted in request order): method, URI, Host, User-Agent of each request, status code of
each final response (tshark also lists 1xx interim responses, which belong to no transaction).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import msgspec
import pytest

from otshield.events import AnomalyEvent
from support import PCAPS, CorpusFile, corpus_params, decode, require_tshark, tshark_fields

from .it_a_build import Agreement, corpus_with, write_tcp
from .test_http_golden import conversation

_FIELDS = ["ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport",
           "http.request.method", "http.request.uri", "http.host", "http.user_agent",
           "http.response.code", "frame.protocols"]

Key = tuple[str, int, str, int]
_SEP = "\x1f"  # not a line boundary for str.splitlines (0x1c-0x1e are)


def _host(ev: dict[str, Any]) -> str | None:
    domain = ev.get("url.domain")
    if domain is None:
        return None
    shown = f"[{domain}]" if ":" in domain else domain
    port = ev.get("url.port")
    return f"{shown}:{port}" if port is not None else shown


def compare(path: Path, agree: Agreement) -> None:
    events = decode(path)
    assert not [e for e in events if isinstance(e, AnomalyEvent)
                and e.code.startswith("internal.")], "decoder error"
    requests: dict[Key, list[dict[str, Any]]] = defaultdict(list)
    responses: dict[Key, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        if e.__struct_config__.tag != "http":
            continue
        d = msgspec.to_builtins(e)
        key = (e.src_ip, e.src_port, e.dst_ip, e.dst_port)
        if d.get("http.request.method") is not None:
            requests[key].append(d)
        if d.get("http.response.status_code") is not None:
            responses[key].append(d)
    seen_req: dict[Key, int] = defaultdict(int)
    seen_resp: dict[Key, int] = defaultdict(int)
    # One frame can complete several pipelined messages: split tshark's multiple values on a
    # separator that cannot occur in them.
    rows = tshark_fields(path, _FIELDS, "http.request || http.response",
                         extra=["-E", f"aggregator={_SEP}"])
    for row in rows:
        frame = int(row[0])
        ip4s, ip6s, sport, ip4d, ip6d, dport, method, uri, host, agent, code, layers = row[1:13]
        stack = layers.split(":")
        if stack.count("ip") + stack.count("ipv6") > 1 or _SEP in sport:
            agree.explain("inside a tunnel")  # the engine does not decapsulate tunnels
            continue
        src, dst = ip4s or ip6s, ip4d or ip6d
        methods = method.split(_SEP) if method else []
        uris, hosts, agents = uri.split(_SEP), host.split(_SEP), agent.split(_SEP)
        for i, m in enumerate(methods):
            key = (src, int(sport), dst, int(dport))
            index = seen_req[key]
            seen_req[key] += 1
            mine = requests.get(key, [])
            agree.check(f"frame {frame} request has an event", index < len(mine), True)
            if index >= len(mine):
                continue
            ev = mine[index]
            agree.check(f"frame {frame} method", ev["http.request.method"], m)
            agree.check(f"frame {frame} uri", ev.get("url.original"), uris[i])
            if len(hosts) == len(methods):
                agree.check(f"frame {frame} host", _host(ev), hosts[i] or None)
            if len(agents) == len(methods):
                agree.check(f"frame {frame} user agent", ev.get("user_agent.original"),
                            agents[i] or None)
        for status in code.split(_SEP) if code else []:
            if 100 <= int(status) < 200 and status != "101":
                agree.explain("1xx interim response")
                continue
            key = (dst, int(dport), src, int(sport))
            index = seen_resp[key]
            seen_resp[key] += 1
            mine = responses.get(key, [])
            agree.check(f"frame {frame} response has an event", index < len(mine), True)
            if index < len(mine):
                agree.check(f"frame {frame} status", str(mine[index]["http.response.status_code"]),
                            status)


@pytest.mark.tshark
@pytest.mark.corpus
@pytest.mark.parametrize("capture", corpus_params(corpus_with("http")))
def test_http_corpus_agrees_with_tshark(capture: CorpusFile) -> None:
    agree = Agreement(str(capture.path.relative_to(PCAPS)))
    compare(capture.path, agree)
    agree.assert_all()


@pytest.mark.tshark
def test_written_conversation_agrees_with_tshark(tmp_path: Path) -> None:
    require_tshark()
    path = write_tcp(tmp_path / "http.pcap", ("10.0.0.20", 8080), conversation())
    agree = Agreement("written conversation")
    compare(path, agree)
    agree.assert_all()
    assert agree.compared >= 20
