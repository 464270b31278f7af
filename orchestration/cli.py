"""`ledgerline backfill ...` and `ledgerline reconcile`: the flows from the command line.

By default a command runs its flow against the Prefect server (so the run is recorded there);
`--no-prefect` runs the same steps directly when the server is down.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from platform_common.config import get_settings
from platform_common.topics import Family

backfill_cli = typer.Typer(no_args_is_help=True, help="Re-send raw events (Kafka range or lake) for processing.")
reconcile_cli = typer.Typer(help="Compare lake, topics and warehouse per family and day; exit 1 on a mismatch.")
err = Console(stderr=True)

FamilyOption = Annotated[list[Family] | None, typer.Option("--family", "-f", help="Repeat; default all families.")]


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@backfill_cli.command("run")
def backfill_run(
    family: FamilyOption = None,
    source: Annotated[str, typer.Option(help="kafka (raw topic range) or lake (archived objects).")] = "kafka",
    start: Annotated[datetime | None, typer.Option(help="Arrival time from (UTC if no zone).")] = None,
    end: Annotated[datetime | None, typer.Option(help="Arrival time until, exclusive.")] = None,
    offsets: Annotated[
        list[str] | None, typer.Option("--offsets", help="family:partition:start-end (repeat); instead of a range.")
    ] = None,
    restart: Annotated[bool, typer.Option(help="Forget this backfill's checkpoints and send it again.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Read and count, produce nothing.")] = False,
    use_prefect: Annotated[bool, typer.Option("--prefect/--no-prefect", help="Run as a Prefect flow.")] = True,
) -> None:
    """Re-publish raw events through the normal path; the same backfill twice changes nothing."""
    from orchestration.backfill_flow import backfill_flow, build_request, progress_hook, run_backfill
    from orchestration.prefect_env import prefect_api, quiet_prefect

    settings = get_settings()
    families = [f.value for f in family or ([] if offsets else list(Family))]
    try:
        request = build_request(families, source, _utc(start), _utc(end), offsets or [])
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err) as bar:
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        with progress_hook(progress):
            if use_prefect:
                quiet_prefect()
                with prefect_api(settings):
                    result = backfill_flow(families, source, request.start, request.end, offsets, restart, dry_run)
            else:
                result = run_backfill(settings, request, restart, dry_run).as_dict()
    state = "already complete, nothing sent now (totals of the earlier run)" if result["already_complete"] else "done"
    err.print(
        f"backfill {result['run_id']} ({source}): {state}; published {result['published']:,}, "
        f"skipped {result['skipped']:,} backfill copies"
    )
    typer.echo(json.dumps(result, default=str))


@backfill_cli.command("status")
def backfill_status(
    run_id: Annotated[str | None, typer.Argument(help="One run; default the latest 50.")] = None,
) -> None:
    """Backfill runs with their status and totals."""
    from orchestration.backfill_store import list_runs

    table = Table(title="backfill runs")
    for column in ("run_id", "source", "families", "range", "status", "published", "skipped", "finished"):
        table.add_column(column)
    for run in list_runs(get_settings(), run_id):
        span = f"{run['range_start'] or '-'} .. {run['range_end'] or '-'}"
        table.add_row(
            run["run_id"],
            run["source"],
            ",".join(run["families"]),
            span,
            run["status"],
            f"{run['published']:,}",
            f"{run['skipped']:,}",
            str(run["finished_at"] or ""),
        )
    Console(width=None if Console().is_terminal else 200).print(table)


@reconcile_cli.callback(invoke_without_command=True)
def reconcile_command(
    family: FamilyOption = None,
    start_date: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="First arrival day.")] = None,
    end_date: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Last arrival day.")] = None,
    allow_unverified: Annotated[
        bool,
        typer.Option(
            "--allow-unverified",
            help="Pass although a check could not be measured (e.g. retention deleted outputs); reported anyway.",
        ),
    ] = False,
    processor_metrics: Annotated[
        list[str] | None, typer.Option(hidden=True, help="Ignored: the balance reads the processor's durable counts.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON report on stdout.")] = False,
    use_prefect: Annotated[bool, typer.Option("--prefect/--no-prefect", help="Run as a Prefect flow.")] = True,
) -> None:
    """Reconcile lake manifests, topic offsets and warehouse counts, the count balance and the MRR
    bridge; exit 1 on a mismatch or an unverified check (unless --allow-unverified)."""
    from orchestration.prefect_env import prefect_api, quiet_prefect
    from orchestration.reconcile_flow import ReconcileMismatch, reconcile_flow, run_reconcile

    del processor_metrics
    settings = get_settings()
    families = list(family or list(Family))
    start = start_date.date() if start_date else None
    end = end_date.date() if end_date else None
    try:
        if use_prefect:
            quiet_prefect()
            with prefect_api(settings):
                data = reconcile_flow([f.value for f in families], start, end, allow_unverified=allow_unverified)
        else:
            say = lambda message: err.print(f"[reconcile] {message}")  # noqa: E731
            data = run_reconcile(settings, families, start, end, say=say, allow_unverified=allow_unverified).as_dict()
    except ReconcileMismatch as mismatch:
        data = mismatch.report.as_dict()
    _print_report(data, as_json)
    if not data["ok"]:
        raise typer.Exit(1)


def _print_report(data: dict[str, Any], as_json: bool) -> None:
    from orchestration.reconcile_flow import report_tables

    if as_json:
        typer.echo(json.dumps(data, default=str))
        return
    console = Console(width=None if Console().is_terminal else 200)
    for table in report_tables(data):
        console.print(table)
    unverified = len(data.get("unverified", []))
    if data["ok"]:
        allowed = f" ({unverified} unverified check(s) allowed)" if unverified else ""
        console.print(f"[green]reconcile: ok[/green]{allowed}")
    else:
        console.print(f"[red]{len(data['mismatches'])} mismatch(es), {unverified} unverified check(s)[/red]")
