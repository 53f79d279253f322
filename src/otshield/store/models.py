"""The console's tables as SQLAlchemy 2 ORM models: one declarative :class:`Base` for the
inventory (assets, conduits, zones, overrides), alerts and their triage, suppressions,
incidents, baselines, policies, users, sessions, API tokens, the audit log and capture jobs.

The schema itself is made by the migrations (:mod:`otshield.store.migrate`), never by
``create_all``: these classes must match the newest revision, which a test checks by comparing
them with a freshly migrated database (alembic's autogenerate diff must be empty).

Conventions, chosen so one code path serves SQLite and PostgreSQL:

- times are seconds since the epoch as floats (the same unit as packet time everywhere else in
  otshield), so no time-zone handling differs between the two back ends;
- free text is ``Text``; a value people filter on is a bounded ``String`` with an index;
- structured records (the full alert, an asset record) are JSON in ``Text``, encoded by
  msgspec like the CLI output, and the columns needed for filtering are copied beside them;
- lists that are filtered on (an alert's ATT&CK techniques, an asset's roles) get a child table
  with an index, because ``LIKE '%T0855%'`` cannot use one.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ALERT_STATUSES",
    "JOB_STATUSES",
    "AlertNoteRow",
    "AlertRecordRow",
    "AlertRow",
    "AlertSourceRow",
    "AlertTechniqueRow",
    "ApiTokenRow",
    "AssetRoleRow",
    "AssetRow",
    "AuditRow",
    "AuthGenerationRow",
    "Base",
    "BaselineRow",
    "CaptureJobRow",
    "CaptureRow",
    "CaseRow",
    "ConduitRow",
    "IncidentAlertRow",
    "IncidentRow",
    "MetaRow",
    "NotifyOutboxRow",
    "OverrideRow",
    "PlaybookRow",
    "PlaybookRunRow",
    "PolicyRow",
    "SessionRow",
    "SuppressionRow",
    "UserRow",
    "ZoneRow",
]

ALERT_STATUSES: tuple[str, ...] = ("new", "acknowledged", "closed", "suppressed")
JOB_STATUSES: tuple[str, ...] = ("queued", "running", "done", "failed")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Constraint names fixed by rule: a migration can drop or alter a constraint by name on
PostgreSQL, and SQLite's table rebuilds keep the same names."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# -- meta -------------------------------------------------------------------------------------


class MetaRow(Base):
    """Key/value facts about the database (``schema_version`` of the first inventory format)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


# -- inventory --------------------------------------------------------------------------------


class AssetRow(Base):
    __tablename__ = "assets"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(256), index=True)
    purdue_level: Mapped[int | None] = mapped_column(Integer, index=True)
    zone: Mapped[str] = mapped_column(String(256), index=True)
    vendor: Mapped[str] = mapped_column(String(256), index=True)
    product: Mapped[str] = mapped_column(String(256))
    version: Mapped[str] = mapped_column(String(128))
    roles: Mapped[str] = mapped_column(String(512))
    """Space-separated role names (display and ``LIKE``); filters use :class:`AssetRoleRow`."""
    last_seen: Mapped[float] = mapped_column(Float, index=True)
    record: Mapped[str] = mapped_column(Text)
    """The :class:`~otshield.inventory.model.AssetRecord` as JSON."""
    ips: Mapped[str] = mapped_column(Text, server_default="", default="")
    """Space-separated addresses, for the search box."""
    macs: Mapped[str] = mapped_column(Text, server_default="", default="")
    first_seen: Mapped[float] = mapped_column(Float, server_default="0", default=0.0)
    safety: Mapped[bool] = mapped_column(Boolean, server_default="0", default=False)
    """Tagged safety-critical in the site file (a role override ``safety``)."""


class AssetRoleRow(Base):
    __tablename__ = "asset_roles"
    asset_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class ConduitRow(Base):
    __tablename__ = "conduits"
    __table_args__ = (Index("ix_conduits_server", "server"),)
    client: Mapped[str] = mapped_column(String(128), primary_key=True)
    server: Mapped[str] = mapped_column(String(128), primary_key=True)
    protocol: Mapped[str] = mapped_column(String(64), primary_key=True)
    packets: Mapped[int] = mapped_column(Integer)
    record: Mapped[str] = mapped_column(Text)


class ZoneRow(Base):
    __tablename__ = "zones"
    name: Mapped[str] = mapped_column(String(256), primary_key=True)
    record: Mapped[str] = mapped_column(Text)


class OverrideRow(Base):
    __tablename__ = "asset_overrides"
    asset: Mapped[str] = mapped_column(String(128), primary_key=True)
    field: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class CaptureRow(Base):
    """Inputs analysed into the inventory, in order."""

    __tablename__ = "captures"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    path: Mapped[str] = mapped_column(Text)


# -- capture jobs -----------------------------------------------------------------------------


class CaptureJobRow(Base):
    """An uploaded capture's analysis: what it is, how far it got, what it found."""

    __tablename__ = "capture_jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    filename: Mapped[str] = mapped_column(String(512))
    """The name the user gave (display only; never used as a path)."""
    path: Mapped[str] = mapped_column(Text)
    """Where the server stored the capture."""
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    """Bytes (captures pass 2 GiB: 64-bit)."""
    sha256: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), index=True, default="queued")
    """One of :data:`JOB_STATUSES`."""
    stage: Mapped[str] = mapped_column(String(64), default="")
    """``analysing``, ``inventory``, ``alerts``, ``done``."""
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    """0.0 to 1.0."""
    packets: Mapped[int] = mapped_column(BigInteger, default=0)
    assets: Mapped[int] = mapped_column(Integer, default=0)
    alerts_total: Mapped[int] = mapped_column(Integer, default=0)
    alerts_done: Mapped[int] = mapped_column(Integer, default=0)
    """Alerts committed so far (each batch commits with this counter)."""
    inventory_done: Mapped[bool] = mapped_column(Boolean, default=False)
    """The capture's inventory is merged (in one transaction with this flag)."""
    counts: Mapped[str] = mapped_column(Text, default="{}")
    """Alerts per severity, problems, detectors: JSON."""
    options: Mapped[str] = mapped_column(Text, default="{}")
    """The analysis options (site, rules) as JSON, so a restart runs the same analysis."""
    error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[float] = mapped_column(Float, index=True)
    started_at: Mapped[float | None] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float)
    heartbeat_at: Mapped[float | None] = mapped_column(Float)


# -- alerts -----------------------------------------------------------------------------------


class SuppressionRow(Base):
    """Alerts of ``rule_id`` between these endpoints (empty: any) arrive suppressed until
    ``until`` (None: until lifted)."""

    __tablename__ = "suppressions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(128), index=True)
    src_ip: Mapped[str] = mapped_column(String(64), default="")
    dst_ip: Mapped[str] = mapped_column(String(64), default="")
    until: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[float] = mapped_column(Float)
    lifted_at: Mapped[float | None] = mapped_column(Float)
    lifted_by: Mapped[str] = mapped_column(String(128), default="")


class AlertRow(Base):
    """One alert aggregated over every capture by its key (count, first and last seen)."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_status_last_seen", "status", "last_seen"),
        Index("ix_alerts_severity_rank_last_seen", "severity_rank", "last_seen"),
        # migration 0004: the console's counts and aggregates read these indexes alone
        # (covering), without visiting the rows
        Index("ix_alerts_status_severity_rank", "status", "severity_rank"),
        Index("ix_alerts_severity_status", "severity", "status"),
        Index("ix_alerts_first_seen_severity", "first_seen", "severity"),
        Index("ix_alerts_status_src_asset", "status", "src_asset", "severity"),
        Index("ix_alerts_status_dst_asset", "status", "dst_asset", "severity", "src_asset"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """SHA-256 of ``key``: a bounded unique index whatever the rule puts in its key."""
    key: Mapped[str] = mapped_column(Text)
    rule_id: Mapped[str] = mapped_column(String(128), index=True)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(16), index=True)
    severity_rank: Mapped[int] = mapped_column(Integer)
    """0 (info) to 4 (critical), for sorting by severity."""
    confidence: Mapped[str] = mapped_column(String(16), default="medium")
    category: Mapped[str] = mapped_column(String(32), index=True, default="")
    protocol: Mapped[str] = mapped_column(String(64), index=True, default="")
    src_ip: Mapped[str] = mapped_column(String(64), index=True, default="")
    dst_ip: Mapped[str] = mapped_column(String(64), index=True, default="")
    src_asset: Mapped[str] = mapped_column(String(128), index=True, default="")
    dst_asset: Mapped[str] = mapped_column(String(128), index=True, default="")
    src_zone: Mapped[str] = mapped_column(String(256), index=True, default="")
    dst_zone: Mapped[str] = mapped_column(String(256), index=True, default="")
    techniques: Mapped[str] = mapped_column(String(512), default="")
    """Space-separated ATT&CK ids (display); filters use :class:`AlertTechniqueRow`."""
    first_seen: Mapped[float] = mapped_column(Float, index=True)
    last_seen: Mapped[float] = mapped_column(Float, index=True)
    count: Mapped[int] = mapped_column(BigInteger, default=1)
    """Occurrences (a flood over months passes 2**31: 64-bit)."""
    status: Mapped[str] = mapped_column(String(16), index=True, default="new")
    """One of :data:`ALERT_STATUSES`."""
    assignee: Mapped[str] = mapped_column(String(128), index=True, default="")
    acknowledged_by: Mapped[str] = mapped_column(String(128), default="")
    acknowledged_at: Mapped[float | None] = mapped_column(Float)
    closed_by: Mapped[str] = mapped_column(String(128), default="")
    closed_at: Mapped[float | None] = mapped_column(Float)
    close_reason: Mapped[str] = mapped_column(Text, default="")
    suppression_id: Mapped[int | None] = mapped_column(
        ForeignKey("suppressions.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class AlertRecordRow(Base):
    """The full :class:`~otshield.detect.alert.Alert` (merged) as JSON, one per alert.

    Kept apart from :class:`AlertRow` so that the alert rows stay narrow (about 200 bytes
    against 1.5 kB with the record): the list pages, counts and aggregates scan and sort them
    without reading every record (migration 0004)."""

    __tablename__ = "alert_records"
    alert_id: Mapped[int] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True)
    record: Mapped[str] = mapped_column(Text)


class AuthGenerationRow(Base):
    """One row, one number: it grows with every change to users, sessions and API tokens
    (triggers, migration 0004) except the recorded uses (``last_seen_at``,
    ``last_used_at``). The console keeps the callers it recognised while it stays the same
    (:mod:`otshield.store.version`), so a revoked token or a demoted user is refused at once,
    while ordinary data changes (alerts, triage) do not make it look every caller up again."""

    __tablename__ = "auth_generation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class AlertTechniqueRow(Base):
    __tablename__ = "alert_techniques"
    alert_id: Mapped[int] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True)
    technique: Mapped[str] = mapped_column(String(16), primary_key=True, index=True)


class AlertSourceRow(Base):
    """What one capture job contributed to one alert: the ledger that makes ingestion
    idempotent (re-running a job replaces its contribution instead of adding it again)."""

    __tablename__ = "alert_sources"
    job_id: Mapped[int] = mapped_column(
        ForeignKey("capture_jobs.id", ondelete="CASCADE"), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    alert_id: Mapped[int] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    count: Mapped[int] = mapped_column(BigInteger)
    first_seen: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float)


class AlertNoteRow(Base):
    __tablename__ = "alert_notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)


# -- incidents (issue #8 fills them) ----------------------------------------------------------


class IncidentRow(Base):
    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True, default="open")
    severity: Mapped[str] = mapped_column(String(16), index=True, default="medium")
    summary: Mapped[str] = mapped_column(Text, default="")
    assignee: Mapped[str] = mapped_column(String(128), index=True, default="")
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[float] = mapped_column(Float, index=True)
    updated_at: Mapped[float] = mapped_column(Float)
    closed_at: Mapped[float | None] = mapped_column(Float)
    # issue #8 (revision 0003): the correlator's incident, kept in step with the alerts
    key: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    """The correlator's incident id (``INC-<first seen>-<hash>``); None for hand-made ones."""
    score: Mapped[float] = mapped_column(Float, default=0.0)
    first_seen: Mapped[float] = mapped_column(Float, default=0.0)
    last_seen: Mapped[float] = mapped_column(Float, index=True, default=0.0)
    techniques: Mapped[str] = mapped_column(String(512), default="")
    """Space-separated ATT&CK ids (display, ``LIKE`` filter: incidents are few)."""
    ips: Mapped[str] = mapped_column(Text, default="")
    """Space-separated addresses of the incident's assets, for the filter and search."""
    record: Mapped[str] = mapped_column(Text, default="{}")
    """The :class:`~otshield.respond.incident.Incident` as JSON."""
    explanation: Mapped[str] = mapped_column(Text, default="[]")
    """Why its alerts were joined: a JSON list of sentences."""
    proposals: Mapped[str] = mapped_column(Text, default="[]")
    """The playbooks it calls for (:class:`~otshield.respond.library.Proposal`), JSON."""


class IncidentAlertRow(Base):
    __tablename__ = "incident_alerts"
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    alert_id: Mapped[int] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True, index=True)


class CaseRow(Base):
    """The work on one incident (:class:`~otshield.respond.cases.Case` as JSON, with the
    columns the case list filters on copied beside it)."""

    __tablename__ = "cases"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(16), index=True, default="medium")
    status: Mapped[str] = mapped_column(String(16), index=True, default="new")
    owner: Mapped[str] = mapped_column(String(128), index=True, default="")
    it_assignee: Mapped[str] = mapped_column(String(128), default="")
    ot_assignee: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[float] = mapped_column(Float, index=True)
    updated_at: Mapped[float] = mapped_column(Float)
    closed_at: Mapped[float | None] = mapped_column(Float)
    record: Mapped[str] = mapped_column(Text)


class PlaybookRow(Base):
    """A CACAO playbook imported through the console (the built-ins ship in the package; an
    imported playbook with a built-in's id replaces it)."""

    __tablename__ = "playbooks"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    doc: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    imported_by: Mapped[str] = mapped_column(String(128), default="")
    imported_at: Mapped[float] = mapped_column(Float)


class PlaybookRunRow(Base):
    """One run of a playbook (:class:`~otshield.respond.runner.Run` as JSON) and the playbook
    document it runs, so a later import of the playbook never changes a run under way."""

    __tablename__ = "playbook_runs"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    playbook_id: Mapped[str] = mapped_column(String(128), index=True)
    playbook_name: Mapped[str] = mapped_column(String(256), default="")
    status: Mapped[str] = mapped_column(String(16), index=True, default="running")
    waiting_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    """An active step waits for an OT engineer's approval."""
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[str | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    started_by: Mapped[str] = mapped_column(String(128), default="")
    started_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float, index=True)
    playbook: Mapped[str] = mapped_column(Text)
    """The CACAO document the run was started with."""
    record: Mapped[str] = mapped_column(Text)


class NotifyOutboxRow(Base):
    """The notification outbox of :mod:`otshield.respond.notify.outbox` (its ``outbox_table``
    has exactly these columns), so ``Outbox(store.engine)`` works on the console database."""

    __tablename__ = "notify_outbox"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), index=True)
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float] = mapped_column(Float, index=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[float] = mapped_column(Float)
    sent_at: Mapped[float | None] = mapped_column(Float)


# -- baselines and policies -------------------------------------------------------------------


class BaselineRow(Base):
    """A version of a named baseline (the baseline file's JSON)."""

    __tablename__ = "baselines"
    __table_args__ = (UniqueConstraint("name", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[float] = mapped_column(Float)


class PolicyRow(Base):
    """A version of the site file (zones, conduits) as the user wrote it."""

    __tablename__ = "policies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    filename: Mapped[str] = mapped_column(String(512), default="site.yaml")
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[float] = mapped_column(Float)


# -- users, sessions, tokens, audit -----------------------------------------------------------


class UserRow(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(256), default="")
    email: Mapped[str] = mapped_column(String(256), default="")
    role: Mapped[str] = mapped_column(String(32), index=True)
    """A :class:`~otshield.console.permissions.Role` value."""
    password_hash: Mapped[str] = mapped_column(Text)
    """argon2id encoded hash (salt and parameters inside)."""
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_secret: Mapped[str] = mapped_column(String(128), default="")
    """Base32 TOTP secret; empty until enrolment is confirmed."""
    totp_pending_secret: Mapped[str] = mapped_column(String(128), server_default="",
                                                     default="")
    """Secret shown during enrolment, promoted to ``totp_secret`` once a code checks out."""
    recovery_codes: Mapped[str] = mapped_column(Text, server_default="", default="")
    """Hashes of the one-time recovery codes (the auth part's format)."""
    mfa_enrolled: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)
    """Last TOTP time step accepted: a code is good once (no replay)."""
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[float | None] = mapped_column(Float)
    password_changed_at: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float)
    last_login_at: Mapped[float | None] = mapped_column(Float)
    last_login_ip: Mapped[str] = mapped_column(String(64), default="")


class SessionRow(Base):
    """A signed-in browser. ``id`` is a hash of the cookie value: a stolen database does not
    give working cookies."""

    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    csrf_token: Mapped[str] = mapped_column(String(128))
    mfa_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float)
    last_seen_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float, index=True)
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(512), default="")
    revoked_at: Mapped[float | None] = mapped_column(Float)


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    name: Mapped[str] = mapped_column(String(128))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    prefix: Mapped[str] = mapped_column(String(16), default="")
    """The first characters of the token, shown so a user can tell tokens apart."""
    scopes: Mapped[str] = mapped_column(Text, default="")
    """Space-separated permission names."""
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float | None] = mapped_column(Float)
    last_used_at: Mapped[float | None] = mapped_column(Float)
    revoked_at: Mapped[float | None] = mapped_column(Float)


class AuditRow(Base):
    """One entry of the append-only audit log: who did what, when, from where. Database
    triggers refuse UPDATE and DELETE (see the migrations); no foreign key to users, so
    removing a user never touches the log."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts: Mapped[float] = mapped_column(Float, index=True)
    actor: Mapped[str] = mapped_column(String(128), index=True)
    """Username, or ``system`` / ``cli``."""
    actor_id: Mapped[int | None] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(32), server_default="", default="")
    """The actor's role at the time (roles change; the log keeps what was true then)."""
    via: Mapped[str] = mapped_column(String(16), default="")
    """``session``, ``token``, ``cli``, ``system``."""
    ip: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    """``alert.acknowledge``, ``user.create``, ``auth.login_failed``..."""
    target: Mapped[str] = mapped_column(String(256), index=True, default="")
    """What was acted on: ``alert:12``, ``user:alice``."""
    outcome: Mapped[str] = mapped_column(String(16), index=True, default="ok")
    """``ok``, ``denied``, ``failed``."""
    detail: Mapped[str] = mapped_column(Text, default="{}")
    """JSON object: the values changed (before/after), never secrets."""
