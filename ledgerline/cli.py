"""Ledgerline: streaming revenue metrics and forecasts for subscription businesses.

The CLI composition root: each stage contributes its typer app from its public surface.
"""

from __future__ import annotations

import sys

import typer

from forecaster import forecast_cli
from orchestration import backfill_cli, demo_cli, orchestration_cli, reconcile_cli
from platform_common.config import SettingsError, get_settings
from platform_common.logging import configure_logging
from producers import gateway_cli, generate_cli, produce
from query_api import api_cli
from sinks import sink_cli
from stream_processors import quarantine_cli, stream_cli

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Ledgerline: streaming revenue metrics and forecasts for subscription businesses.",
)
services_app = typer.Typer(no_args_is_help=True, help="Run the native service stack (Kafka, Postgres, MinIO, Prefect).")
app.add_typer(services_app, name="services")
app.add_typer(gateway_cli, name="gateway")
app.add_typer(generate_cli, name="generate")
app.command("produce")(produce)
app.add_typer(sink_cli, name="sink")
app.add_typer(api_cli, name="api")
app.add_typer(forecast_cli, name="forecast")
app.add_typer(demo_cli, name="demo")
app.add_typer(backfill_cli, name="backfill")
app.add_typer(reconcile_cli, name="reconcile")
app.add_typer(orchestration_cli, name="orchestration")
app.add_typer(stream_cli, name="stream")
app.add_typer(quarantine_cli, name="quarantine")


@app.callback()
def _configure() -> None:
    try:
        settings = get_settings()
    except SettingsError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    configure_logging(settings.log_level)


@services_app.command("up")
def services_up(names: list[str] = typer.Argument(None, help="Subset of services; default all.")) -> None:
    """Install what is missing, start what is not running, wait until healthy."""
    from deploy.local_stack import up

    up(get_settings(), names or None)


@services_app.command("down")
def services_down(names: list[str] = typer.Argument(None)) -> None:
    """Stop the services this project started (by pid file)."""
    from deploy.local_stack import down

    for name, was_running in down(get_settings(), names or None).items():
        typer.echo(f"[{name}] {'stopped' if was_running else 'was not running'}")


@services_app.command("status")
def services_status(names: list[str] = typer.Argument(None)) -> None:
    """Exit code 0 only when every listed service is up and healthy."""
    from deploy.local_stack import status

    statuses = status(get_settings(), names or None)
    for item in statuses:
        pid = f"pid {item.pid}" if item.pid else "no process"
        typer.echo(f"{item.name:<9} {item.state:<10} {pid:<12} {item.detail}")
    if not all(item.state == "up" for item in statuses):
        raise typer.Exit(1)


@services_app.command("reset")
def services_reset(yes: bool = typer.Option(False, "--yes", help="Do not ask.")) -> None:
    """Stop everything and delete all service data (cached installs are kept)."""
    from deploy.local_stack import reset

    if not yes and not typer.confirm("Delete all local service data?"):
        raise typer.Exit(1)
    reset(get_settings())


@app.command("setup")
def setup() -> None:
    """Create topics, the lake bucket, warehouse schemas and roles, FX rates when there are none,
    the fiscal calendar (idempotent)."""
    from platform_common.bootstrap import set_up_platform
    from producers import ensure_bootstrap_api_key
    from sinks.warehouse import set_up_warehouse

    settings = get_settings()
    report = set_up_platform(settings)
    ensure_bootstrap_api_key(settings)
    warehouse = set_up_warehouse(settings)
    typer.echo(
        f"topics created: {len(report.topics_created)}; bucket created: {report.bucket_created}; "
        f"migrations applied: {len(report.migrations_applied)}; {warehouse.summary()}"
    )


@app.command("smoke")
def smoke() -> None:
    """One contract-valid event through every real service (Kafka, lake, warehouse)."""
    from orchestration.smoke import run_smoke

    report = run_smoke(get_settings())
    typer.echo(
        f"smoke ok in {report.seconds:.2f}s: event {report.event_id} -> Kafka partition {report.partition} "
        f"offset {report.offset} -> consumed and decoded -> lake {report.lake_key} "
        f"(rewrite refused: {report.lake_rewrite_refused}) -> warehouse row {report.warehouse_row_id}"
    )


def main() -> None:
    try:
        app()
    except SettingsError as error:
        typer.echo(str(error), err=True)
        sys.exit(2)
