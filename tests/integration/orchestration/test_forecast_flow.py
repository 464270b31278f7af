"""The forecast flow retries a transient failure of the forecast and then succeeds; a permanent
failure (no facts) is not retried. Runs in-process against Prefect's test server."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import uuid4

import pytest

import forecaster
from orchestration.forecast_flow import forecast_flow
from platform_common.config import Settings

pytestmark = pytest.mark.timeout(600)


@dataclass
class FakeRun:
    run_id: Any = field(default_factory=uuid4)
    as_of: date = date(2024, 12, 31)
    duration_seconds: float = 0.5
    record: dict[str, Any] = field(default_factory=lambda: {"series_count": 3})
    published: bool = False


def _task_runs(flow_run_id: Any) -> dict[str, Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return {run.name.rsplit("-", 1)[0]: run for run in runs}


def test_forecast_flow_retries_a_transient_failure(
    prefect_server: str, fresh_database: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Any] = []

    def flaky(options: Any, *, settings: Settings | None = None, progress: Any = None) -> FakeRun:
        calls.append(options)
        if len(calls) == 1:
            raise ConnectionError("transient: the warehouse restarted mid-read")
        return FakeRun()

    monkeypatch.setattr(forecaster, "run_forecast", flaky)
    state = forecast_flow(
        refresh_warehouse_first=True, retries=2, retry_backoff_s=0.01, settings=fresh_database, return_state=True
    )
    assert state.is_completed(), state
    summary = state.result()
    assert len(calls) == 2
    assert summary["forecast"]["series"] == 3
    assert "warehouse_refresh" in summary
    assert summary["read_models"]["refresh_id"] >= 1
    runs = _task_runs(state.state_details.flow_run_id)
    assert runs["run-forecast"].run_count == 2
    assert runs["run-forecast"].state is not None
    assert runs["run-forecast"].state.is_completed()


def test_forecast_flow_does_not_retry_a_warehouse_without_facts(
    prefect_server: str, fresh_database: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Any] = []

    def empty(options: Any, *, settings: Settings | None = None, progress: Any = None) -> FakeRun:
        calls.append(options)
        raise forecaster.NoActualsError("no facts")

    monkeypatch.setattr(forecaster, "run_forecast", empty)
    state = forecast_flow(
        refresh_warehouse_first=False, retries=3, retry_backoff_s=0.01, settings=fresh_database, return_state=True
    )
    assert state.is_failed()
    assert len(calls) == 1


def test_refresh_flow_rebuilds_read_models_only_after_a_new_warehouse_batch(
    prefect_server: str, fresh_database: Settings
) -> None:
    from orchestration.refresh_flow import refresh_flow
    from platform_common.postgres import Role, connect
    from sinks.warehouse import warehouse_settings

    first = refresh_flow(settings=fresh_database)
    assert "skipped" not in first
    idle = refresh_flow(settings=fresh_database)
    assert idle == {"refresh_id": first["refresh_id"], "skipped": "no warehouse batch since"}

    with connect(Role.ADMIN, fresh_database) as conn:  # what a committed warehouse batch leaves behind
        conn.execute(
            "INSERT INTO platform.consumer_offset (consumer_name, topic, partition, next_offset, updated_at)"
            " VALUES (%s, 'events.payment.clean', 0, 10, clock_timestamp())",
            (warehouse_settings(fresh_database).consumer_name,),
        )
    after_batch = refresh_flow(settings=fresh_database)
    assert after_batch["refresh_id"] == first["refresh_id"] + 1
    assert refresh_flow(only_if_changed=False, settings=fresh_database)["refresh_id"] == first["refresh_id"] + 2
