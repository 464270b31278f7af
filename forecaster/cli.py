"""`ledgerline forecast ...`: the warehouse job, any CSV of series, and variance refreshes.

Progress goes to stderr (rich, transient) so stdout stays clean for data (`file` prints CSV).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import polars as pl
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from forecaster.models import CANDIDATES
from forecaster.warehouse import DEFAULT_METRICS

forecast_cli = typer.Typer(
    name="forecast",
    no_args_is_help=True,
    add_completion=False,
    help="Revenue and active-subscription forecasts (statsforecast), and forecasts of any CSV.",
)
err = Console(stderr=True)


@contextmanager
def _progress(total: int, quiet: bool) -> Iterator[Callable[[str], None]]:
    if quiet:
        yield lambda _stage: None
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("forecast: read", total=total)
        yield lambda stage: bar.update(task, advance=1, description=f"forecast: {stage}")


@forecast_cli.command("run")
def run_command(
    horizon_days: int = typer.Option(90, min=1, help="Daily horizon."),
    horizon_months: int = typer.Option(12, min=1, help="Monthly horizon."),
    metric: list[str] = typer.Option(list(DEFAULT_METRICS), "--metric", help="mrr, active_subscriptions, billed."),
    as_of: datetime | None = typer.Option(None, formats=["%Y-%m-%d"], help="Forecast as of this day."),
    history_days: int = typer.Option(1096, min=30, help="Days of facts to read (monthly models use all)."),
    daily_history_days: int = typer.Option(455, min=14, help="Days the daily models use (backtest + fit)."),
    windows: int = typer.Option(3, min=1, help="Backtest windows per series."),
    reconcile: bool = typer.Option(True, "--reconcile/--no-reconcile", help="Evaluate MinTrace."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Compute and print; write nothing."),
    publish: bool = typer.Option(True, "--publish/--no-publish", help="Send the run record to Kafka."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Forecast the warehouse hierarchy and store a new vintage."""
    from forecaster.job import STEPS, NoActualsError, RunOptions, run_forecast

    options = RunOptions(
        horizon_days=horizon_days, horizon_months=horizon_months, metrics=tuple(metric),
        as_of=as_of.date() if as_of else None, history_days=history_days,
        daily_history_days=daily_history_days, windows=windows,
        reconcile=reconcile, dry_run=dry_run, publish=publish,
    )  # fmt: skip
    try:
        with _progress(STEPS, quiet) as note:
            result = run_forecast(options, progress=note)
    except (NoActualsError, ValueError) as error:
        err.print(f"[red]forecast run failed:[/red] {error}")
        raise typer.Exit(2) from None
    record = result.record
    table = Table(title=f"forecast run {result.run_id}", show_header=False)
    for key in ("as_of_date", "series_count", "fallbacks", "models", "reconciliation", "backtest", "duration_seconds"):
        table.add_row(key, str(record[key]))
    table.add_row("stored", "no (dry run)" if dry_run else str(result.written))
    table.add_row("published", str(result.published))
    Console().print(table)


@forecast_cli.command("file")
def file_command(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV with unique_id, ds, y."),
    horizon: int = typer.Option(..., "--horizon", min=1, help="Periods to forecast."),
    freq: str = typer.Option("D", "--freq", help="D, W, MS, ME, QS, YS, h (pandas or polars spelling)."),
    level: list[int] = typer.Option([80, 95], "--level", help="Interval levels."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write .csv or .parquet instead of stdout."),
    windows: int = typer.Option(3, min=1, help="Backtest windows per series."),
    model: list[str] = typer.Option(list(CANDIDATES), "--model", help="Candidate models."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Forecast every series of a CSV the same way the warehouse job does."""
    from forecaster.engine import EngineOptions, fit_forecast

    try:
        frame = pl.read_csv(path, try_parse_dates=True)
        with _progress(3, quiet) as note:
            result = fit_forecast(
                frame, horizon, level, freq, options=EngineOptions(models=tuple(model), windows=windows), progress=note
            )
    except (ValueError, pl.exceptions.PolarsError) as error:
        err.print(f"[red]cannot forecast {path}:[/red] {error}")
        raise typer.Exit(2) from None
    if output is None:
        typer.echo(result.forecasts.write_csv(), nl=False)
    elif output.suffix == ".parquet":
        result.forecasts.write_parquet(output)
    else:
        result.forecasts.write_csv(output)
    summary = result.models.group_by("model", "fallback_reason").len().sort("model")
    err.print(
        f"{result.models.height} series: "
        + ", ".join(f"{row[0]}{f' ({row[1]})' if row[1] else ''} x{row[2]}" for row in summary.iter_rows())
    )


@forecast_cli.command("variance")
def variance_command(
    run_id: str | None = typer.Option(None, "--run-id", help="One run; default every run."),
) -> None:
    """Recompute forecast-vs-actual variance (idempotent; run after new actuals arrive)."""
    from forecaster.variance import compute_variance

    rows = compute_variance(run_id)
    typer.echo(f"variance rows written: {rows}")
