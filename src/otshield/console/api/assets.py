"""``/api/v1/assets``: the asset inventory: a searchable, filtered, paged list; one asset with
its facts (each with where it was read), roles with their evidence, conduits, alerts and the
published vulnerabilities that concern it; and corrections by the people who know the plant
(``PATCH``: an override is a fact with source ``override`` and wins over what was inferred,
now and after later captures). Every correction is audited.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, model_validator

from otshield.console.api.cached import cacheable, cached_json
from otshield.console.api.errors import ApiError, ErrorResponse
from otshield.console.api.overrides import set_overrides
from otshield.console.api.pagination import Page, PageParams, page_params, page_response
from otshield.console.api.schemas import AssetDetailOut, AssetSummaryOut, from_struct
from otshield.console.auth.deps import Principal, audit_change, require
from otshield.console.permissions import Permission
from otshield.inventory.model import ROLES
from otshield.store import Store
from otshield.store import assets as repo

__all__ = ["AssetPatch", "router"]

router = APIRouter(prefix="/assets", tags=["assets"],
                   responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}})

AssetSort = Literal["name", "-name", "id", "-id", "level", "-level", "zone", "-zone", "vendor",
                    "-vendor", "first_seen", "-first_seen", "last_seen", "-last_seen"]
_ASSET_ID = Path(min_length=1, max_length=128, description="``ip:<address>`` or "
                                                            "``mac:<address>``.")
_ROLE_NAMES = tuple(sorted({*ROLES, "jump_host"}))
RoleName = Literal[
    "controller", "engineering_workstation", "external", "field_device", "historian", "hmi",
    "it_host", "it_server", "jump_host", "network_device", "ot_server"]


class AssetPatch(BaseModel):
    """Corrections to an asset. A field left out is unchanged; ``null`` removes the override
    (the inferred value shows again)."""

    model_config = {"extra": "forbid"}

    name: str | None = Field(None, min_length=1, max_length=200)
    vendor: str | None = Field(None, min_length=1, max_length=200)
    product: str | None = Field(None, min_length=1, max_length=200)
    version: str | None = Field(None, min_length=1, max_length=100)
    roles: list[RoleName] | None = Field(None, min_length=1, max_length=len(_ROLE_NAMES))
    purdue_level: int | None = Field(None, ge=0, le=5)
    zone: str | None = Field(None, min_length=1, max_length=200)
    safety: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> AssetPatch:
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        return self

    def changes(self) -> dict[str, str | None]:
        """Override field -> value (None: remove), for the store."""
        out: dict[str, str | None] = {}
        for field in sorted(self.model_fields_set):
            value = getattr(self, field)
            if value is None:
                out[field] = None
            elif field == "roles":
                out["roles"] = ",".join(dict.fromkeys(value))
            elif field == "safety":
                out[field] = "true" if value else "false"
            else:
                out[field] = str(value).strip()
        return out


PROTOCOL_FILTER = "protocol" in repo.AssetFilter.__struct_fields__
"""Whether the store can filter assets by protocol."""


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


@router.get("", response_model=Page[AssetSummaryOut], summary="List assets")
@cacheable
def list_assets(
    request: Request,
    _p: Annotated[Principal, require(Permission.ASSETS_READ)],
    params: Annotated[PageParams, page_params],
    q: Annotated[str | None, Query(max_length=200, description="Text in the id, name, "
                                                                "addresses, vendor or product.")
                 ] = None,
    zone: Annotated[str | None, Query(max_length=256)] = None,
    level: Annotated[int | None, Query(ge=0, le=5, description="Purdue level.")] = None,
    vendor: Annotated[str | None, Query(max_length=256)] = None,
    role: Annotated[RoleName | None, Query()] = None,
    protocol: Annotated[str | None, Query(max_length=64, description="Served or used.")
                        ] = None,
    safety: Annotated[bool | None, Query(description="Tagged safety-critical.")] = None,
    sort: AssetSort = "name",
) -> Response:
    extra: dict[str, str] = {}
    if protocol:
        if not PROTOCOL_FILTER:
            raise ApiError(422, "the protocol filter is not available with this store "
                                "version")
        extra["protocol"] = protocol
    flt = repo.AssetFilter(zone=zone or "", level=level, vendor=vendor or "", role=role or "",
                           safety=safety, q=q or "", **extra)

    def answer() -> Response:
        with _store(request).session(write=False) as db:
            rows, total = repo.list_assets(db, flt, sort=sort, offset=params.offset,
                                           limit=params.limit)
        return page_response(rows, total, params)

    return cached_json(request, answer)


@router.get("/{asset_id}", response_model=AssetDetailOut,
            responses={404: {"model": ErrorResponse}},
            summary="One asset: facts with provenance, roles with evidence, conduits, alerts, "
                    "advisories")
def get_asset(request: Request, asset_id: Annotated[str, _ASSET_ID],
              _p: Annotated[Principal, require(Permission.ASSETS_READ)],
              alerts: Annotated[int, Query(ge=0, le=500, description="Recent alerts to "
                                                                      "include.")] = 50,
              ) -> AssetDetailOut:
    with _store(request).session(write=False) as db:
        detail = repo.get_asset(db, asset_id, alerts=max(alerts, 1))
    out = from_struct(AssetDetailOut, detail)
    if alerts == 0:
        out.alerts = []
    return out


@router.patch("/{asset_id}", response_model=AssetDetailOut,
              responses={404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
              summary="Correct an asset (name, vendor, product, version, roles, level, zone, "
                      "safety); audited")
def patch_asset(request: Request, asset_id: Annotated[str, _ASSET_ID], body: AssetPatch,
                principal: Annotated[Principal, require(Permission.ASSETS_WRITE)]
                ) -> AssetDetailOut:
    changes = body.changes()
    if not changes:
        raise ApiError(422, "give at least one field to change")
    with _store(request).session() as db:
        change = set_overrides(db, asset_id, changes)
        audit_change(db, principal, change)
        detail = repo.get_asset(db, asset_id)
    return from_struct(AssetDetailOut, detail)
