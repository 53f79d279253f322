"""Read endpoints answered from the console's :class:`~otshield.console.readcache.ReadCache`.

Two halves:

- ``cached_json(request, compute)``, called by a list endpoint after its permission
  dependency ran: the answer ``compute()`` would give, kept per path and query string
  (parameters in any order) while the store's data version is unchanged. Only successful
  answers are kept; errors are raised by ``compute`` as before.
- :class:`CachedReads`, an ASGI middleware in front of the routes: a ``GET`` of such an
  endpoint whose answer is kept, from a caller whose credential is kept too, is answered at
  once, without FastAPI parsing and validating the query string again and solving the
  route's dependencies (about 2 ms of a 2.5 ms request). The caller is recognised as the
  route would recognise it (:func:`~otshield.console.auth.deps.current_principal`, itself
  kept while the store is unchanged) and its permission checked with the route's own
  :class:`~otshield.console.auth.deps.Requirement` (the one the authorisation-matrix test
  reads); anything the fast path is not sure of (no caller, a missing permission, nothing
  kept) goes on to the route, which answers or refuses as always.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from otshield.console.auth.deps import Requirement, current_principal, known_principal
from otshield.console.readcache import ReadCache

__all__ = ["CachedReads", "cacheable", "cached_json", "cached_routes", "cached_value",
           "read_cache"]

T = TypeVar("T")

_Frozen = tuple[bytes, int, str]
"""A kept answer: body, status, media type."""

_CACHEABLE: set[Callable[..., Any]] = set()


def cacheable(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a GET endpoint that answers through :func:`cached_json` (the fast path serves it)."""
    _CACHEABLE.add(endpoint)
    return endpoint


def read_cache(request: Request) -> ReadCache | None:
    cache = getattr(request.app.state, "read_cache", None)
    return cache if isinstance(cache, ReadCache) else None


def _key(request: Request) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    return ("api", request.url.path, tuple(sorted(request.query_params.multi_items())))


def cached_json(request: Request, compute: Callable[[], Response]) -> Response:
    cache = read_cache(request)
    if cache is None:
        return compute()

    def frozen() -> _Frozen:
        answer = compute()
        return bytes(answer.body), answer.status_code, answer.media_type or "application/json"

    body, status, media = cache.get(_key(request), frozen, size=lambda f: len(f[0]) + 200,
                                    keep=lambda f: f[1] == 200)
    return Response(body, status_code=status, media_type=media)


def cached_value(request: Request, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, kept under ``key`` while the data is unchanged: what a web page reads
    from the store (its permission already checked). The value is shared by every request
    that asks for the same key: callers only read it."""
    cache = read_cache(request)
    return compute() if cache is None else cache.get(("value", key), compute)


def cached_routes(app: FastAPI) -> dict[str, Requirement]:
    """Path -> the permission rule of every GET route marked :func:`cacheable`."""
    out: dict[str, Requirement] = {}
    for ctx in iter_route_contexts(app.routes):  # the paths as included, prefixes and all
        route = ctx.original_route
        if not isinstance(route, APIRoute) or "GET" not in (ctx.methods or ()) \
                or route.endpoint not in _CACHEABLE:
            continue
        path = str(ctx.path)
        rules = [d.call for d in ctx.dependant.dependencies if isinstance(d.call, Requirement)]
        if len(rules) == 1 and rules[0].permission is not None and "{" not in path:
            out[path] = rules[0]
    return out


class CachedReads:
    """The fast path (see the module docstring). ``routes``: :func:`cached_routes`."""

    def __init__(self, app: ASGIApp, *, cache: ReadCache,
                 routes: Callable[[], dict[str, Requirement]]) -> None:
        self.app = app
        self.cache = cache
        self._routes = routes
        self._table: dict[str, Requirement] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            if self._table is None:
                self._table = self._routes()  # the routes are all in place by now
            requirement = self._table.get(scope["path"])
            if requirement is not None:
                kept = await self._kept(Request(scope), requirement)
                if kept is not None:
                    body, status, media = kept
                    await Response(body, status_code=status, media_type=media)(
                        scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _kept(self, request: Request, requirement: Requirement) -> _Frozen | None:
        if requirement.permission is None:
            return None
        key = _key(request)
        data, generation = self.cache.versions()  # one read for both
        if data is None:
            return None
        kept = self.cache.peek(key, version=data)
        if kept is None:
            # another request is computing it (the data just changed): wait for that one
            # instead of computing it again
            kept = await self.cache.wait_for(key)
        if not isinstance(kept, tuple):
            return None
        principal = known_principal(request, self.cache, generation)
        if principal is None:
            # the answer is kept but the caller is not (the store changed since it was last
            # recognised): look it up, off the event loop, as the route's dependency would
            # (and remembers it for the request, so the route does not look twice)
            principal = await run_in_threadpool(current_principal, request)
        if principal is None or not principal.can(requirement.permission):
            return None
        return kept
