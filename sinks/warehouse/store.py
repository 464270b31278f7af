"""One batch = one transaction: COPY into staging, merge, recompute what it touched, store offsets.

A crash anywhere before COMMIT leaves neither the rows nor the offsets; after it, both. Batches
(and the maintenance commands) serialise on a transaction-level advisory lock, so two writers
on one warehouse never interleave their recomputes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from platform_common.topics import Family
from sinks.warehouse.reference import Names
from sinks.warehouse.rows import STAGING_TABLE, Batch, column_types, columns
from sinks.warehouse.settings import WarehouseSinkSettings
from sinks.warehouse.sqlfiles import run_file

log = logging.getLogger(__name__)

# Advisory lock keys (any bigint; these spell "LLWH" + purpose).
WRITER_LOCK = 0x4C4C_5748_0000_0001
SINK_SESSION_LOCK = 0x4C4C_5748_0000_0002

# Per-session planner settings of the sink's connections: JIT compiles are slower than these
# statements; data is cached, so index probes are cheap; hashing a batch needs memory: a batch
# that advances the horizon over a long stretch (a backlog or a rebuild) aggregates a revenue row
# per customer and day in one hash, which spilled to disk at 64MB.
# synchronous_commit stays on: a COMMIT that returned is a batch (and its offsets) that survives a
# server crash, which is what `run --until-caught-up`, a rebuild and everyone reading the
# warehouse are told; with it off, committed batches could silently vanish after they were read.
SESSION_OPTIONS = "-c jit=off -c random_page_cost=1.1 -c work_mem=256MB"


STAGING_WORK_TABLES = (
    "staging.stg_subscription_event",
    "staging.stg_payment_event",
    "staging.stg_usage_event",
    "staging.stg_cost_event",
    "staging.new_subscription_event",
    "staging.new_payment_event",
    "staging.new_cost_event",
    "staging.touched_subscription",
    "staging.old_subscription_state",
    "staging.subscription_state_work",
    "staging.snapshot_range",
    "staging.touched_customer_span",
    "staging.fx_day",
    "staging.touched_dimension_key",
)
# Statement label -> the table whose rows it writes (for the rows-merged metric).
TABLE_OF_LABEL = {
    "subscription_event": "subscription_event",
    "payment_event": "payment_event",
    "usage_event": "usage_event",
    "cost_event": "cost_event",
    "region": "region",
    "customer_insert": "customer",
    "plan_insert": "plan",
    "usage_daily": "usage_daily",
    "costs_daily": "costs_daily",
    "state_insert": "subscription_state",
    "snapshot_insert": "subscriptions_snapshot",
    "revenue_insert": "revenue_daily",
    "quarantine_event": "quarantine_event",
}
RECOMPUTE_FILES = ("dimensions.sql", "fx.sql", "usage_costs.sql", "subscriptions.sql", "revenue.sql")


@dataclass
class BatchResult:
    rows_by_table: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    old_horizon: date | None = None
    horizon: date | None = None


class SinkAlreadyRunning(RuntimeError):
    """Another warehouse sink holds the session lock of this warehouse."""


class ReportingCurrencyChanged(RuntimeError):
    """The warehouse holds amounts in another reporting currency: `refresh` must convert them."""


def truncate_staging(conn: psycopg.Connection[Any]) -> None:
    conn.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(_identifiers(STAGING_WORK_TABLES))))


def _identifiers(names: Iterable[str]) -> list[sql.Composable]:
    return [sql.Identifier(*name.split(".")) for name in names]


def copy_rows(conn: psycopg.Connection[Any], family: Family, rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier("staging", STAGING_TABLE[family]),
        sql.SQL(", ").join(sql.Identifier(name) for name in columns(family)),
    )
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types(column_types(family))
        for row in rows:
            copy.write_row(row)


def ensure_state(conn: psycopg.Connection[Any], reporting_currency: str) -> None:
    """Create the horizon row; refuse to mix reporting currencies in one warehouse."""
    with conn.transaction():
        conn.execute(
            "INSERT INTO warehouse.data_horizon (reporting_currency) VALUES (%s) ON CONFLICT DO NOTHING",
            (reporting_currency,),
        )
        row = conn.execute("SELECT reporting_currency FROM warehouse.data_horizon").fetchone()
    stored = row[0] if row else reporting_currency
    if stored != reporting_currency:
        raise ReportingCurrencyChanged(
            f"the warehouse reports in {stored}, the setting says {reporting_currency}: run "
            "`ledgerline sink warehouse refresh` to convert every fact, then start the sink again"
        )


def recompute_params(
    sink: WarehouseSinkSettings, old_horizon: date | None, horizon: date | None, names: Names | None = None
) -> dict[str, Any]:
    return {
        **(names or Names()).params(),
        "reporting_currency": sink.reporting_currency,
        "grace_days": sink.mrr.past_due_grace_days,
        "apply_discounts": sink.mrr.apply_discounts,
        "trials_count_as_active": sink.mrr.trials_count_as_active,
        "old_horizon": old_horizon,
        "horizon": horizon,
    }


def advance_horizon(conn: psycopg.Connection[Any], reset: bool = False) -> tuple[date | None, date | None]:
    """Move the horizon to the newest event date merged (never back); returns (old, new)."""
    row = conn.execute("SELECT horizon_date FROM warehouse.data_horizon FOR UPDATE").fetchone()
    old: date | None = None if reset or row is None else row[0]
    newest = conn.execute(
        "SELECT max(d) FROM (SELECT max(event_date) AS d FROM staging.new_subscription_event"
        " UNION ALL SELECT max(event_date) FROM staging.new_payment_event"
        " UNION ALL SELECT max(event_date) FROM staging.stg_usage_event"
        " UNION ALL SELECT max(event_date) FROM staging.new_cost_event) t"
    ).fetchone()
    candidate = newest[0] if newest else None
    new = max((value for value in (old, candidate) if value is not None), default=None)
    conn.execute("UPDATE warehouse.data_horizon SET horizon_date = %s, updated_at = now()", (new,))
    return old, new


def recompute(
    conn: psycopg.Connection[Any],
    sink: WarehouseSinkSettings,
    *,
    reset_horizon: bool = False,
    names: Names | None = None,
) -> BatchResult:
    """Dimensions, horizon, facts and state for what staging.new_* holds (inside a transaction)."""
    old, new = advance_horizon(conn, reset=reset_horizon)
    params = recompute_params(sink, old, new, names)
    result = BatchResult(old_horizon=old, horizon=new)
    for file_name in RECOMPUTE_FILES:
        _count(result, run_file(conn, file_name, params))
    return result


def _count(result: BatchResult, counts: Mapping[str, int]) -> None:
    for label, count in counts.items():
        table = TABLE_OF_LABEL.get(label)
        if table is not None:
            result.rows_by_table[table] = result.rows_by_table.get(table, 0) + count


def store_offsets(
    conn: psycopg.Connection[Any], consumer_name: str, next_offsets: Mapping[tuple[str, int], int]
) -> None:
    if not next_offsets:
        return
    keys = sorted(next_offsets)
    conn.execute(
        "INSERT INTO platform.consumer_offset (consumer_name, topic, partition, next_offset, updated_at)"
        " SELECT %s, t.topic, t.partition, t.next_offset, now()"
        " FROM unnest(%s::text[], %s::int[], %s::bigint[]) AS t(topic, partition, next_offset)"
        " ON CONFLICT (consumer_name, topic, partition) DO UPDATE"
        " SET next_offset = GREATEST(platform.consumer_offset.next_offset, excluded.next_offset),"
        " updated_at = excluded.updated_at",
        (
            consumer_name,
            [topic for topic, _ in keys],
            [partition for _, partition in keys],
            [next_offsets[key] for key in keys],
        ),
    )


def stored_offsets(conn: psycopg.Connection[Any], consumer_name: str, topics: list[str]) -> dict[tuple[str, int], int]:
    rows = conn.execute(
        "SELECT topic, partition, next_offset FROM platform.consumer_offset"
        " WHERE consumer_name = %s AND topic = ANY(%s)",
        (consumer_name, topics),
    ).fetchall()
    return {(topic, partition): offset for topic, partition, offset in rows}


def apply_batch(
    conn: psycopg.Connection[Any],
    batch: Batch,
    consumer_name: str,
    sink: WarehouseSinkSettings,
    names: Names | None = None,
) -> BatchResult:
    """The whole batch with its offsets, or nothing."""
    started = time.perf_counter()
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))
        if batch.row_count:
            truncate_staging(conn)
            for family, rows in batch.rows.items():
                copy_rows(conn, family, rows)
            merged = run_file(conn, "events.sql", {})
            result = recompute(conn, sink, names=names)
            _count(result, merged)
        else:  # quarantine records or skipped messages only: no event merges, nothing to recompute
            result = BatchResult()
        if batch.quarantine:
            _count(result, run_file(conn, "quarantine.sql", {"rows": Jsonb(batch.quarantine_rows)}))
        store_offsets(conn, consumer_name, batch.next_offsets)
    result.seconds = time.perf_counter() - started
    return result


def acquire_session_lock(conn: psycopg.Connection[Any], wait_seconds: float) -> None:
    """Wait (a crashed predecessor's backend may linger a moment) then fail loudly."""
    deadline = time.monotonic() + wait_seconds
    while True:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (SINK_SESSION_LOCK,)).fetchone()
        if row and row[0]:
            return
        if time.monotonic() >= deadline:
            raise SinkAlreadyRunning("another warehouse sink (or a rebuild) is using this warehouse")
        time.sleep(0.25)
