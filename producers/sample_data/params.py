"""What a sample-data run is asked to produce.

Everything that influences the output is a field here, so `(params)` alone reproduces a data
set byte for byte; the ground truth embeds them for the same reason.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from producers.sample_data.timeutil import add_months


class BadKind(StrEnum):
    """Kinds of deliberately broken records; each must be caught by a different safeguard."""

    MISSING_FIELD = "missing_field"  # contract validation: a required field is absent
    NEGATIVE_AMOUNT = "negative_amount"  # contract validation: invoice amount below zero
    UNKNOWN_PLAN = "unknown_plan"  # reference check: plan_id not in the price book
    EXACT_DUPLICATE = "exact_duplicate"  # deduplication: same event_id, same payload
    CONFLICTING_DUPLICATE = "conflicting_duplicate"  # same event_id, different payload


@dataclass(frozen=True)
class GenerationParams:
    """Defaults are the demo size: ~5k customers over 24 months, about 1M events."""

    customers: int = 5000
    months: int = 24
    start_date: date = date(2023, 1, 1)
    seed: int = 42
    # Bad records to inject, as a share of the good events, split evenly over `bad_kinds`.
    bad_record_share: float = 0.0
    # Good payment/usage/cost events to deliver late (they still count in the ground truth).
    late_share: float = 0.0
    late_min_days: int = 2
    late_max_days: int = 10
    # 1 = daily usage; larger values sample every n-th day per subscription (phase-shifted
    # per subscription so every weekday is covered) to keep the demo around 1M events.
    usage_every_n_days: int = 3
    bad_kinds: tuple[BadKind, ...] = field(default_factory=lambda: tuple(BadKind))

    def __post_init__(self) -> None:
        problems = []
        if self.customers < 1:
            problems.append("customers must be >= 1")
        if not 1 <= self.months <= 240:
            problems.append("months must be within 1..240")
        if self.start_date.day != 1:
            problems.append("start_date must be the first day of a month (month-end metrics)")
        if not 0.0 <= self.bad_record_share <= 1.0:
            problems.append("bad_record_share must be within 0..1")
        if not 0.0 <= self.late_share <= 1.0:
            problems.append("late_share must be within 0..1")
        if not 1 <= self.late_min_days <= self.late_max_days:
            problems.append("need 1 <= late_min_days <= late_max_days")
        if self.usage_every_n_days < 1:
            problems.append("usage_every_n_days must be >= 1")
        if self.bad_record_share > 0 and not self.bad_kinds:
            problems.append("bad_record_share > 0 needs at least one bad kind")
        if problems:
            raise ValueError("invalid generation parameters: " + "; ".join(problems))

    @property
    def end_date(self) -> date:
        """First day after the simulated window."""
        return add_months(self.start_date, self.months)

    def to_json(self) -> dict[str, Any]:
        values = asdict(self)
        values["start_date"] = self.start_date.isoformat()
        values["bad_kinds"] = [kind.value for kind in self.bad_kinds]
        return values
