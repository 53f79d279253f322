"""The console: alerts and their triage, suppressions, incidents, capture jobs, baselines,
policies, users, sessions, API tokens and the append-only audit log; search columns and role
index for the inventory.

Every filter the API offers has an index: alerts by status, severity, rule, source and
destination address, asset and zone, ATT&CK technique (``alert_techniques``), category,
protocol, assignee and time; assets by zone, level, vendor and role (``asset_roles``); audit
entries by time, actor, action, target and outcome; jobs by status and time.

The audit log refuses UPDATE and DELETE (and TRUNCATE on PostgreSQL) by triggers, so even code
with a bug, or a person with the application's credentials, cannot rewrite history through SQL
short of dropping the trigger, which needs the table owner's rights.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TRUE = frozenset({"true", "yes", "1", "on"})

_SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
)
_PG_TRIGGERS = (
    "CREATE FUNCTION otshield_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege'; "
    "END $$",
    "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION otshield_audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION otshield_audit_log_append_only()",
)


def _inventory() -> None:
    with op.batch_alter_table("assets") as batch:
        batch.add_column(sa.Column("ips", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("macs", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("first_seen", sa.Float, nullable=False, server_default="0"))
        batch.add_column(sa.Column("safety", sa.Boolean, nullable=False, server_default="0"))
    op.create_table(
        "asset_roles",
        sa.Column("asset_id", sa.String(128), sa.ForeignKey("assets.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("role", sa.String(64), primary_key=True, index=True),
    )
    op.create_index("ix_conduits_server", "conduits", ["server"])
    _backfill_assets()


def _backfill_assets() -> None:
    """Fill the new columns of assets saved before this revision, from their records."""
    bind = op.get_bind()
    assets = sa.table("assets", sa.column("id", sa.String), sa.column("record", sa.Text),
                      sa.column("ips", sa.Text), sa.column("macs", sa.Text),
                      sa.column("first_seen", sa.Float), sa.column("safety", sa.Boolean))
    roles = sa.table("asset_roles", sa.column("asset_id", sa.String),
                     sa.column("role", sa.String))
    overrides = sa.table("asset_overrides", sa.column("asset", sa.String),
                         sa.column("field", sa.String), sa.column("value", sa.Text))
    safe = {a for a, v in bind.execute(sa.select(overrides.c.asset, overrides.c.value)
                                       .where(overrides.c.field == "safety"))
            if str(v).lower() in _TRUE}
    for asset_id, record in bind.execute(sa.select(assets.c.id, assets.c.record)).all():
        try:
            data = json.loads(record)
        except ValueError:  # a damaged record stays as it is; reading it reports the damage
            continue
        bind.execute(assets.update().where(assets.c.id == asset_id).values(
            ips=" ".join(data.get("ips", [])), macs=" ".join(data.get("macs", [])),
            first_seen=float(data.get("first_seen", 0.0)), safety=asset_id in safe))
        names = sorted({str(r.get("role", "")) for r in data.get("roles", [])} - {""})
        if names:
            bind.execute(roles.insert(), [{"asset_id": asset_id, "role": n} for n in names])


def _jobs() -> None:
    op.create_table(
        "capture_jobs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("filename", sa.String(512), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("stage", sa.String(64), nullable=False),
        sa.Column("progress", sa.Float, nullable=False),
        sa.Column("packets", sa.BigInteger, nullable=False),
        sa.Column("assets", sa.Integer, nullable=False),
        sa.Column("alerts_total", sa.Integer, nullable=False),
        sa.Column("alerts_done", sa.Integer, nullable=False),
        sa.Column("inventory_done", sa.Boolean, nullable=False),
        sa.Column("counts", sa.Text, nullable=False),
        sa.Column("options", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False, index=True),
        sa.Column("started_at", sa.Float),
        sa.Column("finished_at", sa.Float),
        sa.Column("heartbeat_at", sa.Float),
    )


def _alerts() -> None:
    op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("rule_id", sa.String(128), nullable=False, index=True),
        sa.Column("src_ip", sa.String(64), nullable=False),
        sa.Column("dst_ip", sa.String(64), nullable=False),
        sa.Column("until", sa.Float),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("lifted_at", sa.Float),
        sa.Column("lifted_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("rule_id", sa.String(128), nullable=False, index=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("severity", sa.String(16), nullable=False, index=True),
        sa.Column("severity_rank", sa.Integer, nullable=False),
        sa.Column("confidence", sa.String(16), nullable=False),
        sa.Column("category", sa.String(32), nullable=False, index=True),
        sa.Column("protocol", sa.String(64), nullable=False, index=True),
        sa.Column("src_ip", sa.String(64), nullable=False, index=True),
        sa.Column("dst_ip", sa.String(64), nullable=False, index=True),
        sa.Column("src_asset", sa.String(128), nullable=False, index=True),
        sa.Column("dst_asset", sa.String(128), nullable=False, index=True),
        sa.Column("src_zone", sa.String(256), nullable=False, index=True),
        sa.Column("dst_zone", sa.String(256), nullable=False, index=True),
        sa.Column("techniques", sa.String(512), nullable=False),
        sa.Column("first_seen", sa.Float, nullable=False, index=True),
        sa.Column("last_seen", sa.Float, nullable=False, index=True),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("assignee", sa.String(128), nullable=False, index=True),
        sa.Column("acknowledged_by", sa.String(128), nullable=False),
        sa.Column("acknowledged_at", sa.Float),
        sa.Column("closed_by", sa.String(128), nullable=False),
        sa.Column("closed_at", sa.Float),
        sa.Column("close_reason", sa.Text, nullable=False),
        sa.Column("suppression_id", sa.Integer,
                  sa.ForeignKey("suppressions.id", ondelete="SET NULL"), index=True),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.UniqueConstraint("key_hash"),
    )
    op.create_index("ix_alerts_status_last_seen", "alerts", ["status", "last_seen"])
    op.create_index("ix_alerts_severity_rank_last_seen", "alerts",
                    ["severity_rank", "last_seen"])
    op.create_table(
        "alert_techniques",
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("technique", sa.String(16), primary_key=True, index=True),
    )
    op.create_table(
        "alert_sources",
        sa.Column("job_id", sa.Integer, sa.ForeignKey("capture_jobs.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("key_hash", sa.String(64), primary_key=True),
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("first_seen", sa.Float, nullable=False),
        sa.Column("last_seen", sa.Float, nullable=False),
    )
    op.create_table(
        "alert_notes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("author", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )


def _incidents() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("severity", sa.String(16), nullable=False, index=True),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("assignee", sa.String(128), nullable=False, index=True),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False, index=True),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("closed_at", sa.Float),
    )
    op.create_table(
        "incident_alerts",
        sa.Column("incident_id", sa.Integer,
                  sa.ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id", ondelete="CASCADE"),
                  primary_key=True, index=True),
    )


def _documents() -> None:
    op.create_table(
        "baselines",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(128), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("name", "version"),
    )
    op.create_table(
        "policies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("filename", sa.String(512), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("version"),
    )


def _access() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(256), nullable=False),
        sa.Column("email", sa.String(256), nullable=False),
        sa.Column("role", sa.String(32), nullable=False, index=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("must_change_password", sa.Boolean, nullable=False),
        sa.Column("totp_secret", sa.String(128), nullable=False),
        sa.Column("totp_pending_secret", sa.String(128), nullable=False, server_default=""),
        sa.Column("recovery_codes", sa.Text, nullable=False, server_default=""),
        sa.Column("mfa_enrolled", sa.Boolean, nullable=False),
        sa.Column("totp_last_step", sa.Integer, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("failed_logins", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.Float),
        sa.Column("password_changed_at", sa.Float),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("last_login_at", sa.Float),
        sa.Column("last_login_ip", sa.String(64), nullable=False),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("csrf_token", sa.String(128), nullable=False),
        sa.Column("mfa_verified", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("last_seen_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False, index=True),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("user_agent", sa.String(512), nullable=False),
        sa.Column("revoked_at", sa.Float),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("token_hash", sa.String(128), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float),
        sa.Column("last_used_at", sa.Float),
        sa.Column("revoked_at", sa.Float),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ts", sa.Float, nullable=False, index=True),
        sa.Column("actor", sa.String(128), nullable=False, index=True),
        sa.Column("actor_id", sa.Integer),
        sa.Column("role", sa.String(32), nullable=False, server_default=""),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False, index=True),
        sa.Column("target", sa.String(256), nullable=False, index=True),
        sa.Column("outcome", sa.String(16), nullable=False, index=True),
        sa.Column("detail", sa.Text, nullable=False),
    )
    dialect = op.get_bind().dialect.name
    for statement in _PG_TRIGGERS if dialect == "postgresql" else _SQLITE_TRIGGERS:
        op.execute(statement)


def upgrade() -> None:
    _inventory()
    _jobs()
    _alerts()
    _incidents()
    _documents()
    _access()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE audit_log")
        op.execute("DROP FUNCTION otshield_audit_log_append_only()")
    else:
        op.drop_table("audit_log")
    for name in ("api_tokens", "sessions", "users", "policies", "baselines",
                 "incident_alerts", "incidents", "alert_notes", "alert_sources",
                 "alert_techniques", "alerts", "suppressions", "capture_jobs", "asset_roles"):
        op.drop_table(name)
    op.drop_index("ix_conduits_server", "conduits")
    with op.batch_alter_table("assets") as batch:
        for column in ("safety", "first_seen", "macs", "ips"):
            batch.drop_column(column)
