"""The frequent refresh flow: rebuild the query API's read models so the dashboard follows the
warehouse within a minute (the warehouse sink itself cannot call into the query API).

It runs every `refresh_interval_s` but refreshes only when the warehouse sink committed a batch
after the last refresh: an idle pipeline costs two single-row reads per run, not a rebuild of
every read model."""

from __future__ import annotations

from typing import Any

from prefect import flow

from orchestration.forecast_flow import current_read_models, refresh_read_models_task
from orchestration.prefect_env import timed_flow
from platform_common.config import Settings, get_settings


@flow(name="ledgerline-refresh-read-models")
def refresh_flow(only_if_changed: bool = True, settings: Settings | None = None) -> dict[str, Any]:
    resolved = settings or get_settings()
    with timed_flow("refresh"):
        current = current_read_models(resolved) if only_if_changed else None
        result: dict[str, Any] = current or refresh_read_models_task(resolved)
    return result
