"""`ledgerline produce FILE --family F`: load a CSV, NDJSON or Parquet file onto a raw topic."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from platform_common.config import get_settings
from platform_common.topics import Family
from producers.loader.checkpoint import CheckpointMismatch
from producers.loader.readers import Format, detect_format, estimate_records
from producers.loader.run import DEFAULT_BATCH_SIZE, LoadError, LoadSummary, load_file


def produce(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="CSV, NDJSON or Parquet."),
    family: Family = typer.Option(..., "--family", "-f", help="Event family of every record in the file."),
    fmt: str | None = typer.Option(None, "--format", help="csv | ndjson | parquet (default: from the suffix)."),
    rejects: Path | None = typer.Option(None, help="Rejects file (default: FILE.rejects.ndjson)."),
    checkpoint: Path | None = typer.Option(None, help="Checkpoint file (default: FILE.ledgerline-checkpoint)."),
    restart: bool = typer.Option(False, "--restart", help="Ignore the checkpoint and load from the start."),
    batch_size: int = typer.Option(
        DEFAULT_BATCH_SIZE, min=1, help="Records per acknowledged batch (a kill re-sends at most two)."
    ),
    workers: int = typer.Option(
        0,
        min=0,
        help="Processes that validate and encode (0: auto, CPUs - 2 for files over 32 MB; 1: this process, "
        "in a background thread).",
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Load a CSV, NDJSON or Parquet file of one family onto its raw topic.

    Valid records are produced as Avro; invalid ones go to the rejects file with line and reasons.
    A re-run resumes after the last acknowledged batch (see --checkpoint, --restart).
    """
    console = Console(stderr=True)
    try:
        resolved: Format = detect_format(file) if fmt is None else _format(fmt)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--format") from None
    settings = get_settings()
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, disable=not progress, transient=False) as bar:
        task = bar.add_task(f"{file.name} -> {family.value}", total=estimate_records(file, resolved))
        try:
            summary = load_file(
                file,
                family,
                settings,
                fmt=resolved,
                rejects_path=rejects,
                checkpoint_path=checkpoint,
                restart=restart,
                batch_size=batch_size,
                workers=workers,
                progress=lambda done: bar.update(task, completed=done),
            )
        except CheckpointMismatch as error:
            console.print(f"[red]{error}")
            raise typer.Exit(2) from None
        except LoadError as error:
            console.print(f"[red]{error}")
            raise typer.Exit(1) from None
    _print_summary(console, summary)


def _format(value: str) -> Format:
    if value not in ("csv", "ndjson", "parquet"):
        raise ValueError(f"unknown format {value!r}; use csv, ndjson or parquet")
    return value  # type: ignore[return-value]


def _print_summary(console: Console, summary: LoadSummary) -> None:
    if summary.already_complete:
        console.print(
            f"already loaded (checkpoint {summary.checkpoint_path}); nothing produced. "
            "Use --restart to load the file again."
        )
        return
    if summary.resumed_after:
        console.print(f"resumed after position {summary.resumed_after} (checkpoint {summary.checkpoint_path})")
    console.print(
        f"read {summary.read:,}  produced {summary.produced:,}  rejected {summary.rejected:,}  "
        f"in {summary.elapsed_s:.1f}s ({summary.events_per_s:,.0f} records/s)"
    )
    if summary.rejected:
        console.print(f"rejects: {summary.rejects_path}")


produce_cli = typer.Typer(help="Load event files onto the raw topics.")
produce_cli.command("produce")(produce)
