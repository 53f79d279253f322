"""The console's REST API (``/api/v1``): one router per resource, each route guarded by one
permission (:func:`otshield.console.auth.deps.require`), paginated lists with filters, and the
JSON error shape of :mod:`otshield.console.api.errors` for every failure."""

from __future__ import annotations

from fastapi import APIRouter

from otshield.console.api import (
    alerts,
    assets,
    baselines,
    captures,
    map,
    overview,
    policy,
    reports,
    respond,
    rules,
)

__all__ = ["API_ROUTERS"]

API_ROUTERS: tuple[APIRouter, ...] = (
    overview.router, assets.router, map.router, alerts.router, alerts.suppressions_router,
    baselines.router, policy.router, rules.router, captures.router, reports.router,
    respond.router)
"""Mounted under ``/api/v1`` by :func:`otshield.console.app.create_app`, in this order."""
