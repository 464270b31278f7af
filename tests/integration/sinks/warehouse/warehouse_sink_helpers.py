"""Shared helpers of the warehouse sink tests: publish events to the clean topics, run the sink,
read facts and checksums back. (No conftest here: test module names are global in this tree.)"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from platform_common.config import Settings
from platform_common.kafka import make_producer
from platform_common.postgres import Role, connect
from platform_common.topics import Family, clean_topic, quarantine_topic
from schemas import partition_key, serializer, validate_event
from sinks.warehouse import WarehouseSink, WarehouseSinkSettings

REPO = Path(__file__).resolve().parents[4]
FACT_TABLES = {
    "revenue_daily": "revenue_date, customer_id, plan_id, region_id, currency",
    "subscriptions_snapshot": "snapshot_date, subscription_id",
    "costs_daily": "cost_date, region_id, category, vendor, currency",
    "usage_daily": "usage_date, customer_id, metric",
}


def sink_settings(**changes: Any) -> WarehouseSinkSettings:
    """Small batches and no metrics port unless a test asks, so tests can run side by side."""
    values: dict[str, Any] = {"metrics_port": 0, "batch_max_events": 2_000, "batch_max_seconds": 0.3}
    values.update(changes)
    return WarehouseSinkSettings(**values)


def publish(
    settings: Settings,
    events: Iterable[tuple[Family | str, Mapping[str, Any]]],
    *,
    late_after: timedelta | None = timedelta(days=1),
    late_ids: set[str] | None = None,
) -> int:
    """Validate, encode and produce events to the clean topics, in order. An event is sent with
    the header late: true when its event_time is more than `late_after` behind the newest event
    sent before it (the stream processor's watermark rule), or when its id is in `late_ids`."""
    producer = make_producer(settings)
    codec = serializer()
    newest: datetime | None = None
    sent = 0
    for family_name, payload in events:
        family = Family(family_name)
        record = validate_event(family, dict(payload))
        event_time: datetime = record["event_time"]
        late = bool(late_ids and record["event_id"] in late_ids)
        if late_after is not None and newest is not None and event_time < newest - late_after:
            late = True
        newest = event_time if newest is None else max(newest, event_time)
        producer.produce(
            clean_topic(family, settings.kafka.topic_prefix),
            value=codec.encode(family.value, record),
            key=partition_key(family, record),
            headers=[("late", b"true")] if late else [],
        )
        sent += 1
        if sent % 50_000 == 0:
            producer.flush(60)
        else:
            producer.poll(0)
    assert producer.flush(60) == 0
    return sent


def publish_quarantine(
    settings: Settings, values: list[bytes], headers: list[tuple[str, str | bytes | None]] | None = None
) -> None:
    """Produce raw messages (quarantine records or junk) to the quarantine topic."""
    producer = make_producer(settings)
    for value in values:
        producer.produce(quarantine_topic(settings.kafka.topic_prefix), value=value, key=b"k", headers=headers or [])
    assert producer.flush(30) == 0


def drain(settings: Settings, sink: WarehouseSinkSettings | None = None) -> None:
    """Run the sink in-process until every partition is consumed."""
    WarehouseSink(settings, sink or sink_settings()).run(until_caught_up=True)


def query(settings: Settings, statement: str, params: Any = None) -> list[tuple[Any, ...]]:
    with connect(Role.ADMIN, settings) as conn:
        return conn.execute(statement, params).fetchall()


# Derived tables beyond the facts; surrogate keys (identity columns) are left out of their rows.
DERIVED_TABLES = {
    "subscription_state": "subscription_id, valid_from",
    "customer": "customer_id, valid_from",
    "plan": "plan_id, valid_from",
}


def checksums(settings: Settings, *, derived: bool = False) -> dict[str, tuple[int, str]]:
    """(row count, md5 of the rows in key order) per fact table (and with `derived`, the state
    intervals and SCD2 dimensions), without updated_at stamps and surrogate keys."""
    result = {}
    tables = {**FACT_TABLES, **(DERIVED_TABLES if derived else {})}
    with connect(Role.ADMIN, settings) as conn:
        for table, key in tables.items():
            row = conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg((to_jsonb(t) - 'updated_at' - 'customer_key' - 'plan_key')"
                f"::text, '|' ORDER BY {key}), '')) FROM warehouse.{table} t"
            ).fetchone()
            assert row is not None
            result[table] = (int(row[0]), str(row[1]))
    return result


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Environment for a sink subprocess pointed at the isolated database and topics."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LEDGERLINE_")}
    env.update(
        {
            # Where the services are (the run may use non-default ports) and which isolated
            # database / topic prefix this test owns; every other LEDGERLINE_ variable is dropped.
            "LEDGERLINE_KAFKA__BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers,
            "LEDGERLINE_POSTGRES__HOST": settings.postgres.host,
            "LEDGERLINE_POSTGRES__PORT": str(settings.postgres.port),
            "LEDGERLINE_S3__ENDPOINT_URL": settings.s3.endpoint_url,
            "LEDGERLINE_POSTGRES__DATABASE": settings.postgres.database,
            "LEDGERLINE_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix,
            "LEDGERLINE_LOG_LEVEL": "WARNING",
            **extra,
        }
    )
    return env


def sink_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "sinks.warehouse", *args]


def run_cli(settings: Settings, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        sink_command(*args),
        cwd=REPO,
        env=cli_env(settings),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def billed_by_currency(events: list[tuple[Any, dict[str, Any]]]) -> dict[str, int]:
    """Each invoice once, at its first attempt's amount (computed from the events, independently)."""
    first: dict[str, tuple[str, str, int]] = {}
    for family, event in events:
        if family.value == "payment" and event["event_type"] in ("invoice_paid", "payment_failed"):
            known = first.get(event["invoice_id"])
            candidate = (event["event_time"], event["currency"], event["amount_minor"])
            if known is None or candidate < known:
                first[event["invoice_id"]] = candidate
    totals: dict[str, int] = defaultdict(int)
    for _, currency, amount in first.values():
        totals[currency] += amount
    return dict(totals)


def assert_matches_ground_truth(
    settings: Settings, events: list[tuple[Any, dict[str, Any]]], truth: dict[str, Any]
) -> None:
    """Money per currency (and collected per month), usage counts, and active subscriptions (total,
    per region) and MRR per currency at every month end, to the minor unit."""
    # Money per currency, to the minor unit.
    money = truth["money"]
    rows = query(
        settings,
        "SELECT currency, sum(collected_minor), sum(refunded_minor), sum(chargeback_minor), sum(billed_minor)"
        " FROM warehouse.revenue_daily GROUP BY currency",
    )
    collected = {r[0]: int(r[1]) for r in rows if r[1]}
    refunded = {r[0]: int(r[2]) for r in rows if r[2]}
    chargeback = {r[0]: int(r[3]) for r in rows if r[3]}
    billed = {r[0]: int(r[4]) for r in rows if r[4]}
    assert collected == _nonzero(money["invoice_paid_minor_by_currency"])
    assert refunded == _nonzero(money["refunded_minor_by_currency"])
    assert chargeback == _nonzero(money["chargeback_minor_by_currency"])
    assert billed == billed_by_currency(events)
    costs = dict(query(settings, "SELECT currency, sum(amount_minor)::bigint FROM warehouse.costs_daily GROUP BY 1"))
    assert costs == _nonzero(money["costs_minor_by_currency"])
    by_month = query(
        settings,
        "SELECT to_char(revenue_date, 'YYYY-MM'), currency, sum(collected_minor)::bigint FROM warehouse.revenue_daily"
        " GROUP BY 1, 2 HAVING sum(collected_minor) <> 0",
    )
    expected_by_month = {
        (month, currency): amount
        for month, kinds in money["by_month"].items()
        for currency, amount in kinds.get("invoice_paid", {}).items()
    }
    assert {(m, c): a for m, c, a in by_month} == expected_by_month
    usage_events = query(settings, "SELECT sum(event_count)::bigint FROM warehouse.usage_daily")[0][0]
    assert usage_events == truth["counts"]["good_by_family"]["usage"]

    # Active subscriptions (total and per region) and MRR per currency at every month end.
    for month_end in truth["month_ends"]:
        day = month_end["date"]
        per_region = dict(
            query(
                settings,
                "SELECT region_id, count(*) FROM warehouse.subscriptions_snapshot"
                " WHERE snapshot_date = %s AND is_active GROUP BY 1",
                (day,),
            )
        )
        assert per_region == month_end["active_by_region"], day
        assert sum(per_region.values()) == month_end["active_subscriptions"], day
        mrr = dict(
            query(
                settings,
                "SELECT currency, sum(mrr_minor)::bigint FROM warehouse.subscriptions_snapshot"
                " WHERE snapshot_date = %s AND is_active GROUP BY 1 HAVING sum(mrr_minor) <> 0",
                (day,),
            )
        )
        assert mrr == {k: v for k, v in month_end["mrr_minor_by_currency"].items() if v}, day
        # revenue_daily carries the same MRR per day.
        revenue_mrr = dict(
            query(
                settings,
                "SELECT currency, sum(mrr_minor)::bigint FROM warehouse.revenue_daily"
                " WHERE revenue_date = %s GROUP BY 1 HAVING sum(mrr_minor) <> 0",
                (day,),
            )
        )
        assert revenue_mrr == mrr, day


def _nonzero(values: Mapping[str, int]) -> dict[str, int]:
    return {key: value for key, value in values.items() if value}
