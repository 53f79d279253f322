"""The authorisation matrix: every route of the whole console (API and pages) x every role, a
scoped API token and an anonymous caller gets exactly the answer its rule allows.

Each route's rule is read from the app itself: the :class:`Requirement` objects its dependencies
carry (``require(permission)``, ``signed_in()`` or ``public()``; a router's and the route's own
must all pass). A route with none fails
:func:`test_every_route_declares_who_may_call_it`, so a new route that forgets ``require``
cannot slip in. Expected answers:

- permitted: neither 401 nor 403 (nor, for a page, a redirect to /login);
- signed in but not permitted: 403;
- anonymous on a route that needs a principal: 401 for the API, a redirect to /login for pages.

Requests use ids that do not exist (``999999``) and empty bodies, so a permitted call ends in
404 or 422 instead of changing anything; the routes that end the session run last.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from console.consolekit import ConsoleKit
from otshield.console.auth.deps import Requirement, public, require, signed_in
from otshield.console.permissions import Permission, Role, allowed

TOKEN_ROLE = Role.ANALYST
TOKEN_SCOPES = frozenset({Permission.ALERTS_READ, Permission.ALERTS_TRIAGE,
                          Permission.ASSETS_READ})
"""The scoped token of the matrix: an analyst's, limited to reading and triaging alerts and
reading assets (no tokens:own, so its own token routes must refuse it)."""

_SESSION_ENDERS = ("/logout",)
_QUIET: dict[str, Any] = {"follow_redirects": False, "raise_server_exceptions": False}
"""Clients see redirects and 500s as answers (a 500 is reported, not raised)."""


@dataclass(frozen=True)
class Rule:
    method: str
    path: str
    requirements: tuple[Requirement, ...]
    """Every one must pass (a router's and the route's own, say)."""

    @property
    def signed_in(self) -> bool:
        return any(r.signed_in for r in self.requirements)

    @property
    def permissions(self) -> tuple[Permission, ...]:
        return tuple(r.permission for r in self.requirements if r.permission is not None)

    @property
    def is_page(self) -> bool:
        return not self.path.startswith("/api/")

    def url(self) -> str:
        # Every path parameter gets an id that exists nowhere.
        return re.sub(r"\{[^}]*\}", "999999", self.path)


def _requirements(dependant: Dependant) -> list[Requirement]:
    found = [d.call for d in dependant.dependencies if isinstance(d.call, Requirement)]
    for sub in dependant.dependencies:
        found.extend(_requirements(sub))
    return found


def _docs_paths(app: FastAPI) -> set[str]:
    return {p for p in (app.openapi_url, app.docs_url, app.redoc_url,
                        app.swagger_ui_oauth2_redirect_url) if p}


def route_rules(app: FastAPI) -> tuple[list[Rule], list[str]]:
    """(the rule of every method of every route, the routes that declare none)."""
    rules: list[Rule] = []
    problems: list[str] = []
    docs = _docs_paths(app)
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if isinstance(route, APIRoute):
            path = str(ctx.path)
            methods = set(ctx.methods or ())
            reqs = tuple(_requirements(ctx.dependant))
            if not reqs:
                problems.append(f"{sorted(methods)} {path}: no require/signed_in/public")
                continue
            for method in sorted(methods - {"HEAD", "OPTIONS"}):
                rules.append(Rule(method, path, reqs))
        elif isinstance(route, Route) and route.path in docs:
            continue  # the OpenAPI document and its viewer: public by design
        elif isinstance(route, Mount) and route.name == "static":
            continue  # stylesheets, scripts, vendored libraries
        else:
            problems.append(f"{type(route).__name__} {getattr(route, 'path', route)}: "
                            "not an API route with a declared rule")
    rules.sort(key=lambda r: (r.path.endswith(_SESSION_ENDERS), r.path, r.method))
    return rules, problems


# -- the checker itself -----------------------------------------------------------------------


def test_checker_reports_a_route_without_a_rule() -> None:
    app = FastAPI()
    router = APIRouter()

    @router.get("/api/v1/guarded", dependencies=[require(Permission.ASSETS_READ)])
    def guarded() -> dict[str, str]:
        return {}

    @router.get("/api/v1/open", dependencies=[public()])
    def open_() -> dict[str, str]:
        return {}

    @router.post("/api/v1/forgot")
    def forgot() -> dict[str, str]:
        return {}

    app.include_router(router)
    rules, problems = route_rules(app)
    assert [(r.method, r.path, r.permissions, r.signed_in) for r in rules] == [
        ("GET", "/api/v1/guarded", (Permission.ASSETS_READ,), True),
        ("GET", "/api/v1/open", (), False)]
    assert problems == ["['POST'] /api/v1/forgot: no require/signed_in/public"]


def test_url_fills_every_parameter() -> None:
    rule = Rule("GET", "/api/v1/a/{x}/b/{y:path}", (Requirement(None, signed_in=True),))
    assert rule.url() == "/api/v1/a/999999/b/999999"
    assert repr(signed_in().dependency) == "<Requirement signed_in()>"


# -- the whole console --------------------------------------------------------------------------


def test_every_route_declares_who_may_call_it(kit: ConsoleKit) -> None:
    rules, problems = route_rules(kit.app)
    assert problems == []
    paths = {r.path for r in rules}
    # The access-control routes and at least some of the other parts' are there.
    assert {"/api/v1/auth/login", "/api/v1/users", "/api/v1/tokens", "/api/v1/audit"} <= paths
    assert len(rules) >= 20


def _expected(rule: Rule, who: Role | str) -> str:
    if who == "anonymous":
        if not rule.signed_in:
            return "permitted"
        return "login_redirect" if rule.is_page else "401"
    if who == "token":
        scopes = frozenset(s.value for s in TOKEN_SCOPES)
        ok = all(allowed(TOKEN_ROLE, p, scopes) for p in rule.permissions)
    else:
        assert isinstance(who, Role)
        ok = all(allowed(who, p) for p in rule.permissions)
    return "permitted" if ok else "403"


def _observed(rule: Rule, status: int, location: str) -> str:
    if status >= 500:
        return f"server error {status}"
    if status in (302, 303, 307) and location.startswith("/login"):
        return "login_redirect"
    if not rule.signed_in:
        # public() never refuses: a 401 there is the route's own answer (a failed sign-in).
        return "403" if status == 403 else "permitted"
    if status in (401, 403):
        return str(status)
    return "permitted"


def _client(kit: ConsoleKit, who: Role | str) -> TestClient:
    if who == "anonymous":
        return kit.anonymous(**_QUIET)
    if who == "token":
        r = kit.client(TOKEN_ROLE).post("/api/v1/tokens", json={
            "name": "matrix", "scopes": sorted(s.value for s in TOKEN_SCOPES)})
        assert r.status_code == 201, r.text
        return kit.anonymous(**_QUIET,
                             headers={"Authorization": f"Bearer {r.json()['token']}"})
    assert isinstance(who, Role)
    return kit.sign_in(kit.users[who], kit.anonymous(**_QUIET))


@pytest.mark.parametrize("who", [*Role, "token", "anonymous"],
                         ids=[*(r.value for r in Role), "token", "anonymous"])
def test_matrix(kit: ConsoleKit, who: Role | str) -> None:
    rules, _ = route_rules(kit.app)
    client = _client(kit, who)
    wrong = []
    for rule in rules:
        ender = rule.path.endswith(_SESSION_ENDERS)
        if ender and isinstance(who, Role):
            client = _client(kit, who)  # each sign-out ends its own, fresh session
        body: dict[str, Any] | None = {} if rule.method in ("POST", "PUT", "PATCH") else None
        r = client.request(rule.method, rule.url(), json=body)
        got = _observed(rule, r.status_code, r.headers.get("location", ""))
        want = _expected(rule, who)
        if ender and want == "permitted" and got == "login_redirect":
            got = "permitted"  # signed out, the page sends the browser to the sign-in form
        if got != want:
            wrong.append(f"{rule.method} {rule.path} {rule.requirements}: expected {want}, "
                         f"got {r.status_code} {r.text[:120]!r}")
    assert not wrong, "\n".join(wrong)
