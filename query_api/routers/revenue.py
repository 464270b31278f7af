"""Revenue (billed, collected, refunded, chargebacks) by region, plan and time."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from query_api.definitions import describe
from query_api.deps import ReadModelsDep, SessionDep, provenance
from query_api.models import ERROR_RESPONSES, MoneyView, Paged, Window
from query_api.params import (
    CurrencyMode,
    CurrencyQuery,
    DateRangeDep,
    Granularity,
    GranularityQuery,
    PageDep,
    SegmentDep,
    period_end,
)
from query_api.routers.common import base_params, paged_rows, window

router = APIRouter(prefix="/v1/revenue", tags=["revenue"], responses=ERROR_RESPONSES)


class RevenueDimension(StrEnum):
    REGION = "region"
    PLAN = "plan"


class RevenuePoint(BaseModel):
    period_start: date
    period_end: date
    region_id: str | None
    plan_id: str | None
    currency: str
    billed_minor: int
    collected_minor: int
    refunded_minor: int
    chargeback_minor: int
    net_collected_minor: int


class RevenueResponse(Paged, MoneyView):
    granularity: Granularity
    group_by: list[RevenueDimension]
    window: Window
    region_id: str | None
    plan_id: str | None
    items: list[RevenuePoint]


@router.get(
    "",
    response_model=RevenueResponse,
    summary="Revenue by region, plan and time",
    description="`group_by=region` (the dashboard's revenue by region), `group_by=plan`, both, or neither "
    "(totals). A period and group without any revenue row is omitted.\n\n" + describe("revenue"),
)
async def revenue_series(
    session: SessionDep,
    state: ReadModelsDep,
    dates: DateRangeDep,
    segment: SegmentDep,
    page: PageDep,
    granularity: GranularityQuery = Granularity.MONTH,
    currency: CurrencyQuery = CurrencyMode.REPORTING,
    group_by: Annotated[list[RevenueDimension] | None, Query(description="Break totals down by these.")] = None,
) -> RevenueResponse:
    span = window(dates, state)
    dimensions = sorted(set(group_by or []))
    params = {
        **base_params(span, state, segment, currency),
        "granularity": granularity.value,
        "step": granularity.step,
        "by_region": RevenueDimension.REGION in dimensions,
        "by_plan": RevenueDimension.PLAN in dimensions,
    }
    # Months and quarters read the monthly read model (migration 0502); days and weeks the daily one.
    monthly = granularity in (Granularity.MONTH, Granularity.QUARTER)
    statement = "revenue_series_monthly" if monthly else "revenue_series"
    rows, total_items = await paged_rows(session, statement, params, page)
    items = [
        RevenuePoint(
            period_start=row["period_start"],
            period_end=period_end(row["period_start"], granularity.value),
            region_id=row["region_id"],
            plan_id=row["plan_id"],
            currency=row["currency"],
            billed_minor=row["billed_minor"],
            collected_minor=row["collected_minor"],
            refunded_minor=row["refunded_minor"],
            chargeback_minor=row["chargeback_minor"],
            net_collected_minor=row["collected_minor"] - row["refunded_minor"] - row["chargeback_minor"],
        )
        for row in rows
    ]
    return RevenueResponse(
        **provenance(state),
        currency_mode=currency,
        reporting_currency=state.reporting_currency,
        granularity=granularity,
        group_by=dimensions,
        window=span,
        region_id=segment.region_id,
        plan_id=segment.plan_id,
        page=page.page,
        page_size=page.page_size,
        total_items=total_items,
        items=items,
    )
