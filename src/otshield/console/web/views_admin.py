"""The administration pages: user accounts (add, role, disable, unlock, second factor and
password resets) and the audit log.

Every action is a plain HTML form (with the CSRF token) posting to a page route that calls the
same :mod:`otshield.console.auth.service` function as ``/api/v1/users``; those write the audit
entry in the same transaction as the change. After an action the browser is redirected back
(POST/redirect/GET), except when a one-time password must be shown once.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from otshield.console.api.pagination import PageParams, page_params
from otshield.console.api.params import RowId
from otshield.console.auth import service
from otshield.console.auth.deps import Principal, require
from otshield.console.auth.schemas import UserOut
from otshield.console.auth.service import AuthError
from otshield.console.permissions import MFA_REQUIRED, Permission, Role
from otshield.console.web.render import render

__all__ = ["AUDIT_ACTIONS", "router"]

router = APIRouter(include_in_schema=False)

AUDIT_ACTIONS: tuple[tuple[str, str], ...] = (
    ("auth.", "Sign-in and sign-out"),
    ("auth.login_failed", "Failed sign-ins"),
    ("user.", "User changes"),
    ("token.", "API tokens"),
    ("alert.", "Alert triage"),
    ("asset.", "Asset corrections"),
    ("policy.", "Policy changes"),
    ("baseline.", "Baseline changes"),
    ("capture.", "Capture uploads"),
)
"""The audit page's action filter: an exact action or a prefix ending in ``.``."""

_DONE: dict[str, tuple[str, str]] = {
    "role": ("ok", "Role changed."),
    "disable": ("ok", "Account disabled; its sessions have ended."),
    "enable": ("ok", "Account enabled."),
    "unlock": ("ok", "Lockout lifted."),
    "reset-mfa": ("ok", "Second factor removed: the user enrols again at the next sign-in."),
}


def _user_actions(user: UserOut) -> list[tuple[str, str, str]]:
    """(action path, button label, button class) for one row of the user table."""
    out: list[tuple[str, str, str]] = []
    if user.locked_until:
        out.append(("unlock", "Unlock", ""))
    out.append(("reset-password", "Reset password", ""))
    if user.mfa_enrolled:
        out.append(("reset-mfa", "Reset 2FA", ""))
    out.append(("enable", "Enable", "") if user.disabled else ("disable", "Disable", "danger"))
    return out


def _users_page(request: Request, principal: Principal, *, status_code: int = 200,
                flash: tuple[str, str] | None = None,
                secret: tuple[str, str] | None = None, secret_mfa: bool = False) -> Response:
    users = service.list_users(request.app.state.store)
    return render(request, "admin_users.html", principal, status_code=status_code,
                  title="Users", users=users, roles=[r.value for r in Role],
                  mfa_roles={r.value for r in MFA_REQUIRED}, user_actions=_user_actions,
                  flash=flash, secret=secret, secret_mfa=secret_mfa)


def _failed(request: Request, principal: Principal, exc: AuthError) -> Response:
    status = exc.status if 400 <= exc.status < 500 else 400
    return _users_page(request, principal, status_code=status,
                       flash=("error", exc.message[:1].upper() + exc.message[1:] + "."))


@router.get("/admin/users")
def users_page(request: Request, principal: Annotated[Principal, require(Permission.USERS_READ)],
               done: str = "") -> Response:
    return _users_page(request, principal, flash=_DONE.get(done))


@router.post("/admin/users")
def users_add(request: Request, principal: Annotated[Principal, require(Permission.USERS_WRITE)],
              username: Annotated[str, Form(max_length=128)] = "",
              role: Annotated[str, Form(max_length=32)] = "",
              display_name: Annotated[str, Form(max_length=256)] = "") -> Response:
    try:
        wanted = Role(role)
    except ValueError:
        return _failed(request, principal, AuthError(422, "invalid", f"no role {role!r}"))
    try:
        user, secret = service.add_user(request.app.state.store, principal.actor, username,
                                        wanted, display_name=display_name)
    except AuthError as exc:
        return _failed(request, principal, exc)
    return _users_page(request, principal, flash=("ok", f"User {user.username} added."),
                       secret=(user.username, secret), secret_mfa=wanted in MFA_REQUIRED)


@router.post("/admin/users/{user_id}/role")
def users_role(request: Request, principal: Annotated[Principal, require(Permission.USERS_WRITE)],
               user_id: RowId, role: Annotated[str, Form(max_length=32)] = "") -> Response:
    try:
        wanted = Role(role)
        service.update_user(request.app.state.store, principal.actor, user_id, role=wanted)
    except ValueError:
        return _failed(request, principal, AuthError(422, "invalid", f"no role {role!r}"))
    except AuthError as exc:
        return _failed(request, principal, exc)
    return RedirectResponse("/admin/users?done=role", status_code=303)


@router.post("/admin/users/{user_id}/{action}")
def users_action(request: Request,
                 principal: Annotated[Principal, require(Permission.USERS_WRITE)], user_id: RowId,
                 action: str) -> Response:
    store = request.app.state.store
    actor = principal.actor
    try:
        if action == "disable":
            service.update_user(store, actor, user_id, disabled=True)
        elif action == "enable":
            service.update_user(store, actor, user_id, disabled=False)
        elif action == "unlock":
            service.unlock_user(store, actor, user_id)
        elif action == "reset-mfa":
            service.reset_mfa(store, actor, user_id)
        elif action == "reset-password":
            user, secret = service.reset_password(store, actor, user_id)
            return _users_page(request, principal, secret=(user.username, secret),
                               flash=("ok", f"New one-time password for {user.username}."))
        else:
            return _failed(request, principal, AuthError(404, "not_found",
                                                         f"no user action {action!r}"))
    except AuthError as exc:
        return _failed(request, principal, exc)
    return RedirectResponse(f"/admin/users?done={action}", status_code=303)


@router.get("/admin/audit")
def audit_page(request: Request, principal: Annotated[Principal, require(Permission.AUDIT_READ)],
               actor: Annotated[str, Query(max_length=128)] = "",
               action: Annotated[str, Query(max_length=64)] = "",
               outcome: Annotated[str, Query(max_length=16)] = "",
               ip: Annotated[str, Query(max_length=64)] = "",
               params: PageParams = page_params) -> Response:
    flt = service.AuditFilter(actor=actor.strip().lower() or None, action=action or None,
                              outcome=outcome if outcome in ("ok", "failed", "denied") else None,
                              ip=ip.strip() or None)
    entries, total = service.list_audit(request.app.state.store, flt, params.offset,
                                        params.limit)
    shown: dict[str, Any] = {k: v for k, v in (("actor", actor), ("action", action),
                                               ("outcome", outcome), ("ip", ip)) if v}
    if params.per_page != 50:
        shown["per_page"] = params.per_page
    return render(request, "admin_audit.html", principal, title="Audit log", entries=entries,
                  total=total, page=params.page, per_page=params.per_page, params=shown,
                  actions=AUDIT_ACTIONS)
