"""`ledgerline generate ...`: write a sample data set from the command line.

A Typer sub-app whose callback is the command, so it can be mounted with
`app.add_typer(generate_cli, name="generate")` and still be invoked as
`ledgerline generate --customers N ...` (no extra sub-command word).
"""

from __future__ import annotations

import time
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from producers.sample_data.generator import generate
from producers.sample_data.params import GenerationParams
from producers.sample_data.writers import write_files


class OutputFormat(StrEnum):
    NDJSON = "ndjson"
    CSV = "csv"
    PARQUET = "parquet"


generate_cli = typer.Typer(
    name="generate",
    help="Generate a deterministic sample SaaS history (events, reference data, ground truth).",
    add_completion=False,
)


@generate_cli.callback(invoke_without_command=True)
def generate_command(
    customers: Annotated[int, typer.Option(min=1, help="Customers acquired over the window.")] = 5000,
    months: Annotated[int, typer.Option(min=1, max=240, help="Length of the history in months.")] = 24,
    seed: Annotated[int, typer.Option(help="Same seed and options give byte-identical output.")] = 42,
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("sample_data"),
    output_format: Annotated[
        list[OutputFormat] | None, typer.Option("--format", "-f", help="Repeat for several formats.")
    ] = None,
    bad_share: Annotated[float, typer.Option(min=0.0, max=1.0, help="Bad records per good event.")] = 0.0,
    late_share: Annotated[float, typer.Option(min=0.0, max=1.0, help="Good events delivered late.")] = 0.0,
    start_date: Annotated[str, typer.Option(help="First day, YYYY-MM-DD (a 1st of a month).")] = "2023-01-01",
    usage_every_n_days: Annotated[int, typer.Option(min=1, help="1 = daily usage per subscription.")] = 3,
) -> None:
    """Generate events and write them with reference.json and ground_truth.json."""
    console = Console(stderr=True)
    try:
        params = GenerationParams(
            customers=customers,
            months=months,
            start_date=date.fromisoformat(start_date),
            seed=seed,
            bad_record_share=bad_share,
            late_share=late_share,
            usage_every_n_days=usage_every_n_days,
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    formats = [fmt.value for fmt in output_format or [OutputFormat.NDJSON]]
    started = time.perf_counter()
    with Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        result = generate(params, progress)
        generated = time.perf_counter() - started
        files = write_files(result, out, formats, progress)
    summary = Table(title=f"sample data in {out}")
    summary.add_column("family")
    summary.add_column("sent", justify="right")
    summary.add_column("good", justify="right")
    counts = result.ground_truth["counts"]
    for family, sent in counts["sent_by_family"].items():
        summary.add_row(family, f"{sent:,}", f"{counts['good_by_family'][family]:,}")
    console.print(summary)
    console.print(
        f"bad records {result.ground_truth['bad_records']['total']:,}, "
        f"late events {result.ground_truth['late_events']['count']:,}; {len(files)} files; "
        f"generated in {generated:.1f}s, total {time.perf_counter() - started:.1f}s"
    )
