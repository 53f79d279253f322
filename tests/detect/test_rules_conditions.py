"""Condition blocks of the rule language: every operator (holds / does not hold), lists crossed,
missing fields, nested paths, ECS names, context fields (docs/rules.md, "Condition blocks")."""

from __future__ import annotations

from typing import Any

import netaddr
import pytest

from otshield.detect.context import AssetContext
from otshield.detect.rules.conditions import check_block, compile_block, dataset_names
from otshield.detect.rules.context_fields import RuleContext
from otshield.detect.rules.fields import build_event, dataset_classes
from otshield.events import Event
from otshield.inventory.site import Site, SiteZone


def ev(dataset: str, **fields: Any) -> Event:
    problems: list[str] = []
    event = build_event(dataset_classes()[dataset], fields, "test", problems)
    assert not problems and event is not None, problems
    return event


def holds(block: dict[str, Any], event: Event, site: Any = None) -> bool:
    known = dataset_classes()
    scope = {n: known[n] for n in dataset_names(block["dataset"]) or []}
    problems: list[str] = []
    check_block(block, scope, lambda _line, msg: problems.append(msg), known=known, line=1,
                top=True)
    assert not problems, problems
    pred = compile_block(block, type(event))
    if isinstance(pred, bool):
        return pred
    return pred(event, RuleContext(AssetContext(site)))


def problems_of(block: dict[str, Any]) -> list[str]:
    known = dataset_classes()
    names = dataset_names(block.get("dataset")) or []
    scope = {n: known[n] for n in names if n in known}
    out: list[str] = []
    check_block(block, scope, lambda _line, msg: out.append(msg), known=known, line=1, top=True)
    return out


S7 = dict(rosctr="job", pdu_ref=1, function="write_var", function_class="write",
          src_ip="10.0.0.5", dst_ip="10.0.0.10", dst_port=102, transport="tcp",
          items=[{"area": "DB", "db": 7, "byte_address": 10}, {"area": "M", "byte_address": 3}],
          blocks=["OB1", "DB5"])


@pytest.fixture
def s7() -> Event:
    return ev("s7comm", **S7)


# -- scalar tests ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("test", "expected"), [
    ("write_var", True), ("read_var", False),
    (["read_var", "write_var"], True), (["read_var", "plc_stop"], False),
    ({"eq": "write_var"}, True), ({"eq": "x"}, False),
    ({"ne": "x"}, True), ({"ne": "write_var"}, False),
    ({"in": ["write_var"]}, True), ({"in": ["x", "y"]}, False),
    ({"not_in": ["x"]}, True), ({"not_in": ["x", "write_var"]}, False),
    ({"regex": "^write_"}, True), ({"regex": "^var"}, False),
    ({"regex": "(?i)WRITE"}, True), ({"regex": "WRITE"}, False),
    ({"not_regex": "stop"}, True), ({"not_regex": "var$"}, False),
    ({"contains": "te_v"}, True), ({"contains": "stop"}, False),
    ({"startswith": "write"}, True), ({"startswith": "var"}, False),
    ({"endswith": "_var"}, True), ({"endswith": "write"}, False),
    ({"len_ge": 9}, True), ({"len_ge": 10}, False),
    ({"exists": True}, True), ({"exists": False}, False),
])
def test_string_operators(s7: Event, test: object, expected: bool) -> None:
    assert holds({"dataset": "s7comm", "function": test}, s7) is expected


@pytest.mark.parametrize(("test", "expected"), [
    (102, True), (502, False), ([502, 102], True),
    ({"lt": 103}, True), ({"lt": 102}, False),
    ({"le": 102}, True), ({"le": 101}, False),
    ({"gt": 101}, True), ({"gt": 102}, False),
    ({"ge": 102}, True), ({"ge": 103}, False),
    ({"range": [100, 102]}, True), ({"range": [103, 200]}, False),
    ({"ge": 100, "le": 200}, True), ({"ge": 100, "le": 101}, False),
    ({"ne": 502}, True), ({"not_in": [102, 502]}, False),
])
def test_numeric_operators(s7: Event, test: object, expected: bool) -> None:
    assert holds({"dataset": "s7comm", "dst_port": test}, s7) is expected


@pytest.mark.parametrize(("test", "expected"), [
    ({"cidr": "10.0.0.0/24"}, True), ({"cidr": ["192.168.0.0/16", "10.0.0.4/30"]}, True),
    ({"cidr": "10.0.1.0/24"}, False), ({"cidr": "10.0.0.5"}, True),
    ({"not_cidr": "192.168.0.0/16"}, True), ({"not_cidr": ["10.0.0.0/8"]}, False),
    ({"cidr": "::/0"}, False),
])
def test_cidr(s7: Event, test: object, expected: bool) -> None:
    # the ECS name and the short name read the same attribute
    assert holds({"dataset": "s7comm", "source.ip": test}, s7) is expected
    assert holds({"dataset": "s7comm", "src_ip": test}, s7) is expected


def test_cidr_ipv6_and_non_address() -> None:
    v6 = ev("s7comm", **{**S7, "src_ip": "fd00::5"})
    assert holds({"dataset": "s7comm", "src_ip": {"cidr": "fd00::/8"}}, v6)
    assert not holds({"dataset": "s7comm", "src_ip": {"cidr": "10.0.0.0/8"}}, v6)
    odd = ev("s7comm", **{**S7, "src_ip": "not-an-ip"})
    assert not holds({"dataset": "s7comm", "src_ip": {"cidr": "0.0.0.0/0"}}, odd)
    assert holds({"dataset": "s7comm", "src_ip": {"not_cidr": "0.0.0.0/0"}}, odd)


# -- missing and null ------------------------------------------------------------------------------

@pytest.mark.parametrize(("test", "expected"), [
    ("read_szl", False), ({"eq": "x"}, False), ({"in": ["x"]}, False),
    ({"regex": "."}, False), ({"contains": ""}, False), ({"startswith": ""}, False),
    ({"len_ge": 0}, False), ({"exists": True}, False), ({"cidr": "0.0.0.0/0"}, False),
    ({"exists": False}, True), (None, True), ({"eq": None}, True), ({"ne": None}, False),
    ({"ne": "x"}, True), ({"not_in": ["x"]}, True), ({"not_regex": "."}, True),
    ({"not_cidr": "0.0.0.0/0"}, True),
])
def test_missing_field(s7: Event, test: object, expected: bool) -> None:
    assert s7.group is None  # type: ignore[attr-defined]
    assert holds({"dataset": "s7comm", "group": test}, s7) is expected


def test_missing_numeric_field(s7: Event) -> None:
    assert s7.function_code is None  # type: ignore[attr-defined]
    for op in ("lt", "le", "gt", "ge"):
        assert not holds({"dataset": "s7comm", "function_code": {op: 5}}, s7)
    assert not holds({"dataset": "s7comm", "function_code": {"range": [0, 255]}}, s7)


def test_booleans(s7: Event) -> None:
    assert holds({"dataset": "s7comm", "unsolicited": False}, s7)
    assert not holds({"dataset": "s7comm", "unsolicited": True}, s7)
    assert not holds({"dataset": "s7comm", "answered": True}, s7)  # None: missing
    assert holds({"dataset": "s7comm", "answered": None}, s7)


# -- lists -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("block", "expected"), [
    ({"items.area": "DB"}, True), ({"items.area": "M"}, True), ({"items.area": "Q"}, False),
    ({"items.area": ["Q", "M"]}, True),
    ({"items.area": {"ne": "DB"}}, False),   # an element is DB
    ({"items.area": {"ne": "Q"}}, True),
    ({"items.area": {"not_in": ["Q", "I"]}}, True),
    ({"items.area": {"not_in": ["M"]}}, False),
    ({"items.db": 7}, True), ({"items.db": {"gt": 7}}, False),
    ({"items.db": {"exists": True}}, True),
    ({"items.bit_address": {"exists": True}}, False),
    ({"items.bit_address": {"exists": False}}, True),
    ({"items.byte_address": {"ge": 5, "le": 20}}, True),
    ({"items.status": {"not_regex": "."}}, True),
    ({"blocks": "OB1"}, True), ({"blocks": "FC1"}, False),
    ({"blocks": {"regex": "^DB"}}, True), ({"blocks": {"not_in": ["DB5"]}}, False),
    ({"blocks": {"len_ge": 2}}, True), ({"blocks": {"len_ge": 3}}, False),
    ({"blocks": {"exists": True}}, True), ({"block_counts.count": {"exists": True}}, False),
    ({"pi_arguments": {"exists": False}}, True),
])
def test_list_paths(s7: Event, block: dict[str, Any], expected: bool) -> None:
    assert holds({"dataset": "s7comm", **block}, s7) is expected


def test_empty_list_is_missing() -> None:
    empty = ev("s7comm", **{**S7, "items": [], "blocks": []})
    assert holds({"dataset": "s7comm", "blocks": {"exists": False}}, empty)
    assert not holds({"dataset": "s7comm", "items.area": {"exists": True}}, empty)
    assert holds({"dataset": "s7comm", "items.area": {"ne": "DB"}}, empty)


def test_ecs_names_nested_in_lists() -> None:
    http = ev("http", method="POST", uri="/cgi-bin/luci?cmd=reboot",
              request_headers=[{"name": "User-Agent", "value": "curl/8.0"},
                               {"name": "Host", "value": "plc"}],
              src_ip="10.0.0.5", dst_ip="10.0.0.9")
    assert holds({"dataset": "http", "http.request.method": "POST"}, http)
    assert holds({"dataset": "http", "url.original": {"regex": r"cmd=\w+"}}, http)
    assert holds({"dataset": "http", "http.request.headers.value": {"startswith": "curl/"}},
                 http)
    assert holds({"dataset": "http", "request_headers.name": "Host"}, http)
    assert not holds({"dataset": "http", "request_headers.name": "Cookie"}, http)
    assert holds({"dataset": "http", "url.domain": {"exists": False}}, http)


# -- blocks ----------------------------------------------------------------------------------------

def test_any_all_not(s7: Event) -> None:
    assert holds({"dataset": "s7comm", "any": [{"function": "x"}, {"dst_port": 102}]}, s7)
    assert not holds({"dataset": "s7comm", "any": [{"function": "x"}, {"dst_port": 1}]}, s7)
    assert holds({"dataset": "s7comm", "all": [{"function": "write_var"},
                                               {"dst_port": 102}]}, s7)
    assert not holds({"dataset": "s7comm", "all": [{"function": "write_var"},
                                                   {"dst_port": 1}]}, s7)
    assert holds({"dataset": "s7comm", "not": {"function": "plc_stop"}}, s7)
    assert not holds({"dataset": "s7comm", "not": {"items.area": "DB"}}, s7)
    # entries of one block AND together
    assert not holds({"dataset": "s7comm", "function": "write_var", "dst_port": 1}, s7)


def test_several_datasets_and_nested_dataset(s7: Event) -> None:
    modbus = ev("modbus", transaction_id=1, unit_id=1, function_code=6,
                function="WRITE_SINGLE_REGISTER", function_class="write", status="ok")
    block = {"dataset": ["s7comm", "modbus"], "function_class": "write",
             "any": [{"dataset": "modbus", "unit_id": 1}, {"dataset": "s7comm",
                                                           "items.area": "DB"}]}
    assert holds(block, s7)
    assert holds(block, modbus)
    other = {"dataset": ["s7comm", "modbus"], "any": [{"dataset": "modbus", "unit_id": 2}]}
    assert not holds(other, s7)  # the nested dataset excludes s7comm: constant false
    assert not holds(other, modbus)
    # a field only one dataset has: missing on the other
    only = {"dataset": ["s7comm", "modbus"], "unit_id": {"ne": 5}}
    assert holds(only, s7)
    assert holds(only, modbus)
    assert not holds({"dataset": ["s7comm", "modbus"], "unit_id": 1}, s7)


def test_compiled_once_folds_constants(s7: Event) -> None:
    assert compile_block({"dataset": "s7comm"}, type(s7)) is True
    assert compile_block({"dataset": "s7comm", "any": [{"dataset": "modbus"}]},
                         type(s7)) is False


# -- context fields --------------------------------------------------------------------------------

def site_of(zones: dict[str, tuple[int, list[str]]],
            assets: dict[str, dict[str, str | int | bool]] | None = None) -> Any:
    made = [SiteZone(name=n, level=lvl, subnets=nets) for n, (lvl, nets) in zones.items()]
    nets = sorted(((netaddr.IPNetwork(s), z) for z in made for s in z.subnets),
                  key=lambda pair: -pair[0].prefixlen)
    return Site(zones=made, assets=assets or {}), nets


SITE = site_of({"Office": (4, ["10.1.0.0/16"]), "Control": (2, ["10.0.0.0/24"]),
                "Safety": (1, ["10.9.0.0/24"])},
               {"10.1.0.7": {"role": "jump_host"}, "10.0.0.10": {"roles": "controller,plc",
                                                                  "safety": "true"}})


@pytest.mark.parametrize(("block", "expected"), [
    ({"src.zone": "Control"}, True), ({"src.zone": "Office"}, False),
    ({"src.zone": {"in": ["Office", "Control"]}}, True),
    ({"src.level": 2}, True), ({"src.level": {"ge": 3}}, False),
    ({"src.ot": True}, True), ({"src.it": True}, False), ({"dst.ot": True}, True),
    ({"dst.roles": "controller"}, True), ({"dst.roles": "hmi"}, False),
    ({"dst.roles": {"in": ["hmi", "plc"]}}, True), ({"dst.roles": {"not_in": ["plc"]}}, False),
    ({"dst.roles": {"not_in": ["hmi"]}}, True), ({"src.roles": {"exists": False}}, True),
    ({"dst.safety": True}, True), ({"src.safety": True}, False),
    ({"src.internal": True}, True), ({"dst.broadcast": False}, True),
    ({"src.jump_host": False}, True),
    ({"site.zones": True}, True), ({"site.jump_hosts": True}, True),
])
def test_context_fields(s7: Event, block: dict[str, Any], expected: bool) -> None:
    assert holds({"dataset": "s7comm", **block}, s7, SITE) is expected


def test_context_without_site(s7: Event) -> None:
    assert holds({"dataset": "s7comm", "src.zone": ""}, s7)
    assert holds({"dataset": "s7comm", "src.level": None}, s7)
    assert not holds({"dataset": "s7comm", "src.ot": True}, s7)
    assert holds({"dataset": "s7comm", "site.zones": False}, s7)
    assert holds({"dataset": "s7comm", "site.jump_hosts": False}, s7)


@pytest.mark.parametrize(("ip", "internal", "broadcast"), [
    ("8.8.8.8", False, False), ("192.168.1.10", True, False), ("127.0.0.1", True, False),
    ("169.254.3.3", True, False), ("224.0.0.251", True, True),
    ("255.255.255.255", True, True), ("10.0.0.255", True, True),  # directed: site subnet
    ("10.1.0.255", True, False),  # inside a /16: a host address
    ("2001:db8::1", True, False), ("2a00:1450::1", False, False), ("ff02::1", True, True),
])
def test_internal_and_broadcast(ip: str, internal: bool, broadcast: bool) -> None:
    event = ev("s7comm", **{**S7, "dst_ip": ip})
    assert holds({"dataset": "s7comm", "dst.internal": internal}, event, SITE)
    assert holds({"dataset": "s7comm", "dst.broadcast": broadcast}, event, SITE)


def test_link_layer_context() -> None:
    frame = ev("goose", src_mac="00:11:22:33:44:55", dst_mac="01:0c:cd:01:00:01",
               gocb_ref="IED1/LLN0$GO$gcb1", vlan=30)
    site = site_of({"Station": (1, [])}, {"00:11:22:33:44:55": {"role": "ied"}})
    site[0].zones[0].vlans.append(30)
    assert holds({"dataset": "goose", "dst.broadcast": True, "src.broadcast": False,
                  "src.internal": True, "src.roles": "ied", "src.zone": "Station",
                  "src.level": 1}, frame, site)
    assert holds({"dataset": "goose", "source.mac": "00:11:22:33:44:55"}, frame, site)


def test_roles_read_live_from_inventory(s7: Event) -> None:
    class Host:
        roles = {"engineering_workstation"}

    class Inventory:
        hosts = {"ip:10.0.0.5": Host()}
        mac_owner: dict[str, str] = {}

    ctx = RuleContext(AssetContext(None, Inventory()))  # type: ignore[arg-type]
    pred = compile_block({"dataset": "s7comm", "src.roles": "engineering_workstation"},
                         type(s7))
    assert not isinstance(pred, bool)
    assert pred(s7, ctx)
    Host.roles = {"hmi"}
    assert not pred(s7, ctx)


# -- checking --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("block", "message"), [
    ({"dataset": "s7comm", "functoin": "x"}, "unknown field 'functoin' for s7comm (did you mean "
                                             "'function'?)"),
    ({"dataset": "s7comm", "function": {"rgex": "x"}}, "unknown operator 'rgex' (did you mean "
                                                      "'regex'?)"),
    ({"dataset": "s7comm", "pdu_ref": {"regex": "x"}}, "regex needs a string field; 'pdu_ref' "
                                                       "is int"),
    ({"dataset": "s7comm", "function": {"gt": 3}}, "gt needs a numeric field; 'function' is "
                                                   "str"),
    ({"dataset": "s7comm", "function": {"regex": "("}},
     "regex: invalid regular expression '(': missing ), unterminated subpattern at position 0"),
    ({"dataset": "s7comm", "src_ip": {"cidr": "10.0.0.0/33"}},
     "cidr: '10.0.0.0/33' is not a network (CIDR such as 10.0.0.0/8)"),
    ({"dataset": "s7comm", "pdu_ref": "5"},
     "field 'pdu_ref' is int; eq '5' is a string and can never match"),
    ({"dataset": "s7comm", "function": True},
     "field 'function' is str; eq True is a boolean and can never match (quote it: YAML reads "
     "on/off/yes/no as booleans)"),
    ({"dataset": "s7comm", "function": {"in": []}}, "in takes a non-empty list"),
    ({"dataset": "s7comm", "pdu_ref": {"range": [5, 1]}}, "range: low 5 is above high 1"),
    ({"dataset": "s7comm", "function": {"len_ge": -1}}, "len_ge takes a whole number >= 0"),
    ({"dataset": "s7comm", "function": {"exists": "yes"}}, "exists takes true or false"),
    ({"dataset": "s7comm", "src.zoen": "x"}, "unknown field 'src.zoen' for s7comm (did you mean "
                                             "'src.zone'?)"),
    ({"dataset": "s7comm", "any": {}}, "any takes a non-empty list of condition blocks"),
    ({"dataset": "s7comm", "not": {}}, "empty condition block"),
    ({"dataset": "s7commm"}, "unknown dataset 's7commm' (did you mean 's7comm'?)"),
    ({"dataset": "s7comm", "any": [{"dataset": "modbus"}]},
     "dataset 'modbus' is not among the rule's datasets (s7comm)"),
    ({"function": "x"}, "the block has no 'dataset' (required: it says which events the rule "
                        "reads)"),
])
def test_check_reports(block: dict[str, Any], message: str) -> None:
    assert problems_of(block) == [message]


def test_check_collects_every_problem() -> None:
    block = {"dataset": "s7comm", "functoin": "x", "pdu_ref": {"regex": "("}, "blocks": {"gt": 1},
             "any": [{"nope": 1}, {"items.ara": "DB"}]}
    assert len(problems_of(block)) == 5


def test_number_for_text_field_suggests_quotes() -> None:
    assert problems_of({"dataset": "s7comm", "function": [1, "x"]}) == [
        "field 'function' is str; in value 1 is a number and can never match (quote it to "
        "compare text)"]
    assert problems_of({"dataset": "s7comm", "function": 5}) == [
        "field 'function' is str; eq 5 is a number and can never match (quote it to compare "
        "text)"]


def test_alerts_are_not_a_dataset() -> None:
    assert "alert" not in dataset_classes()
    assert "asset" in dataset_classes() and "flow" in dataset_classes()


def test_several_operators_on_a_list_hold_for_one_element() -> None:
    s7 = ev("s7comm", **{**S7, "items": [{"db": 3}, {"db": 50}]})
    assert not holds({"dataset": "s7comm", "items.db": {"ge": 10, "le": 20}}, s7)
    assert holds({"dataset": "s7comm", "items.db": {"ge": 40, "le": 60}}, s7)
    assert holds({"dataset": "s7comm", "items.db": {"ge": 1, "ne": 7}}, s7)
    assert not holds({"dataset": "s7comm", "items.db": {"ge": 1, "ne": 50}}, s7)
