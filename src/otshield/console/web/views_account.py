"""The account page: one's own details, password, second factor and API tokens.

Token creation and revocation call the same service functions as ``/api/v1/tokens``; the new
token's secret is shown on the page that answers the creation, once, and never again.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from otshield.console.api.params import RowId
from otshield.console.auth import service
from otshield.console.auth.deps import Principal, require
from otshield.console.auth.service import AuthError
from otshield.console.permissions import Permission
from otshield.console.web.render import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_DONE: dict[str, tuple[str, str]] = {
    "password": ("ok", "Password changed. Your other sessions have ended."),
    "revoked": ("ok", "Token revoked."),
}


def _page(request: Request, principal: Principal, *, status_code: int = 200,
          flash: tuple[str, str] | None = None,
          new_token: tuple[str, str] | None = None) -> Response:
    store = request.app.state.store
    with store.session(write=False) as db:
        row = service.find_user(db, principal.user_id)
        user = service.user_out(row) if row is not None else None
    if user is None:  # deleted between the check and now
        return RedirectResponse("/login", status_code=303)
    tokens = service.list_tokens(store, principal.user_id)
    scopes = sorted(p.value for p in principal.permissions)
    return render(request, "account.html", principal, status_code=status_code,
                  title="Your account", user=user, tokens=tokens, scopes=scopes, flash=flash,
                  new_token=new_token)


@router.get("/account")
def account_page(request: Request, principal: Annotated[Principal, require(Permission.TOKENS_OWN)],
                 done: str = "") -> Response:
    return _page(request, principal, flash=_DONE.get(done))


@router.post("/account/tokens")
def token_create(request: Request, principal: Annotated[Principal, require(Permission.TOKENS_OWN)],
                 name: Annotated[str, Form(max_length=128)] = "",
                 scopes: Annotated[list[str] | None, Form()] = None,
                 expires_in_days: Annotated[str, Form(max_length=8)] = "90") -> Response:
    try:
        wanted = [Permission(s) for s in (scopes or [])]
    except ValueError:
        return _page(request, principal, status_code=422,
                     flash=("error", "Unknown scope: reload the page and try again."))
    days: int | None
    if expires_in_days.strip() == "":
        days = None
    elif expires_in_days.isdigit() and 1 <= int(expires_in_days) <= 3650:
        days = int(expires_in_days)
    else:
        return _page(request, principal, status_code=422,
                     flash=("error", "The expiry must be 1 to 3650 days, or never."))
    try:
        info, secret = service.create_token(request.app.state.store, principal.actor,
                                            principal.user_id, name, wanted,
                                            principal.permissions, days)
    except AuthError as exc:
        status = exc.status if 400 <= exc.status < 500 else 400
        return _page(request, principal, status_code=status,
                     flash=("error", exc.message[:1].upper() + exc.message[1:] + "."))
    return _page(request, principal, flash=("ok", f"Token {info.name} created."),
                 new_token=(info.name, secret))


@router.post("/account/tokens/{token_id}/revoke")
def token_revoke(request: Request, principal: Annotated[Principal, require(Permission.TOKENS_OWN)],
                 token_id: RowId) -> Response:
    try:
        service.revoke_token(request.app.state.store, principal.actor, principal.user_id,
                             token_id)
    except AuthError as exc:
        return _page(request, principal, status_code=exc.status if exc.status < 500 else 400,
                     flash=("error", exc.message[:1].upper() + exc.message[1:] + "."))
    return RedirectResponse("/account?done=revoked", status_code=303)
