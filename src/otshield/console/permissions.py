"""Roles and what each may do: the console's explicit permission matrix.

Every endpoint names one permission; a user's role grants a fixed set, an API token carries
scopes (permission names) and gets the intersection of its scopes and its owner's role. The
matrix is data so that the authorisation test, the admin page and the docs read the same table.

Separation of duties: approving an action on a level 0-2 or safety-tagged asset (the OT safety
gate of the response playbooks) belongs to the OT engineer, not to the administrator, who manages
users and the audit log but is not trusted with the process.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["MFA_REQUIRED", "ROLE_PERMISSIONS", "Permission", "Role", "allowed"]


class Role(StrEnum):
    VIEWER = "viewer"
    ANALYST = "analyst"
    OT_ENGINEER = "ot_engineer"
    ADMIN = "admin"


class Permission(StrEnum):
    ASSETS_READ = "assets:read"
    ASSETS_WRITE = "assets:write"
    """Correct an inferred fact (name, role, level, safety tag)."""
    MAP_READ = "map:read"
    ALERTS_READ = "alerts:read"
    ALERTS_TRIAGE = "alerts:triage"
    """Acknowledge, assign, close with a reason, suppress."""
    BASELINES_READ = "baselines:read"
    BASELINES_WRITE = "baselines:write"
    POLICY_READ = "policy:read"
    POLICY_WRITE = "policy:write"
    RULES_READ = "rules:read"
    RULES_WRITE = "rules:write"
    CAPTURES_READ = "captures:read"
    CAPTURES_UPLOAD = "captures:upload"
    REPORTS_READ = "reports:read"
    INCIDENTS_READ = "incidents:read"
    INCIDENTS_WRITE = "incidents:write"
    PLAYBOOKS_READ = "playbooks:read"
    PLAYBOOKS_RUN = "playbooks:run"
    PLAYBOOKS_APPROVE_OT = "playbooks:approve_ot"
    """The OT safety gate: approve a step acting on a level 0-2 or safety-critical asset."""
    TOKENS_OWN = "tokens:own"
    """Create and revoke one's own API tokens."""
    USERS_READ = "users:read"
    USERS_WRITE = "users:write"
    AUDIT_READ = "audit:read"


_READ = frozenset({
    Permission.ASSETS_READ, Permission.MAP_READ, Permission.ALERTS_READ,
    Permission.BASELINES_READ, Permission.POLICY_READ, Permission.RULES_READ,
    Permission.CAPTURES_READ, Permission.REPORTS_READ, Permission.INCIDENTS_READ,
    Permission.PLAYBOOKS_READ, Permission.TOKENS_OWN,
})
_ANALYST = _READ | {
    Permission.ALERTS_TRIAGE, Permission.CAPTURES_UPLOAD, Permission.INCIDENTS_WRITE,
    Permission.PLAYBOOKS_RUN,
}
_OT_ENGINEER = _ANALYST | {
    Permission.ASSETS_WRITE, Permission.BASELINES_WRITE, Permission.POLICY_WRITE,
    Permission.RULES_WRITE, Permission.PLAYBOOKS_APPROVE_OT,
}
_ADMIN = (_ANALYST | {
    Permission.ASSETS_WRITE, Permission.BASELINES_WRITE, Permission.POLICY_WRITE,
    Permission.RULES_WRITE, Permission.USERS_READ, Permission.USERS_WRITE,
    Permission.AUDIT_READ,
})

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: _READ,
    Role.ANALYST: frozenset(_ANALYST),
    Role.OT_ENGINEER: frozenset(_OT_ENGINEER),
    Role.ADMIN: frozenset(_ADMIN),
}
"""Role -> the permissions it grants."""

MFA_REQUIRED: frozenset[Role] = frozenset({Role.ADMIN, Role.OT_ENGINEER})
"""Roles that cannot sign in without a second factor (TOTP)."""


def allowed(role: Role, permission: Permission,
            scopes: frozenset[str] | None = None) -> bool:
    """May ``role`` (through a token limited to ``scopes``, if given) do ``permission``?"""
    if permission not in ROLE_PERMISSIONS[role]:
        return False
    return scopes is None or permission.value in scopes
