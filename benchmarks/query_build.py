"""The warehouse of benchmarks/query.py, built from ~10M events by the real pipeline's last stages.

The sample-data generator's history of CUSTOMERS customers over 2024-2025 with daily usage is
published as clean Avro events to the clean topics of an isolated topic prefix, and the warehouse
sink merges them (benchmarks/_warehouse_build.py) into the scratch database DATABASE; then
VACUUM ANALYZE (what autovacuum does to a warehouse in steady state) and the read models' refresh.
How it was built (generator parameters, events per family, phase durations) is recorded in
bench.warehouse_build; `--reuse` prints that record and refuses a database without one of
BUILD_FORMAT (such as the synthetic warehouse earlier versions wrote directly with SQL).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from _scratch import drop_topics, scratch_database
from _warehouse_build import publish, run_sink
from psycopg import sql
from psycopg.types.json import Jsonb

from platform_common.config import Settings
from platform_common.postgres import Role, apply_migrations, connect, ensure_login_roles
from producers.sample_data import GenerationParams

DATABASE = "ledgerline_bench_query"
BUILD_FORMAT = "events-v1"  # bump when the way the warehouse is built changes
MIN_EVENTS = 10_000_000
# Daily usage (the production granularity: usage dominates, as it does in production), 1 % of
# payment/usage/cost events delivered 2-10 days late; no bad records: these are the clean topics.
GENERATION = GenerationParams(
    customers=24_000, months=24, start_date=date(2024, 1, 1), seed=42, usage_every_n_days=1, late_share=0.01
)
RECORD_DDL = """
CREATE SCHEMA bench;
CREATE TABLE bench.warehouse_build (
    build_format text NOT NULL,
    generator_params jsonb NOT NULL,
    events bigint NOT NULL,
    events_by_family jsonb NOT NULL,
    stored_event_rows bigint NOT NULL,
    build_seconds double precision NOT NULL,
    phase_seconds jsonb NOT NULL,
    sink_events_per_s double precision NOT NULL,
    built_at timestamptz NOT NULL DEFAULT now()
)
"""
SIZES = """
SELECT (SELECT count(*) FROM warehouse.subscriptions_snapshot),
       (SELECT count(*) FROM warehouse.revenue_daily),
       (SELECT count(*) FROM warehouse.usage_daily),
       (SELECT count(*) FROM warehouse.subscription_event) + (SELECT count(*) FROM warehouse.payment_event)
       + (SELECT count(*) FROM warehouse.usage_event) + (SELECT count(*) FROM warehouse.cost_event)
"""


def log(message: str) -> None:
    print(f"[bench query] {message}", flush=True)


def sizes(settings: Settings) -> dict[str, int]:
    with connect(Role.ADMIN, settings) as conn:
        row = conn.execute(SIZES).fetchone()
    assert row is not None
    return {"snapshots": int(row[0]), "revenue_rows": int(row[1]), "usage_rows": int(row[2]), "event_rows": int(row[3])}


def build(base: Settings) -> tuple[Settings, dict[str, Any], int]:
    """Build the warehouse from events; returns (settings, build record, refresh milliseconds)."""
    from query_api import refresh_read_models

    started = time.perf_counter()
    phases: dict[str, float] = {}
    drop_topics(base, f"{DATABASE}.")  # left over by an interrupted build
    settings = scratch_database(base, DATABASE, f"{DATABASE}.{uuid.uuid4().hex[:8]}.", replace=True)
    phases["database_and_topics"] = time.perf_counter() - started
    log(f"generating {GENERATION.to_json()} and publishing to {settings.kafka.topic_prefix}*")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-query-") as scratch:
            published = publish(settings, GENERATION, Path(scratch), "bench query")
            log(f"events per family: {published.by_family} (total {published.events:,})")
            if published.events < MIN_EVENTS:
                sys.exit(f"only {published.events:,} events: raise GENERATION.customers")
            phases["generate"], phases["publish"] = published.generate_seconds, published.publish_seconds
            events, phases["sink"] = run_sink(settings, published, log)
    finally:
        drop_topics(base, settings.kafka.topic_prefix)
    step = time.perf_counter()
    with connect(Role.ADMIN, settings, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    phases["vacuum_analyze"] = time.perf_counter() - step
    log(f"VACUUM ANALYZE in {phases['vacuum_analyze']:.0f}s; refreshing the read models")
    with connect(Role.WRITER, settings) as conn:
        refresh_ms = refresh_read_models(conn).duration_ms
    phases["refresh_read_models"] = refresh_ms / 1000
    log(f"read models refreshed in {refresh_ms / 1000:.1f}s")
    found = sizes(settings)
    record = {
        "build_format": BUILD_FORMAT,
        "generator_params": GENERATION.to_json(),
        "events": events,
        "events_by_family": published.by_family,
        "stored_event_rows": found["event_rows"],
        "build_seconds": round(time.perf_counter() - started, 1),
        "phase_seconds": {name: round(value, 1) for name, value in phases.items()},
        "sink_events_per_s": round(events / phases["sink"], 1),
    }
    with connect(Role.ADMIN, settings) as conn:
        conn.execute(RECORD_DDL)
        conn.execute(
            sql.SQL("INSERT INTO bench.warehouse_build ({}) VALUES ({})").format(
                sql.SQL(", ").join(map(sql.Identifier, record)), sql.SQL(", ").join(sql.Placeholder() * len(record))
            ),
            [Jsonb(value) if isinstance(value, dict) else value for value in record.values()],
        )
        comment = f"ledgerline benchmark warehouse ({BUILD_FORMAT}): {events} events, see bench.warehouse_build"
        conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(DATABASE), sql.Literal(comment)))
        conn.commit()
    log(f"warehouse built from events in {record['build_seconds']:.0f}s: {json.dumps(record)}; sizes {found}")
    return settings, {**record, **found}, refresh_ms


def reuse(settings: Settings, refresh: bool) -> tuple[dict[str, Any], int]:
    """The warehouse of a previous run built from events by this version, migrated to the current
    read models; returns (build record with sizes, refresh milliseconds)."""
    from query_api import refresh_read_models

    try:
        with connect(Role.ADMIN, settings) as conn:
            built = conn.execute("SELECT to_regclass('bench.warehouse_build') IS NOT NULL").fetchone()
            cursor = conn.execute("SELECT * FROM bench.warehouse_build") if built and built[0] else None
            row = cursor.fetchone() if cursor else None
            names = [column.name for column in cursor.description or ()] if cursor else []
    except psycopg.OperationalError as error:
        sys.exit(f"nothing to reuse ({error}): run without --reuse first")
    record = dict(zip(names, row, strict=True)) if row else {}
    if record.get("build_format") != BUILD_FORMAT:
        sys.exit(
            f"{DATABASE} was not built from events by this version (build format {record.get('build_format')!r},"
            f" want {BUILD_FORMAT!r}; the synthetic warehouse of earlier versions has none): run without --reuse"
        )
    record["built_at"] = str(record["built_at"])
    log(f"reusing {DATABASE}, built from events: {json.dumps(record)}")
    applied = apply_migrations(settings)
    ensure_login_roles(settings)
    with connect(Role.ADMIN, settings) as conn:
        stamp = conn.execute("SELECT duration_ms FROM reporting.read_model_refresh").fetchone()
    found = sizes(settings)
    log(f"sizes {found}; migrations applied now: {applied}")
    refresh_ms = int(stamp[0]) if stamp else 0
    if applied or refresh or stamp is None:
        log("refreshing the read models")
        with connect(Role.WRITER, settings) as conn:
            refresh_ms = refresh_read_models(conn).duration_ms
        log(f"read models refreshed in {refresh_ms / 1000:.1f}s")
    return {**record, **found}, refresh_ms
