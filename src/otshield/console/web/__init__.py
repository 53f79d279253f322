"""The console's web pages: server-rendered HTML (Jinja2) with HTMX for the in-place actions,
Cytoscape.js for the network map and a server-drawn SVG chart; every script and library is
served by the console itself (``static/vendor``, with their licences), never from a CDN: the
plant may be air-gapped.

``router`` holds every page (included without a prefix), ``STATIC_DIR`` the stylesheet, scripts
and vendored libraries (served at ``/static``), and ``page_error_response`` turns an HTTP error
on a page path into what a browser should see (a redirect to the sign-in page, an HTML error
page); the API keeps its JSON errors.

Each page calls the same store and access-control functions as the API and carries exactly one
of part 6's ``require``/``signed_in``/``public`` dependencies, so the authorisation matrix covers
pages and API alike.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from fastapi import APIRouter

from otshield.console.web import (
    views_account,
    views_admin,
    views_alerts,
    views_assets,
    views_auth,
    views_map,
    views_overview,
    views_policy,
    views_upload,
)
from otshield.console.web.errors import page_error_response
from otshield.console.web.render import RESPOND_PAGES, module_present

__all__ = ["STATIC_DIR", "page_error_response", "router"]

STATIC_DIR = Path(__file__).resolve().parent / "static"

router = APIRouter(include_in_schema=False)
for _module in (views_auth, views_overview, views_assets, views_map, views_alerts,
                views_policy, views_upload, views_admin, views_account):
    router.include_router(_module.router)
if module_present(RESPOND_PAGES):
    # The incident and playbook pages (issue #8) live in their own module, with the same
    # base template, navigation and dependencies; a fault inside it must surface, not hide.
    router.include_router(importlib.import_module(RESPOND_PAGES).router)
