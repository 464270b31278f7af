"""The integer money rules behind invoices and MRR."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from producers.sample_data.money import Discount, Terms, div_round_half_even
from producers.sample_data.reference import PriceBook
from producers.sample_data.timeutil import add_months, format_micros
from schemas.json_contract import format_timestamp

BOOK = PriceBook()


@given(st.integers(min_value=-(10**18), max_value=10**18), st.integers(min_value=1, max_value=10**6))
def test_division_rounds_half_to_even(numerator: int, denominator: int) -> None:
    assert div_round_half_even(numerator, denominator) == round(Fraction(numerator, denominator))


def test_half_even_examples() -> None:
    assert [div_round_half_even(value, 2) for value in (1, 3, 5, -1, -3)] == [0, 2, 2, 0, -2]


@given(st.dates(min_value=date(1970, 1, 1), max_value=date(2200, 12, 31)), st.integers(min_value=0, max_value=600))
def test_add_months_keeps_the_day_or_clamps_to_month_end(day: date, months: int) -> None:
    moved = add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day == day.day or (moved.day < day.day and add_months(moved, 0) == moved)


@given(st.integers(min_value=0, max_value=253_402_300_799_999_999))  # up to 9999-12-31T23:59:59.999999Z
def test_fast_timestamp_text_is_the_canonical_form(micros: int) -> None:
    from datetime import UTC, datetime, timedelta

    assert format_micros(micros) == format_timestamp(datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros))


def test_mrr_normalises_annual_and_multi_year_prices() -> None:
    annual = Terms(BOOK.plan("growth-annual", "USD"), quantity=2)
    assert annual.mrr_on(date(2024, 1, 31)) == 13_167  # 158_000 / 12 = 13_166.67
    multi_year = Terms(BOOK.plan("enterprise-2y", "USD"), quantity=1)
    assert multi_year.mrr_on(date(2024, 1, 31)) == 11_500  # 276_000 / 24
    monthly = Terms(BOOK.plan("starter-monthly", "EUR"), quantity=3)
    assert monthly.mrr_on(date(2024, 1, 31)) == 8_100


def test_discounts_apply_while_active_and_amounts_are_capped() -> None:
    percent = Discount("percent", None, 1_500, 3)
    terms = Terms(BOOK.plan("growth-monthly", "USD"), 1, percent, discount_start=date(2024, 1, 15))
    assert terms.mrr_on(date(2024, 1, 31)) == 7_900 - 1_185
    assert terms.mrr_on(date(2024, 4, 14)) == 7_900 - 1_185
    assert terms.mrr_on(date(2024, 4, 15)) == 7_900
    assert terms.period_charge(date(2024, 3, 15)) == 6_715
    assert terms.period_charge(date(2024, 4, 15)) == 7_900
    forever = Terms(BOOK.plan("starter-monthly", "GBP"), 1, Discount("amount", 10_000, None, None), date(2024, 1, 1))
    assert forever.period_charge(date(2030, 1, 1)) == 0
    half = Terms(BOOK.plan("growth-annual", "GBP"), 1, Discount("percent", None, 5_000, None), date(2024, 1, 1))
    assert half.period_charge(date(2024, 1, 1)) == 32_500
    assert half.mrr_on(date(2024, 1, 31)) == 2_708  # 32_500 / 12 = 2708.33
