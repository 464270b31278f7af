"""Exact integer arithmetic for derived metrics (money stays integer minor units)."""

from __future__ import annotations

RATIO_DECIMALS = 6


def div_round_half_even(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to an integer, ties to even (denominator > 0)."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


def ratio(numerator: int, denominator: int) -> float | None:
    """A rate or share, rounded to six decimals; None when the denominator is 0."""
    if denominator == 0:
        return None
    return round(numerator / denominator, RATIO_DECIMALS)
