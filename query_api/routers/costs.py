"""Costs by category and region, and gross margin against recognised recurring revenue."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from query_api.arith import ratio
from query_api.definitions import describe
from query_api.deps import QuerySettingsDep, ReadModelsDep, SessionDep, provenance
from query_api.models import ERROR_RESPONSES, MoneyView, Paged, Window
from query_api.params import (
    ID_PATTERN,
    CurrencyMode,
    CurrencyQuery,
    DateRangeDep,
    Granularity,
    GranularityQuery,
    PageDep,
    RegionSegmentDep,
    period_end,
)
from query_api.routers.common import base_params, paged_rows, window

router = APIRouter(prefix="/v1", tags=["costs"], responses=ERROR_RESPONSES)


class CostDimension(StrEnum):
    CATEGORY = "category"
    REGION = "region"


class CostPoint(BaseModel):
    period_start: date
    period_end: date
    category: str | None
    region_id: str | None
    currency: str
    amount_minor: int
    is_cost_of_revenue: bool = Field(description="Every category in the item counts as cost of revenue.")


class CostsResponse(Paged, MoneyView):
    granularity: Granularity
    group_by: list[CostDimension]
    window: Window
    region_id: str | None
    category: str | None
    cost_of_revenue_categories: list[str]
    items: list[CostPoint]


class MarginPoint(BaseModel):
    period_start: date
    period_end: date
    currency: str
    recurring_revenue_minor: int
    cost_of_revenue_minor: int
    gross_profit_minor: int
    gross_margin: float | None
    total_cost_minor: int = Field(description="All categories, operating expenses included.")


class GrossMarginResponse(Paged, MoneyView):
    granularity: Granularity
    window: Window
    region_id: str | None
    cost_of_revenue_categories: list[str]
    items: list[MarginPoint]


@router.get("/costs", response_model=CostsResponse, summary="Costs by category, region and time")
async def costs_series(
    session: SessionDep,
    state: ReadModelsDep,
    query: QuerySettingsDep,
    dates: DateRangeDep,
    segment: RegionSegmentDep,
    page: PageDep,
    granularity: GranularityQuery = Granularity.MONTH,
    currency: CurrencyQuery = CurrencyMode.REPORTING,
    category: Annotated[str | None, Query(pattern=ID_PATTERN, description="Only this cost category.")] = None,
    group_by: Annotated[list[CostDimension] | None, Query(description="Break totals down by these.")] = None,
) -> CostsResponse:
    span = window(dates, state)
    dimensions = sorted(set(group_by or []))
    params = {
        **base_params(span, state, segment, currency),
        "granularity": granularity.value,
        "step": granularity.step,
        "by_category": CostDimension.CATEGORY in dimensions,
        "by_region": CostDimension.REGION in dimensions,
        "category": category,
        "cost_of_revenue": list(query.cost_of_revenue_categories),
    }
    rows, total_items = await paged_rows(session, "costs_series", params, page)
    items = [
        CostPoint(
            **{key: value for key, value in row.items() if key != "total_items"},
            period_end=period_end(row["period_start"], granularity.value),
        )
        for row in rows
    ]
    return CostsResponse(
        **provenance(state),
        currency_mode=currency,
        reporting_currency=state.reporting_currency,
        granularity=granularity,
        group_by=dimensions,
        window=span,
        region_id=segment.region_id,
        category=category,
        cost_of_revenue_categories=list(query.cost_of_revenue_categories),
        page=page.page,
        page_size=page.page_size,
        total_items=total_items,
        items=items,
    )


@router.get(
    "/gross-margin",
    response_model=GrossMarginResponse,
    summary="Gross margin over time",
    description=describe("recurring_revenue", "gross_margin"),
)
async def gross_margin_series(
    session: SessionDep,
    state: ReadModelsDep,
    query: QuerySettingsDep,
    dates: DateRangeDep,
    segment: RegionSegmentDep,
    page: PageDep,
    granularity: GranularityQuery = Granularity.MONTH,
    currency: CurrencyQuery = CurrencyMode.REPORTING,
) -> GrossMarginResponse:
    span = window(dates, state)
    params = {
        **base_params(span, state, segment, currency),
        "granularity": granularity.value,
        "step": granularity.step,
        "cost_of_revenue": list(query.cost_of_revenue_categories),
    }
    rows, total_items = await paged_rows(session, "gross_margin_series", params, page)
    items = []
    for row in rows:
        revenue = int(Decimal(row["recurring_revenue"]).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
        profit = revenue - row["cost_of_revenue_minor"]
        items.append(
            MarginPoint(
                period_start=row["period_start"],
                period_end=period_end(row["period_start"], granularity.value),
                currency=row["currency"],
                recurring_revenue_minor=revenue,
                cost_of_revenue_minor=row["cost_of_revenue_minor"],
                gross_profit_minor=profit,
                gross_margin=ratio(profit, revenue),
                total_cost_minor=row["total_cost_minor"],
            )
        )
    return GrossMarginResponse(
        **provenance(state),
        currency_mode=currency,
        reporting_currency=state.reporting_currency,
        granularity=granularity,
        window=span,
        region_id=segment.region_id,
        cost_of_revenue_categories=list(query.cost_of_revenue_categories),
        page=page.page,
        page_size=page.page_size,
        total_items=total_items,
        items=items,
    )
