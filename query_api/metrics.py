"""Prometheus metrics of the query API and the pure-ASGI middleware that records them.

Labels use the route template, never the raw path, so cardinality stays bounded. With several
uvicorn workers, `serve` sets PROMETHEUS_MULTIPROC_DIR and `/metrics` sums every worker.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from platform_common.http_metrics import render_all_workers

REQUESTS = Counter(
    "ledgerline_query_requests_total", "HTTP requests by route and status", ["route", "method", "status"]
)
LATENCY = Histogram(
    "ledgerline_query_request_duration_seconds",
    "Time from request start to the end of the response",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CACHE = Counter("ledgerline_query_cache_total", "Response cache lookups by outcome", ["outcome"])
READ_MODEL_REFRESH = Counter(
    "ledgerline_query_read_model_refreshes_seen_total", "New read-model refreshes noticed by this process"
)


render = render_all_workers
