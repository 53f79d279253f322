"""Cross-site request forgery protection for cookie-authenticated requests.

Each session has its own random CSRF token (the synchroniser-token pattern of the OWASP CSRF
Prevention Cheat Sheet), stored in the session row and handed to the client at sign-in and by
``GET /api/v1/auth/me``. Every unsafe request (POST, PUT, PATCH, DELETE) that a session cookie
authenticates must carry it in the ``X-CSRF-Token`` header (HTMX, scripts) or in a ``csrf_token``
form field (plain HTML forms). Requests authenticated by a bearer token are exempt: a browser
never attaches one on its own, so a forged cross-site request cannot carry it. SameSite=Strict
cookies are a second, independent layer.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request

__all__ = ["CSRF_FIELD", "CSRF_HEADER", "SAFE_METHODS", "csrf_token_of", "new_csrf_token",
           "tokens_match"]

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(expected: str | None, presented: str | None) -> bool:
    if not expected or not presented:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode())


async def csrf_token_of(request: Request) -> str | None:
    """The CSRF token the request presents: the header, else a form field (the form is
    parsed once; Starlette caches it for the endpoint)."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in _FORM_TYPES:
        return None
    try:
        form = await request.form()
    except Exception:  # a broken body carries no token; the endpoint reports the body itself
        return None
    value = form.get(CSRF_FIELD)
    return value if isinstance(value, str) else None
