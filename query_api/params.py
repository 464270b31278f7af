"""Query parameters shared by the routers, validated before any SQL runs.

Every bad value answers 422 with FastAPI's usual body (`{"detail": [{"loc", "msg", "type"}]}`),
including the checks a type cannot express (end before start, a range too long): a client
handles one error shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Final

from fastapi import Depends, Query
from fastapi.exceptions import RequestValidationError

from query_api.definitions import CURRENCY, PERIODS

MIN_DATE: Final = date(1970, 1, 1)
MAX_DATE: Final = date(2199, 12, 31)
MAX_SPAN_DAYS: Final = 366 * 20
MAX_PAGE_SIZE: Final = 500
DEFAULT_PAGE_SIZE: Final = 100
# Natural ids as the producers write them (e.g. `emea`, `growth-annual-eur`); anything else
# cannot match a row, and refusing it early keeps control characters away from the database.
ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.:=+/-]{0,99}$"


class Granularity(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"

    @property
    def step(self) -> str:
        """The Postgres interval from one period's first day to the next."""
        return {"day": "1 day", "week": "7 days", "month": "1 month", "quarter": "3 months"}[self.value]


class MovementGranularity(StrEnum):
    """MRR movements are computed monthly by the warehouse; quarters sum their months."""

    MONTH = "month"
    QUARTER = "quarter"


class CurrencyMode(StrEnum):
    REPORTING = "reporting"
    ORIGINAL = "original"


def invalid(field: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("query", field), "msg": message, "type": "value_error"}])


def truncate(day: date, granularity: str) -> date:
    if granularity == "day":
        return day
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return day.replace(day=1)


def period_end(start: date, granularity: str) -> date:
    """Last day of the period that begins on `start`."""
    if granularity == "day":
        return start
    if granularity == "week":
        return start + timedelta(days=6)
    months = 3 if granularity == "quarter" else 1
    return months_before(start, -months) - timedelta(days=1)


def months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class DateRange:
    start: date | None
    end: date | None

    def resolve(self, data_as_of: date | None, end_default: str = "data_as_of") -> tuple[date, date]:
        """Fill the defaults: end = the data horizon (today before any data), start = the first
        day of the 12th month back from end."""
        end = self.end or data_as_of or datetime.now(UTC).date()
        start = self.start or months_before(end, 11)
        return self.checked(start, end, f"end defaults to {end_default}")

    def checked(self, start: date, end: date, defaults: str) -> tuple[date, date]:
        """`start`..`end` (the given sides, the missing ones at their defaults, which only the
        endpoint knows) when they form a valid range. `date_range` already checked a range given
        in full; this catches one side against a default: `start=1970-01-01` alone would otherwise
        ask for decades of periods. The error names the side the client gave (changing it is the
        fix) and `defaults` says how the other one was chosen."""
        if start > end:
            field = "start" if self.start is not None or self.end is None else "end"
            raise invalid(field, f"start ({start}) is after end ({end}; {defaults})")
        if (end - start).days > MAX_SPAN_DAYS:
            field = "end" if self.end is not None else "start"
            raise invalid(field, f"the range may span at most {MAX_SPAN_DAYS} days ({start} to {end}; {defaults})")
        return start, end


def _check_bounds(name: str, value: date | None) -> None:
    if value is not None and not MIN_DATE <= value <= MAX_DATE:
        raise invalid(name, f"{name} must be between {MIN_DATE} and {MAX_DATE}")


def date_range(
    start: Annotated[
        date | None, Query(description=f"First day (YYYY-MM-DD, inclusive). {PERIODS}", examples=["2026-01-01"])
    ] = None,
    end: Annotated[
        date | None,
        Query(
            description=f"Last day (inclusive); default data_as_of. The range may span at most {MAX_SPAN_DAYS} days, "
            "also when one side is left at its default."
        ),
    ] = None,
) -> DateRange:
    _check_bounds("start", start)
    _check_bounds("end", end)
    if start is not None and end is not None:
        if end < start:
            raise invalid("end", f"end ({end}) is before start ({start})")
        if (end - start).days > MAX_SPAN_DAYS:
            raise invalid("end", f"the range may span at most {MAX_SPAN_DAYS} days")
    return DateRange(start, end)


@dataclass(frozen=True)
class Segment:
    region_id: str | None
    plan_id: str | None


RegionQuery = Annotated[
    str | None,
    Query(pattern=ID_PATTERN, description="Only this region (an unknown region gives empty results)."),
]
PlanQuery = Annotated[
    str | None, Query(pattern=ID_PATTERN, description="Only this plan (an unknown plan gives empty results).")
]


def segment(region_id: RegionQuery = None, plan_id: PlanQuery = None) -> Segment:
    return Segment(region_id, plan_id)


def region_only(region_id: RegionQuery = None) -> Segment:
    return Segment(region_id, None)


@dataclass(frozen=True)
class Page:
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def page(
    page: Annotated[int, Query(ge=1, le=1_000_000, description="1-based page number.")] = 1,
    page_size: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"Items per page (at most {MAX_PAGE_SIZE}).")
    ] = DEFAULT_PAGE_SIZE,
) -> Page:
    return Page(page, page_size)


DateRangeDep = Annotated[DateRange, Depends(date_range)]
SegmentDep = Annotated[Segment, Depends(segment)]
RegionSegmentDep = Annotated[Segment, Depends(region_only)]
PageDep = Annotated[Page, Depends(page)]
GranularityQuery = Annotated[Granularity, Query(description="Period length.")]
MovementGranularityQuery = Annotated[
    MovementGranularity, Query(description="month or quarter: movements are monthly computations.")
]
CurrencyQuery = Annotated[CurrencyMode, Query(description=CURRENCY)]
