"""The sign-in pages: password, second factor, authenticator enrolment (QR code), the forced
password change, and sign-out.

The sign-in form is ``public()``; the later steps are ``signed_in()`` (a session that may still be
half-way: part 6's dependency checks the CSRF token of every POST). Each step calls the same
service function as the API's ``/api/v1/auth/*`` (:mod:`otshield.console.auth.service`), which
checks the session's state itself; the pages only choose where the browser goes next.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from markupsafe import Markup

from otshield.console.auth import service
from otshield.console.auth.deps import Principal, auth_runtime, client_ip, public, signed_in
from otshield.console.auth.passwords import MIN_LENGTH
from otshield.console.auth.service import AuthError, SignIn, SignInState
from otshield.console.auth.sessions import COOKIE_NAME, clear_cookie, set_cookie
from otshield.console.auth.totp import Enrolment
from otshield.console.settings import ConsoleSettings
from otshield.console.web.errors import safe_next
from otshield.console.web.render import render
from otshield.store.models import UserRow

__all__ = ["STEP_PAGES", "router", "step_url"]

router = APIRouter(include_in_schema=False)

STEP_PAGES: dict[SignInState, str] = {
    SignInState.MFA_VERIFY: "/mfa",
    SignInState.PASSWORD_CHANGE: "/password",
    SignInState.MFA_ENROL: "/mfa/enrol",
}
"""Where a half-signed-in session goes next."""

_Text = Annotated[str, Form(max_length=1024)]
_Next = Annotated[str, Form(max_length=2048)]


def _settings(request: Request) -> ConsoleSettings:
    settings: ConsoleSettings = request.app.state.settings
    return settings


def _agent(request: Request) -> str:
    return request.headers.get("user-agent", "")[:512]


def _token(request: Request) -> str:
    return request.cookies.get(COOKIE_NAME, "")


def _go(url: str, signin: SignIn | None, request: Request) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    if signin is not None:
        set_cookie(response, signin.token, _settings(request))
    return response


def step_url(state: SignInState, nxt: str) -> str:
    """The page of sign-in step ``state``, carrying ``nxt`` (``nxt`` itself when done)."""
    if state is SignInState.OK:
        return nxt
    page = STEP_PAGES[state]
    return page if nxt == "/" else f"{page}?next={quote(nxt, safe='/:')}"


def _error_flash(exc: AuthError) -> tuple[str, str]:
    message = exc.message
    if exc.retry_after is not None:
        message += f" (about {max(1, round(exc.retry_after / 60))} min)"
    return ("error", message[:1].upper() + message[1:] + ".")


def _page_status(exc: AuthError) -> int:
    return exc.status if exc.status in (400, 401, 403, 409, 422, 429) else 400


def _headers(exc: AuthError) -> dict[str, str]:
    if exc.retry_after is not None:
        return {"Retry-After": str(max(1, int(exc.retry_after + 0.999)))}
    return {}


def _away(principal: Principal, nxt: str, *wanted: SignInState) -> Response | None:
    """Where to send a principal whose sign-in state is not one of ``wanted`` (None: stay).
    A token has no sign-in steps: the pages are for browsers."""
    if principal.via != "session":
        return RedirectResponse("/", status_code=303)
    if principal.state not in wanted:
        return RedirectResponse(step_url(principal.state, nxt), status_code=303)
    return None


# -- password ---------------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request, principal: Annotated[Principal | None, public()],
               next: str = "/") -> Response:
    nxt = safe_next(next)
    if principal is not None and principal.via == "session":
        return _go(step_url(principal.state, nxt), None, request)
    return render(request, "login.html", None, title="Sign in", next=nxt, username="")


@router.post("/login")
def login_submit(request: Request, _principal: Annotated[Principal | None, public()],
                 username: _Text = "", password: _Text = "", next: _Next = "/") -> Response:
    nxt = safe_next(next)
    try:
        signin = service.sign_in(request.app.state.store, _settings(request),
                                 auth_runtime(request), username, password,
                                 ip=client_ip(request), user_agent=_agent(request),
                                 old_token=_token(request) or None)
    except AuthError as exc:
        return render(request, "login.html", None, status_code=_page_status(exc),
                      headers=_headers(exc), title="Sign in", next=nxt,
                      username=username[:128], flash=_error_flash(exc))
    return _go(step_url(signin.state, nxt), signin, request)


# -- second factor ----------------------------------------------------------------------------


@router.get("/mfa")
def mfa_page(request: Request, principal: Annotated[Principal, signed_in()],
             next: str = "/") -> Response:
    nxt = safe_next(next)
    away = _away(principal, nxt, SignInState.MFA_VERIFY)
    if away is not None:
        return away
    return render(request, "mfa.html", principal, title="Two-factor authentication", next=nxt)


@router.post("/mfa")
def mfa_submit(request: Request, principal: Annotated[Principal, signed_in()], code: _Text = "",
               next: _Next = "/") -> Response:
    nxt = safe_next(next)
    away = _away(principal, nxt, SignInState.MFA_VERIFY)
    if away is not None:
        return away
    try:
        signin = service.verify_mfa(request.app.state.store, _settings(request),
                                    auth_runtime(request), _token(request), code.strip(),
                                    ip=client_ip(request), user_agent=_agent(request))
    except AuthError as exc:
        return render(request, "mfa.html", principal, status_code=_page_status(exc),
                      headers=_headers(exc), flash=_error_flash(exc),
                      title="Two-factor authentication", next=nxt)
    return _go(step_url(signin.state, nxt), signin, request)


# -- enrolment --------------------------------------------------------------------------------


def _enrol_form(request: Request, principal: Principal, enrolment: Enrolment, nxt: str, *,
                status_code: int = 200, flash: tuple[str, str] | None = None) -> Response:
    return render(request, "mfa_enrol.html", principal, status_code=status_code, flash=flash,
                  title="Set up two-factor authentication", next=nxt,
                  qr_svg=Markup(enrolment.qr_svg), secret=enrolment.secret,
                  required=principal.state is SignInState.MFA_ENROL, recovery_codes=[])


@router.get("/mfa/enrol")
def enrol_page(request: Request, principal: Annotated[Principal, signed_in()],
               next: str = "/") -> Response:
    nxt = safe_next(next)
    away = _away(principal, nxt, SignInState.MFA_ENROL, SignInState.OK)
    if away is not None:
        return away
    try:
        enrolment = service.begin_enrolment(request.app.state.store, _settings(request),
                                            _token(request))
    except AuthError:
        return _go("/login", None, request)
    return _enrol_form(request, principal, enrolment, nxt)


@router.post("/mfa/enrol")
def enrol_submit(request: Request, principal: Annotated[Principal, signed_in()], code: _Text = "",
                 next: _Next = "/") -> Response:
    nxt = safe_next(next)
    away = _away(principal, nxt, SignInState.MFA_ENROL, SignInState.OK)
    if away is not None:
        return away
    store = request.app.state.store
    try:
        signin, codes = service.confirm_enrolment(
            store, _settings(request), _token(request), code.strip(),
            ip=client_ip(request), user_agent=_agent(request))
    except AuthError as exc:
        if exc.status not in (400, 409):
            return _go(step_url(principal.state, nxt), None, request)
        # A mistyped code: show the same pending secret again (no rescan needed); none
        # pending (it was replaced in another tab): start a fresh one.
        pending = _pending_enrolment(request, principal)
        if pending is None:
            pending = service.begin_enrolment(store, _settings(request), _token(request))
        return _enrol_form(request, principal, pending, nxt, status_code=_page_status(exc),
                           flash=_error_flash(exc))
    done = _Signed(signin.user.username, signin.user.role.value, signin.csrf_token)
    response = render(request, "mfa_enrol.html", done, title="Two-factor authentication is on",
                      next=step_url(signin.state, nxt), recovery_codes=codes, qr_svg="",
                      secret="", required=False)
    set_cookie(response, signin.token, _settings(request))
    return response


def _pending_enrolment(request: Request, principal: Principal) -> Enrolment | None:
    """The enrolment begun earlier and not yet confirmed (its QR code again), if any."""
    with request.app.state.store.session(write=False) as db:
        user = db.get(UserRow, principal.user_id)
        if user is None or not user.totp_pending_secret:
            return None
        return Enrolment(user.totp_pending_secret, user.username)


class _Signed:
    """The just-rotated session, for the page that shows the recovery codes."""

    __slots__ = ("csrf_token", "role", "scopes", "username")

    def __init__(self, username: str, role: str, csrf_token: str) -> None:
        self.username = username
        self.role = role
        self.csrf_token = csrf_token
        self.scopes: frozenset[str] | None = None


# -- password change --------------------------------------------------------------------------


def _password_ctx(principal: Principal, nxt: str) -> dict[str, Any]:
    return {"title": "Change your password", "next": nxt, "min_length": MIN_LENGTH,
            "forced": principal.state is SignInState.PASSWORD_CHANGE}


@router.get("/password")
def password_page(request: Request, principal: Annotated[Principal, signed_in()],
                  next: str = "/") -> Response:
    nxt = safe_next(next)
    away = _away(principal, nxt, SignInState.PASSWORD_CHANGE, SignInState.OK)
    if away is not None:
        return away
    return render(request, "password.html", principal, **_password_ctx(principal, nxt))


@router.post("/password")
def password_submit(request: Request, principal: Annotated[Principal, signed_in()],
                    current_password: _Text = "", new_password: _Text = "",
                    confirm_password: _Text = "", next: _Next = "/") -> Response:
    nxt = safe_next(next)
    away = _away(principal, nxt, SignInState.PASSWORD_CHANGE, SignInState.OK)
    if away is not None:
        return away
    ctx = _password_ctx(principal, nxt)
    if new_password != confirm_password:
        return render(request, "password.html", principal, status_code=422,
                      flash=("error", "The two new passwords differ."), **ctx)
    try:
        signin = service.change_password(request.app.state.store, _settings(request),
                                         _token(request), current_password, new_password,
                                         ip=client_ip(request), user_agent=_agent(request))
    except AuthError as exc:
        return render(request, "password.html", principal, status_code=_page_status(exc),
                      headers=_headers(exc), flash=_error_flash(exc), **ctx)
    target = step_url(signin.state, nxt)
    if signin.state is SignInState.OK and nxt == "/" and not ctx["forced"]:
        target = "/account?done=password"
    return _go(target, signin, request)


# -- sign-out ---------------------------------------------------------------------------------


@router.post("/logout")
def logout(request: Request, principal: Annotated[Principal, signed_in()]) -> Response:
    response = RedirectResponse("/login", status_code=303)
    if principal.via == "session":
        service.sign_out(request.app.state.store, _settings(request), _token(request),
                         ip=client_ip(request))
    clear_cookie(response, _settings(request))
    return response
