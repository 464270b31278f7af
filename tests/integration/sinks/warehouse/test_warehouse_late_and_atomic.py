"""Late events re-aggregate only what they touch, re-sent events change nothing, and a batch that
fails half-way leaves neither rows nor offsets behind."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from warehouse_scenario_events import pay, scenario, usage
from warehouse_sink_helpers import FACT_TABLES, drain, publish, query, sink_settings

from platform_common.config import Settings
from platform_common.postgres import Role, connect
from platform_common.topics import Family
from sinks.warehouse import store
from sinks.warehouse.rows import Batch, Position, to_row

pytestmark = pytest.mark.integration


def _rows(settings: Settings, table: str, *, with_stamps: bool = False) -> dict[str, str]:
    drop = "" if with_stamps else " - 'updated_at'"
    key = FACT_TABLES[table]
    return dict(
        query(
            settings,
            f"SELECT concat_ws('/', {key}), (to_jsonb(t){drop})::text FROM warehouse.{table} t",
        )
    )


def _all(settings: Settings, *, with_stamps: bool) -> dict[str, dict[str, str]]:
    return {table: _rows(settings, table, with_stamps=with_stamps) for table in FACT_TABLES}


def test_late_events_touch_only_their_rows_and_resending_changes_nothing(
    fresh_database: Settings, isolated_topics: Settings
) -> None:
    settings = fresh_database.model_copy(update={"kafka": isolated_topics.kafka})
    publish(settings, scenario())
    drain(settings)
    before = _all(settings, with_stamps=False)

    late = [
        pay(
            "invoice_paid",
            "2024-01-20T08:00:00Z",
            "E",
            1_234,
            "USD",
            ("2024-01-20", "2024-02-19"),
            event_id="late-payment-1",
        ),
        usage("2024-02-16T01:00:00Z", "A", "2024-02-15", 42, event_id="late-usage-1"),
        usage("2024-01-04T01:00:00Z", "C", "2024-01-03", 7, event_id="late-usage-2"),
    ]
    late_ids = {event["event_id"] for _, event in late}
    publish(settings, late, late_ids=late_ids)
    drain(settings)
    after = _all(settings, with_stamps=False)

    revenue_key = "2024-01-20/cus-E/starter-monthly-usd/na/USD"
    changed = {
        table: {
            key for key in before[table].keys() | after[table].keys() if before[table].get(key) != after[table].get(key)
        }
        for table in FACT_TABLES
    }
    assert changed == {
        "revenue_daily": {revenue_key},
        "subscriptions_snapshot": set(),
        "costs_daily": set(),
        "usage_daily": {"2024-02-15/cus-A/api_calls", "2024-01-03/cus-C/api_calls"},
    }
    assert query(
        settings,
        "SELECT billed_minor, collected_minor, mrr_minor FROM warehouse.revenue_daily"
        " WHERE revenue_date = '2024-01-20' AND customer_id = 'cus-E'",
    ) == [(1234, 1234, 2900)]
    assert query(settings, "SELECT count(*) FROM warehouse.payment_event WHERE is_late")[0][0] == 1
    assert query(settings, "SELECT count(*) FROM warehouse.usage_event WHERE is_late")[0][0] == 2

    stamped = _all(settings, with_stamps=True)
    publish(settings, late, late_ids=late_ids)
    drain(settings)
    assert _all(settings, with_stamps=True) == stamped
    assert query(settings, "SELECT count(*) FROM warehouse.payment_event")[0][0] == 7


def test_a_failing_batch_leaves_no_rows_and_no_offsets(
    fresh_database: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = fresh_database
    batch = Batch()
    for offset, (family_name, event) in enumerate(scenario()[:6]):
        family = Family(family_name)
        record = _record(family, event)
        position = Position(f"events.{family.value}.clean", 0, offset)
        batch.add(family, to_row(family, record, 2, position, False), position)

    def fail_after_merge(conn: psycopg.Connection[Any], sink: Any, **kwargs: Any) -> Any:
        raise RuntimeError("simulated crash after the merge, before the offsets")

    monkeypatch.setattr(store, "recompute", fail_after_merge)
    with connect(Role.WRITER, settings) as conn:
        store.ensure_state(conn, "USD")
        with pytest.raises(RuntimeError, match="simulated crash"):
            store.apply_batch(conn, batch, "atomic-test", sink_settings())
    assert query(settings, "SELECT count(*) FROM warehouse.subscription_event")[0][0] == 0
    assert query(settings, "SELECT count(*) FROM platform.consumer_offset")[0][0] == 0

    monkeypatch.undo()
    with connect(Role.WRITER, settings) as conn:
        store.apply_batch(conn, batch, "atomic-test", sink_settings())
    assert query(settings, "SELECT count(*) FROM warehouse.subscription_event")[0][0] == 5
    assert query(settings, "SELECT topic, partition, next_offset FROM platform.consumer_offset ORDER BY topic") == [
        ("events.payment.clean", 0, 3),
        ("events.subscription.clean", 0, 6),
    ]


def _record(family: Family, event: dict[str, Any]) -> dict[str, Any]:
    from schemas import serializer, validate_event

    codec = serializer()
    return codec.decode(codec.encode(family.value, validate_event(family, event))).record
