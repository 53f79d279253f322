"""MMS event records.

- ``mms``: one MMS exchange, request and response together (Zeek-log style): a confirmed service
  (paired by invoke id), an association (session CN/AC carrying ACSE AARQ/AARE and the MMS
  initiate PDUs), a conclude, a cancel, a reject, a release or an abort. Emitted when the answer
  arrives, or when the flow ends (``answered`` false).
- ``mms_report``: one unconfirmed PDU (informationReport: IEC 61850 reports and their values;
  unsolicitedStatus; eventNotification).

Values are typed MMS ``Data`` (ISO 9506-2 14.4.2) as nested :class:`MmsData` records, bounded per
event (``truncated`` says when some were left out).
"""

from __future__ import annotations

import msgspec

from otshield.events import Event, ecs

__all__ = ["MmsData", "MmsEvent", "MmsReportEvent"]


class MmsData(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """One MMS Data value: ``type`` is the CHOICE alternative (``boolean``, ``bit-string``,
    ``integer``, ``unsigned``, ``floating-point``, ``octet-string``, ``visible-string``,
    ``mms-string``, ``utc-time``, ``binary-time``, ``structure``, ``array``...), or
    ``failure`` for an access result that failed (``value`` is the DataAccessError name)."""

    type: str
    value: bool | int | float | str | None = None
    items: tuple[MmsData, ...] | None = None
    """Members of a structure or array."""
    quality: int | None = None
    """utc-time: the TimeQuality octet (leap second known, clock failure, not synchronised,
    accuracy bits)."""


class MmsEvent(Event, frozen=True, tag="mms", rename=ecs()):
    """One MMS transaction or association step. Source is the requester."""

    pdu: str
    """``confirmed``, ``initiate`` (association), ``conclude``, ``cancel``, ``reject``,
    ``release``, ``abort``."""
    function_class: str
    answered: bool | None = None
    """True: answered; False: no answer before the flow ended; None: a one-way PDU or an
    answer whose request was not seen."""
    request_frame: int | None = None
    """Packet that completed the request, when the event completes at its answer."""
    result: str | None = None
    """``success``, ``error`` (confirmed-/initiate-/conclude-error), ``rejected`` (reject PDU
    or refused association), ``aborted``."""
    invoke_id: int | None = None
    service: int | None = None
    """Confirmed service tag (ISO 9506-2 7.1)."""
    service_name: str | None = None
    """Confirmed service name (``read``, ``write``, ``getNameList``...); ``initiate``,
    ``conclude``, ``cancel`` for those exchanges."""
    # -- errors ------------------------------------------------------------------------------------
    error_class: str | None = None
    error_code: str | None = None
    error_description: str | None = None
    reject_reason: str | None = None
    """``<pdu kind>.<problem>`` of a reject PDU (``confirmed-request.invalid-argument``)."""
    # -- variables and values ---------------------------------------------------------------------
    variables: list[str] | None = None
    """Named variables, ``domain/item`` (IEC 61850 ``LD/LN$FC$DO$DA``) or a vmd-specific name."""
    domains: list[str] | None = None
    items: list[str] | None = None
    variable_list: str | None = None
    """Named variable list (data set) the request names, ``domain/item``."""
    values: list[MmsData] | None = None
    """Read: the response's access results; write: the request's data."""
    results: list[str] | None = None
    """Per item ``success`` or the DataAccessError name (read and write responses)."""
    control_object: str | None = None
    """IEC 61850 control: the object reference of a write to ``...$CO$...$Oper``, ``$SBOw``
    or ``$Cancel``."""
    control_action: str | None = None
    """``Oper``, ``SBOw`` or ``Cancel``."""
    ctl_val: MmsData | None = None
    """The ctlVal member of the control structure, when the write carries it."""
    # -- service specific -------------------------------------------------------------------------
    object_class: str | None = None
    object_scope: str | None = None
    """getNameList scope: ``vmd``, ``domain``, ``aa``."""
    domain: str | None = None
    """Domain named by a domain service, or getNameList's domain scope."""
    continue_after: str | None = None
    names: list[str] | None = None
    """getNameList identifiers; fileDirectory file names."""
    more_follows: bool | None = None
    vendor: str | None = None
    model: str | None = None
    revision: str | None = None
    vmd_logical_status: str | None = None
    vmd_physical_status: str | None = None
    program_invocation: str | None = None
    execution_argument: str | None = None
    file_name: str | None = None
    new_file_name: str | None = None
    frsm_id: int | None = None
    file_size: int | None = None
    data_bytes: int | None = None
    """Bytes of a file segment, download/upload segment."""
    journal: str | None = None
    capabilities: list[str] | None = None
    number_matched: int | None = None
    number_deleted: int | None = None
    # -- association (initiate) ------------------------------------------------------------------
    calling_ssel: str | None = None
    """Session selectors of the CONNECT SPDU (hex)."""
    called_ssel: str | None = None
    calling_psel: str | None = None
    """Presentation selectors of the CP PPDU (hex)."""
    called_psel: str | None = None
    application_context: str | None = None
    called_ap_title: str | None = None
    called_ae_qualifier: int | None = None
    calling_ap_title: str | None = None
    calling_ae_qualifier: int | None = None
    responding_ap_title: str | None = None
    auth_mechanism: str | None = None
    """ACSE mechanism name (OID), e.g. ``2.2.3.1`` password authentication."""
    auth_value_present: bool | None = None
    """An authentication value (password, certificate) was sent; it is never stored."""
    association_result: str | None = None
    association_diagnostic: str | None = None
    max_serv_outstanding_calling: int | None = None
    max_serv_outstanding_called: int | None = None
    nesting_level: int | None = None
    local_detail_calling: int | None = None
    local_detail_called: int | None = None
    version: int | None = None
    parameter_cbb: list[str] | None = None
    services_calling: list[str] | None = None
    """ServiceSupportOptions the requester offers."""
    services_called: list[str] | None = None
    """ServiceSupportOptions the responder supports (what the server can do)."""
    reason: str | None = None
    """Release reason or abort source."""
    truncated: bool = False
    """Some names or values were left out (limits per event)."""


class MmsReportEvent(Event, frozen=True, tag="mms_report", rename=ecs()):
    """One unconfirmed MMS PDU. Source is the sender (the server, for IEC 61850 reports)."""

    service: int
    """Unconfirmed service tag: 0 informationReport, 1 unsolicitedStatus, 2 eventNotification."""
    service_name: str
    variables: list[str] | None = None
    variable_list: str | None = None
    """Named variable list of the report: IEC 61850 reports name ``RPT`` here."""
    values: list[MmsData] | None = None
    results: list[str] | None = None
    truncated: bool = False
    # -- IEC 61850 report header (variable list ``RPT``, IEC 61850-8-1 17.2.3.2) ---------------
    report_id: str | None = None
    """RptID: the report control block's report identifier."""
    report_options: list[str] | None = None
    """OptFlds: which optional fields the report carries."""
    sequence_number: int | None = None
    time_of_entry: str | None = None
    data_set: str | None = None
    """DatSet: the data set (named variable list) whose members are reported."""
    buffer_overflow: bool | None = None
    entry_id: str | None = None
    conf_rev: int | None = None
    sub_sequence_number: int | None = None
    more_segments_follow: bool | None = None
    inclusion: str | None = None
    """Inclusion bit string: which data set members this report carries."""
    member_count: int | None = None
    data_references: list[str] | None = None
    reasons: list[str] | None = None
    """Reason for inclusion per member (``data-change``, ``integrity``...)."""
