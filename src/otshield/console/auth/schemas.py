"""Request and response bodies of the access-control API (pydantic, so OpenAPI documents them).

Times are seconds since the epoch (UTC), like every other time in otshield.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from otshield.console.permissions import Permission, Role

__all__ = ["AuditOut", "EnrolmentOut", "LoginIn", "MeOut", "MfaCodeIn", "PasswordChangeIn",
           "RecoveryCodesOut", "SignInOut", "TokenCreateIn", "TokenCreatedOut", "TokenOut",
           "UserCreateIn", "UserCreatedOut", "UserOut", "UserPasswordResetOut", "UserUpdateIn"]

_STRICT = ConfigDict(extra="forbid")


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    email: str
    role: Role
    disabled: bool
    must_change_password: bool
    mfa_enrolled: bool
    locked_until: float | None
    """Set while the account is locked out after failed sign-ins."""
    failed_logins: int
    created_at: float
    last_login_at: float | None
    last_login_ip: str


class LoginIn(BaseModel):
    model_config = _STRICT
    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)


class SignInOut(BaseModel):
    state: str
    """``ok``: signed in. Otherwise the step that must come next before any permission is
    granted: ``mfa_verify`` (POST /auth/mfa/verify), ``mfa_enrol`` (POST /auth/mfa/enrol then
    /auth/mfa/enrol/confirm), ``password_change`` (POST /auth/password)."""
    csrf_token: str
    """Send it as ``X-CSRF-Token`` with every unsafe request made with the session cookie."""
    user: UserOut


class MfaCodeIn(BaseModel):
    model_config = _STRICT
    code: str = Field(min_length=6, max_length=32,
                      description="The 6-digit code of the authenticator app, or (to verify) "
                                  "one unused recovery code.")


class EnrolmentOut(BaseModel):
    secret: str
    """Base32 secret, for typing into an app that cannot scan."""
    uri: str
    """``otpauth://`` provisioning URI."""
    qr_svg: str
    """The URI's QR code as an inline SVG element."""
    qr_png: str
    """The same QR code as a ``data:image/png;base64,...`` URI."""


class RecoveryCodesOut(SignInOut):
    recovery_codes: list[str]
    """Single-use codes for when the phone is lost: shown once, stored hashed."""


class PasswordChangeIn(BaseModel):
    model_config = _STRICT
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class MeOut(BaseModel):
    user: UserOut
    state: str
    via: str
    """``session`` or ``token``."""
    permissions: list[Permission]
    """What this principal may do now (empty until every sign-in step is done)."""
    scopes: list[str] | None
    """A token's scopes; null for a session."""
    csrf_token: str | None


class UserCreateIn(BaseModel):
    model_config = _STRICT
    username: str = Field(min_length=1, max_length=64,
                          description="Lower-case letters, digits, '.', '_', '-', '@'.")
    role: Role
    display_name: str = Field(default="", max_length=256)
    email: str = Field(default="", max_length=256)


class UserCreatedOut(BaseModel):
    user: UserOut
    one_time_password: str
    """Give it to the user by a separate channel; it must be changed at the first sign-in."""


class UserPasswordResetOut(UserCreatedOut):
    pass


class UserUpdateIn(BaseModel):
    model_config = _STRICT
    role: Role | None = None
    disabled: bool | None = None
    display_name: str | None = Field(default=None, max_length=256)
    email: str | None = Field(default=None, max_length=256)


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: float
    expires_at: float | None
    last_used_at: float | None
    revoked_at: float | None
    active: bool


class TokenCreateIn(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=1, max_length=128)
    scopes: list[Permission] = Field(min_length=1, max_length=64)
    expires_in_days: int | None = Field(default=90, ge=1, le=3650,
                                        description="Null: the token never expires.")


class TokenCreatedOut(BaseModel):
    token: str
    """The secret: shown this once, never again."""
    info: TokenOut


class AuditOut(BaseModel):
    id: int
    ts: float
    actor: str
    actor_id: int | None
    role: str
    via: str
    ip: str
    action: str
    target: str
    outcome: str
    detail: dict[str, Any]
