"""Helpers the routers share: SQL parameters from validated filters, and empty answers."""

from __future__ import annotations

from datetime import date
from typing import Any

from query_api.db import ReadModelState, Row, Warehouse
from query_api.models import Window
from query_api.params import CurrencyMode, DateRange, Page, Segment


def window(dates: DateRange, state: ReadModelState) -> Window:
    start, end = dates.resolve(state.horizon_date)
    return Window(start=start, end=end)


def base_params(
    span: Window, state: ReadModelState, segment: Segment, currency: CurrencyMode = CurrencyMode.REPORTING
) -> dict[str, Any]:
    return {
        "start": span.start,
        "end": span.end,
        "horizon": state.horizon_date or date.min,
        "original": currency is CurrencyMode.ORIGINAL,
        "reporting_currency": state.reporting_currency,
        "region_id": segment.region_id,
        "plan_id": segment.plan_id,
    }


async def paged_rows(session: Warehouse, name: str, params: dict[str, Any], page: Page) -> tuple[list[Row], int]:
    """The page's rows and the total number of items (the statement computes
    `count(*) OVER () AS total_items`; a page past the end asks once more for the total)."""
    rows = await session.rows(name, {**params, "limit": page.page_size, "offset": page.offset})
    if rows:
        return rows, int(rows[0]["total_items"])
    if page.offset == 0:
        return [], 0
    first = await session.rows(name, {**params, "limit": 1, "offset": 0})
    return [], int(first[0]["total_items"]) if first else 0
