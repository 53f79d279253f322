"""The access-control API (paths relative to ``/api/v1``; ``create_app`` adds the prefix).

- ``/auth/...``: sign in (password), the second factor (verify, enrol with a QR code, confirm),
  the forced or voluntary password change, sign out, who am I.
- ``/users``: accounts (administrators): list, create (one-time password), change role,
  disable/enable, reset the second factor or the password, lift a lockout.
- ``/tokens``: one's own API tokens: list, create (shown once), revoke.
- ``/audit``: the audit log (administrators), filtered and paginated.

The operations themselves are in :mod:`otshield.console.auth.service`, which the web pages and
the command line call too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from otshield.console.api.errors import ErrorResponse
from otshield.console.api.pagination import Page, PageParams, page_params
from otshield.console.api.params import RowId
from otshield.console.auth import service, sessions
from otshield.console.auth.deps import (
    Principal,
    auth_runtime,
    client_ip,
    public,
    require,
    signed_in,
)
from otshield.console.auth.schemas import (
    AuditOut,
    EnrolmentOut,
    LoginIn,
    MeOut,
    MfaCodeIn,
    PasswordChangeIn,
    RecoveryCodesOut,
    SignInOut,
    TokenCreatedOut,
    TokenCreateIn,
    TokenOut,
    UserCreatedOut,
    UserCreateIn,
    UserOut,
    UserPasswordResetOut,
    UserUpdateIn,
)
from otshield.console.permissions import Permission
from otshield.console.settings import ConsoleSettings

__all__ = ["router"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (400, 401, 403, 404, 409, 422, 429)}

router = APIRouter(responses=_ERRORS)


@contextmanager
def _answers() -> Iterator[None]:
    """Turn the service's refusals into the JSON error."""
    try:
        yield
    except service.AuthError as exc:
        raise exc.as_http() from None


def _store(request: Request) -> service.StoreLike:
    store: service.StoreLike = request.app.state.store
    return store


def _settings(request: Request) -> ConsoleSettings:
    settings: ConsoleSettings = request.app.state.settings
    return settings


def _cookie_token(request: Request, principal: Principal) -> str:
    token = request.cookies.get(sessions.COOKIE_NAME)
    if principal.via != "session" or not token:
        raise service.AuthError(400, "bad_request", "this step belongs to a browser session, "
                                "not to an API token").as_http()
    return token


def _sign_in_out(result: service.SignIn, request: Request, response: Response) -> SignInOut:
    sessions.set_cookie(response, result.token, _settings(request))
    return SignInOut(state=result.state.value, csrf_token=result.csrf_token, user=result.user)


def _ua(request: Request) -> str:
    return request.headers.get("user-agent", "")


# -- sign-in --------------------------------------------------------------------------------------


@router.post("/auth/login", tags=["auth"], dependencies=[public()],
             summary="Sign in with user name and password")
def login(body: LoginIn, request: Request, response: Response) -> SignInOut:
    """Starts a session (cookie ``otshield_session``). ``state`` says what must follow before
    the session carries permissions. Failures are deliberately vague (401); repeated failures
    lock the account or the address out (429 with ``Retry-After``)."""
    with _answers():
        result = service.sign_in(
            _store(request), _settings(request), auth_runtime(request), body.username,
            body.password, ip=client_ip(request), user_agent=_ua(request),
            old_token=request.cookies.get(sessions.COOKIE_NAME))
    return _sign_in_out(result, request, response)


@router.post("/auth/mfa/verify", tags=["auth"], summary="Pass the second factor")
def mfa_verify(body: MfaCodeIn, request: Request, response: Response,
               principal: Annotated[Principal, signed_in()]) -> SignInOut:
    """A TOTP code (each code is accepted once) or an unused recovery code. The session is
    replaced by a new one (new cookie and CSRF token)."""
    token = _cookie_token(request, principal)
    with _answers():
        result = service.verify_mfa(_store(request), _settings(request), auth_runtime(request),
                                    token, body.code, ip=client_ip(request),
                                    user_agent=_ua(request))
    return _sign_in_out(result, request, response)


@router.post("/auth/mfa/enrol", tags=["auth"], summary="Start enrolling an authenticator app")
def mfa_enrol(request: Request, principal: Annotated[Principal, signed_in()]) -> EnrolmentOut:
    """A new secret with its ``otpauth://`` URI and QR code; it replaces the current second
    factor only once confirmed with a code (``/auth/mfa/enrol/confirm``)."""
    token = _cookie_token(request, principal)
    with _answers():
        enrolment = service.begin_enrolment(_store(request), _settings(request), token)
    return EnrolmentOut(secret=enrolment.secret, uri=enrolment.uri, qr_svg=enrolment.qr_svg,
                        qr_png=enrolment.qr_png)


@router.post("/auth/mfa/enrol/confirm", tags=["auth"],
             summary="Confirm the enrolment with a code from the app")
def mfa_enrol_confirm(body: MfaCodeIn, request: Request, response: Response,
                      principal: Annotated[Principal, signed_in()]) -> RecoveryCodesOut:
    """Answers the recovery codes, in clear this once. The session is replaced."""
    token = _cookie_token(request, principal)
    with _answers():
        result, codes = service.confirm_enrolment(
            _store(request), _settings(request), token, body.code, ip=client_ip(request),
            user_agent=_ua(request))
    out = _sign_in_out(result, request, response)
    return RecoveryCodesOut(**out.model_dump(), recovery_codes=codes)


@router.post("/auth/password", tags=["auth"], summary="Change one's password")
def password(body: PasswordChangeIn, request: Request, response: Response,
             principal: Annotated[Principal, signed_in()]) -> SignInOut:
    """Needs the current password. Every other session of the user ends; this one is
    replaced (new cookie and CSRF token)."""
    token = _cookie_token(request, principal)
    with _answers():
        result = service.change_password(
            _store(request), _settings(request), token, body.current_password,
            body.new_password, ip=client_ip(request), user_agent=_ua(request))
    return _sign_in_out(result, request, response)


@router.post("/auth/logout", tags=["auth"], status_code=204, summary="Sign out",
             response_class=Response)
def logout(request: Request, principal: Annotated[Principal, signed_in()]) -> Response:
    answer = Response(status_code=204)
    token = request.cookies.get(sessions.COOKIE_NAME)
    if principal.via == "session" and token:
        service.sign_out(_store(request), _settings(request), token, ip=client_ip(request))
        sessions.clear_cookie(answer, _settings(request))
    return answer


@router.get("/auth/me", tags=["auth"], summary="Who is signed in, and what they may do")
def me(request: Request, principal: Annotated[Principal, signed_in()]) -> MeOut:
    with _store(request).session(write=False) as db:
        user = service.find_user(db, principal.user_id)
        if user is None:
            raise service.AuthError(401, "unauthenticated", "the account is gone").as_http()
        out = service.user_out(user)
    return MeOut(user=out, state=principal.state.value, via=principal.via,
                 permissions=sorted(principal.permissions),
                 scopes=None if principal.scopes is None else sorted(principal.scopes),
                 csrf_token=principal.csrf_token)


# -- users ----------------------------------------------------------------------------------------


@router.get("/users", tags=["users"], summary="List the accounts",
            dependencies=[require(Permission.USERS_READ)])
def users_list(request: Request, params: PageParams = page_params) -> Page[UserOut]:
    users = service.list_users(_store(request))
    return Page.of(users[params.offset:params.offset + params.limit], len(users), params)


@router.post("/users", tags=["users"], status_code=201, summary="Create an account")
def users_create(body: UserCreateIn, request: Request,
                 principal: Annotated[Principal, require(Permission.USERS_WRITE)]
                 ) -> UserCreatedOut:
    """The new user gets a random one-time password (in this answer only) to change at the
    first sign-in."""
    with _answers():
        user, secret = service.add_user(_store(request), principal.actor, body.username,
                                        body.role, display_name=body.display_name,
                                        email=body.email)
    return UserCreatedOut(user=user, one_time_password=secret)


@router.get("/users/{user_id}", tags=["users"], summary="One account",
            dependencies=[require(Permission.USERS_READ)])
def users_get(user_id: RowId, request: Request) -> UserOut:
    with _store(request).session(write=False) as db:
        user = service.find_user(db, user_id)
        if user is None:
            raise service.AuthError(404, "not_found", f"no user {user_id}").as_http()
        return service.user_out(user)


@router.patch("/users/{user_id}", tags=["users"], summary="Change role, state or details")
def users_update(user_id: RowId, body: UserUpdateIn, request: Request,
                 principal: Annotated[Principal, require(Permission.USERS_WRITE)]) -> UserOut:
    """Disabling ends the user's sessions; the last enabled administrator cannot be demoted
    or disabled (409)."""
    with _answers():
        return service.update_user(_store(request), principal.actor, user_id, role=body.role,
                                   disabled=body.disabled, display_name=body.display_name,
                                   email=body.email)


@router.post("/users/{user_id}/reset-mfa", tags=["users"],
             summary="Remove the second factor (lost phone)")
def users_reset_mfa(user_id: RowId, request: Request,
                    principal: Annotated[Principal, require(Permission.USERS_WRITE)]) -> UserOut:
    with _answers():
        return service.reset_mfa(_store(request), principal.actor, user_id)


@router.post("/users/{user_id}/unlock", tags=["users"], summary="Lift a sign-in lockout")
def users_unlock(user_id: RowId, request: Request,
                 principal: Annotated[Principal, require(Permission.USERS_WRITE)]) -> UserOut:
    with _answers():
        return service.unlock_user(_store(request), principal.actor, user_id)


@router.post("/users/{user_id}/reset-password", tags=["users"],
             summary="Give the user a new one-time password")
def users_reset_password(user_id: RowId, request: Request,
                         principal: Annotated[Principal, require(Permission.USERS_WRITE)]
                         ) -> UserPasswordResetOut:
    with _answers():
        user, secret = service.reset_password(_store(request), principal.actor, user_id)
    return UserPasswordResetOut(user=user, one_time_password=secret)


# -- tokens ---------------------------------------------------------------------------------------


@router.get("/tokens", tags=["tokens"], summary="List one's API tokens")
def tokens_list(request: Request,
                principal: Annotated[Principal, require(Permission.TOKENS_OWN)],
                params: PageParams = page_params) -> Page[TokenOut]:
    rows = service.list_tokens(_store(request), principal.user_id)
    return Page.of(rows[params.offset:params.offset + params.limit], len(rows), params)


@router.post("/tokens", tags=["tokens"], status_code=201, summary="Create an API token")
def tokens_create(body: TokenCreateIn, request: Request,
                  principal: Annotated[Principal, require(Permission.TOKENS_OWN)]
                  ) -> TokenCreatedOut:
    """Send it as ``Authorization: Bearer otk_...``. It is shown in this answer only. Its
    scopes must be among what the caller may do now; it grants the intersection of its scopes
    and the owner's role at each use."""
    with _answers():
        info, secret = service.create_token(
            _store(request), principal.actor, principal.user_id, body.name, body.scopes,
            principal.permissions, body.expires_in_days)
    return TokenCreatedOut(token=secret, info=info)


@router.delete("/tokens/{token_id}", tags=["tokens"], summary="Revoke one of one's tokens")
def tokens_revoke(token_id: RowId, request: Request,
                  principal: Annotated[Principal, require(Permission.TOKENS_OWN)]) -> TokenOut:
    with _answers():
        return service.revoke_token(_store(request), principal.actor, principal.user_id,
                                    token_id)


# -- audit ----------------------------------------------------------------------------------------


@router.get("/audit", tags=["audit"], summary="The audit log, newest first",
            dependencies=[require(Permission.AUDIT_READ)])
def audit_list(
    request: Request,
    params: PageParams = page_params,
    actor: Annotated[str | None, Query(max_length=128, description="User name")] = None,
    action: Annotated[str | None, Query(
        max_length=64, description="An action (user.create) or a prefix ending in '.' or '*'")
    ] = None,
    target: Annotated[str | None, Query(max_length=256, description="alert:12, user:bob"
                                        )] = None,
    outcome: Annotated[str | None, Query(pattern="^(ok|failed|denied)$")] = None,
    ip: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[float | None, Query(ge=0, le=1e11, description="Epoch seconds, from")
                     ] = None,
    until: Annotated[float | None, Query(ge=0, le=1e11, description="Epoch seconds, before")
                     ] = None,
) -> Page[AuditOut]:
    flt = service.AuditFilter(actor=actor, action=action, target=target, outcome=outcome,
                              ip=ip, since=since, until=until)
    items, total = service.list_audit(_store(request), flt, params.offset, params.limit)
    return Page.of(items, total, params)
