"""The frequent refresh flow: rebuild the query API's read models so the dashboard follows the
warehouse within minutes (the warehouse sink itself cannot call into the query API)."""

from __future__ import annotations

from typing import Any

from prefect import flow

from orchestration.forecast_flow import refresh_read_models_task
from orchestration.prefect_env import timed_flow
from platform_common.config import Settings, get_settings


@flow(name="ledgerline-refresh-read-models")
def refresh_flow(settings: Settings | None = None) -> dict[str, Any]:
    with timed_flow("refresh"):
        result: dict[str, Any] = refresh_read_models_task(settings or get_settings())
    return result
