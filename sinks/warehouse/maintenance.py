"""Operations beside the live path: FX loading, full re-derivation, and the reset for a rebuild.

All of them take the same transaction-level writer lock as a batch, so they can run while the
sink runs (except the rebuild reset, which also needs the sink stopped: it rewinds offsets).
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

import psycopg
from confluent_kafka import TopicPartition
from psycopg import sql

from platform_common.config import Settings
from platform_common.kafka import make_consumer
from platform_common.postgres import Role, connect
from platform_common.topics import Family, clean_topic
from sinks.warehouse.consumer import RunReport, WarehouseSink
from sinks.warehouse.reference import NameSource
from sinks.warehouse.rows import columns
from sinks.warehouse.settings import WarehouseSinkSettings, warehouse_settings
from sinks.warehouse.sqlfiles import run_file
from sinks.warehouse.store import (
    SESSION_OPTIONS,
    WRITER_LOCK,
    BatchResult,
    acquire_session_lock,
    recompute,
    store_offsets,
    truncate_staging,
)

log = logging.getLogger(__name__)

DERIVED_TABLES = (
    "warehouse.revenue_daily",
    "warehouse.subscriptions_snapshot",
    "warehouse.costs_daily",
    "warehouse.usage_daily",
    "warehouse.subscription_state",
    "warehouse.customer",
    "warehouse.plan",
)
EVENT_TABLES = (
    "warehouse.subscription_event",
    "warehouse.payment_event",
    "warehouse.usage_event",
    "warehouse.cost_event",
)
FX_COLUMNS = ("currency", "reporting_currency", "effective_date", "rate")


@dataclass(frozen=True)
class FxRate:
    currency: str
    reporting_currency: str
    effective_date: date
    rate: Decimal


class FxFileError(ValueError):
    """A rates file that cannot be loaded; the message names the line."""


def read_fx_file(path: Path) -> list[FxRate]:
    """CSV with a header `currency,reporting_currency,effective_date,rate`; rates as decimals."""
    rates = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or set(FX_COLUMNS) - set(reader.fieldnames):
            raise FxFileError(f"{path}: header must contain {', '.join(FX_COLUMNS)}")
        for line, row in enumerate(reader, start=2):
            try:
                rate = FxRate(
                    row["currency"].strip(),
                    row["reporting_currency"].strip(),
                    date.fromisoformat(row["effective_date"].strip()),
                    Decimal(row["rate"].strip()),
                )
            except (ValueError, InvalidOperation) as error:
                raise FxFileError(f"{path}:{line}: {error}") from None
            if len(rate.currency) != 3 or len(rate.reporting_currency) != 3 or not rate.rate > 0:
                raise FxFileError(f"{path}:{line}: need ISO-4217 codes and a positive rate")
            rates.append(rate)
    return rates


def _connect(settings: Settings) -> psycopg.Connection[Any]:
    return connect(Role.WRITER, settings, prepare_threshold=None, options=SESSION_OPTIONS)


_INSERT_RATE = (
    "INSERT INTO warehouse.fx_rate (currency, reporting_currency, effective_date, rate)"
    " VALUES (%s, %s, %s, %s) ON CONFLICT (currency, reporting_currency, effective_date)"
)


def _write_rates(
    conn: psycopg.Connection[Any], rates: list[FxRate], sink: WarehouseSinkSettings, *, overwrite: bool
) -> dict[str, int]:
    """Insert (overwrite: upsert) the rates, then re-convert every fact row whose rate changed."""
    conflict = " DO UPDATE SET rate = excluded.rate" if overwrite else " DO NOTHING"
    with conn.cursor() as cursor:
        cursor.executemany(
            _INSERT_RATE + conflict, [(r.currency, r.reporting_currency, r.effective_date, r.rate) for r in rates]
        )
    counts = run_file(conn, "reconvert.sql", {"reporting_currency": sink.reporting_currency})
    counts["fx_rate"] = len(rates)
    return counts


def load_fx(settings: Settings, path: Path, sink: WarehouseSinkSettings | None = None) -> dict[str, int]:
    """Upsert the file's rates and re-convert every fact row whose rate changed, atomically."""
    sink = sink or warehouse_settings(settings)
    rates = read_fx_file(path)
    with _connect(settings) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))
        return _write_rates(conn, rates, sink, overwrite=True)


def seed_fx(settings: Settings, sink: WarehouseSinkSettings | None = None) -> dict[str, int] | None:
    """Load the `fx_rates_file` setting's rates only when warehouse.fx_rate holds no rate at all
    (`ledgerline setup`'s step), re-converting the facts loaded without rates; None when rates
    exist: whatever an operator loaded is never overwritten. Checked under the writer lock, so two
    setups (or a setup and load-fx) cannot both see an empty table."""
    sink = sink or warehouse_settings(settings)
    with _connect(settings) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))
        row = conn.execute("SELECT EXISTS (SELECT FROM warehouse.fx_rate)").fetchone()
        if row is not None and row[0]:
            return None
        return _write_rates(conn, read_fx_file(sink.fx_rates_file), sink, overwrite=False)


def refresh(settings: Settings, sink: WarehouseSinkSettings | None = None) -> BatchResult:
    """Re-derive dimensions, state and facts from the event tables (after a rule or currency change)."""
    sink = sink or warehouse_settings(settings)
    names = NameSource(sink.reference_path).current()
    with _connect(settings) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))
        _truncate(conn, DERIVED_TABLES)
        conn.execute(
            "INSERT INTO warehouse.data_horizon (reporting_currency) VALUES (%(c)s)"
            " ON CONFLICT (is_singleton) DO UPDATE SET reporting_currency = %(c)s",
            {"c": sink.reporting_currency},
        )
        truncate_staging(conn)
        conn.execute("INSERT INTO staging.new_subscription_event SELECT * FROM warehouse.subscription_event")
        conn.execute("INSERT INTO staging.new_payment_event SELECT * FROM warehouse.payment_event")
        usage_columns = sql.SQL(", ").join(sql.Identifier(name) for name in columns(Family.USAGE))
        conn.execute(
            sql.SQL("INSERT INTO staging.stg_usage_event ({0}) SELECT {0} FROM warehouse.usage_event").format(
                usage_columns
            )
        )
        conn.execute("INSERT INTO staging.new_cost_event SELECT * FROM warehouse.cost_event")
        result = recompute(conn, sink, reset_horizon=True, names=names)
    log.info("warehouse refreshed", extra={"rows": result.rows_by_table})
    return result


def reset_for_rebuild(
    settings: Settings,
    sink: WarehouseSinkSettings | None = None,
    start_from: Literal["earliest", "latest"] = "earliest",
) -> None:
    """Empty the event tables, everything derived and this consumer's offsets (the sink must be
    stopped). earliest: the next run re-reads the topics from their first retained offset;
    latest: it reads only what is published from now on (a lake replay re-publishes history)."""
    sink = sink or warehouse_settings(settings)
    topics = [clean_topic(family, settings.kafka.topic_prefix) for family in Family]
    offsets = _high_watermarks(settings, topics) if start_from == "latest" else {}
    with connect(Role.WRITER, settings, autocommit=True) as lock:
        acquire_session_lock(lock, wait_seconds=2.0)
        with _connect(settings) as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))
            _truncate(conn, (*DERIVED_TABLES, *EVENT_TABLES, "warehouse.event_freshness", "warehouse.region"))
            conn.execute(
                "DELETE FROM platform.consumer_offset WHERE consumer_name = %s AND topic = ANY(%s)",
                (sink.consumer_name, topics),
            )
            conn.execute("UPDATE warehouse.data_horizon SET horizon_date = NULL, updated_at = now()")
            store_offsets(conn, sink.consumer_name, offsets)
    log.info("warehouse reset for rebuild", extra={"start_from": start_from})


def _truncate(conn: psycopg.Connection[Any], tables: tuple[str, ...]) -> None:
    names = sql.SQL(", ").join(sql.Identifier(*name.split(".")) for name in tables)
    conn.execute(sql.SQL("TRUNCATE {}").format(names))


def _high_watermarks(settings: Settings, topics: list[str]) -> dict[tuple[str, int], int]:
    consumer = make_consumer("ledgerline-warehouse-watermarks", settings)
    try:
        metadata = consumer.list_topics(timeout=10)
        offsets = {}
        for topic in topics:
            for partition in metadata.topics[topic].partitions:
                _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                offsets[(topic, partition)] = high
        return offsets
    finally:
        consumer.close()


def rebuild(
    settings: Settings,
    sink: WarehouseSinkSettings | None = None,
    start_from: Literal["earliest", "latest"] = "earliest",
    consume: bool = True,
) -> RunReport | None:
    """Start the warehouse from scratch; with consume, re-read the topics until caught up."""
    sink = sink or warehouse_settings(settings)
    reset_for_rebuild(settings, sink, start_from)
    if not consume:
        return None
    return WarehouseSink(settings, sink).run(until_caught_up=True)
