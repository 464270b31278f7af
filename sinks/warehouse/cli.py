"""`ledgerline sink warehouse ...`: run the sink, rebuild, load FX rates, refresh derived data."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from types import FrameType
from typing import Literal

import typer

from platform_common.config import get_settings
from sinks.warehouse.settings import WarehouseSinkSettings, warehouse_settings

warehouse_sink_cli = typer.Typer(
    no_args_is_help=True,
    help="Warehouse sink: clean topics -> PostgreSQL star schema (events, dimensions, facts, MRR).",
)


def _sink_settings(**overrides: object) -> WarehouseSinkSettings:
    sink = warehouse_settings(get_settings())
    changes = {key: value for key, value in overrides.items() if value is not None}
    return sink.model_copy(update=changes) if changes else sink


@warehouse_sink_cli.command("run")
def run_command(
    metrics_port: int | None = typer.Option(None, help="Port of /metrics and /health (0 disables)."),
    batch_max_events: int | None = typer.Option(None, min=1, help="Close a batch at this many messages."),
    batch_max_seconds: float | None = typer.Option(None, min=0.01, help="Close a batch after this long."),
    until_caught_up: bool = typer.Option(False, help="Exit once every partition is drained."),
) -> None:
    """Consume the clean topics forever (or until caught up), one transaction per batch."""
    from sinks.warehouse.consumer import WarehouseSink

    sink = _sink_settings(
        metrics_port=metrics_port, batch_max_events=batch_max_events, batch_max_seconds=batch_max_seconds
    )
    worker = WarehouseSink(get_settings(), sink)

    def stop(signum: int, frame: FrameType | None) -> None:
        worker.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    report = worker.run(until_caught_up=until_caught_up)
    typer.echo(f"warehouse sink stopped: {report.batches} batches, {report.messages} messages")


@warehouse_sink_cli.command("rebuild")
def rebuild_command(
    start_from: str = typer.Option(
        "earliest", "--from", help="earliest: re-read the topics; latest: wait for a re-publish (lake replay)."
    ),
    consume: bool = typer.Option(True, help="Consume until caught up after the reset."),
) -> None:
    """Truncate events, dimensions, facts and offsets, then rebuild from the topics."""
    from sinks.warehouse.maintenance import rebuild

    if start_from not in ("earliest", "latest"):
        raise typer.BadParameter("--from must be earliest or latest")
    origin: Literal["earliest", "latest"] = "earliest" if start_from == "earliest" else "latest"
    report = rebuild(get_settings(), _sink_settings(), origin, consume)
    if report is None:
        typer.echo("warehouse reset; start `ledgerline sink warehouse run` to consume")
    else:
        typer.echo(f"warehouse rebuilt: {report.messages} messages in {report.seconds:.1f}s")


@warehouse_sink_cli.command("load-fx")
def load_fx_command(
    file: Path | None = typer.Argument(
        None,
        exists=True,
        dir_okay=False,
        help="CSV currency,reporting_currency,effective_date,rate (default: the fx_rates_file setting).",
    ),
) -> None:
    """Upsert FX rates from a CSV file and re-convert the facts they change."""
    from sinks.warehouse.maintenance import load_fx

    sink = _sink_settings()
    counts = load_fx(get_settings(), file or sink.fx_rates_file, sink)
    typer.echo(json.dumps(counts, sort_keys=True))


@warehouse_sink_cli.command("refresh")
def refresh_command() -> None:
    """Re-derive dimensions, subscription state, facts and FX from the event tables."""
    from sinks.warehouse.maintenance import refresh

    result = refresh(get_settings(), _sink_settings())
    typer.echo(json.dumps(result.rows_by_table, sort_keys=True))
