"""The daily forecast flow: refresh derived data, forecast, variance — with retries.

Steps (Prefect tasks): the warehouse sink's `refresh` (re-derives dimensions, facts and MRR
from the event tables, optional because the sink already keeps them current batch by batch),
the query API's `refresh_read_models`, the forecaster's warehouse job (`run_forecast`, retried
with exponential backoff on transient errors; a warehouse without facts is not retried), and
`compute_variance` over every vintage, since new actuals change the older ones too.
"""

from __future__ import annotations

import contextlib
import logging
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NONE
from prefect.tasks import exponential_backoff

from orchestration.prefect_env import timed_flow
from platform_common.config import Settings, get_settings
from platform_common.postgres import Role, connect, read_sql

log = logging.getLogger(__name__)
SQL = Path(__file__).parent / "sql"
PERMANENT_ERRORS = ("NoActualsError", "ValueError")


@task(name="refresh-warehouse", cache_policy=NONE, retries=2, retry_delay_seconds=10)
def refresh_warehouse(settings: Settings) -> dict[str, int]:
    from sinks.warehouse import refresh

    return dict(refresh(settings).rows_by_table)


@task(name="refresh-read-models", cache_policy=NONE, retries=2, retry_delay_seconds=10)
def refresh_read_models_task(settings: Settings) -> dict[str, Any]:
    from query_api import refresh_read_models

    with connect(Role.WRITER, settings) as conn:
        result = refresh_read_models(conn)
    return {"refresh_id": result.refresh_id, "horizon_date": str(result.horizon_date), "ms": result.duration_ms}


def _transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry unless the failure says retrying cannot help (no facts yet, bad options)."""
    try:
        state.result()
    except Exception as error:  # noqa: BLE001 - classify whatever the task raised
        return type(error).__name__ not in PERMANENT_ERRORS
    return True


@contextlib.contextmanager
def _default_sigterm() -> Iterator[None]:
    """Prefect's engine turns SIGTERM into an exception; worker processes forked by the
    forecaster (statsforecast's pool) would inherit that and print a traceback each when the
    pool ends them. Restore the default handler while forecasting (main thread only)."""
    try:
        previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    except ValueError:  # not the main thread: nothing was installed here either
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_forecast(settings: Settings, horizon_days: int, horizon_months: int, windows: int) -> dict[str, Any]:
    from forecaster import RunOptions, run_forecast

    with _default_sigterm():
        result = run_forecast(
            RunOptions(horizon_days=horizon_days, horizon_months=horizon_months, windows=windows), settings=settings
        )
    return {
        "run_id": str(result.run_id),
        "as_of": result.as_of.isoformat(),
        "duration_seconds": round(result.duration_seconds, 3),
        "series": int(result.record.get("series_count", 0)),
        "published": result.published,
    }


@task(name="compute-variance", cache_policy=NONE, retries=2, retry_delay_seconds=10)
def compute_variance_task(settings: Settings) -> int:
    from forecaster import compute_variance

    return int(compute_variance(None, settings=settings) or 0)


def _newer_than_last_batch(settings: Settings, query: str) -> tuple[Any, ...] | None:
    from sinks.warehouse import warehouse_settings

    with connect(Role.WRITER, settings) as conn:
        row = conn.execute(read_sql(SQL / query), {"consumer": warehouse_settings(settings).consumer_name}).fetchone()
    return tuple(row) if row else None


def current_vintage(settings: Settings) -> dict[str, Any] | None:
    """The newest vintage when no warehouse batch was committed after it, else None."""
    row = _newer_than_last_batch(settings, "forecast_vintage_current.sql")
    if row is None:
        return None
    return {"run_id": str(row[0]), "as_of": row[1].isoformat(), "created_at": row[2].isoformat()}


def current_read_models(settings: Settings) -> dict[str, Any] | None:
    """The read models' refresh when no warehouse batch was committed after it, else None."""
    from sinks.warehouse import warehouse_settings

    with connect(Role.READER, settings) as conn:
        refresh = conn.execute(read_sql(SQL / "read_models_current.sql")).fetchone()
    with connect(Role.WRITER, settings) as conn:
        params = {"consumer": warehouse_settings(settings).consumer_name}
        batch = conn.execute(read_sql(SQL / "warehouse_last_batch.sql"), params).fetchone()
    if refresh is None or (batch is not None and batch[0] is not None and batch[0] >= refresh[1]):
        return None
    return {"refresh_id": int(refresh[0]), "skipped": "no warehouse batch since"}


@flow(name="ledgerline-forecast", log_prints=False)
def forecast_flow(
    refresh_warehouse_first: bool = True,
    horizon_days: int = 90,
    horizon_months: int = 12,
    windows: int = 3,
    retries: int = 3,
    retry_backoff_s: float = 30.0,
    skip_if_current: bool = False,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Refresh, forecast (retried with exponential backoff), variance; returns a summary.

    `skip_if_current`: keep the newest vintage and the read models when no warehouse batch
    arrived after them (a warm demo re-run); the variance is still recomputed."""
    resolved = settings or get_settings()
    with timed_flow("forecast") as timing:
        summary: dict[str, Any] = {}
        if refresh_warehouse_first:
            summary["warehouse_refresh"] = refresh_warehouse(resolved)
        fresh = current_read_models(resolved) if skip_if_current else None
        summary["read_models"] = fresh or refresh_read_models_task(resolved)
        forecast = task(
            name="run-forecast",
            cache_policy=NONE,
            retries=retries,
            retry_delay_seconds=exponential_backoff(backoff_factor=retry_backoff_s),
            retry_jitter_factor=0.2 if retry_backoff_s else None,
            retry_condition_fn=_transient,
        )(_run_forecast)
        current = current_vintage(resolved) if skip_if_current else None
        if current is not None:
            summary["forecast"] = {**current, "skipped": "no warehouse batch since this vintage"}
        else:
            summary["forecast"] = forecast(resolved, horizon_days, horizon_months, windows)
        summary["variance_rows"] = compute_variance_task(resolved)
    summary["seconds"] = round(timing["seconds"], 2)
    log.info("forecast flow finished", extra={"summary": summary})
    return summary
