"""The date dimension (warehouse.time): hand-picked dates (ISO weeks across new year, quarters,
month ends in February of leap and common years), every row against Python's calendar, and the
fiscal columns under the `fiscal_year_start_month` setting as `ledgerline setup` applies it."""

from __future__ import annotations

import calendar
from datetime import date
from typing import Any

import pytest
from warehouse_sink_helpers import query, sink_settings

from platform_common.config import Settings
from sinks.warehouse.bootstrap import apply_fiscal_calendar, set_up_warehouse

pytestmark = pytest.mark.integration

COLUMNS = (
    "day_of_month, day_of_week, is_weekend, iso_year, iso_week, month_start_date, month_of_year, quarter_of_year,"
    " quarter_start_date, calendar_year, fiscal_year, fiscal_quarter, fiscal_period, is_month_end"
)
D = date.fromisoformat
# date -> (day_of_month, day_of_week, is_weekend, iso_year, iso_week, month_start_date, month_of_year,
#          quarter_of_year, quarter_start_date, calendar_year, fiscal_year, fiscal_quarter, fiscal_period,
#          is_month_end), fiscal = calendar (the default).
HAND_PICKED: dict[str, tuple[Any, ...]] = {
    # 2026 starts on a Thursday: it has an ISO week 53, running to Sunday 2027-01-03.
    "2026-12-31": (31, 4, False, 2026, 53, D("2026-12-01"), 12, 4, D("2026-10-01"), 2026, 2026, 4, 12, True),
    "2027-01-01": (1, 5, False, 2026, 53, D("2027-01-01"), 1, 1, D("2027-01-01"), 2027, 2027, 1, 1, False),
    "2027-01-03": (3, 7, True, 2026, 53, D("2027-01-01"), 1, 1, D("2027-01-01"), 2027, 2027, 1, 1, False),
    "2027-01-04": (4, 1, False, 2027, 1, D("2027-01-01"), 1, 1, D("2027-01-01"), 2027, 2027, 1, 1, False),
    # ...and the other way: Monday 2024-12-30 is in ISO week 1 of 2025.
    "2024-12-30": (30, 1, False, 2025, 1, D("2024-12-01"), 12, 4, D("2024-10-01"), 2024, 2024, 4, 12, False),
    "2026-03-31": (31, 2, False, 2026, 14, D("2026-03-01"), 3, 1, D("2026-01-01"), 2026, 2026, 1, 3, True),
    "2026-04-01": (1, 3, False, 2026, 14, D("2026-04-01"), 4, 2, D("2026-04-01"), 2026, 2026, 2, 4, False),
    "2027-02-28": (28, 7, True, 2027, 8, D("2027-02-01"), 2, 1, D("2027-01-01"), 2027, 2027, 1, 2, True),
    "2028-02-28": (28, 1, False, 2028, 9, D("2028-02-01"), 2, 1, D("2028-01-01"), 2028, 2028, 1, 2, False),
    "2028-02-29": (29, 2, False, 2028, 9, D("2028-02-01"), 2, 1, D("2028-01-01"), 2028, 2028, 1, 2, True),
}
# Fiscal year starting in April (named by the year it ends in): (fiscal_year, fiscal_quarter, fiscal_period).
FISCAL_APRIL = {
    "2026-03-31": (2026, 4, 12),
    "2026-04-01": (2027, 1, 1),
    "2026-12-31": (2027, 3, 9),
    "2027-01-01": (2027, 4, 10),
    "2028-02-29": (2028, 4, 11),
}
FISCAL_OCTOBER = {"2026-09-30": (2026, 4, 12), "2026-10-01": (2027, 1, 1), "2026-12-31": (2027, 1, 3)}


def _fiscal(settings: Settings, days: dict[str, tuple[int, int, int]]) -> dict[str, tuple[int, int, int]]:
    rows = query(
        settings,
        "SELECT calendar_date::text, fiscal_year, fiscal_quarter, fiscal_period FROM warehouse.time"
        " WHERE calendar_date = ANY(%s::date[])",
        (list(days),),
    )
    return {row[0]: tuple(row[1:]) for row in rows}


def _expected(day: date, start_month: int) -> tuple[Any, ...]:
    iso = day.isocalendar()
    quarter = (day.month - 1) // 3 + 1
    period = (day.month - start_month) % 12 + 1
    fiscal_year = day.year + (1 if start_month > 1 and day.month >= start_month else 0)
    return (
        day.day,
        iso.weekday,
        iso.weekday >= 6,
        iso.year,
        iso.week,
        day.replace(day=1),
        day.month,
        quarter,
        date(day.year, 3 * quarter - 2, 1),
        day.year,
        fiscal_year,
        (period - 1) // 3 + 1,
        period,
        day.day == calendar.monthrange(day.year, day.month)[1],
    )


def _all_rows_match(settings: Settings, start_month: int) -> None:
    rows = query(settings, f"SELECT calendar_date, {COLUMNS} FROM warehouse.time ORDER BY 1")
    assert rows[0][0] == date(2015, 1, 1)
    assert rows[-1][0] == date(2040, 12, 31)
    assert len(rows) == (date(2040, 12, 31) - date(2015, 1, 1)).days + 1
    wrong = [row for row in rows if tuple(row[1:]) != _expected(row[0], start_month)]
    assert wrong == []


def test_time_dimension_columns_and_fiscal_start(fresh_database: Settings) -> None:
    settings = fresh_database
    picked = query(
        settings,
        f"SELECT calendar_date::text, {COLUMNS} FROM warehouse.time WHERE calendar_date = ANY(%s::date[])",
        (list(HAND_PICKED),),
    )
    assert {row[0]: tuple(row[1:]) for row in picked} == HAND_PICKED
    _all_rows_match(settings, 1)
    total = query(settings, "SELECT count(*) FROM warehouse.time")[0][0]

    # Setup with the setting at April: every date's fiscal period moves; a second run changes nothing.
    report = set_up_warehouse(settings, sink_settings(fiscal_year_start_month=4))
    assert (report.fiscal_year_start_month, report.fiscal_dates_updated) == (4, total)
    assert _fiscal(settings, FISCAL_APRIL) == FISCAL_APRIL
    _all_rows_match(settings, 4)
    assert set_up_warehouse(settings, sink_settings(fiscal_year_start_month=4)).fiscal_dates_updated == 0

    assert apply_fiscal_calendar(settings, 10) == total
    assert _fiscal(settings, FISCAL_OCTOBER) == FISCAL_OCTOBER
    _all_rows_match(settings, 10)

    # Back to the calendar: the default setting restores what the migration filled in.
    assert set_up_warehouse(settings, sink_settings()).fiscal_dates_updated == total
    _all_rows_match(settings, 1)
    assert {
        row[0]: tuple(row[1:])
        for row in query(
            settings,
            f"SELECT calendar_date::text, {COLUMNS} FROM warehouse.time WHERE calendar_date = ANY(%s::date[])",
            (list(HAND_PICKED),),
        )
    } == HAND_PICKED
