"""The console's one JSON error shape and the handlers that produce it.

Every failure of the API, whatever raised it, answers::

    {"error": {"code": "not_found", "message": "no asset ip:10.0.0.9", "details": null}}

with the matching HTTP status, so clients (the web pages' HTMX calls, scripts, a SIEM
integration) handle one format. A 500 says only that something failed and gives a reference
the operator finds in the server log: a traceback can hold paths, SQL and secrets, and the
console is reachable by everyone with an account.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = [
    "STATUS_CODES",
    "ApiError",
    "ErrorBody",
    "ErrorResponse",
    "error_response",
    "install_error_handlers",
]

log = logging.getLogger("otshield.console")

STATUS_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}
"""HTTP status -> the machine-readable ``error.code`` (a table, so docs and tests read it)."""


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    """The body of every error answer."""

    error: ErrorBody


class ApiError(Exception):
    """Raise from an endpoint to answer with the JSON error shape."""

    def __init__(self, status: int, message: str, *, code: str | None = None,
                 details: Any = None, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or STATUS_CODES.get(status, "error")
        self.details = details
        self.headers = dict(headers or {})


def error_response(status: int, message: str, *, code: str | None = None,
                   details: Any = None, headers: Mapping[str, str] | None = None
                   ) -> JSONResponse:
    body = {"error": {"code": code or STATUS_CODES.get(status, "error"), "message": message,
                      "details": jsonable_encoder(details)}}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


_DEFAULT_MESSAGES = {
    404: "no such resource",
    405: "method not allowed on this resource",
}


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Pydantic's error list carries the offending input and a docs URL; keep where and why,
    # cut the echoed input (it can be a whole uploaded body).
    out = []
    for err in exc.errors():
        out.append({"loc": [str(p) for p in err.get("loc", ())],
                    "msg": str(err.get("msg", "")), "type": str(err.get("type", ""))})
    return out


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.message, code=exc.code, details=exc.details,
                          headers=exc.headers)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail
    code = STATUS_CODES.get(exc.status_code, "error")
    details: Any = None
    if isinstance(detail, dict):
        # The auth dependencies raise detail={"code": ..., "message": ...}: keep their code
        # (csrf_failed, mfa_required...) so clients can tell the cases apart.
        code = str(detail.get("code") or code)
        message = str(detail.get("message") or "")
        details = detail.get("details")
    elif isinstance(detail, str) and detail not in ("Not Found", "Method Not Allowed"):
        message = detail
    else:
        message = ""
    message = message or _DEFAULT_MESSAGES.get(exc.status_code, "request failed")
    return error_response(exc.status_code, message, code=code, details=details,
                          headers=getattr(exc, "headers", None))


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = _validation_details(exc)
    first = details[0] if details else {"loc": [], "msg": "invalid request"}
    where = ".".join(p for p in first["loc"] if p not in ("body", "query", "path"))
    message = f"{where}: {first['msg']}" if where else str(first["msg"])
    return error_response(422, message, details=details)


async def _store_error(request: Request, exc: Exception) -> JSONResponse:
    from otshield.store.errors import Conflict, Invalid, NotFound

    if isinstance(exc, Invalid):
        return error_response(422, str(exc))
    if isinstance(exc, NotFound):
        return error_response(404, str(exc) or "no such resource")
    if isinstance(exc, Conflict):
        return error_response(409, str(exc))
    # The database itself failed (locked past the timeout, unreachable): the request may be
    # retried; the message names the database, never the SQL.
    ref = secrets.token_hex(6)
    log.error("store error %s on %s %s: %s", ref, request.method, request.url.path, exc)
    return error_response(503, f"the database is unavailable (reference {ref})")


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    ref = secrets.token_hex(6)
    log.error("internal error %s on %s %s", ref, request.method, request.url.path,
              exc_info=exc)
    return error_response(500, f"internal error (reference {ref}: see the server log)")


def install_error_handlers(app: FastAPI) -> None:
    """Route every failure through the JSON error shape."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    from otshield.store.errors import StoreError

    app.add_exception_handler(StoreError, _store_error)
    app.add_exception_handler(Exception, _internal_error)
