"""Generator data through the real topics and sink: ground truth to the minor unit, the MRR
bridge for every month and segment, and an identical warehouse after a rebuild from the topics."""

from __future__ import annotations

from typing import Any

import pytest
from warehouse_sink_helpers import assert_matches_ground_truth, checksums, drain, publish, query, sink_settings

from platform_common.config import Settings
from producers.sample_data import GenerationParams, generate
from sinks.warehouse import DEMO_FX_RATES, load_fx, rebuild

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PARAMS = GenerationParams(customers=160, months=14, late_share=0.03, seed=7)


@pytest.fixture(scope="module")
def generated() -> Any:
    return generate(PARAMS)


def test_generator_load_matches_ground_truth_bridges_and_rebuilds(
    generated: Any, fresh_database: Settings, isolated_topics: Settings
) -> None:
    settings = fresh_database.model_copy(update={"kafka": isolated_topics.kafka})
    events = list(generated.events())
    truth = generated.ground_truth
    load_fx(settings, DEMO_FX_RATES, sink_settings())
    publish(settings, events)
    drain(settings)

    assert_matches_ground_truth(settings, events, truth)
    _assert_bridge(settings, len(truth["month_ends"]))

    live = checksums(settings, derived=True)
    assert all(count > 0 for count, _ in live.values())
    rebuild(settings, sink_settings(batch_max_events=7_000))
    assert checksums(settings, derived=True) == live


def _assert_bridge(settings: Settings, months: int) -> None:
    rows = query(settings, "SELECT * FROM warehouse.mrr_movement_monthly ORDER BY 1, 2, 3, 4")
    assert rows
    names = [
        r[0]
        for r in query(
            settings,
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'warehouse'"
            " AND table_name = 'mrr_movement_monthly' ORDER BY ordinal_position",
        )
    ]
    closing_of: dict[tuple[Any, ...], int] = {}
    closing_rep_of: dict[tuple[Any, ...], int] = {}
    kinds: set[str] = set()
    for row in rows:
        r = dict(zip(names, row, strict=True))
        movements = ("new", "expansion", "contraction", "churned", "reactivation")
        local = r["opening_mrr_minor"] + sum(r[f"{m}_mrr_minor"] for m in movements)
        assert local == r["closing_mrr_minor"], r
        reported = r["opening_mrr_reporting_minor"] + sum(r[f"{m}_mrr_reporting_minor"] for m in movements)
        assert reported + r["fx_effect_minor"] == r["closing_mrr_reporting_minor"], r
        assert r["contraction_mrr_minor"] <= 0 <= r["expansion_mrr_minor"]
        assert r["churned_mrr_minor"] <= 0 <= r["new_mrr_minor"]
        kinds |= {m for m in movements if r[f"{m}_mrr_minor"]}
        segment = (r["region_id"], r["plan_id"], r["currency"])
        previous = closing_of.get(segment, 0)
        assert r["opening_mrr_minor"] == previous, r
        assert r["opening_mrr_reporting_minor"] == closing_rep_of.get(segment, 0), r
        closing_of[segment] = r["closing_mrr_minor"]
        closing_rep_of[segment] = r["closing_mrr_reporting_minor"]
    assert {"new", "churned", "expansion", "contraction"} <= kinds
    assert len({row[0] for row in rows}) == months
