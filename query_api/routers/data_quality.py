"""Data quality: freshness per event family, quarantine counts, FX gaps. Live, not cached.

Quarantine counts read `warehouse.quarantine_event` (migration 0309), which the warehouse sink
fills from the quarantine topic; a warehouse migrated before 0309 answers `available: false`.
Events are counted as distinct `coalesce(event_id, quarantine_id)`, so a backfill re-publishing a
bad raw record (a new quarantine record for the same event) does not count it twice.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from query_api.definitions import describe
from query_api.deps import QuerySettingsDep, SessionDep, provenance
from query_api.models import ERROR_RESPONSES, Paged, Provenance, Window
from query_api.params import DateRangeDep, PageDep
from query_api.routers.common import paged_rows

router = APIRouter(prefix="/v1/data-quality", tags=["data quality"], responses=ERROR_RESPONSES)


class QuarantineFamily(StrEnum):
    SUBSCRIPTION = "subscription"
    PAYMENT = "payment"
    USAGE = "usage"
    OPERATIONAL_COST = "operational_cost"
    UNKNOWN = "unknown"


class FamilyFreshness(BaseModel):
    family: str
    latest_event_time: datetime | None
    latest_loaded_at: datetime | None
    lag_seconds: int | None = Field(description="now - latest_event_time; null without events.")
    status: str = Field(description="fresh, stale (lag over the threshold) or empty.")


class FxGap(BaseModel):
    currency: str
    reporting_currency: str
    first_date: date
    last_date: date


class FreshnessResponse(Provenance):
    checked_at: datetime
    stale_after_seconds: int
    warehouse_horizon_date: date | None
    warehouse_horizon_updated_at: datetime | None
    read_models_lag_seconds: int | None = Field(
        description="How far the read models trail the warehouse's last batch (0 when current)."
    )
    families: list[FamilyFreshness]
    fx_gaps: list[FxGap]


class QuarantineCount(BaseModel):
    family: str
    reason: str = Field(description="The primary (first) reason code of the quarantine record.")
    event_count: int = Field(
        description="Distinct events: count of distinct coalesce(event_id, quarantine_id), so a raw record "
        "re-published by a backfill (same event_id, new quarantine record) counts once; records whose bytes "
        "did not decode (no event_id) count one each."
    )
    record_count: int = Field(description="Quarantine records, re-published copies included.")
    first_quarantined_at: datetime
    last_quarantined_at: datetime


class QuarantineResponse(Paged):
    available: bool = Field(description="false when the warehouse lacks warehouse.quarantine_event (before 0309).")
    detail: str | None
    window: Window
    family: QuarantineFamily | None
    total_events: int = Field(description="Sum of event_count over this page's items.")
    items: list[QuarantineCount]


def _seconds(later: datetime, earlier: datetime | None) -> int | None:
    return None if earlier is None else max(0, int((later - earlier).total_seconds()))


@router.get(
    "/freshness",
    response_model=FreshnessResponse,
    summary="Freshness per event family",
    description=describe("freshness"),
)
async def freshness(session: SessionDep, query: QuerySettingsDep) -> FreshnessResponse:
    state = await session.state()
    rows = await session.rows("freshness")
    horizon = await session.row("warehouse_horizon")
    gaps = await session.rows("fx_gaps")
    checked_at = rows[0]["checked_at"] if rows else datetime.now(UTC)
    families = []
    for row in rows:
        lag = _seconds(checked_at, row["latest_event_time"])
        status = "empty" if lag is None else "stale" if lag > query.freshness_stale_after_s else "fresh"
        families.append(
            FamilyFreshness(
                family=row["family"],
                latest_event_time=row["latest_event_time"],
                latest_loaded_at=row["latest_loaded_at"],
                lag_seconds=lag,
                status=status,
            )
        )
    horizon_updated = horizon["updated_at"] if horizon else None
    lag_models = None
    if horizon_updated is not None:
        refreshed = state.refreshed_at
        lag_models = _seconds(horizon_updated, refreshed) if refreshed else _seconds(checked_at, horizon_updated)
    return FreshnessResponse(
        **provenance(state),
        checked_at=checked_at,
        stale_after_seconds=query.freshness_stale_after_s,
        warehouse_horizon_date=horizon["horizon_date"] if horizon else None,
        warehouse_horizon_updated_at=horizon_updated,
        read_models_lag_seconds=lag_models,
        families=families,
        fx_gaps=[FxGap(**gap) for gap in gaps],
    )


@router.get(
    "/quarantine",
    response_model=QuarantineResponse,
    summary="Quarantined events by family and reason",
    description=describe("quarantine") + "\n\nDefault range: the 12 months ending today.",
)
async def quarantine(
    session: SessionDep,
    dates: DateRangeDep,
    page: PageDep,
    family: Annotated[QuarantineFamily | None, Query(description="Only this family.")] = None,
) -> QuarantineResponse:
    state = await session.state()
    start, end = dates.resolve(datetime.now(UTC).date(), end_default="today")
    span = Window(start=start, end=end)
    present = await session.row("quarantine_present")
    common = {**provenance(state), "window": span, "family": family, "page": page.page, "page_size": page.page_size}
    if not present or not present["present"]:
        detail = "warehouse.quarantine_event does not exist yet: apply the migrations with `ledgerline setup`"
        return QuarantineResponse(**common, available=False, detail=detail, total_items=0, total_events=0, items=[])
    params = {"start": start, "end": end, "family": family.value if family else None}
    rows, total_items = await paged_rows(session, "quarantine_counts", params, page)
    items = [QuarantineCount(**{key: value for key, value in row.items() if key != "total_items"}) for row in rows]
    return QuarantineResponse(
        **common,
        available=True,
        detail=None,
        total_items=total_items,
        total_events=sum(item.event_count for item in items),
        items=items,
    )
