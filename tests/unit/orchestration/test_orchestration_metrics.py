"""`orchestration serve`'s scrape-time collectors: a scrape survives Postgres and Prefect being
away (families present, no made-up samples), and the latest run per flow and state is chosen
from Prefect's newest-first listing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from orchestration.metrics import _latest_per_state, register_collectors
from platform_common.config import Settings

NAMES = {
    "ledgerline_forecast_vintage_duration_seconds",
    "ledgerline_backfill_messages",  # exposed as ledgerline_backfill_messages_total
    "ledgerline_backfill_remaining_messages",
    "ledgerline_backfill_runs",
    "ledgerline_flow_last_run_duration_seconds",
    "ledgerline_flow_last_run_end_timestamp_seconds",
}


def test_a_scrape_with_postgres_and_prefect_away_still_answers_without_samples() -> None:
    base = Settings()
    away = base.model_copy(
        update={
            "postgres": base.postgres.model_copy(update={"host": "127.0.0.1", "port": 1}),
            "prefect": base.prefect.model_copy(update={"api_url": "http://127.0.0.1:1/api"}),
        }
    )
    registry = CollectorRegistry()
    register_collectors(away, ["ledgerline-backfill"], ["on-demand-no-such-stack"], registry)
    families = {family.name: family for family in text_string_to_metric_families(generate_latest(registry).decode())}
    assert set(families) == NAMES
    assert all(not family.samples for family in families.values())  # unknown is not zero


def _run(state: str, end: datetime | None, seconds: float, start: datetime | None = None) -> Any:
    return SimpleNamespace(
        state_type=SimpleNamespace(value=state),
        end_time=end,
        start_time=start,
        total_run_time=timedelta(seconds=seconds),
    )


def test_the_latest_run_per_final_state_is_taken_from_the_newest_first_listing() -> None:
    now = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    runs = [
        _run("COMPLETED", now, 12.5),
        _run("FAILED", now - timedelta(hours=1), 3.0),
        _run("COMPLETED", now - timedelta(hours=2), 99.0),  # older: not the latest
        _run("CRASHED", None, 1.0),  # no end time: skipped
        _run("CRASHED", now - timedelta(hours=3), 0.0, start=now - timedelta(hours=3, seconds=7)),
    ]
    assert _latest_per_state("ledgerline-forecast", runs) == [
        ("ledgerline-forecast", "COMPLETED", 12.5, now.timestamp()),
        ("ledgerline-forecast", "CRASHED", 7.0, (now - timedelta(hours=3)).timestamp()),  # end - start
        ("ledgerline-forecast", "FAILED", 3.0, (now - timedelta(hours=1)).timestamp()),
    ]
