"""Request metrics for the project's ASGI services, and a `/metrics` body that sums all workers.

Labels use the route template, never the raw path, so cardinality stays bounded (an app may name
a route itself under the scope key `ledgerline.route`). With several uvicorn workers, the service
sets PROMETHEUS_MULTIPROC_DIR and `render_all_workers` aggregates every worker's samples;
otherwise a scrape would see one random worker.
"""

from __future__ import annotations

import os
import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from platform_common.metrics import render_metrics


class RequestMetricsMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware overhead): counts requests and times them per route."""

    def __init__(self, app: ASGIApp, requests: Counter, latency: Histogram) -> None:
        self.app = app
        self.requests = requests
        self.latency = latency

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
            self.requests.labels(template, method, str(status)).inc()
            self.latency.labels(template, method).observe(time.perf_counter() - started)


def render_all_workers() -> tuple[bytes, str]:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return render_metrics()
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return render_metrics(registry)
