"""Prometheus metrics of the forecast job (default registry, so `/metrics` of any host process and
`platform_common.metrics.render_metrics()` include them).

They live in the process that runs the job: a Prefect flow-run subprocess or a CLI call, which
nothing scrapes. The dashboard therefore charts what every run stores instead:
`ledgerline_forecast_vintage_duration_seconds` (`warehouse.forecast_run.duration_seconds`) and
`ledgerline_flow_last_run_duration_seconds`, exported by `orchestration serve`
(`orchestration.metrics`)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RUN_DURATION = Histogram(
    "ledgerline_forecast_run_duration_seconds",
    "Wall time of one forecast run: read, backtest, fit, reconcile (writing excluded).",
    buckets=(1, 2, 5, 10, 20, 30, 45, 60, 90, 120, 300, 600, 1800),
)
RUNS = Counter("ledgerline_forecast_runs_total", "Forecast runs by outcome.", ["outcome"])
SERIES = Gauge("ledgerline_forecast_series", "Series forecast by the last run, per frequency.", ["freq"])
FALLBACKS = Counter("ledgerline_forecast_fallbacks_total", "Series given a fallback forecast, by reason.", ["reason"])
