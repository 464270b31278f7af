"""Generator data through the real topics and sink: ground truth to the minor unit, the MRR
bridge for every month and segment (the view's own identities, and its movements against
closings computed independently from the snapshots), and an identical warehouse after a rebuild
from the topics."""

from __future__ import annotations

from typing import Any

import pytest
from mrr_bridge_helpers import assert_bridge_from_snapshots, assert_view_bridge
from warehouse_sink_helpers import assert_matches_ground_truth, checksums, drain, publish, sink_settings

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
    assert_view_bridge(settings, len(truth["month_ends"]))
    assert_bridge_from_snapshots(settings)

    live = checksums(settings, derived=True)
    assert all(count > 0 for count, _ in live.values())
    rebuild(settings, sink_settings(batch_max_events=7_000))
    assert checksums(settings, derived=True) == live
