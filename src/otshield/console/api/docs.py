"""``/api/v1/docs``: the API documentation (Swagger UI over ``/api/v1/openapi.json``), served
from the console itself: FastAPI's default page loads Swagger UI from a CDN, which an
air-gapped plant cannot reach. The files are swagger-ui-dist from the npm registry
(``docs_static/``, with its licence); the page has no inline script, so it runs under the
same Content-Security-Policy as the web pages."""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

from otshield.console.auth.deps import public

__all__ = ["DOCS_STATIC", "install_docs"]

DOCS_STATIC = Path(__file__).resolve().parent / "docs_static"

_FILES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "init.js": "text/javascript",
    "swagger-ui.LICENSE.txt": "text/plain",
    "swagger-ui.NOTICE.txt": "text/plain",
    "swagger-ui-bundle.js.LICENSE.txt": "text/plain",
}
"""The files the page uses (and their licences), by name."""

_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def install_docs(app: FastAPI, prefix: str) -> None:
    """Serve the documentation page at ``{prefix}/docs`` and its files under
    ``{prefix}/docs-static/`` (public routes: the page and a library, no plant data)."""
    assets = f"{prefix}/docs-static"
    page = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(app.title)}: API</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body data-openapi="{html.escape(app.openapi_url or '')}">
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/init.js"></script>
</body>
</html>
"""
    router = APIRouter()

    @router.get(f"{prefix}/docs", include_in_schema=False, dependencies=[public()])
    def docs() -> HTMLResponse:
        return HTMLResponse(page, headers=_HEADERS)

    @router.get(f"{assets}/{{name}}", include_in_schema=False, dependencies=[public()])
    def docs_file(name: str) -> FileResponse:
        # a fixed set of files, looked up by name (never a path from the request)
        media = _FILES.get(name)
        if media is None:
            raise HTTPException(404, "no such file")
        return FileResponse(DOCS_STATIC / name, media_type=media,
                            headers={"Cache-Control": "public, max-age=86400",
                                     "X-Content-Type-Options": "nosniff"})

    app.include_router(router)
