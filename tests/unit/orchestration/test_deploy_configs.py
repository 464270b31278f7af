"""The scrape config and the dashboard cover every process and every required view."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]


def test_prometheus_scrapes_every_long_running_process_natively_and_in_compose() -> None:
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = {
        target for job in config["scrape_configs"] for group in job["static_configs"] for target in group["targets"]
    }
    native = {"127.0.0.1:18080", "127.0.0.1:18000", "127.0.0.1:18100", "127.0.0.1:18093", "127.0.0.1:18092"}
    compose = {"gateway:8080", "query-api:8000", "stream-processor:18100", "lake-sink:18093", "warehouse-sink:18092"}
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
