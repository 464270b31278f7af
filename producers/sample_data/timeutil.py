"""Calendar arithmetic and the canonical timestamp text, on integers for speed.

Event times are kept as integer microseconds since the Unix epoch (UTC) because a demo run
formats about a million of them; `format_micros` produces exactly what
`schemas.json_contract.format_timestamp` produces, so generated JSON round-trips through Avro.
"""

from __future__ import annotations

import calendar
from datetime import date

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
MICROS_PER_SECOND = 1_000_000
MICROS_PER_HOUR = 3600 * MICROS_PER_SECOND
MICROS_PER_DAY = 24 * MICROS_PER_HOUR

_DATE_TEXT: dict[int, str] = {}


def add_months(day: date, months: int) -> date:
    """Same day-of-month `months` later, clamped to the month's last day (Jan 31 + 1 = Feb 28)."""
    years, month_index = divmod(day.month - 1 + months, 12)
    year = day.year + years
    last_day = calendar.monthrange(year, month_index + 1)[1]
    return date(year, month_index + 1, min(day.day, last_day))


def month_end(day: date) -> date:
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def month_ends(start: date, months: int) -> list[date]:
    return [month_end(add_months(start, offset)) for offset in range(months)]


def day_micros(day: date) -> int:
    """Microseconds at 00:00 UTC of `day`."""
    return (day.toordinal() - EPOCH_ORDINAL) * MICROS_PER_DAY


def micros_date(micros: int) -> date:
    return date.fromordinal(EPOCH_ORDINAL + micros // MICROS_PER_DAY)


def date_text(day: date) -> str:
    return ordinal_text(day.toordinal())


def ordinal_text(ordinal: int) -> str:
    text = _DATE_TEXT.get(ordinal)
    if text is None:
        text = _DATE_TEXT[ordinal] = date.fromordinal(ordinal).isoformat()
    return text


def format_micros(micros: int) -> str:
    """ISO-8601 UTC text with `Z`; microseconds only when non-zero (the canonical JSON form)."""
    days, rest = divmod(micros, MICROS_PER_DAY)
    seconds, fraction = divmod(rest, MICROS_PER_SECOND)
    hours, rest_seconds = divmod(seconds, 3600)
    minutes, secs = divmod(rest_seconds, 60)
    text = f"{ordinal_text(EPOCH_ORDINAL + days)}T{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{text}.{fraction:06d}Z" if fraction else f"{text}Z"
