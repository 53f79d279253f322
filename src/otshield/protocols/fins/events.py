"""Omron FINS event records.

- ``fins``: one FINS transaction (command plus its response), emitted on the response, at once
  for commands that ask for no response, or unanswered at timeout / flow end; a FINS/TCP node
  address exchange or error notification is one event too (``tcp_command`` set).
"""

from __future__ import annotations

from otshield.events import Event, ecs

__all__ = ["FinsEvent"]


class FinsEvent(Event, tag="fins", rename=ecs(), frozen=True):
    """One FINS command and its response (W227 3-2, 5-3)."""

    command_code: int | None = None
    """MRC << 8 | SRC (0x0101 memory area read)."""
    command_name: str | None = None
    function_class: str = "other"
    answered: bool | None = None
    """None for commands sent with "response not required"."""
    request_missing: bool = False
    request_frame: int | None = None
    """Packet that carried the request (``frame`` is the one that completed the record)."""
    """A response whose command was not seen."""
    icf: int | None = None
    gateway: bool | None = None
    dna: int | None = None
    """Destination network, node (DA1) and unit (DA2) of the command."""
    da1: int | None = None
    da2: int | None = None
    sna: int | None = None
    sa1: int | None = None
    sa2: int | None = None
    sid: int | None = None
    end_code: int | None = None
    """Response end code with the flag bits masked (main << 8 | sub)."""
    end_code_name: str | None = None
    relay_error: bool = False
    fatal_cpu_error: bool = False
    nonfatal_cpu_error: bool = False
    response_time: float | None = None
    memory_area: int | None = None
    memory_area_name: str | None = None
    address: int | None = None
    """Word address (memory areas), beginning word (parameter/program areas)."""
    bit: int | None = None
    count: int | None = None
    """Items, words or bytes, as the command counts them."""
    dest_area: int | None = None
    """Memory area transfer: destination area and word address."""
    dest_address: int | None = None
    areas: list[str] | None = None
    """Multiple memory area read: ``0xAREA:word.bit`` per item (first 32)."""
    items_truncated: bool = False
    parameter_area: int | None = None
    program_number: int | None = None
    cpu_mode: str | None = None
    """Run command: monitor or run; status read: program, debug, monitor, run."""
    cpu_status: str | None = None
    """Controller status read: stop, run or standby."""
    controller_model: str | None = None
    controller_version: str | None = None
    clock: str | None = None
    """Clock write value or clock read answer (local time of the PLC)."""
    password_present: bool | None = None
    data_size: int | None = None
    """Bytes of written data (commands) or returned data (read responses)."""
    values: list[int] | None = None
    """Memory area read/write/fill: the data as bits (0/1) or 16-bit words, first 16 items
    (areas read with forced status are not broken down)."""
    tcp_command: str | None = None
    """FINS/TCP header command of a non-frame unit (node address send, error notification)."""
    tcp_error: int | None = None
    tcp_error_name: str | None = None
    client_node: int | None = None
    server_node: int | None = None
