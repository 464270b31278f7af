"""The scrape config and the dashboard cover every process and every required view, and every
metric the dashboard charts is one the code actually registers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("deploy", "forecaster", "ledgerline", "orchestration", "platform_common", "producers", "query_api",
            "sinks", "stream_processors")  # fmt: skip
# prometheus_client registrations: Counter("name", ...), Gauge(...), ..., and the metric families a
# custom collector yields (GaugeMetricFamily("name", ...)), with the name as the first argument.
REGISTRATION = re.compile(
    r"\b(?P<kind>Counter|Gauge|Histogram|Summary|Info|Enum)(?:MetricFamily)?\(\s*(?:name\s*=\s*)?"
    r"[\"'](?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)[\"']"
)
SUFFIXES = {
    "Counter": ("_total", "_created"),
    "Gauge": ("",),
    "Histogram": ("_bucket", "_sum", "_count", "_created"),
    "Summary": ("", "_sum", "_count", "_created"),
    "Info": ("_info",),
    "Enum": ("",),
}


# Registered only in processes nobody scrapes (the forecast job runs in Prefect flow-run
# subprocesses and CLI calls): charting them would show nothing, ever.
UNSCRAPED = ("forecaster/metrics.py",)


def registered_series() -> dict[str, str]:
    """Every series name the code can expose -> the file registering it."""
    series: dict[str, str] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for match in REGISTRATION.finditer(path.read_text(encoding="utf-8")):
                kind, name = match["kind"], match["name"]
                if kind == "Counter":
                    name = name.removesuffix("_total")
                for suffix in SUFFIXES[kind]:
                    series[name + suffix] = str(path.relative_to(ROOT))
    return series


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((ROOT / "deploy/grafana/ledgerline.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_prometheus_scrapes_every_long_running_process_natively_and_in_compose() -> None:
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = {
        target for job in config["scrape_configs"] for group in job["static_configs"] for target in group["targets"]
    }
    native = {"127.0.0.1:18080", "127.0.0.1:18000", "127.0.0.1:18100", "127.0.0.1:18093", "127.0.0.1:18092"}
    native.add("127.0.0.1:18300")  # orchestration serve: forecast, backfill, flow-run and reconcile metrics
    compose = {"gateway:8080", "query-api:8000", "stream-processor:18100", "lake-sink:18093", "warehouse-sink:18092"}
    compose.add("forecaster:18300")  # the compose service running `orchestration serve`
    assert native <= targets
    assert compose <= targets
    services = set(yaml.safe_load((ROOT / "compose.yaml").read_text())["services"])
    assert {target.split(":")[0] for target in targets if not target.startswith("127.")} <= services


def test_dashboard_covers_the_required_views() -> None:
    dashboard = json.loads((ROOT / "deploy/grafana/ledgerline.json").read_text())
    expressions = " ".join(target["expr"] for panel in dashboard["panels"] for target in panel["targets"])
    for metric in (
        "ledgerline_gateway_events_total",  # events in
        "ledgerline_stream_clean_events_total",  # events out
        "ledgerline_warehouse_consumer_lag",  # consumer lag
        "ledgerline_lake_consumer_lag",
        "ledgerline_stream_consumer_lag",
        "ledgerline_stream_quarantined_events_total",  # quarantine by reason
        "ledgerline_warehouse_batch_seconds_bucket",  # sink batch latency
        "ledgerline_lake_batch_seconds_bucket",
        "ledgerline_gateway_request_duration_seconds_bucket",  # gateway latency histograms
        "ledgerline_forecast_vintage_duration_seconds",  # forecast run durations
    ):
        assert metric in expressions, metric
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_the_registration_scan_finds_the_metrics_it_should() -> None:
    """Guards the scan below: plain metrics, counters named with and without _total, histograms
    and custom collectors' families are all found (a scan finding nothing would pass anything)."""
    series = registered_series()
    assert len(series) > 100
    for name in (
        "ledgerline_stream_clean_events_total",  # Counter("..._total")
        "ledgerline_gateway_request_duration_seconds_bucket",  # Histogram
        "ledgerline_lake_consumer_lag",  # Gauge
        "ledgerline_forecast_vintage_duration_seconds",  # GaugeMetricFamily of a collector
        "ledgerline_backfill_messages_total",  # CounterMetricFamily of a collector
    ):
        assert name in series, name
    assert "ledgerline_lake_consumer_lag_bucket" not in series  # a gauge has no buckets


def test_every_metric_the_dashboard_charts_is_registered_in_the_code() -> None:
    """A renamed or dropped metric leaves a dead panel: fail instead."""
    series = registered_series()
    used = {name for expr in dashboard_expressions() for name in re.findall(r"\bledgerline_[a-zA-Z0-9_:]+", expr)}
    assert used
    missing = sorted(name for name in used if name not in series)
    assert not missing, f"the dashboard charts metrics no code registers: {missing}"
    unscraped = sorted(name for name in used if series[name] in UNSCRAPED)
    assert not unscraped, f"the dashboard charts metrics only unscraped processes update: {unscraped}"
