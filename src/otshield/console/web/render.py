"""Rendering the pages: the Jinja2 environment (autoescape on for every template: everything
shown comes from captures, i.e. from whoever controls the network), its filters, the navigation
table and :func:`render`, which every page handler calls.

The navigation is data (:data:`NAV`): each entry names the permission it needs, so a viewer
never sees a link that would answer 403, and the admin section appears for admins only.
"""

from __future__ import annotations

import importlib.util
import json
import math
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from otshield import __version__
from otshield.console.permissions import Permission, Role, allowed

__all__ = ["LEVEL_NAMES", "NAV", "RESPOND_PAGES", "SECURITY_HEADERS", "TEMPLATES_DIR", "NavItem",
           "env", "module_present", "query_string", "render", "render_fragment"]

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

SECURITY_HEADERS: dict[str, str] = {
    # Scripts only from the console itself (no inline script, no eval): a value that slipped
    # through escaping still could not run. Inline style attributes are allowed (widths of
    # progress bars); images may be data: URIs (QR code).
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # Pages hold the plant's map: never kept in shared or browser caches.
    "Cache-Control": "no-store",
}
"""Headers of every page."""


RESPOND_PAGES = "otshield.console.web.respond_pages"
"""The incident and playbook pages (issue #8), shown when that module is installed."""


class NavItem:
    __slots__ = ("icon", "label", "module", "path", "permission", "section")

    def __init__(self, label: str, path: str, icon: str, permission: Permission,
                 section: str = "", module: str = "") -> None:
        self.label = label
        self.path = path
        self.icon = icon
        self.permission = permission
        self.section = section
        self.module = module
        """A module that must be present for the page to exist ("" = always there)."""


@cache
def module_present(name: str) -> bool:
    """Is the optional page module ``name`` installed?"""
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


NAV: tuple[NavItem, ...] = (
    NavItem("Overview", "/", "overview", Permission.ALERTS_READ),
    NavItem("Alerts", "/alerts", "alerts", Permission.ALERTS_READ),
    NavItem("Incidents", "/incidents", "alerts", Permission.INCIDENTS_READ,
            module=RESPOND_PAGES),
    NavItem("Assets", "/assets", "assets", Permission.ASSETS_READ),
    NavItem("Network map", "/map", "map", Permission.MAP_READ),
    NavItem("Policy", "/policy", "policy", Permission.POLICY_READ),
    NavItem("Playbooks", "/playbooks", "policy", Permission.PLAYBOOKS_READ,
            module=RESPOND_PAGES),
    NavItem("Upload capture", "/upload", "upload", Permission.CAPTURES_READ),
    NavItem("Users", "/admin/users", "users", Permission.USERS_READ, "Administration"),
    NavItem("Audit log", "/admin/audit", "audit", Permission.AUDIT_READ, "Administration"),
    NavItem("Account", "/account", "account", Permission.TOKENS_OWN, "You"),
)


LEVEL_NAMES: dict[int, str] = {
    0: "process", 1: "basic control", 2: "supervisory", 3: "site operations",
    4: "enterprise", 5: "external",
}
"""Short Purdue level names for menus and legends (the inventory's table has the long ones)."""


def _fmt_time(value: object, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """Epoch seconds or a datetime as UTC text; empty for nothing."""
    if value is None or value == "" or value == 0:
        return ""
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=UTC)
        return dt.astimezone(UTC).strftime(fmt)
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            return ""
        return time.strftime(fmt, time.gmtime(value))
    return str(value)


def _fmt_bytes(value: object) -> str:
    if not isinstance(value, (int, float)):
        return ""
    size = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""  # pragma: no cover


def _fmt_count(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value or 0)


def _level(value: object) -> str:
    return "?" if value is None or value == "" else f"L{value}"


def _role_label(value: object) -> str:
    return str(value or "").replace("_", " ")


def _plain(value: object) -> str:
    """A value of an audit detail as compact JSON (strings as they are)."""
    return value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)


def _path_part(value: object) -> str:
    """A value as one URL path segment (asset ids hold ``:``, kept readable)."""
    return quote(str(value), safe=":@")


def query_string(params: Mapping[str, object], **changes: object) -> str:
    """``?a=1&b=2`` from the current filters with ``changes`` applied (None drops a key)."""
    merged: dict[str, object] = {k: v for k, v in params.items() if v not in (None, "")}
    for key, value in changes.items():
        if value is None or value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return "?" + urlencode([(k, str(v)) for k, v in merged.items()]) if merged else "?"


def _build_env() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["when"] = _fmt_time
    environment.filters["size"] = _fmt_bytes
    environment.filters["count"] = _fmt_count
    environment.filters["level"] = _level
    environment.filters["rolename"] = _role_label
    environment.filters["u"] = _path_part
    environment.filters["plain"] = _plain
    environment.globals["version"] = __version__
    environment.globals["query_string"] = query_string
    environment.globals["level_names"] = LEVEL_NAMES
    return environment


env = _build_env()


def _nav_for(role: Role | None, scopes: frozenset[str] | None) -> list[NavItem]:
    if role is None:
        return []
    return [item for item in NAV if allowed(role, item.permission, scopes)
            and (not item.module or module_present(item.module))]


def _context(request: Request, principal: Any, ctx: Mapping[str, Any]) -> dict[str, Any]:
    role = Role(principal.role) if principal is not None else None
    scopes = getattr(principal, "scopes", None) if principal is not None else None
    path = request.url.path
    nav = _nav_for(role, scopes)
    active = max((item for item in nav
                  if path == item.path or (item.path != "/" and path.startswith(item.path + "/"))
                  or (item.path != "/" and path == item.path)),
                 key=lambda item: len(item.path), default=None)

    def can(permission: str) -> bool:
        return role is not None and allowed(role, Permission(permission), scopes)

    base: dict[str, Any] = {
        "request": request,
        "me": principal,
        "nav": nav,
        "active": active.path if active else "",
        "csrf_token": getattr(principal, "csrf_token", "") or "",
        "can": can,
        "flash": None,
        "path": path,
    }
    base.update(ctx)
    return base


def render(request: Request, template: str, principal: Any, *, status_code: int = 200,
           headers: Mapping[str, str] | None = None, **ctx: Any) -> HTMLResponse:
    """A full page (or a fragment: any template name) for ``principal`` (None when signed out)."""
    html = env.get_template(template).render(_context(request, principal, ctx))
    response = HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def render_fragment(request: Request, template: str, principal: Any, **ctx: Any) -> Markup:
    """A fragment as markup, to embed in another response."""
    return Markup(env.get_template(template).render(_context(request, principal, ctx)))
