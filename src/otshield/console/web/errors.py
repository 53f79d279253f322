"""What a browser sees when a page request fails.

The auth dependencies (part 6) raise ``HTTPException`` 401/403 with a ``code``; for the API
those become the JSON error shape, for pages they become:

- 401: a redirect to ``/login?next=<this page>`` (an HTMX request gets ``HX-Redirect`` so the
  whole page moves instead of the sign-in form landing inside a table);
- 403 ``mfa_required`` / ``mfa_enrolment_required`` / ``password_change_required``: a redirect
  to the page that finishes the sign-in (``/mfa``, ``/mfa/enrol``, ``/password``);
- any other status: an HTML error page (or a small fragment for HTMX).

``next`` only ever carries a local path (:func:`safe_next`): an open redirect on a sign-in page
is a phishing tool.
"""

from __future__ import annotations

import logging
from urllib.parse import quote, urlsplit

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from otshield.console.web.render import render

__all__ = ["login_redirect", "page_error_response", "safe_next", "wants_page"]

log = logging.getLogger("otshield.console")

_FINISH_SIGN_IN: dict[str, str] = {
    "mfa_required": "/mfa",
    "mfa_enrolment_required": "/mfa/enrol",
    "password_change_required": "/password",
}
"""403 codes of a half-signed-in session -> the page that completes the sign-in."""

_HEADINGS: dict[int, tuple[str, str]] = {
    403: ("Not permitted", "Your role does not allow this page or action."),
    404: ("Not found", "There is nothing at this address, or it no longer exists."),
    405: ("Not allowed", "This address does not accept that kind of request."),
    413: ("Too large", "The request is larger than the console accepts."),
    422: ("Invalid request", "Some of the values sent were not valid."),
    429: ("Too many requests", "Wait a moment and try again."),
}

_SIGN_IN_PAGES = ("/login", "/logout", "/mfa", "/mfa/enrol", "/password")


def safe_next(value: str | None, default: str = "/") -> str:
    """``value`` if it is a path on this site (``/assets?zone=x``), else ``default``.

    Refused: absolute URLs, scheme-relative ``//host``, backslashes (browsers read ``/\\host``
    as ``//host``), control characters, and the sign-in pages themselves (no loops)."""
    if not value or not value.startswith("/") or value.startswith("//"):
        return default
    if "\\" in value or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    if parts.path in _SIGN_IN_PAGES:
        return default
    return value


def _here(request: Request) -> str:
    """The page the user was on (for an HTMX call: the page that made it)."""
    current = request.headers.get("hx-current-url")
    if current:
        parts = urlsplit(current)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
    else:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method not in ("GET", "HEAD") and not current:
        path = request.url.path
    return safe_next(path)


def login_redirect(request: Request, target: str = "/login") -> Response:
    """Send the browser to ``target`` (a sign-in page) remembering where it was."""
    here = _here(request)
    url = target if here == "/" else f"{target}?next={quote(here, safe='/:')}"
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def wants_page(request: Request) -> bool:
    """Is this a browser asking for a page (not the API, not a script wanting JSON)?"""
    path = request.url.path
    if path.startswith(("/api/", "/static/")) or path == "/api":
        return False
    accept = request.headers.get("accept", "")
    return not ("application/json" in accept and "text/html" not in accept)


def _code(exc: StarletteHTTPException) -> str:
    detail = exc.detail
    if isinstance(detail, dict):
        return str(detail.get("code") or "")
    return ""


def _principal(request: Request) -> object | None:
    # The error page shows the sidebar when someone is signed in; a failure to tell (the
    # store is down) must not turn an error page into a 500.
    try:
        from otshield.console.auth.deps import current_principal

        principal = current_principal(request)
    except Exception:
        log.debug("no principal for the error page", exc_info=True)
        return None
    return principal


def page_error_response(request: Request, exc: StarletteHTTPException) -> Response | None:
    """The browser's answer to ``exc`` on a page path; None for the API (JSON follows)."""
    if not wants_page(request):
        return None
    status = exc.status_code
    if status == 401:
        return login_redirect(request)
    code = _code(exc)
    if status == 403 and code in _FINISH_SIGN_IN:
        return login_redirect(request, _FINISH_SIGN_IN[code])
    heading, message = _HEADINGS.get(status, ("Something went wrong", "The request failed."))
    if code == "csrf_failed":
        message = ("The form had expired or did not come from this console. Reload the page "
                   "and try again.")
    headers = dict(getattr(exc, "headers", None) or {})
    if request.headers.get("hx-request"):
        return render(request, "fragment_error.html", None, status_code=status,
                      headers=headers, message=f"{heading}: {message}")
    principal = _principal(request) if status != 500 else None
    return render(request, "error.html", principal, status_code=status, headers=headers,
                  title=heading, heading=heading, message=message)
