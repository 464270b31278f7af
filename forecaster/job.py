"""The periodic forecast job (`ledgerline forecast run`; orchestration schedules it later).

Read the warehouse facts, forecast daily (90 days) and monthly (12 months) every level of the
revenue and subscription hierarchies, reconcile where the backtest says it helps, store the result
as a new immutable vintage, publish a compact record to the `forecasts` topic and refresh the
variance of the new vintage. Nothing is written on a dry run.
"""

from __future__ import annotations

import logging
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from uuid import UUID, uuid4

import polars as pl

from forecaster import metrics, store
from forecaster.engine import EngineOptions
from forecaster.pipeline import LEVELS, FrequencyResult, forecast_frequency, series_for
from forecaster.publish import publish_run_record
from forecaster.record import run_record
from forecaster.variance import compute_variance
from forecaster.vintage import FALLBACK_AT, model_rows, value_rows
from forecaster.warehouse import DEFAULT_METRICS, METRICS, latest_actuals, read_facts
from platform_common.config import Settings, get_settings
from platform_common.postgres import Role, connect

log = logging.getLogger(__name__)
STEPS = 11  # read, 2 x (triage, backtest, fit, reconcile), write, publish
_LIBRARIES = ("statsforecast", "hierarchicalforecast", "coreforecast", "numpy", "scipy", "pandas", "polars")


class NoActualsError(RuntimeError):
    """The warehouse has no facts to forecast from (up to the requested as-of date)."""


@dataclass(frozen=True)
class RunOptions:
    horizon_days: int = 90
    horizon_months: int = 12
    metrics: tuple[str, ...] = DEFAULT_METRICS
    as_of: date | None = None  # default: the last day with facts
    history_days: int = 1096  # read window; monthly models use all of it
    # Daily models see the last 455 days (a year before the 90-day backtest span). On synthetic
    # holdouts this matched 730 days' accuracy (90-day WAPE 0.050 vs 0.050) for ~30% less CPU.
    daily_history_days: int = 455
    windows: int = 3
    refit: bool = False
    reconcile: bool = True
    dry_run: bool = False
    publish: bool = True
    n_jobs: int = -1


@dataclass(frozen=True)
class RunResult:
    run_id: UUID
    created_at: datetime
    as_of: date
    duration_seconds: float
    record: dict[str, Any]
    models: pl.DataFrame
    values: list[tuple[Any, ...]] = field(repr=False)
    reconciliation: dict[str, Any] = field(default_factory=dict)  # full evaluation per metric/frequency
    written: bool = False
    published: bool = False


def library_versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "absent"
    return found


def run_forecast(
    options: RunOptions | None = None,
    *,
    settings: Settings | None = None,
    progress: Callable[[str], None] | None = None,
) -> RunResult:
    """Run the warehouse forecast once and return what was (or, dry, would be) stored."""
    opts = options or RunOptions()
    unknown = [name for name in opts.metrics if name not in METRICS]
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; choose from {sorted(METRICS)}")
    settings = settings or get_settings()
    note = progress or (lambda _stage: None)
    started, created_at, run_id = time.perf_counter(), datetime.now(UTC), uuid4()
    try:
        with connect(Role.WRITER, settings) as conn:
            as_of = latest_actuals(conn, opts.as_of)
            if as_of is None:
                raise NoActualsError("the warehouse has no revenue or subscription facts to forecast from")
            start = (as_of - timedelta(days=opts.history_days)).replace(day=1)
            facts = read_facts(conn, start, as_of)
        note("read")
        engine = EngineOptions(windows=opts.windows, refit=opts.refit, n_jobs=opts.n_jobs)
        results: list[FrequencyResult] = []
        for freq, horizon in (("day", opts.horizon_days), ("month", opts.horizon_months)):
            frame, spec = series_for(facts, opts.metrics, freq, as_of, opts.daily_history_days)
            if frame.height:
                results.append(
                    forecast_frequency(frame, spec, freq, horizon, engine, reconcile=opts.reconcile, progress=note)
                )
        if not results:
            raise NoActualsError(f"no facts for {list(opts.metrics)} between {start} and {as_of}")
        units = {name: METRICS[name].unit for name in opts.metrics}
        models, values = [], []
        for res in results:
            models.extend(model_rows(run_id, res.freq, res.models, res.spec, units))
            values.extend(value_rows(run_id, res.freq, res.raw, res.ds, res.coherent))
        duration = time.perf_counter() - started
        reconciliation: dict[str, Any] = {k: v for res in results for k, v in res.reports.items()}
        header = {
            "run_id": run_id, "created_at": created_at, "as_of_date": as_of, "history_start_date": start,
            "horizon_days": opts.horizon_days, "horizon_months": opts.horizon_months, "levels": list(LEVELS),
            "metrics": list(opts.metrics), "reporting_currency": facts.reporting_currency,
            "series_count": len(models), "fallback_count": sum(1 for row in models if row[FALLBACK_AT] is not None),
            "reconciliation": reconciliation,
            "parameters": {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(opts).items()},
            "library_versions": library_versions(), "duration_seconds": round(duration, 3),
        }  # fmt: skip
        record = run_record(header, models, values)
        written = published = False
        if not opts.dry_run:
            with connect(Role.WRITER, settings) as conn:
                store.write_vintage(conn, header, models, values)
            written = True
            note("write")
            if opts.publish:
                publish_run_record(record, settings)
                published = True
            note("publish")
            _refresh_variance(run_id, settings)
    except Exception:
        metrics.RUNS.labels("failed").inc()
        raise
    _observe(duration, results, models)
    log.info(
        "forecast run finished",
        extra={"run_id": str(run_id), "as_of": as_of.isoformat(), "series": len(models),
               "duration_s": round(duration, 3), "written": written, "published": published},
    )  # fmt: skip
    combined = pl.concat(
        [res.models.with_columns(pl.lit(res.freq).alias("freq")) for res in results], how="diagonal_relaxed"
    )
    return RunResult(run_id, created_at, as_of, duration, record, combined, values, reconciliation, written, published)


def _refresh_variance(run_id: UUID, settings: Settings) -> None:
    """Backfills (an as-of in the past) have actuals already. The vintage is stored whatever happens
    here, and `ledgerline forecast variance` can redo this, so a failure is logged, not raised."""
    try:
        compute_variance(run_id, settings=settings)
    except Exception:
        log.exception("variance refresh after the run failed", extra={"run_id": str(run_id)})


def _observe(duration: float, results: list[FrequencyResult], models: list[tuple[Any, ...]]) -> None:
    metrics.RUNS.labels("succeeded").inc()
    metrics.RUN_DURATION.observe(duration)
    for res in results:
        metrics.SERIES.labels(res.freq).set(res.models.height)
    for row in models:
        if row[FALLBACK_AT] is not None:
            metrics.FALLBACKS.labels(row[FALLBACK_AT]).inc()
