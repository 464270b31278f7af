"""Why an event went to the quarantine: stable reason codes, each with a field path and a message.

The codes are a public contract: dashboards, alerts and the triage CLI filter on them, so a code
is never renamed or reused. A quarantined event carries every finding (`Finding`); its first
finding is the primary reason used for counting and filtering.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class QuarantineReason(StrEnum):
    """Every way an event can fail; the value is the code written to the quarantine record."""

    UNDECODABLE = "undecodable"  # bytes are not Avro single-object of a known schema
    WRONG_FAMILY = "wrong_family"  # decodes, but as another family than its topic's
    SCHEMA_VIOLATION = "schema_violation"  # contract rule (length, pattern, version) broken
    MISSING_FIELD = "missing_field"  # required (or conditionally required) value null/empty
    OUT_OF_RANGE = "out_of_range"  # amount < 0, quantity <= 0, basis points > 10000, ...
    INVALID_CURRENCY = "invalid_currency"  # not an ISO-4217 code, or not the plan's currency
    FUTURE_EVENT_TIME = "future_event_time"  # event_time beyond now + clock-skew allowance
    INVALID_PERIOD = "invalid_period"  # a period that ends before it starts
    UNKNOWN_PLAN = "unknown_plan"  # plan_id not in the reference data
    UNKNOWN_REGION = "unknown_region"  # region_id not in the reference data
    UNKNOWN_SUBSCRIPTION = "unknown_subscription"  # still unknown after the grace window
    INVALID_STATE_TRANSITION = "invalid_state_transition"  # e.g. plan change after cancel
    CONFLICTING_DUPLICATE = "conflicting_duplicate"  # event_id seen with another payload
    TOO_LATE = "too_late"  # behind the watermark by more than the correction horizon
    PROCESSING_ERROR = "processing_error"  # a bug in the processor: kept, never dropped


@dataclass(frozen=True, slots=True)
class Finding:
    """One broken rule: `field` is the dotted path ("" for the whole event)."""

    code: QuarantineReason
    message: str
    field: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code.value, "message": self.message, "field": self.field}
