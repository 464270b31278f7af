"""Usage by metric (and region) over time."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from query_api.definitions import describe
from query_api.deps import ReadModelsDep, SessionDep, provenance
from query_api.models import ERROR_RESPONSES, Paged, Window
from query_api.params import (
    ID_PATTERN,
    DateRangeDep,
    Granularity,
    GranularityQuery,
    PageDep,
    RegionSegmentDep,
    period_end,
)
from query_api.routers.common import base_params, paged_rows, window

router = APIRouter(prefix="/v1/usage", tags=["usage"], responses=ERROR_RESPONSES)


class UsagePoint(BaseModel):
    period_start: date
    period_end: date
    metric: str
    unit: str
    region_id: str | None
    quantity: int
    billable_quantity: int
    event_count: int


class UsageResponse(Paged):
    granularity: Granularity
    window: Window
    region_id: str | None
    metric: str | None
    by_region: bool
    items: list[UsagePoint]


@router.get("", response_model=UsageResponse, summary="Usage by metric over time", description=describe("usage"))
async def usage_series(
    session: SessionDep,
    state: ReadModelsDep,
    dates: DateRangeDep,
    segment: RegionSegmentDep,
    page: PageDep,
    granularity: GranularityQuery = Granularity.MONTH,
    metric: Annotated[str | None, Query(pattern=ID_PATTERN, description="Only this usage metric.")] = None,
    by_region: Annotated[bool, Query(description="One item per region.")] = False,
) -> UsageResponse:
    span = window(dates, state)
    params = {
        **base_params(span, state, segment),
        "granularity": granularity.value,
        "step": granularity.step,
        "metric": metric,
        "by_region": by_region,
    }
    rows, total_items = await paged_rows(session, "usage_series", params, page)
    items = [
        UsagePoint(
            **{key: value for key, value in row.items() if key != "total_items"},
            period_end=period_end(row["period_start"], granularity.value),
        )
        for row in rows
    ]
    return UsageResponse(
        **provenance(state),
        granularity=granularity,
        window=span,
        region_id=segment.region_id,
        metric=metric,
        by_region=by_region,
        page=page.page,
        page_size=page.page_size,
        total_items=total_items,
        items=items,
    )
