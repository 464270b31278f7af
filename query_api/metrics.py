"""Prometheus metrics of the query API and the pure-ASGI middleware that records them.

Labels use the route template, never the raw path, so cardinality stays bounded. With several
uvicorn workers, `serve` sets PROMETHEUS_MULTIPROC_DIR and `/metrics` sums every worker.
"""

from __future__ import annotations

import os
import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from platform_common.metrics import render_metrics

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


class MetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or scope.get("ledgerline.route") or "<unmatched>"
            method = scope.get("method", "")
            REQUESTS.labels(template, method, str(status)).inc()
            LATENCY.labels(template, method).observe(time.perf_counter() - started)


def render() -> tuple[bytes, str]:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return render_metrics()
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return render_metrics(registry)
