"""Assets for the console: a filtered, searchable, paged list; one asset with its conduits and
alerts; the riskiest assets by their open alerts.

Filters use indexed columns (zone, Purdue level, vendor, role through ``asset_roles``); the
search box matches the id, name, addresses, vendor and product, case-insensitively, with the
user's text escaped (a ``%`` typed is a ``%`` searched).
"""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import Select, case, func, or_, select, union_all
from sqlalchemy.orm import Session

from otshield.inventory.model import AssetRecord, ConduitRecord
from otshield.store.alerts import AlertFilter as _AlertFilter
from otshield.store.alerts import AlertSummary, list_alerts
from otshield.store.common import check_page, count_of, order_by
from otshield.store.errors import Invalid, NotFound
from otshield.store.models import AlertRow, AssetRoleRow, AssetRow, ConduitRow

__all__ = [
    "ASSET_SORTS",
    "RISK_WEIGHTS",
    "AssetDetail",
    "AssetFilter",
    "AssetSummary",
    "get_asset",
    "list_assets",
    "top_risky_assets",
]

RISK_WEIGHTS: dict[str, int] = {"info": 0, "low": 1, "medium": 3, "high": 7, "critical": 15}
"""Weight of one open alert of each severity in an asset's risk score (an asset with one
critical alert outranks one with four medium ones)."""


class AssetSummary(msgspec.Struct, kw_only=True):
    id: str
    name: str
    ips: list[str]
    macs: list[str]
    vendor: str
    product: str
    version: str
    roles: list[str]
    purdue_level: int | None
    zone: str
    safety: bool
    first_seen: float
    last_seen: float
    open_alerts: int = 0
    """Alerts ``new`` or ``acknowledged`` with this asset as source or destination."""
    risk: int = 0
    """Sum of :data:`RISK_WEIGHTS` over those alerts."""


class AssetDetail(msgspec.Struct, kw_only=True):
    """One asset whole: the inventory record (facts with their sources, roles with evidence,
    advisories), its conduits either way, and its most recent alerts."""

    summary: AssetSummary
    record: AssetRecord
    conduits: list[ConduitRecord]
    alerts: list[AlertSummary]
    alerts_total: int


class AssetFilter(msgspec.Struct, kw_only=True, frozen=True):
    zone: str = ""
    level: int | None = None
    """Purdue level 0-5."""
    vendor: str = ""
    role: str = ""
    """``controller``, ``hmi``... (:data:`otshield.inventory.model.ROLES`)."""
    safety: bool | None = None
    protocol: str = ""
    """Served or used: a conduit of this protocol with the asset at either end."""
    q: str = ""
    """Text in the id, name, addresses, vendor or product (case-insensitive)."""


ASSET_SORTS = {
    "id": AssetRow.id,
    "name": AssetRow.name,
    "level": AssetRow.purdue_level,
    "zone": AssetRow.zone,
    "vendor": AssetRow.vendor,
    "first_seen": AssetRow.first_seen,
    "last_seen": AssetRow.last_seen,
}


def _filtered(flt: AssetFilter) -> Select[AssetRow]:
    query = select(AssetRow)
    if flt.zone:
        query = query.where(AssetRow.zone == flt.zone)
    if flt.level is not None:
        if not 0 <= flt.level <= 5:
            raise Invalid(f"Purdue level must be 0 to 5, not {flt.level}")
        query = query.where(AssetRow.purdue_level == flt.level)
    if flt.vendor:
        query = query.where(AssetRow.vendor == flt.vendor)
    if flt.role:
        query = query.where(AssetRow.id.in_(
            select(AssetRoleRow.asset_id).where(AssetRoleRow.role == flt.role)))
    if flt.safety is not None:
        query = query.where(AssetRow.safety == flt.safety)
    if flt.protocol:
        query = query.where(AssetRow.id.in_(
            select(ConduitRow.client).where(ConduitRow.protocol == flt.protocol).union(
                select(ConduitRow.server).where(ConduitRow.protocol == flt.protocol))))
    if flt.q:
        query = query.where(or_(*(column.icontains(flt.q, autoescape=True) for column in (
            AssetRow.id, AssetRow.name, AssetRow.ips, AssetRow.macs, AssetRow.vendor,
            AssetRow.product))))
    return query


_OPEN = ("new", "acknowledged")
"""The statuses of an open alert (what an asset's risk counts)."""


def _summary(r: AssetRow, stats: dict[str, tuple[int, int]]) -> AssetSummary:
    open_alerts, risk = stats.get(r.id, (0, 0))
    return AssetSummary(
        id=r.id, name=r.name, ips=r.ips.split(), macs=r.macs.split(), vendor=r.vendor,
        product=r.product, version=r.version, roles=r.roles.split(),
        purdue_level=r.purdue_level, zone=r.zone, safety=r.safety, first_seen=r.first_seen,
        last_seen=r.last_seen, open_alerts=open_alerts, risk=risk)


def _risk_expression(severity: Any) -> Any:
    """The risk of the alerts grouped, from their ``severity`` column (SQL)."""
    return func.sum(case(*((severity == s, w) for s, w in RISK_WEIGHTS.items()), else_=0))


def _alert_stats(session: Session, ids: list[str]) -> dict[str, tuple[int, int]]:
    """Asset id -> (open alerts, risk), for the assets ``ids``. One grouped query per side;
    an alert from an asset to itself counts once."""
    if not ids:
        return {}
    out: dict[str, list[int]] = {}
    for side in (AlertRow.src_asset, AlertRow.dst_asset):
        query = (select(side, func.count(), _risk_expression(AlertRow.severity))
                 .where(side.in_(ids), AlertRow.status.in_(_OPEN))
                 .group_by(side))
        if side is AlertRow.dst_asset:
            query = query.where(AlertRow.src_asset != AlertRow.dst_asset)
        for asset, count, risk in session.execute(query):
            totals = out.setdefault(asset, [0, 0])
            totals[0] += int(count)
            totals[1] += int(risk or 0)
    return {k: (v[0], v[1]) for k, v in out.items()}


def list_assets(session: Session, flt: AssetFilter | None = None, *, sort: str = "name",
                offset: int = 0, limit: int = 50) -> tuple[list[AssetSummary], int]:
    """One page of the assets matching ``flt`` (with their open alerts) and the total."""
    check_page(offset, limit)
    query = _filtered(flt or AssetFilter())
    total = count_of(session, query)
    rows = list(session.scalars(query.order_by(*order_by(sort, ASSET_SORTS, AssetRow.id))
                                .offset(offset).limit(limit)))
    stats = _alert_stats(session, [r.id for r in rows])
    return [_summary(r, stats) for r in rows], total


def get_asset(session: Session, asset_id: str, *, alerts: int = 50) -> AssetDetail:
    """The asset with its conduits (as client or server) and its ``alerts`` most recent
    alerts (:class:`NotFound` if unknown)."""
    row = session.get(AssetRow, asset_id)
    if row is None:
        raise NotFound(f"no asset {asset_id!r}")
    try:
        record = msgspec.json.decode(row.record, type=AssetRecord)
        conduits = [msgspec.json.decode(c, type=ConduitRecord) for c in session.scalars(
            select(ConduitRow.record).where(or_(ConduitRow.client == asset_id,
                                                ConduitRow.server == asset_id))
            .order_by(ConduitRow.client, ConduitRow.server, ConduitRow.protocol))]
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise Invalid(f"asset {asset_id!r}: a stored record is damaged ({exc})") from None
    recent, total = list_alerts(session, _AlertFilter(asset=asset_id), limit=alerts)
    return AssetDetail(summary=_summary(row, _alert_stats(session, [asset_id])), record=record,
                       conduits=conduits, alerts=recent, alerts_total=total)


def top_risky_assets(session: Session, limit: int = 10) -> list[AssetSummary]:
    """The assets with the highest risk score (open alerts weighted by severity), highest
    first; assets without open alerts are left out."""
    check_page(0, limit)
    # ranked in the database, over the inventory's assets only (an alert may name an address
    # the inventory does not hold): the open alerts of every asset, either end, once each
    sides = union_all(
        select(AlertRow.src_asset.label("asset"), AlertRow.severity.label("severity"))
        .where(AlertRow.status.in_(_OPEN), AlertRow.src_asset != ""),
        select(AlertRow.dst_asset.label("asset"), AlertRow.severity.label("severity"))
        .where(AlertRow.status.in_(_OPEN), AlertRow.dst_asset != "",
               AlertRow.src_asset != AlertRow.dst_asset)).subquery()
    count = func.count()
    risk = _risk_expression(sides.c.severity)
    ranked = session.execute(
        select(sides.c.asset, count, risk)
        .where(sides.c.asset.in_(select(AssetRow.id)))
        .group_by(sides.c.asset)
        .order_by(risk.desc(), count.desc(), sides.c.asset).limit(limit)).all()
    stats = {asset: (int(n), int(r or 0)) for asset, n, r in ranked}
    rows = {r.id: r for r in session.scalars(select(AssetRow).where(AssetRow.id.in_(stats)))}
    return [_summary(rows[a], stats) for a, _n, _r in ranked if a in rows]
