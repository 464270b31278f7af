"""warehouse.event_freshness, which /data-quality/freshness reads instead of scanning the event
tables, must always equal what such a scan would say: the newest event_time and the last load
time per family, moved only by events actually inserted, and emptied by a rebuild reset."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from warehouse_scenario_events import cost, pay, scenario, usage
from warehouse_sink_helpers import drain, publish, query

from platform_common.config import Settings
from sinks.warehouse import reset_for_rebuild

pytestmark = pytest.mark.integration

SCAN = """
SELECT family, latest_event_time, latest_loaded_at
FROM (SELECT 'subscription' AS family, max(event_time) AS latest_event_time, max(loaded_at) AS latest_loaded_at
      FROM warehouse.subscription_event
      UNION ALL SELECT 'payment', max(event_time), max(loaded_at) FROM warehouse.payment_event
      UNION ALL SELECT 'usage', max(event_time), max(loaded_at) FROM warehouse.usage_event
      UNION ALL SELECT 'operational_cost', max(event_time), max(loaded_at) FROM warehouse.cost_event) scanned
WHERE latest_event_time IS NOT NULL
"""


def _kept(settings: Settings) -> dict[str, tuple[datetime, datetime]]:
    rows = query(settings, "SELECT family, latest_event_time, loaded_at FROM warehouse.event_freshness")
    return {family: (event_time, loaded_at) for family, event_time, loaded_at in rows}


def _scanned(settings: Settings) -> dict[str, tuple[datetime, datetime]]:
    return {family: (event_time, loaded_at) for family, event_time, loaded_at in query(settings, SCAN)}


def test_freshness_rows_match_a_scan_of_the_event_tables(fresh_database: Settings, isolated_topics: Settings) -> None:
    settings = fresh_database.model_copy(update={"kafka": isolated_topics.kafka})
    events: list[tuple[str, dict[str, Any]]] = [
        *scenario(),
        cost("2024-02-01T06:00:00Z", 90_000, "USD", ("2024-01-01", "2024-01-31"), event_id="freshness-cost"),
    ]
    publish(settings, events)
    drain(settings)
    first = _kept(settings)
    assert set(first) == {"subscription", "payment", "usage", "operational_cost"}
    assert first == _scanned(settings)

    # Re-sent events (same ids, one with a newer event_time in its changed payload) insert
    # nothing, so nothing moves; a late event is older than the newest, so only the load time moves.
    resent = [(family, dict(event)) for family, event in events[:5]]
    resent[0][1]["event_time"] = "2031-01-01T00:00:00Z"
    publish(settings, resent, late_after=None)
    drain(settings)
    assert _kept(settings) == first

    late = [
        usage("2024-01-05T01:00:00Z", "A", "2024-01-04", 3, event_id="freshness-late-usage"),
        pay("refunded", "2024-01-06T09:00:00Z", "E", 500, "USD", ("2024-01-06", "2024-02-05"), event_id="fr-late-1"),
    ]
    publish(settings, late, late_ids={"freshness-late-usage", "fr-late-1"})
    drain(settings)
    after_late = _kept(settings)
    assert after_late == _scanned(settings)
    for family in ("usage", "payment"):
        assert after_late[family][0] == first[family][0]  # older than the newest: time unchanged
        assert after_late[family][1] > first[family][1]  # but a new load
    assert after_late["subscription"] == first["subscription"]

    reset_for_rebuild(settings)
    assert _kept(settings) == {}
    drain(settings)  # re-reads the topics from the start
    assert _kept(settings) == _scanned(settings)
    assert {family: kept[0] for family, kept in _kept(settings).items()} == {
        family: kept[0] for family, kept in after_late.items()
    }
