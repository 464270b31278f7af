"""MRR and ARR over time, their monthly movements, and the MRR bridge over a range."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel, Field

from query_api.definitions import describe
from query_api.deps import ReadModelsDep, SessionDep, provenance
from query_api.models import ERROR_RESPONSES, MoneyView, Paged, Provenance, Window
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

router = APIRouter(prefix="/v1/mrr", tags=["mrr"], responses=ERROR_RESPONSES)
MOVEMENT_FIELDS = (
    "opening_mrr_minor",
    "new_mrr_minor",
    "expansion_mrr_minor",
    "contraction_mrr_minor",
    "churned_mrr_minor",
    "reactivation_mrr_minor",
    "transfer_mrr_minor",
    "fx_effect_minor",
    "closing_mrr_minor",
)


class MrrMovements(BaseModel):
    opening_mrr_minor: int
    new_mrr_minor: int
    expansion_mrr_minor: int
    contraction_mrr_minor: int = Field(description="<= 0")
    churned_mrr_minor: int = Field(description="<= 0")
    reactivation_mrr_minor: int
    transfer_mrr_minor: int = Field(
        description="MRR moved between segments (plan, region or currency changes): -opening in the old segment, "
        "+opening in the new one; 0 company-wide in one currency."
    )
    fx_effect_minor: int = Field(description="0 in original currency")
    closing_mrr_minor: int


class MrrPoint(BaseModel):
    period_start: date
    period_end: date
    as_of_date: date = Field(description="The day the stock values are taken on.")
    currency: str
    mrr_minor: int
    arr_minor: int
    movements: MrrMovements | None = Field(description="Months and quarters only (null for day and week).")


class MrrResponse(Paged, MoneyView):
    granularity: Granularity
    window: Window
    region_id: str | None
    plan_id: str | None
    items: list[MrrPoint]


class BridgeItem(MrrMovements):
    currency: str
    first_month: date
    last_month: date


class BridgeResponse(Provenance, MoneyView):
    window: Window
    region_id: str | None
    plan_id: str | None
    items: list[BridgeItem] = Field(description="One bridge per currency (one item in reporting currency).")


@router.get(
    "",
    response_model=MrrResponse,
    summary="MRR and ARR over time, with movements",
    description=describe("mrr", "arr", "mrr_movements"),
)
async def mrr_series(
    session: SessionDep,
    state: ReadModelsDep,
    dates: DateRangeDep,
    segment: SegmentDep,
    page: PageDep,
    granularity: GranularityQuery = Granularity.MONTH,
    currency: CurrencyQuery = CurrencyMode.REPORTING,
) -> MrrResponse:
    span = window(dates, state)
    with_movements = granularity in (Granularity.MONTH, Granularity.QUARTER)
    params = {
        **base_params(span, state, segment, currency),
        "granularity": granularity.value,
        "step": granularity.step,
        "with_movements": with_movements,
    }
    rows, total_items = await paged_rows(session, "mrr_series", params, page)
    items = [
        MrrPoint(
            period_start=row["period_start"],
            period_end=row["period_end"],
            as_of_date=row["as_of_date"],
            currency=row["currency"],
            mrr_minor=row["mrr_minor"],
            arr_minor=12 * row["mrr_minor"],
            movements=MrrMovements(**{name: row[name] for name in MOVEMENT_FIELDS}) if with_movements else None,
        )
        for row in rows
    ]
    return MrrResponse(
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


@router.get(
    "/bridge",
    response_model=BridgeResponse,
    summary="MRR bridge over whole months",
    description="From the opening MRR of the month containing `start` to the closing MRR of the month "
    "containing `end` (or the data horizon).\n\n" + describe("mrr_movements"),
)
async def mrr_bridge(
    session: SessionDep,
    state: ReadModelsDep,
    dates: DateRangeDep,
    segment: SegmentDep,
    currency: CurrencyQuery = CurrencyMode.REPORTING,
) -> BridgeResponse:
    span = window(dates, state)
    rows = await session.rows("mrr_bridge", base_params(span, state, segment, currency))
    return BridgeResponse(
        **provenance(state),
        currency_mode=currency,
        reporting_currency=state.reporting_currency,
        window=span,
        region_id=segment.region_id,
        plan_id=segment.plan_id,
        items=[BridgeItem(**row) for row in rows],
    )
