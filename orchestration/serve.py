"""`ledgerline orchestration serve`: the flows with their schedules, plus /health and /metrics.

Prefect's runner executes each scheduled run in a subprocess, so the forecast's own histogram
never reaches this process; `/metrics` therefore also exports the durations of the latest
forecast vintages from the warehouse (`ledgerline_forecast_vintage_duration_seconds`).
"""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Iterator
from typing import Any

import typer
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from orchestration.prefect_env import prefect_api
from orchestration.settings import orchestration_settings, processor_metrics_urls
from platform_common.config import Settings, get_settings
from platform_common.metrics import serve_metrics
from platform_common.postgres import Role, connect

log = logging.getLogger(__name__)
orchestration_cli = typer.Typer(no_args_is_help=True, help="Prefect flows: serve them with their schedules.")


class ForecastVintages(Collector):
    """Durations of the latest forecast runs, read from the warehouse at scrape time."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "ledgerline_forecast_vintage_duration_seconds", "Duration of the latest forecast runs.", labels=["rank"]
        )
        try:
            with connect(Role.WRITER, self.settings, connect_timeout=3) as conn:
                rows = conn.execute(
                    "SELECT duration_seconds FROM warehouse.forecast_run ORDER BY created_at DESC LIMIT 5"
                ).fetchall()
        except Exception as error:  # noqa: BLE001 - a scrape must not fail because Postgres blinked
            log.warning("forecast vintages not read", extra={"error": repr(error)})
            rows = []
        for rank, (seconds,) in enumerate(rows):
            gauge.add_metric([str(rank)], float(seconds))
        yield gauge


@orchestration_cli.callback()
def _group() -> None:
    """Prefect flows of the platform (a group, so `serve` is a sub-command)."""


@orchestration_cli.command("serve")
def serve_command(
    metrics_port: int | None = typer.Option(None, help="Port of /metrics and /health (0 disables)."),
) -> None:
    """Serve forecast (daily), reconcile (daily), read-model refresh (every few minutes) and
    backfill (on demand) against the Prefect server; runs until Ctrl-C / SIGTERM."""
    from prefect import serve

    from orchestration.backfill_flow import backfill_flow
    from orchestration.forecast_flow import forecast_flow
    from orchestration.reconcile_flow import reconcile_flow
    from orchestration.refresh_flow import refresh_flow

    settings = get_settings()
    config = orchestration_settings(settings)
    port = config.metrics_port if metrics_port is None else metrics_port
    if port:
        REGISTRY.register(ForecastVintages(settings))
        serve_metrics(config.metrics_host, port, [("prefect_api", lambda: _prefect_ok(settings))])
    with prefect_api(settings):
        suffix = deployment_suffix(settings)
        deployments: list[Any] = [
            forecast_flow.to_deployment(name="daily" + suffix, cron=config.forecast_cron),
            reconcile_flow.to_deployment(
                name="daily" + suffix,
                cron=config.reconcile_cron,
                parameters={"processor_metrics": processor_metrics_urls(config)},
            ),
            refresh_flow.to_deployment(name="frequent" + suffix, interval=config.refresh_interval_s),
            backfill_flow.to_deployment(name="on-demand" + suffix),
        ]
        log.info("serving flows", extra={"deployments": [d.name for d in deployments], "metrics_port": port})
        serve(*deployments)


def deployment_suffix(settings: Settings) -> str:
    """Deployments are named per stack (topic prefix, database), so a scratch stack's scheduler
    sharing the Prefect server never takes over — or runs against — another stack's deployments."""
    prefix = settings.kafka.topic_prefix.strip(".-_")
    database = settings.postgres.database
    default = type(settings.postgres)().database
    parts = [part for part in (prefix, "" if database == default else database) if part]
    return "".join(f"-{part}" for part in parts)


def _prefect_ok(settings: Settings) -> None:
    with urllib.request.urlopen(settings.prefect.api_url.rstrip("/") + "/health", timeout=3) as response:  # noqa: S310
        if response.status != 200:
            raise RuntimeError(f"Prefect API answered {response.status}")
