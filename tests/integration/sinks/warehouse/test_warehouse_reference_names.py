"""Plan and region names come from reference data when it is configured (ids otherwise), a
changed file renames with the next batch, and `refresh` keeps the names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from warehouse_scenario_events import PLANS, REGION_OF, scenario, usage
from warehouse_sink_helpers import drain, publish, query, sink_settings

from platform_common.config import Settings
from sinks.warehouse import refresh

pytestmark = pytest.mark.integration


def _write(path: Path, regions: dict[str, str], plans: dict[str, str]) -> None:
    document = {
        "regions": [{"region_id": key, "name": name, "currency": "USD"} for key, name in regions.items()],
        "plans": [{"plan_id": key, "name": name, "currency": "USD"} for key, name in plans.items()],
    }
    path.write_text(json.dumps(document), encoding="utf-8")


def _names(settings: Settings) -> tuple[dict[str, str], dict[str, set[str]]]:
    regions = dict(query(settings, "SELECT region_id, region_name FROM warehouse.region"))
    plans: dict[str, set[str]] = {}
    for plan_id, name in query(settings, "SELECT plan_id, plan_name FROM warehouse.plan"):
        plans.setdefault(plan_id, set()).add(name)
    return regions, plans


def test_names_come_from_reference_data(fresh_database: Settings, isolated_topics: Settings, tmp_path: Path) -> None:
    settings = fresh_database.model_copy(update={"kafka": isolated_topics.kafka})
    reference = tmp_path / "reference.json"
    plan_names = {plan_id: f"Plan {plan_id.title()}" for plan_id in PLANS if plan_id != "tiny-2y-usd"}
    _write(reference, {"na": "North America", "emea": "Europe"}, plan_names)
    sink = sink_settings(reference_path=reference)
    publish(settings, scenario())
    drain(settings, sink)

    regions, plans = _names(settings)
    assert regions["na"] == "North America"
    assert regions["emea"] == "Europe"
    assert regions["uki"] == "uki"  # not in the file: named by its id
    for plan_id, names in plans.items():
        assert names == {plan_names.get(plan_id, plan_id)}, plan_id
    assert set(REGION_OF.values()) <= set(regions)

    # A renamed region and a newly named region reach rows written before, with the next batch.
    _write(reference, {"na": "Americas", "emea": "Europe", "uki": "United Kingdom & Ireland"}, plan_names)
    publish(settings, [usage("2024-06-01T00:00:00Z", "A", "2024-06-01", 1, event_id="names-usage-1")])
    drain(settings, sink)
    regions, _ = _names(settings)
    assert (regions["na"], regions["uki"]) == ("Americas", "United Kingdom & Ireland")

    # refresh re-derives plans with the configured names.
    refresh(settings, sink)
    _, plans = _names(settings)
    for plan_id, names in plans.items():
        assert names == {plan_names.get(plan_id, plan_id)}, plan_id


def test_names_are_ids_without_reference_data(fresh_database: Settings, isolated_topics: Settings) -> None:
    settings = fresh_database.model_copy(update={"kafka": isolated_topics.kafka})
    publish(settings, scenario())
    drain(settings)
    regions, plans = _names(settings)
    assert regions
    assert all(name == region_id for region_id, name in regions.items())
    assert plans
    assert all(names == {plan_id} for plan_id, names in plans.items())
