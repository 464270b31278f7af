"""Prometheus metrics of the gateway and a pure-ASGI middleware that records them.

Labels use the route template (`/v1/events/payment/batch`), never the raw path, so cardinality
stays bounded. With several uvicorn workers, `serve` sets PROMETHEUS_MULTIPROC_DIR and
`/metrics` aggregates every worker's samples; otherwise a scrape would see one random worker.
"""

from __future__ import annotations

import os
import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from platform_common.metrics import render_metrics

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
            template = getattr(route, "path", None) or "<unmatched>"
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
