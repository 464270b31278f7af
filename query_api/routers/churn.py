"""Churn: logo churn rate, gross and net MRR churn, NRR and GRR per month or quarter."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from query_api.arith import ratio
from query_api.definitions import describe
from query_api.deps import ReadModelsDep, SessionDep, provenance
from query_api.models import ERROR_RESPONSES, MoneyView, Paged, Window
from query_api.params import (
    CurrencyMode,
    CurrencyQuery,
    DateRangeDep,
    MovementGranularity,
    MovementGranularityQuery,
    PageDep,
    SegmentDep,
)
from query_api.routers.common import base_params, paged_rows, window

router = APIRouter(prefix="/v1/churn", tags=["churn"], responses=ERROR_RESPONSES)


class ChurnPoint(BaseModel):
    period_start: date
    period_end: date
    as_of_date: date
    currency: str
    opening_customers: int = Field(description="Active in the segment on the day before the period.")
    closing_customers: int = Field(description="Active in the segment on the period's last day (or the data horizon).")
    churned_customers: int = Field(
        description="Active in the segment at the opening, not at the end, and with no active subscription anywhere "
        "at the end."
    )
    transferred_out_customers: int = Field(
        description="Active in the segment at the opening, not at the end, but active in another segment at the end "
        "(moved plan, region or currency); not churn. 0 without a region or plan filter in reporting currency."
    )
    gained_customers: int = Field(
        description="Active in the segment at the end, not at the opening, and active nowhere at the opening."
    )
    transferred_in_customers: int = Field(
        description="Active in the segment at the end, not at the opening, but active in another segment at the "
        "opening. opening - churned - transferred_out + gained + transferred_in = closing."
    )
    opening_mrr_minor: int
    new_mrr_minor: int
    expansion_mrr_minor: int
    contraction_mrr_minor: int = Field(description="<= 0")
    churned_mrr_minor: int = Field(description="<= 0")
    reactivation_mrr_minor: int
    transfer_mrr_minor: int = Field(description="Moves between segments; not part of any rate.")
    logo_churn_rate: float | None
    gross_mrr_churn_rate: float | None
    net_mrr_churn_rate: float | None
    nrr: float | None
    grr: float | None


class ChurnResponse(Paged, MoneyView):
    granularity: MovementGranularity
    window: Window
    region_id: str | None
    plan_id: str | None
    items: list[ChurnPoint]


def churn_point(row: dict[str, Any]) -> ChurnPoint:
    """The rates of one period from its counts and signed movements (formulas in FORMULAS).
    Transfers (moves between segments) are left out: a move is churn of nothing, only its net
    change (booked as expansion or contraction) counts; likewise a customer who moved to another
    segment is a transferred-out logo, not a churned one (the read model already separates them)."""
    opening = row["opening_mrr_minor"]
    lost = -row["churned_mrr_minor"] - row["contraction_mrr_minor"]
    expansion = row["expansion_mrr_minor"]
    values = {key: value for key, value in row.items() if key != "total_items"}
    return ChurnPoint(
        **values,
        logo_churn_rate=ratio(row["churned_customers"], row["opening_customers"]),
        gross_mrr_churn_rate=ratio(lost, opening),
        net_mrr_churn_rate=ratio(lost - expansion, opening),
        nrr=ratio(opening + expansion - lost, opening),
        grr=ratio(opening - lost, opening),
    )


@router.get(
    "",
    response_model=ChurnResponse,
    summary="Logo churn, gross and net MRR churn, NRR and GRR",
    description="Amounts in the chosen currency mode (reporting amounts exclude the FX effect).\n\n"
    + describe(
        "logo_churn_rate", "logo_movements", "gross_mrr_churn_rate", "net_mrr_churn_rate", "nrr", "grr", "mrr_movements"
    ),
)
async def churn_series(
    session: SessionDep,
    state: ReadModelsDep,
    dates: DateRangeDep,
    segment: SegmentDep,
    page: PageDep,
    granularity: MovementGranularityQuery = MovementGranularity.MONTH,
    currency: CurrencyQuery = CurrencyMode.REPORTING,
) -> ChurnResponse:
    span = window(dates, state)
    step = "1 month" if granularity is MovementGranularity.MONTH else "3 months"
    params = {**base_params(span, state, segment, currency), "granularity": granularity.value, "step": step}
    rows, total_items = await paged_rows(session, "churn_series", params, page)
    return ChurnResponse(
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
        items=[churn_point(row) for row in rows],
    )
