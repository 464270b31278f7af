"""Decoded clean events -> rows of the staging tables, one tuple layout per family.

The column lists here are the COPY column lists (binary COPY, so the types are declared too);
they must match `staging.stg_<family>_event` from migration 0301. Within a batch an event_id is
kept once, first seen wins (the same rule as the stream processor's deduplication); so is a
quarantine_id. A batch also remembers the trace ids its messages carried, for its log lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from platform_common.topics import Family

ENVELOPE: tuple[tuple[str, str], ...] = (
    ("event_id", "text"),
    ("event_type", "text"),
    ("event_time", "timestamptz"),
    ("event_date", "date"),
    ("source", "text"),
    ("schema_version", "int4"),
    ("writer_version", "int4"),
    ("producer", "text"),
    ("received_at", "timestamptz"),
    ("trace_id", "text"),
    ("is_late", "bool"),
    ("kafka_topic", "text"),
    ("kafka_partition", "int4"),
    ("kafka_offset", "int8"),
)

PAYLOAD: dict[Family, tuple[tuple[str, str], ...]] = {
    Family.SUBSCRIPTION: (
        ("subscription_id", "text"),
        ("customer_id", "text"),
        ("plan_id", "text"),
        ("billing_interval", "text"),
        ("billing_interval_count", "int4"),
        ("quantity", "int4"),
        ("unit_price_minor", "int8"),
        ("currency", "text"),
        ("discount_kind", "text"),
        ("discount_amount_minor", "int8"),
        ("discount_percent_basis_points", "int4"),
        ("discount_duration_months", "int4"),
        ("region_id", "text"),
        ("change_kind", "text"),
        ("effective_date", "date"),
        ("cancel_reason", "text"),
        ("trial_end_date", "date"),
        ("customer_segment", "text"),
        ("sales_channel", "text"),
    ),
    Family.PAYMENT: (
        ("payment_id", "text"),
        ("invoice_id", "text"),
        ("subscription_id", "text"),
        ("customer_id", "text"),
        ("amount_minor", "int8"),
        ("currency", "text"),
        ("service_period_start", "date"),
        ("service_period_end", "date"),
        ("region_id", "text"),
        ("failure_reason", "text"),
        ("payment_method", "text"),
    ),
    Family.USAGE: (
        ("customer_id", "text"),
        ("subscription_id", "text"),
        ("metric", "text"),
        ("quantity", "int8"),
        ("unit", "text"),
        ("usage_date", "date"),
        ("region_id", "text"),
        ("is_billable", "bool"),
    ),
    Family.OPERATIONAL_COST: (
        ("category", "text"),
        ("vendor", "text"),
        ("region_id", "text"),
        ("amount_minor", "int8"),
        ("currency", "text"),
        ("period_start", "date"),
        ("period_end", "date"),
        ("cost_center", "text"),
    ),
}

STAGING_TABLE: dict[Family, str] = {
    Family.SUBSCRIPTION: "stg_subscription_event",
    Family.PAYMENT: "stg_payment_event",
    Family.USAGE: "stg_usage_event",
    Family.OPERATIONAL_COST: "stg_cost_event",
}

_DISCOUNT_FIELDS = ("kind", "amount_minor", "percent_basis_points", "duration_months")
_PAYLOAD_NAMES = {family: tuple(name for name, _ in fields) for family, fields in PAYLOAD.items()}


def columns(family: Family) -> list[str]:
    return [name for name, _ in ENVELOPE + PAYLOAD[family]]


def column_types(family: Family) -> list[str]:
    return [kind for _, kind in ENVELOPE + PAYLOAD[family]]


@dataclass(frozen=True, slots=True)
class Position:
    topic: str
    partition: int
    offset: int


def to_row(
    family: Family, record: Mapping[str, Any], writer_version: int, position: Position, is_late: bool
) -> tuple[Any, ...]:
    """One staging row; Avro already gave tz-aware datetimes and dates, so only flattening remains."""
    event_time: datetime = record["event_time"]
    metadata = record["metadata"]
    envelope = (
        record["event_id"],
        record["event_type"],
        event_time,
        event_time.astimezone(UTC).date(),
        record["source"],
        record["schema_version"],
        writer_version,
        metadata["producer"],
        metadata.get("received_at"),
        metadata.get("trace_id"),
        is_late,
        position.topic,
        position.partition,
        position.offset,
    )
    if family is Family.SUBSCRIPTION:
        discount = record.get("discount") or {}
        payload: tuple[Any, ...] = (
            record["subscription_id"],
            record["customer_id"],
            record["plan_id"],
            record["billing_interval"],
            record["billing_interval_count"],
            record["quantity"],
            record["unit_price_minor"],
            record["currency"],
            *(discount.get(name) for name in _DISCOUNT_FIELDS),
            record["region_id"],
            record.get("change_kind"),
            record.get("effective_date"),
            record.get("cancel_reason"),
            record.get("trial_end_date"),
            record.get("customer_segment"),
            record.get("sales_channel"),
        )
    else:
        payload = tuple([record.get(name) for name in _PAYLOAD_NAMES[family]])
    return envelope + payload


@dataclass
class Batch:
    """Rows of one transaction, deduplicated by event_id, plus the offsets they advance."""

    rows: dict[Family, list[tuple[Any, ...]]] = field(default_factory=lambda: {family: [] for family in Family})
    # Quarantine rows (warehouse.quarantine_event columns) with the topic/partition they came from.
    quarantine: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)
    next_offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    # Distinct trace_id headers in arrival order (a dict keeps the order, a set would not).
    trace_ids: dict[str, None] = field(default_factory=dict)
    messages: int = 0
    duplicates: int = 0
    late: int = 0
    events_by_topic: dict[str, int] = field(default_factory=dict)
    _seen: set[str] = field(default_factory=set)
    _quarantine_seen: set[str] = field(default_factory=set)

    def _advance(self, position: Position, trace_id: str | None) -> None:
        """Count a message (per topic too) and move its partition's next offset past it."""
        self.messages += 1
        topic = position.topic
        self.events_by_topic[topic] = self.events_by_topic.get(topic, 0) + 1
        key = (topic, position.partition)
        next_offset = position.offset + 1
        if self.next_offsets.get(key, 0) < next_offset:
            self.next_offsets[key] = next_offset
        if trace_id:
            self.trace_ids[trace_id] = None

    def add(self, family: Family, row: tuple[Any, ...], position: Position, trace_id: str | None = None) -> None:
        self._advance(position, trace_id)
        event_id = row[0]
        if event_id in self._seen:
            self.duplicates += 1
            return
        self._seen.add(event_id)
        if row[10]:
            self.late += 1
        self.rows[family].append(row)

    def add_quarantine(self, row: dict[str, Any], position: Position, trace_id: str | None = None) -> None:
        """A quarantine record; the same quarantine_id twice in a batch is kept once."""
        self._advance(position, trace_id)
        quarantine_id = str(row["quarantine_id"])
        if quarantine_id in self._quarantine_seen:
            self.duplicates += 1
            return
        self._quarantine_seen.add(quarantine_id)
        self.quarantine.append((position.topic, position.partition, row))

    def skip(self, position: Position, trace_id: str | None = None) -> None:
        """A message that yields no row (tombstone, undecodable) still advances its partition's offset."""
        self._advance(position, trace_id)

    def drop_partitions(self, revoked: set[tuple[str, int]]) -> None:
        """Forget messages of partitions this consumer no longer owns (their new owner re-reads)."""
        if not revoked:
            return
        for family, rows in self.rows.items():
            self.rows[family] = [row for row in rows if (row[11], row[12]) not in revoked]
        self.quarantine = [item for item in self.quarantine if (item[0], item[1]) not in revoked]
        self._seen = {row[0] for rows in self.rows.values() for row in rows}
        self._quarantine_seen = {str(row["quarantine_id"]) for _, _, row in self.quarantine}
        for key in revoked:
            self.next_offsets.pop(key, None)

    @property
    def row_count(self) -> int:
        return sum(len(rows) for rows in self.rows.values())

    @property
    def quarantine_rows(self) -> list[dict[str, Any]]:
        return [row for _, _, row in self.quarantine]
