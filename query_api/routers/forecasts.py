"""Forecast vintages, and forecast vs actual (intervals and variance) for one series.

Not cached: a new vintage appears without a read-model refresh.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from query_api.definitions import describe
from query_api.deps import SessionDep, provenance
from query_api.models import ERROR_RESPONSES, ErrorBody, Paged, Window
from query_api.params import DateRange, DateRangeDep, PageDep, SegmentDep, months_before, period_end, truncate
from query_api.routers.common import paged_rows

router = APIRouter(prefix="/v1/forecasts", tags=["forecasts"], responses=ERROR_RESPONSES)
PCT = Decimal("0.0001")


class ForecastMetric(StrEnum):
    MRR = "mrr"
    ACTIVE_SUBSCRIPTIONS = "active_subscriptions"
    BILLED = "billed"


class ForecastFreq(StrEnum):
    DAY = "day"
    MONTH = "month"


class Vintage(BaseModel):
    run_id: uuid.UUID
    created_at: datetime
    as_of_date: date = Field(description="Last day of actuals the run could see.")
    history_start_date: date
    horizon_days: int
    horizon_months: int
    metrics: list[str]
    reporting_currency: str | None


class VintageItem(Vintage):
    series_count: int
    fallback_count: int


class VintagesResponse(Paged):
    items: list[VintageItem]


class Series(BaseModel):
    series_id: str
    metric: str
    unit: str
    hierarchy_level: str
    region_id: str | None
    plan_id: str | None
    model: str
    model_spec: str
    fallback_reason: str | None
    training_start: date
    training_end: date
    mase: Decimal | None
    coverage_80: Decimal | None
    coverage_95: Decimal | None


class ForecastPoint(BaseModel):
    ds: date = Field(description="The day, or the first day of the month.")
    point: Decimal | None
    lo_80: Decimal | None
    hi_80: Decimal | None
    lo_95: Decimal | None
    hi_95: Decimal | None
    actual: int | None
    variance: Decimal | None
    variance_pct: Decimal | None
    inside_80: bool | None
    inside_95: bool | None


class ForecastVsActualResponse(Paged):
    metric: ForecastMetric
    freq: ForecastFreq
    window: Window | None
    region_id: str | None
    plan_id: str | None
    vintage: Vintage | None = Field(description="null when no forecast has been run yet.")
    series: Series | None = Field(description="null when the vintage has no such series (e.g. unknown region).")
    items: list[ForecastPoint]


def _inside(actual: int, low: Decimal | None, high: Decimal | None) -> bool | None:
    return None if low is None or high is None else low <= actual <= high


def forecast_point(row: dict[str, Any]) -> ForecastPoint:
    point, actual = row["point"], row["actual"]
    variance = actual - point if point is not None and actual is not None else None
    pct = (100 * variance / abs(point)).quantize(PCT) if variance is not None and point else None
    both = point is not None and actual is not None
    return ForecastPoint(
        **{key: row[key] for key in ("ds", "point", "lo_80", "hi_80", "lo_95", "hi_95", "actual")},
        variance=variance,
        variance_pct=pct,
        inside_80=_inside(actual, row["lo_80"], row["hi_80"]) if both else None,
        inside_95=_inside(actual, row["lo_95"], row["hi_95"]) if both else None,
    )


def _default_window(vintage: Vintage, freq: ForecastFreq, dates: DateRange) -> Window:
    """Default: 90 days (12 months) of history before the vintage, through its horizon."""
    if freq is ForecastFreq.DAY:
        start = dates.start or vintage.as_of_date - timedelta(days=90)
        end = dates.end or vintage.as_of_date + timedelta(days=vintage.horizon_days)
    else:
        start = truncate(dates.start, "month") if dates.start else months_before(vintage.as_of_date, 12)
        end = dates.end or months_before(vintage.as_of_date, -vintage.horizon_months)
    defaults = "start defaults to 90 days (12 months) before the vintage's as_of_date, end to its horizon"
    start, end = dates.checked(start, end, defaults)
    return Window(start=start, end=end)


@router.get("/vintages", response_model=VintagesResponse, summary="Forecast vintages, newest first")
async def vintages(session: SessionDep, page: PageDep) -> VintagesResponse:
    state = await session.state()
    rows, total_items = await paged_rows(session, "forecast_runs", {}, page)
    return VintagesResponse(
        **provenance(state),
        page=page.page,
        page_size=page.page_size,
        total_items=total_items,
        items=[VintageItem(**{key: value for key, value in row.items() if key != "total_items"}) for row in rows],
    )


@router.get(
    "/vs-actual",
    response_model=ForecastVsActualResponse,
    summary="Forecast vs actual with intervals and variance",
    description="Revenue is forecast as recurring revenue (`metric=mrr`, the forecaster's default) or billings "
    "(`metric=billed`). The series is the vintage's hierarchy node for the region and/or plan given (total "
    "without either).\n\n" + describe("forecast_variance"),
    responses={404: {"model": ErrorBody, "description": "No vintage with this run_id."}},
)
async def forecast_vs_actual(
    session: SessionDep,
    dates: DateRangeDep,
    segment: SegmentDep,
    page: PageDep,
    metric: Annotated[ForecastMetric, Query(description="The forecast metric.")] = ForecastMetric.MRR,
    freq: Annotated[ForecastFreq, Query(description="Daily or monthly series.")] = ForecastFreq.DAY,
    run_id: Annotated[uuid.UUID | None, Query(description="The vintage; default the latest.")] = None,
) -> ForecastVsActualResponse:
    state = await session.state()
    found = await session.row("forecast_run", {"run_id": run_id})
    if found is None and run_id is not None:
        raise HTTPException(404, f"no forecast vintage with run_id {run_id}")
    common: dict[str, Any] = {
        **provenance(state),
        "metric": metric,
        "freq": freq,
        "region_id": segment.region_id,
        "plan_id": segment.plan_id,
        "page": page.page,
        "page_size": page.page_size,
    }
    if found is None:
        return ForecastVsActualResponse(**common, window=None, vintage=None, series=None, total_items=0, items=[])
    vintage = Vintage(**found)
    span = _default_window(vintage, freq, dates)
    level = {(False, False): "total", (True, False): "region", (False, True): "plan", (True, True): "region_plan"}[
        (segment.region_id is not None, segment.plan_id is not None)
    ]
    base = {"run_id": vintage.run_id, "metric": metric.value, "freq": freq.value}
    model = await session.row("forecast_model", {**base, "level": level, **vars(segment)})
    if model is None:
        return ForecastVsActualResponse(**common, window=span, vintage=vintage, series=None, total_items=0, items=[])
    params = {
        **base,
        **vars(segment),
        "series_id": model["series_id"],
        "start": span.start,
        "end": span.end,
        "from": span.start,
        "to": period_end(span.end, "month") if freq is ForecastFreq.MONTH else span.end,
        "horizon": state.horizon_date or date.min,
        "is_stock": metric is not ForecastMetric.BILLED,
    }
    rows, total_items = await paged_rows(session, "forecast_vs_actual", params, page)
    return ForecastVsActualResponse(
        **common,
        window=span,
        vintage=vintage,
        series=Series(**model),
        total_items=total_items,
        items=[forecast_point(row) for row in rows],
    )
