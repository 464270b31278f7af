"""`ledgerline orchestration serve`: the flows with their schedules, plus /health and /metrics.

Prefect's runner executes each scheduled run in a subprocess, so nothing a flow run counts in
memory reaches this process; `/metrics` therefore exports what the runs leave behind, read at
scrape time (`orchestration.metrics`): the durations of the latest forecast vintages from the
warehouse (`ledgerline_forecast_vintage_duration_seconds`), backfill progress from its
checkpoints (`ledgerline_backfill_*`), the latest runs of this stack's deployments from the
Prefect API (`ledgerline_flow_last_run_*`) and the latest reconcile run's verdict from
`platform.reconcile_run` (`ledgerline_reconcile_*`).
"""

from __future__ import annotations

import logging
import urllib.request
from typing import Any

import typer
from prometheus_client import REGISTRY

from orchestration.metrics import ForecastVintages, register_collectors
from orchestration.prefect_env import prefect_api
from orchestration.reconcile_store import ReconcileResults
from orchestration.settings import orchestration_settings, processor_metrics_urls
from platform_common.config import Settings, get_settings
from platform_common.metrics import serve_metrics

__all__ = ["ForecastVintages", "deployment_names", "deployment_suffix", "orchestration_cli"]

log = logging.getLogger(__name__)
DEPLOYMENT_BASES = ("daily", "frequent", "on-demand")
orchestration_cli = typer.Typer(no_args_is_help=True, help="Prefect flows: serve them with their schedules.")


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
        flows = [forecast_flow.name, reconcile_flow.name, refresh_flow.name, backfill_flow.name]
        register_collectors(settings, flows, deployment_names(settings))  # forecast vintages, backfills, flow runs
        REGISTRY.register(ReconcileResults(settings))  # ledgerline_reconcile_*: the latest stored run
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


def deployment_names(settings: Settings) -> list[str]:
    """The names `serve` gives this stack's deployments (what /metrics counts flow runs of)."""
    suffix = deployment_suffix(settings)
    return [base + suffix for base in DEPLOYMENT_BASES]


def _prefect_ok(settings: Settings) -> None:
    with urllib.request.urlopen(settings.prefect.api_url.rstrip("/") + "/health", timeout=3) as response:  # noqa: S310
        if response.status != 200:
            raise RuntimeError(f"Prefect API answered {response.status}")
