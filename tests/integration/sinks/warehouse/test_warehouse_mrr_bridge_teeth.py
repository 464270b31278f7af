"""The MRR bridge check against independent closings has teeth: a movement view that silently
loses one subscription still satisfies the view's own identities (`assert_view_bridge`), but
not closings computed straight from the snapshots (`bridge_breaks`)."""

from __future__ import annotations

import pytest
from mrr_bridge_helpers import assert_bridge_from_snapshots, assert_view_bridge, bridge_breaks
from psycopg import sql
from warehouse_sink_helpers import drain, publish, query, sink_settings

from platform_common.config import Settings
from platform_common.postgres import Role, connect
from producers.sample_data import GenerationParams, generate
from sinks.warehouse import DEMO_FX_RATES, load_fx

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PARAMS = GenerationParams(customers=60, months=8, late_share=0.03, seed=5)
VIEW = "warehouse.subscription_mrr_movement_monthly"


def test_independent_bridge_catches_a_lost_movement_the_view_identities_miss(
    fresh_database: Settings, isolated_topics: Settings
) -> None:
    settings = fresh_database.model_copy(update={"kafka": isolated_topics.kafka})
    generated = generate(PARAMS)
    load_fx(settings, DEMO_FX_RATES, sink_settings())
    publish(settings, list(generated.events()))
    drain(settings)
    months = len(generated.ground_truth["month_ends"])
    assert_view_bridge(settings, months)
    assert_bridge_from_snapshots(settings)

    # A subscription that starts paying after the first month, and its first closing MRR.
    found = query(
        settings,
        f"SELECT subscription_id, month_start_date, region_id, plan_id, currency, closing_mrr_minor FROM {VIEW}"
        f" WHERE movement_type = 'new' AND month_start_date > (SELECT min(month_start_date) FROM {VIEW})"
        " ORDER BY month_start_date, subscription_id LIMIT 1",
    )
    assert found
    lost, month, region, plan, currency, mrr = found[0]
    assert mrr > 0

    # Corrupt the movement view (in this test's own database): it drops every movement of one
    # subscription, in every month, as a bad filter or join would.
    with connect(Role.ADMIN, settings, autocommit=True) as conn:
        row = conn.execute("SELECT pg_get_viewdef(%s::regclass, true)", (VIEW,)).fetchone()
        assert row is not None
        definition = str(row[0]).strip().rstrip(";")
        corrupted = sql.SQL("CREATE OR REPLACE VIEW {} AS SELECT * FROM ({}) v WHERE subscription_id <> {}")
        conn.execute(corrupted.format(sql.SQL(VIEW), sql.SQL(definition), sql.Literal(lost)))
    assert query(settings, f"SELECT count(*) FROM {VIEW} WHERE subscription_id = %s", (lost,)) == [(0,)]

    assert_view_bridge(settings, months)  # the view's own identities still hold: blind to it
    breaks = bridge_breaks(settings)
    assert breaks
    first = breaks[0]
    assert (first.month, first.segment, first.currency) == (month, (region, plan, currency), "local")
    assert first.gap == mrr  # exactly the lost subscription's new MRR is missing from the movements
    with pytest.raises(AssertionError, match="MRR bridge break"):
        assert_bridge_from_snapshots(settings)
