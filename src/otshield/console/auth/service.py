"""The access-control operations, shared by the API routes, the web pages and the command line:
sign-in with its steps (password, second factor, enrolment, forced password change), sign-out,
user administration, API tokens and the audit trail.

Every change and its audit entry are written in one transaction, so the log never misses a
change and never records one that did not happen. Failures raise :class:`AuthError` (status,
machine code, message, optional retry delay); the API turns it into the JSON error, the pages
into a form message.

Sign-in answers never tell which part was wrong or whether the account exists (OWASP
Authentication Cheat Sheet): an unknown name costs the same password hash as a known one and is
locked out after the same number of failures.
"""

from __future__ import annotations

import getpass
import json
import re
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from fastapi import HTTPException
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from otshield.console.auth import passwords, sessions, tokens, totp
from otshield.console.auth.ratelimit import (
    TokenBucketLimiter,
    UnknownAccountFailures,
    retry_after_header,
)
from otshield.console.auth.schemas import AuditOut, TokenOut, UserOut
from otshield.console.permissions import MFA_REQUIRED, Permission, Role
from otshield.console.settings import ConsoleSettings
from otshield.store.models import ApiTokenRow, AuditRow, SessionRow, UserRow

__all__ = [
    "USERNAME_RE",
    "Actor",
    "AuditFilter",
    "AuthError",
    "AuthRuntime",
    "SignIn",
    "SignInState",
    "StoreLike",
    "add_user",
    "begin_enrolment",
    "change_password",
    "confirm_enrolment",
    "create_token",
    "find_user",
    "list_audit",
    "list_tokens",
    "list_users",
    "reset_mfa",
    "reset_password",
    "revoke_token",
    "session_state",
    "sign_in",
    "sign_in_state",
    "sign_out",
    "unlock_user",
    "update_user",
    "user_out",
    "verify_mfa",
    "write_audit",
]

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
GENERIC_FAILURE = "invalid user name or password"
LOCKED_MESSAGE = "too many failed sign-ins: try again later"


class StoreLike(Protocol):
    """What this module needs of :class:`otshield.store.Store`."""

    def session(self, *, write: bool = True) -> AbstractContextManager[Session]: ...


class SignInState(StrEnum):
    """Where a signed-in session stands; only ``ok`` carries permissions."""

    OK = "ok"
    MFA_VERIFY = "mfa_verify"
    PASSWORD_CHANGE = "password_change"
    MFA_ENROL = "mfa_enrol"


STATE_ERRORS: dict[SignInState, tuple[str, str]] = {
    SignInState.MFA_VERIFY: ("mfa_required", "the second factor is required: verify a code"),
    SignInState.PASSWORD_CHANGE: ("password_change_required",
                                  "the password must be changed before anything else"),
    SignInState.MFA_ENROL: ("mfa_enrolment_required",
                            "this role requires a second factor: enrol an authenticator app"),
}
"""The 403 answer (code, message) for a session that has not finished signing in."""


def sign_in_state(user: UserRow, mfa_verified: bool) -> SignInState:
    """The next sign-in step for ``user`` in a session whose second factor is (not) verified.

    A user who has a second factor proves it first, even before a forced password change, so
    a password alone (say, a one-time password an admin reset) never opens the account. A role
    that requires a second factor and has none enrols last, after the password change."""
    if user.mfa_enrolled and not mfa_verified:
        return SignInState.MFA_VERIFY
    if user.must_change_password:
        return SignInState.PASSWORD_CHANGE
    if not user.mfa_enrolled and _role(user) in MFA_REQUIRED:
        return SignInState.MFA_ENROL
    return SignInState.OK


def _role(user: UserRow) -> Role | None:
    try:
        return Role(user.role)
    except ValueError:
        return None


class AuthError(Exception):
    """A refused access-control operation."""

    def __init__(self, status: int, code: str, message: str, *,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after

    def as_http(self) -> HTTPException:
        headers = retry_after_header(self.retry_after) if self.retry_after is not None else None
        return HTTPException(self.status, detail={"code": self.code, "message": self.message},
                             headers=headers)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who does something, for the audit log."""

    name: str
    user_id: int | None
    role: str
    via: str
    """``session``, ``token``, ``cli``, ``system`` or ``anonymous``."""
    ip: str

    @classmethod
    def cli(cls) -> Actor:
        try:
            who = getpass.getuser()
        except (KeyError, OSError):
            who = "unknown"
        return cls(name=f"cli:{who}", user_id=None, role="", via="cli", ip="local")

    @classmethod
    def system(cls) -> Actor:
        return cls(name="system", user_id=None, role="", via="system", ip="local")


class AuthRuntime:
    """The in-memory part of access control of one console process: the per-address sign-in
    bucket and the failure counts of names that are not accounts."""

    def __init__(self, rate: float = 1 / 6, burst: int = 10) -> None:
        self.addresses = TokenBucketLimiter(rate=rate, burst=burst)
        self.unknown = UnknownAccountFailures()


@dataclass(frozen=True, slots=True)
class SignIn:
    """A (possibly half-finished) sign-in: the new cookie value and where it stands."""

    token: str
    csrf_token: str
    state: SignInState
    user: UserOut


# -- helpers ------------------------------------------------------------------------------------


def write_audit(db: Session, actor: Actor, action: str, target: str = "",
                detail: dict[str, Any] | None = None, *, outcome: str = "ok",
                now: float | None = None) -> AuditRow:
    """Append one audit entry in ``db``'s transaction (never a secret in ``detail``)."""
    row = AuditRow(ts=time.time() if now is None else now, actor=actor.name[:128],
                   actor_id=actor.user_id, role=actor.role[:32], via=actor.via[:16],
                   ip=actor.ip[:64], action=action[:64], target=target[:256], outcome=outcome,
                   detail=json.dumps(detail or {}, sort_keys=True, default=str))
    db.add(row)
    return row


def user_out(user: UserRow, now: float | None = None) -> UserOut:
    now = time.time() if now is None else now
    locked = user.locked_until if user.locked_until and user.locked_until > now else None
    return UserOut(id=user.id, username=user.username, display_name=user.display_name or "",
                   email=user.email or "", role=_role(user) or Role.VIEWER,
                   disabled=bool(user.disabled),
                   must_change_password=bool(user.must_change_password),
                   mfa_enrolled=bool(user.mfa_enrolled), locked_until=locked,
                   failed_logins=user.failed_logins or 0, created_at=user.created_at,
                   last_login_at=user.last_login_at, last_login_ip=user.last_login_ip or "")


def token_out(row: ApiTokenRow, now: float | None = None) -> TokenOut:
    now = time.time() if now is None else now
    active = row.revoked_at is None and (row.expires_at is None or row.expires_at > now)
    return TokenOut(id=row.id, name=row.name, prefix=row.prefix,
                    scopes=sorted(tokens.token_scopes(row)), created_at=row.created_at,
                    expires_at=row.expires_at, last_used_at=row.last_used_at,
                    revoked_at=row.revoked_at, active=active)


def normalise_username(name: str) -> str:
    return name.strip().lower()


def find_user(db: Session, ref: int | str) -> UserRow | None:
    """A user by id (int) or name (str)."""
    if isinstance(ref, int):
        return db.get(UserRow, ref)
    return db.scalars(select(UserRow).where(
        UserRow.username == normalise_username(ref))).one_or_none()


def _need_user(db: Session, ref: int | str) -> UserRow:
    user = find_user(db, ref)
    if user is None:
        raise AuthError(404, "not_found", f"no user {ref}")
    return user


def _live_session(db: Session, token: str, settings: ConsoleSettings, *, touch: bool = True
                  ) -> tuple[SessionRow, UserRow]:
    row = sessions.lookup_session(db, token, settings, touch=touch)
    user = db.get(UserRow, row.user_id) if row is not None else None
    if row is None or user is None or user.disabled:
        raise AuthError(401, "unauthenticated", "not signed in (or the session has ended)")
    return row, user


def _actor_of(user: UserRow, ip: str, via: str = "session") -> Actor:
    return Actor(name=user.username, user_id=user.id, role=user.role, via=via, ip=ip)


@dataclass(slots=True)
class _Outcome:
    """What a transaction decided: the value to return, or the error to raise once the
    transaction (with its audit entry and failure count) is committed."""

    error: AuthError | None = None


def _commit_then_raise(outcome: _Outcome) -> None:
    if outcome.error is not None:
        raise outcome.error


# -- sign-in ------------------------------------------------------------------------------------


def _lock_retry(user: UserRow, now: float) -> float | None:
    if user.locked_until is not None and user.locked_until > now:
        return user.locked_until - now
    return None


def _count_failure(db: Session, user: UserRow, settings: ConsoleSettings, actor: Actor,
                   now: float) -> float | None:
    """Count one failed proof for ``user``; the lockout length when it starts one."""
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins >= settings.login_attempts:
        user.failed_logins = 0
        user.locked_until = now + settings.lockout_seconds
        write_audit(db, actor, "auth.lockout", f"user:{user.username}",
                    {"seconds": settings.lockout_seconds}, outcome="denied", now=now)
        return float(settings.lockout_seconds)
    return None


def sign_in(store: StoreLike, settings: ConsoleSettings, runtime: AuthRuntime, username: str,
            password: str, *, ip: str, user_agent: str = "",
            old_token: str | None = None) -> SignIn:
    """Check a user name and password; on success a new session (the old one, if any, is
    revoked) that may still need the second factor, enrolment or a password change."""
    now = time.time()
    wait = runtime.addresses.take(ip)
    if wait is not None:
        raise AuthError(429, "rate_limited", "too many sign-in attempts from this address: "
                        "try again later", retry_after=wait)
    name = normalise_username(username)[:128]
    anonymous = Actor(name=name or "?", user_id=None, role="", via="anonymous", ip=ip)
    # The password check (argon2: tens of milliseconds, more on a busy host) runs outside any
    # write transaction, so it never holds SQLite's write lock; the outcome is then written
    # against a fresh read of the row.
    with store.session(write=False) as db:
        found = find_user(db, name) if name else None
        snapshot = None if found is None else (found.id, found.password_hash)
    if snapshot is None:
        passwords.dummy_verify(password)
        password_ok = False
    else:
        password_ok = passwords.verify_password(snapshot[1], password)
    rehashed = (passwords.hash_password(password)
                if password_ok and snapshot is not None and passwords.needs_rehash(snapshot[1])
                else None)
    outcome = _Outcome()
    result: SignIn | None = None
    with store.session() as db:
        user = db.get(UserRow, snapshot[0]) if snapshot is not None else None
        if user is None:
            locked = runtime.unknown.locked_for(name, now)
            if locked is None:
                locked = runtime.unknown.fail(name, now, settings.login_attempts,
                                              settings.lockout_seconds)
            write_audit(db, anonymous, "auth.login_failed", f"user:{name}",
                        {"reason": "unknown user"}, outcome="failed", now=now)
            outcome.error = (AuthError(429, "rate_limited", LOCKED_MESSAGE, retry_after=locked)
                             if locked is not None
                             else AuthError(401, "unauthenticated", GENERIC_FAILURE))
        elif (locked := _lock_retry(user, now)) is not None:
            write_audit(db, _actor_of(user, ip, "anonymous"), "auth.login_failed",
                        f"user:{user.username}", {"reason": "locked out"}, outcome="denied",
                        now=now)
            outcome.error = AuthError(429, "rate_limited", LOCKED_MESSAGE, retry_after=locked)
        elif snapshot is None or not password_ok or user.password_hash != snapshot[1]:
            # (a password changed between the check and now counts as a failure too)
            actor = _actor_of(user, ip, "anonymous")
            write_audit(db, actor, "auth.login_failed", f"user:{user.username}",
                        {"reason": "wrong password"}, outcome="failed", now=now)
            locked = _count_failure(db, user, settings, actor, now)
            outcome.error = (AuthError(429, "rate_limited", LOCKED_MESSAGE, retry_after=locked)
                             if locked is not None
                             else AuthError(401, "unauthenticated", GENERIC_FAILURE))
        elif user.disabled:
            write_audit(db, _actor_of(user, ip, "anonymous"), "auth.login_failed",
                        f"user:{user.username}", {"reason": "account disabled"},
                        outcome="denied", now=now)
            outcome.error = AuthError(401, "unauthenticated", GENERIC_FAILURE)
        else:
            user.failed_logins = 0
            user.locked_until = None
            if rehashed is not None:
                user.password_hash = rehashed
            user.last_login_at = now
            user.last_login_ip = ip[:64]
            if old_token:
                sessions.revoke_session(db, sessions.hash_token(old_token), now)
            token, srow = sessions.create_session(db, user.id, settings, mfa_verified=False,
                                                  ip=ip, user_agent=user_agent, now=now)
            state = sign_in_state(user, False)
            write_audit(db, _actor_of(user, ip), "auth.login", f"user:{user.username}",
                        {"next": state.value}, now=now)
            result = SignIn(token, srow.csrf_token, state, user_out(user, now))
    _commit_then_raise(outcome)
    assert result is not None
    return result


def session_state(store: StoreLike, settings: ConsoleSettings, token: str
                  ) -> tuple[SignInState, UserOut, str] | None:
    """Where the session of cookie value ``token`` stands: (state, user, CSRF token), or
    None when there is no live session (the pages send the user to /login)."""
    with store.session(write=False) as db:
        try:
            row, user = _live_session(db, token, settings, touch=False)
        except AuthError:
            return None
        result = (sign_in_state(user, row.mfa_verified), user_out(user), row.csrf_token)
    return result


def _rotate(db: Session, row: SessionRow, user: UserRow, settings: ConsoleSettings, *,
            mfa_verified: bool, ip: str, user_agent: str, now: float) -> SignIn:
    sessions.revoke_session(db, row.id, now)
    token, new = sessions.create_session(db, user.id, settings, mfa_verified=mfa_verified,
                                         ip=ip, user_agent=user_agent or row.user_agent,
                                         now=now)
    return SignIn(token, new.csrf_token, sign_in_state(user, mfa_verified), user_out(user, now))


def verify_mfa(store: StoreLike, settings: ConsoleSettings, runtime: AuthRuntime, token: str,
               code: str, *, ip: str, user_agent: str = "") -> SignIn:
    """Check the second factor (a TOTP code, or one unused recovery code) of a signed-in
    session; on success the session is replaced by one that has passed it."""
    now = time.time()
    wait = runtime.addresses.take(ip)
    if wait is not None:
        raise AuthError(429, "rate_limited", "too many attempts from this address: try again "
                        "later", retry_after=wait)
    outcome = _Outcome()
    result: SignIn | None = None
    with store.session() as db:
        row, user = _live_session(db, token, settings)
        actor = _actor_of(user, ip)
        if not user.mfa_enrolled or not user.totp_secret:
            outcome.error = AuthError(409, "conflict", "no second factor is enrolled")
        elif row.mfa_verified:
            outcome.error = AuthError(409, "conflict", "the second factor is already verified")
        elif (locked := _lock_retry(user, now)) is not None:
            outcome.error = AuthError(429, "rate_limited", LOCKED_MESSAGE, retry_after=locked)
        else:
            method = "totp"
            step = totp.matching_step(user.totp_secret, code, user.totp_last_step or None, now)
            remaining: list[str] | None = None
            if step is None:
                remaining = totp.use_recovery_code(user.recovery_codes.split(), code)
                method = "recovery_code"
            if step is None and remaining is None:
                write_audit(db, actor, "auth.mfa_failed", f"user:{user.username}", {},
                            outcome="failed", now=now)
                locked = _count_failure(db, user, settings, actor, now)
                outcome.error = (
                    AuthError(429, "rate_limited", LOCKED_MESSAGE, retry_after=locked)
                    if locked is not None
                    else AuthError(401, "invalid_code", "the code is not valid (or was used "
                                   "already)"))
            else:
                detail: dict[str, Any] = {"method": method}
                if step is not None:
                    user.totp_last_step = step
                if remaining is not None:
                    user.recovery_codes = " ".join(remaining)
                    detail["recovery_codes_left"] = len(remaining)
                user.failed_logins = 0
                write_audit(db, actor, "auth.mfa_verify", f"user:{user.username}", detail,
                            now=now)
                result = _rotate(db, row, user, settings, mfa_verified=True, ip=ip,
                                 user_agent=user_agent, now=now)
    _commit_then_raise(outcome)
    assert result is not None
    return result


def begin_enrolment(store: StoreLike, settings: ConsoleSettings, token: str
                    ) -> totp.Enrolment:
    """Start (or restart) enrolling an authenticator app: a new secret, kept pending until a
    code from it is confirmed. A session that has not proved its current second factor cannot
    replace it."""
    with store.session() as db:
        row, user = _live_session(db, token, settings)
        state = sign_in_state(user, row.mfa_verified)
        if state not in (SignInState.OK, SignInState.MFA_ENROL):
            code, message = STATE_ERRORS[state]
            raise AuthError(403, code, message)
        secret = totp.new_secret()
        user.totp_pending_secret = secret
        enrolment = totp.Enrolment(secret, user.username)
    return enrolment


def confirm_enrolment(store: StoreLike, settings: ConsoleSettings, token: str, code: str, *,
                      ip: str, user_agent: str = "") -> tuple[SignIn, list[str]]:
    """Confirm the pending secret with a code from the app: it becomes the second factor, a
    fresh set of recovery codes is made (returned in clear this once) and the session is
    replaced by one that has passed the second factor."""
    now = time.time()
    with store.session() as db:
        row, user = _live_session(db, token, settings)
        state = sign_in_state(user, row.mfa_verified)
        if state not in (SignInState.OK, SignInState.MFA_ENROL):
            code_, message = STATE_ERRORS[state]
            raise AuthError(403, code_, message)
        if not user.totp_pending_secret:
            raise AuthError(409, "conflict", "no enrolment in progress: start one first")
        step = totp.matching_step(user.totp_pending_secret, code, None, now)
        if step is None:
            raise AuthError(400, "invalid_code", "the code does not match: check the phone's "
                            "clock and try the current code")
        replaced = bool(user.mfa_enrolled)
        codes = totp.new_recovery_codes()
        user.totp_secret = user.totp_pending_secret
        user.totp_pending_secret = ""
        user.mfa_enrolled = True
        user.totp_last_step = step
        user.recovery_codes = " ".join(totp.hash_recovery_code(c) for c in codes)
        write_audit(db, _actor_of(user, ip), "auth.mfa_enrol", f"user:{user.username}",
                    {"replaced": replaced}, now=now)
        result = _rotate(db, row, user, settings, mfa_verified=True, ip=ip,
                         user_agent=user_agent, now=now)
    return result, codes


def change_password(store: StoreLike, settings: ConsoleSettings, token: str, current: str,
                    new: str, *, ip: str, user_agent: str = "") -> SignIn:
    """Change the password of the session's user (the current one is required). Every other
    session of the user ends; this one is replaced."""
    now = time.time()
    # Check and hash outside the write transaction (see sign_in), then write against a fresh
    # read that must still show the hash that was checked.
    with store.session(write=False) as db:
        row, user = _live_session(db, token, settings, touch=False)
        state = sign_in_state(user, row.mfa_verified)
        checked_hash, username = user.password_hash, user.username
    if state not in (SignInState.OK, SignInState.PASSWORD_CHANGE):
        code, message = STATE_ERRORS[state]
        raise AuthError(403, code, message)
    current_ok = passwords.verify_password(checked_hash, current)
    new_hash: str | None = None
    if current_ok:
        try:
            passwords.check_policy(new, username)
            if new == current:
                raise passwords.PasswordPolicyError(
                    "the new password must differ from the current one")
        except passwords.PasswordPolicyError as exc:
            raise AuthError(422, "password_policy", str(exc)) from None
        new_hash = passwords.hash_password(new)
    outcome = _Outcome()
    result: SignIn | None = None
    with store.session() as db:
        row, user = _live_session(db, token, settings)
        actor = _actor_of(user, ip)
        if new_hash is None or user.password_hash != checked_hash:
            write_audit(db, actor, "auth.password_change", f"user:{user.username}",
                        {"reason": "wrong current password"}, outcome="failed", now=now)
            locked = _count_failure(db, user, settings, actor, now)
            outcome.error = (
                AuthError(429, "rate_limited", LOCKED_MESSAGE, retry_after=locked)
                if locked is not None
                else AuthError(400, "invalid_password", "the current password is wrong"))
        else:
            user.password_hash = new_hash
            user.must_change_password = False
            user.password_changed_at = now
            user.failed_logins = 0
            ended = sessions.revoke_user_sessions(db, user.id, keep=row.id, now=now)
            write_audit(db, actor, "auth.password_change", f"user:{user.username}",
                        {"other_sessions_ended": ended}, now=now)
            result = _rotate(db, row, user, settings, mfa_verified=row.mfa_verified, ip=ip,
                             user_agent=user_agent, now=now)
    _commit_then_raise(outcome)
    assert result is not None
    return result


def sign_out(store: StoreLike, settings: ConsoleSettings, token: str, *, ip: str) -> None:
    """End the session of cookie value ``token`` (nothing happens when it is not live)."""
    with store.session() as db:
        try:
            row, user = _live_session(db, token, settings)
        except AuthError:
            return
        sessions.revoke_session(db, row.id)
        write_audit(db, _actor_of(user, ip), "auth.logout", f"user:{user.username}")


# -- users ----------------------------------------------------------------------------------------


def list_users(store: StoreLike) -> list[UserOut]:
    with store.session(write=False) as db:
        now = time.time()
        return [user_out(u, now) for u in db.scalars(select(UserRow).order_by(UserRow.username))]


def _enabled_admins(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(UserRow).where(
        UserRow.role == Role.ADMIN.value, UserRow.disabled.is_(False))) or 0)


def add_user(store: StoreLike, actor: Actor, username: str, role: Role, *,
             display_name: str = "", email: str = "") -> tuple[UserOut, str]:
    """A new account with a random one-time password (returned; it must be changed at the
    first sign-in). Raises 409 when the name is taken, 422 when it is not a valid name."""
    name = normalise_username(username)
    if not USERNAME_RE.fullmatch(name):
        raise AuthError(422, "invalid", "a user name is 1-64 lower-case letters, digits, "
                        "'.', '_', '-' or '@', starting with a letter or digit")
    password = passwords.generate_password()
    password_hash = passwords.hash_password(password)
    now = time.time()
    try:
        with store.session() as db:
            if find_user(db, name) is not None:
                raise AuthError(409, "conflict", f"user {name} exists already")
            user = UserRow(username=name, display_name=display_name, email=email,
                           role=Role(role).value, password_hash=password_hash,
                           must_change_password=True, totp_secret="", totp_pending_secret="",
                           recovery_codes="", mfa_enrolled=False, totp_last_step=0,
                           disabled=False, failed_logins=0, locked_until=None,
                           password_changed_at=None, created_at=now, last_login_at=None,
                           last_login_ip="")
            db.add(user)
            db.flush()
            write_audit(db, actor, "user.create", f"user:{name}",
                        {"role": user.role, "display_name": display_name, "email": email},
                        now=now)
            out = user_out(user, now)
    except IntegrityError:
        # Another request created the same name between the check and the insert.
        raise AuthError(409, "conflict", f"user {name} exists already") from None
    return out, password


def update_user(store: StoreLike, actor: Actor, ref: int | str, *, role: Role | None = None,
                disabled: bool | None = None, display_name: str | None = None,
                email: str | None = None) -> UserOut:
    """Change a user's role, enabled state or details. The last enabled administrator can be
    neither demoted nor disabled (nobody could manage the console any more), and nobody
    disables their own account. Disabling ends the user's sessions."""
    now = time.time()
    with store.session() as db:
        user = _need_user(db, ref)
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        losing_admin = user.role == Role.ADMIN.value and not user.disabled and (
            (role is not None and role != Role.ADMIN) or disabled is True)
        if losing_admin and _enabled_admins(db) <= 1:
            raise AuthError(409, "conflict", "this is the last enabled administrator: "
                            "promote another user first")
        if disabled is True and actor.user_id == user.id:
            raise AuthError(409, "conflict", "you cannot disable your own account")
        for field, value in (("role", None if role is None else Role(role).value),
                             ("disabled", disabled), ("display_name", display_name),
                             ("email", email)):
            if value is not None and getattr(user, field) != value:
                before[field] = getattr(user, field)
                after[field] = value
                setattr(user, field, value)
        if after:
            detail: dict[str, Any] = {"before": before, "after": after}
            if after.get("disabled") is True:
                detail["sessions_ended"] = sessions.revoke_user_sessions(db, user.id, now=now)
            action = ("user.disable" if after.get("disabled") is True
                      else "user.enable" if after.get("disabled") is False
                      else "user.role" if "role" in after else "user.update")
            write_audit(db, actor, action, f"user:{user.username}", detail, now=now)
        out = user_out(user, now)
    return out


def reset_mfa(store: StoreLike, actor: Actor, ref: int | str) -> UserOut:
    """Remove a user's second factor (lost phone): they enrol again at the next sign-in. Their
    sessions end."""
    now = time.time()
    with store.session() as db:
        user = _need_user(db, ref)
        user.totp_secret = ""
        user.totp_pending_secret = ""
        user.recovery_codes = ""
        user.mfa_enrolled = False
        user.totp_last_step = 0
        ended = sessions.revoke_user_sessions(db, user.id, now=now)
        write_audit(db, actor, "user.reset_mfa", f"user:{user.username}",
                    {"sessions_ended": ended}, now=now)
        out = user_out(user, now)
    return out


def unlock_user(store: StoreLike, actor: Actor, ref: int | str) -> UserOut:
    """Lift a lockout before it expires."""
    now = time.time()
    with store.session() as db:
        user = _need_user(db, ref)
        was = user.locked_until
        user.failed_logins = 0
        user.locked_until = None
        write_audit(db, actor, "user.unlock", f"user:{user.username}",
                    {"was_locked_until": was}, now=now)
        out = user_out(user, now)
    return out


def reset_password(store: StoreLike, actor: Actor, ref: int | str) -> tuple[UserOut, str]:
    """Give a user a new random one-time password (returned); their sessions end and they must
    change it at the next sign-in (after their second factor, if they have one)."""
    now = time.time()
    password = passwords.generate_password()
    password_hash = passwords.hash_password(password)
    with store.session() as db:
        user = _need_user(db, ref)
        user.password_hash = password_hash
        user.must_change_password = True
        user.password_changed_at = now
        ended = sessions.revoke_user_sessions(db, user.id, now=now)
        write_audit(db, actor, "user.reset_password", f"user:{user.username}",
                    {"sessions_ended": ended}, now=now)
        out = user_out(user, now)
    return out, password


# -- tokens ---------------------------------------------------------------------------------------


def list_tokens(store: StoreLike, user_id: int) -> list[TokenOut]:
    with store.session(write=False) as db:
        now = time.time()
        rows = db.scalars(select(ApiTokenRow).where(ApiTokenRow.user_id == user_id)
                          .order_by(ApiTokenRow.id))
        return [token_out(r, now) for r in rows]


def create_token(store: StoreLike, actor: Actor, user_id: int, name: str,
                 scopes: list[Permission], granted: frozenset[Permission],
                 expires_in_days: int | None) -> tuple[TokenOut, str]:
    """A new API token of ``user_id`` (returned in clear this once). Its scopes must be among
    ``granted``, what the creator may do now: a token never widens its creator's rights."""
    wanted = sorted({Permission(s) for s in scopes})
    if not wanted:
        raise AuthError(422, "invalid", "a token needs at least one scope")
    beyond = [s.value for s in wanted if s not in granted]
    if beyond:
        raise AuthError(403, "forbidden", "you cannot grant scopes you do not hold: "
                        + ", ".join(beyond))
    if not name.strip():
        raise AuthError(422, "invalid", "a token needs a name")
    now = time.time()
    secret, digest, prefix = tokens.new_token()
    expires = None if expires_in_days is None else now + expires_in_days * 86400.0
    with store.session() as db:
        row = ApiTokenRow(user_id=user_id, name=name.strip()[:128], token_hash=digest,
                          prefix=prefix, scopes=tokens.parse_scopes([s.value for s in wanted]),
                          created_at=now, expires_at=expires, last_used_at=None,
                          revoked_at=None)
        db.add(row)
        db.flush()
        write_audit(db, actor, "token.create", f"token:{row.id}",
                    {"name": row.name, "prefix": prefix, "scopes": [s.value for s in wanted],
                     "expires_at": expires}, now=now)
        out = token_out(row, now)
    return out, secret


def revoke_token(store: StoreLike, actor: Actor, user_id: int, token_id: int) -> TokenOut:
    """Revoke one of ``user_id``'s tokens (revoking a revoked token changes nothing)."""
    now = time.time()
    with store.session() as db:
        row = db.get(ApiTokenRow, token_id)
        if row is None or row.user_id != user_id:
            raise AuthError(404, "not_found", f"no token {token_id}")
        if row.revoked_at is None:
            row.revoked_at = now
            write_audit(db, actor, "token.revoke", f"token:{row.id}",
                        {"name": row.name, "prefix": row.prefix}, now=now)
        out = token_out(row, now)
    return out


# -- audit ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    """An exact action, or a prefix ending in ``.`` or ``*`` (``user.`` = every user change)."""
    target: str | None = None
    outcome: str | None = None
    ip: str | None = None
    since: float | None = None
    until: float | None = None


def _audit_out(row: AuditRow) -> AuditOut:
    try:
        detail = json.loads(row.detail or "{}")
    except ValueError:
        detail = {"unreadable": row.detail}
    if not isinstance(detail, dict):
        detail = {"value": detail}
    return AuditOut(id=row.id, ts=row.ts, actor=row.actor, actor_id=row.actor_id,
                    role=row.role or "", via=row.via or "", ip=row.ip or "", action=row.action,
                    target=row.target or "", outcome=row.outcome or "", detail=detail)


def list_audit(store: StoreLike, flt: AuditFilter, offset: int, limit: int
               ) -> tuple[list[AuditOut], int]:
    """Audit entries matching ``flt``, newest first: (one page, total)."""
    conds: list[Any] = []
    if flt.actor:
        conds.append(AuditRow.actor == flt.actor)
    if flt.action:
        if flt.action.endswith(("*", ".")):
            prefix = flt.action.rstrip("*")
            conds.append(func.substr(AuditRow.action, 1, len(prefix)) == prefix)
        else:
            conds.append(AuditRow.action == flt.action)
    if flt.target:
        conds.append(AuditRow.target == flt.target)
    if flt.outcome:
        conds.append(AuditRow.outcome == flt.outcome)
    if flt.ip:
        conds.append(AuditRow.ip == flt.ip)
    if flt.since is not None:
        conds.append(AuditRow.ts >= flt.since)
    if flt.until is not None:
        conds.append(AuditRow.ts < flt.until)
    with store.session(write=False) as db:
        total = int(db.scalar(select(func.count()).select_from(AuditRow).where(*conds)) or 0)
        rows = db.scalars(select(AuditRow).where(*conds)
                          .order_by(AuditRow.ts.desc(), AuditRow.id.desc())
                          .offset(offset).limit(limit))
        return [_audit_out(r) for r in rows], total
