"""Prometheus helpers shared by every long-running process.

Each process either serves `/metrics` from its own HTTP app (FastAPI services) or, for
workers without one, starts the tiny exporter from `serve_metrics()` on its own port.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from platform_common.health import HealthCheck, run_checks


def render_metrics(registry: CollectorRegistry = REGISTRY) -> tuple[bytes, str]:
    return generate_latest(registry), CONTENT_TYPE_LATEST


def serve_metrics(host: str, port: int, checks: list[HealthCheck] | None = None) -> ThreadingHTTPServer:
    """Serve `/metrics` and `/health` on a daemon thread; returns the server so callers can stop it."""
    health_checks = checks or []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                body, content_type = render_metrics()
                status = 200
            elif self.path == "/health":
                report = run_checks(health_checks)
                body, content_type = report.to_json().encode(), "application/json"
                status = 200 if report.is_healthy else 503
            else:
                body, content_type, status = b"not found", "text/plain", 404
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer((host, port), Handler)
    thread = threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True)
    thread.start()
    return server
