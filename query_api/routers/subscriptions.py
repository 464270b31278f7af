"""Active subscriptions and customers, and ARPA, at the end of each period."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel, Field

from query_api.arith import div_round_half_even
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
)
from query_api.routers.common import base_params, paged_rows, window

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"], responses=ERROR_RESPONSES)


class SubscriptionPoint(BaseModel):
    period_start: date
    period_end: date
    as_of_date: date
    currency: str
    active_subscriptions: int
    trialing_subscriptions: int
    past_due_subscriptions: int = Field(description="Within and beyond the grace period.")
    paused_subscriptions: int
    active_customers: int
    mrr_minor: int
    arpa_minor: int | None


class SubscriptionsResponse(Paged, MoneyView):
    granularity: Granularity
    window: Window
    region_id: str | None
    plan_id: str | None
    items: list[SubscriptionPoint]


@router.get(
    "",
    response_model=SubscriptionsResponse,
    summary="Active subscriptions and customers, and ARPA",
    description=describe("active_subscriptions", "active_customers", "mrr", "arpa"),
)
async def subscriptions_series(
    session: SessionDep,
    state: ReadModelsDep,
    dates: DateRangeDep,
    segment: SegmentDep,
    page: PageDep,
    granularity: GranularityQuery = Granularity.MONTH,
    currency: CurrencyQuery = CurrencyMode.REPORTING,
) -> SubscriptionsResponse:
    span = window(dates, state)
    params = {**base_params(span, state, segment, currency), "granularity": granularity.value, "step": granularity.step}
    rows, total_items = await paged_rows(session, "subscriptions_series", params, page)
    items = [
        SubscriptionPoint(
            **{key: value for key, value in row.items() if key != "total_items"},
            arpa_minor=div_round_half_even(row["mrr_minor"], row["active_customers"])
            if row["active_customers"]
            else None,
        )
        for row in rows
    ]
    return SubscriptionsResponse(
        **provenance(state),
        currency_mode=currency,
        reporting_currency=state.reporting_currency,
        granularity=granularity,
        window=span,
        region_id=segment.region_id,
        plan_id=segment.plan_id,
        page=page.page,
        page_size=page.page_size,
        total_items=total_items,
        items=items,
    )
