"""A multi-family backfill sends subscriptions first and waits once, where they end."""

from __future__ import annotations

from orchestration.backfill import Checkpoint
from orchestration.backfill_order import dependency_order, needs_wait
from platform_common.topics import Family

FAMILIES = {f"raw.{family.value}": family for family in Family}


def _plan(*families: Family) -> list[Checkpoint]:
    return [Checkpoint(f"raw.{family.value}", index, 0, 10, 0) for index, family in enumerate(families)]


def test_subscriptions_go_first_and_the_rest_keep_the_plan_order() -> None:
    plan = _plan(Family.OPERATIONAL_COST, Family.PAYMENT, Family.SUBSCRIPTION, Family.USAGE, Family.SUBSCRIPTION)
    ordered = dependency_order(plan, FAMILIES)
    assert [(FAMILIES[c.topic], c.partition) for c in ordered] == [
        (Family.SUBSCRIPTION, 2),
        (Family.SUBSCRIPTION, 4),
        (Family.OPERATIONAL_COST, 0),
        (Family.PAYMENT, 1),
        (Family.USAGE, 3),
    ]


def test_the_wait_comes_once_between_subscriptions_and_the_rest() -> None:
    ordered = dependency_order(_plan(Family.PAYMENT, Family.SUBSCRIPTION, Family.USAGE, Family.SUBSCRIPTION), FAMILIES)
    waits = [needs_wait(c, previous, FAMILIES) for previous, c in zip([None, *ordered], ordered, strict=False)]
    assert waits == [False, False, True, False]


def test_no_wait_without_subscriptions_or_without_anything_after_them() -> None:
    for plan in (_plan(Family.PAYMENT, Family.USAGE), _plan(Family.SUBSCRIPTION, Family.SUBSCRIPTION)):
        ordered = dependency_order(plan, FAMILIES)
        assert not any(needs_wait(c, p, FAMILIES) for p, c in zip([None, *ordered], ordered, strict=False))
