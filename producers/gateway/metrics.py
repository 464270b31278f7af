"""Prometheus metrics of the gateway and a pure-ASGI middleware that records them.

Labels use the route template (`/v1/events/payment/batch`), never the raw path, so cardinality
stays bounded. With several uvicorn workers, `serve` sets PROMETHEUS_MULTIPROC_DIR and
`/metrics` aggregates every worker's samples; otherwise a scrape would see one random worker.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from platform_common.http_metrics import render_all_workers

REQUESTS = Counter(
    "ledgerline_gateway_requests_total", "HTTP requests by route and status", ["route", "method", "status"]
)
LATENCY = Histogram(
    "ledgerline_gateway_request_duration_seconds",
    "Time from request start to response start",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
EVENTS = Counter(
    "ledgerline_gateway_events_total",
    "Events by family and outcome (accepted: acknowledged by Kafka; rejected: contract "
    "violation; failed: not acknowledged, answered 503)",
    ["family", "outcome"],
)
BATCH_EVENTS = Histogram(
    "ledgerline_gateway_batch_events",
    "Events per batch request",
    ["family"],
    buckets=(1, 10, 50, 100, 250, 500, 1000, 5000),
)


render = render_all_workers
