"""The console application: ``create_app(settings)`` builds the FastAPI app that
``otshield serve`` runs and the tests drive in process.

It opens the store named by the settings and migrates it to the current schema, mounts the
REST API (``/api/v1/...``), the sign-in and user routes of :mod:`otshield.console.auth`, the
web pages of :mod:`otshield.console.web` and their static files (``/static``), and routes every
failure through one JSON error shape (:mod:`otshield.console.api.errors`). The capture upload
jobs run on a worker thread owned by the app and stopped with it.

Shared request state: ``request.app.state.settings`` (:class:`ConsoleSettings`),
``request.app.state.store`` (:class:`otshield.store.Store`), ``request.app.state.jobs``
(:class:`otshield.console.api.jobrunner.JobRunner`), ``request.app.state.read_cache``
(:class:`otshield.console.readcache.ReadCache`: read answers kept while the data is unchanged).
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import ModuleType
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from otshield import __version__
from otshield.console.api import API_ROUTERS
from otshield.console.api.cached import CachedReads, cached_routes
from otshield.console.api.docs import install_docs
from otshield.console.api.errors import ErrorBody, ErrorResponse, install_error_handlers
from otshield.console.api.jobrunner import JobRunner
from otshield.console.api.rules import RulePack
from otshield.console.readcache import ReadCache
from otshield.console.settings import ConsoleSettings
from otshield.respond.service import ResponseLoop
from otshield.store import Store

__all__ = ["API_PREFIX", "create_app"]

log = logging.getLogger("otshield.console")

PageErrorHook = Callable[[Request, StarletteHTTPException], Response | None]
"""The web pages' error hook: a page (or a redirect to /login) for a page path, else None."""

API_PREFIX = "/api/v1"

_AUTH_MODULE = "otshield.console.auth.routes"
"""Sign-in, users, tokens and audit routes (``router``, paths relative to ``/api/v1``)."""
_WEB_MODULE = "otshield.console.web"
"""The web pages: ``router`` (no prefix), ``STATIC_DIR``, ``page_error_response``."""


def _optional_module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        # Only the module itself being absent is tolerated; a missing dependency inside it
        # is a real fault that must surface.
        if exc.name is not None and name.startswith(exc.name):
            return None
        raise


def _open_store(settings: ConsoleSettings) -> Store:
    store = Store(settings.database)
    store.migrate()
    store.analyze()  # a store filled by an older otshield may have no planner statistics
    return store


def create_app(settings: ConsoleSettings, *, store: Store | None = None,
               warm: bool = False) -> FastAPI:
    """The console app over ``settings`` (or an already open ``store``, for tests that share
    one). The store is migrated to the current schema before the first request. ``warm``:
    load the rule pack and the ATT&CK table in the background at start (``otshield serve``),
    so the first requests do not all wait for them."""
    if store is None:
        store = _open_store(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    runner = JobRunner(store, settings)
    # issue #8: notification delivery and step escalation (reads notify.yaml now, so a
    # broken file stops the start with its message)
    respond = ResponseLoop(store, settings)

    rule_pack = RulePack(settings.rules_dir)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if warm:
            threading.Thread(target=rule_pack.get, name="otshield-rules", daemon=True).start()
        runner.start()
        respond.start()
        try:
            yield
        finally:
            respond.stop()
            runner.stop()

    app = FastAPI(
        title="otshield console",
        version=__version__,
        description=(
            "Passive OT network monitoring: the asset inventory, the network map, alerts and "
            "their triage, baselines, the zones-and-conduits policy, the rule pack, capture "
            "analysis jobs and reports. Sign in with a session (the web pages) or send an "
            "API token as `Authorization: Bearer otk_...`. Every error answers "
            "`{\"error\": {\"code\", \"message\", \"details\"}}`."),
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served from the package by install_docs (no CDN)
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.jobs = runner
    app.state.rule_pack = rule_pack
    app.state.read_cache = ReadCache(store.version) if settings.read_cache else None
    app.state.respond = respond
    install_error_handlers(app)
    if app.state.read_cache is not None:
        app.add_middleware(CachedReads, cache=app.state.read_cache,
                           routes=lambda: cached_routes(app))
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]

    install_docs(app, API_PREFIX)
    api = APIRouter(prefix=API_PREFIX)
    for router in API_ROUTERS:
        api.include_router(router)
    app.include_router(api)
    auth = _optional_module(_AUTH_MODULE)
    if auth is not None:
        app.include_router(auth.router, prefix=API_PREFIX)
    else:
        log.warning("%s is absent: no sign-in routes", _AUTH_MODULE)
    web = _optional_module(_WEB_MODULE)
    if web is not None:
        app.include_router(web.router)
        app.mount("/static", StaticFiles(directory=web.STATIC_DIR), name="static")
        _install_page_errors(app, web.page_error_response)
    else:
        log.warning("%s is absent: no web pages", _WEB_MODULE)
    return app


_ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, corrected to what the API answers: every API operation's 422 (and any
    status it does not list: the ``default`` response) has the JSON error shape, not
    FastAPI's ``HTTPValidationError``."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description,
                         routes=app.routes)
    error = {"description": "Error: `{\"error\": {\"code\", \"message\", \"details\"}}`",
             "content": {"application/json": {"schema": _ERROR_REF}}}
    for path, item in schema.get("paths", {}).items():
        if not path.startswith(API_PREFIX):
            continue
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = dict(error, description="Invalid request")
            responses.setdefault("default", error)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("ErrorResponse", ErrorResponse.model_json_schema(
        ref_template="#/components/schemas/{model}"))
    for name, model in (("ErrorBody", ErrorBody),):
        components.setdefault(name, model.model_json_schema())
    # API tokens (the docs page's "Authorize" button; sessions use the cookie)
    schema["components"].setdefault("securitySchemes", {})["apiToken"] = {
        "type": "http", "scheme": "bearer",
        "description": "An API token (`otk_...`) made at /account or POST /api/v1/tokens."}
    schema.setdefault("security", [{"apiToken": []}, {}])  # {}: the session cookie, or public
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    app.openapi_schema = schema
    return schema


def _install_page_errors(app: FastAPI, page_error: PageErrorHook) -> None:
    """Errors on page paths go to the web part's ``page_error_response(request, exc)`` first
    (an HTML page, a redirect to /login for 401); it answers None for ``/api/`` paths and
    JSON clients, and the JSON error shape follows."""
    json_http = app.exception_handlers[StarletteHTTPException]
    json_validation = app.exception_handlers[RequestValidationError]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        page = page_error(request, exc)
        if page is not None:
            return page
        response: Response = await json_http(request, exc)  # type: ignore[misc]
        return response

    async def validation_error(request: Request, exc: Exception) -> Response:
        page = page_error(request, StarletteHTTPException(422, "invalid request"))
        if page is not None:
            return page
        response: Response = await json_validation(request, exc)  # type: ignore[misc]
        return response

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
