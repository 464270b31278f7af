"""Prometheus metrics of the warehouse sink (served by platform_common.metrics.serve_metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

BATCH_SECONDS = Histogram(
    "ledgerline_warehouse_batch_seconds",
    "Wall time of one batch transaction (COPY, merge, recompute, offsets, commit).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64),
)
BATCH_EVENTS = Histogram(
    "ledgerline_warehouse_batch_events",
    "Messages per committed batch.",
    buckets=(1, 10, 100, 1_000, 5_000, 10_000, 25_000, 50_000, 100_000),
)
ROWS_MERGED = Counter(
    "ledgerline_warehouse_rows_merged_total", "Rows inserted or rebuilt per warehouse table.", ["table"]
)
EVENTS_IN = Counter("ledgerline_warehouse_events_in_total", "Messages consumed per topic.", ["topic"])
LATE_EVENTS = Counter("ledgerline_warehouse_late_events_total", "Messages with the header late: true.", ["topic"])
DUPLICATES = Counter(
    "ledgerline_warehouse_batch_duplicates_total", "Messages dropped because their event_id repeats in a batch."
)
UNDECODABLE = Counter(
    "ledgerline_warehouse_undecodable_total", "Clean-topic messages that did not decode (skipped).", ["topic"]
)
CONSUMER_LAG = Gauge(
    "ledgerline_warehouse_consumer_lag",
    "High watermark minus the next offset to read (transaction markers already passed do not count).",
    ["topic", "partition"],
)
HORIZON = Gauge(
    "ledgerline_warehouse_horizon_timestamp_seconds", "The data horizon (last event date) as a Unix timestamp."
)
