"""`ledgerline stream worker` and `ledgerline quarantine list|show|export|replay`."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from platform_common.config import get_settings
from stream_processors.reasons import QuarantineReason
from stream_processors.settings import stream_settings
from stream_processors.triage import Filters, find, read_quarantine, replay

stream_cli = typer.Typer(no_args_is_help=True, help="Stream processing: validate, de-duplicate, watermark.")
quarantine_cli = typer.Typer(no_args_is_help=True, help="Triage the quarantine: list, show, export, replay.")
console = Console(stderr=True)


@stream_cli.callback()
def _stream_group() -> None:
    """Stream processing: validate, de-duplicate, watermark (a group, so `worker` is a sub-command)."""


ReasonOption = Annotated[list[str] | None, typer.Option("--reason", help="Reason code (repeatable).")]
FamilyOption = Annotated[list[str] | None, typer.Option("--family", help="Event family (repeatable).")]
SinceOption = Annotated[str | None, typer.Option(help="Quarantined at or after (ISO-8601, UTC if no zone).")]
UntilOption = Annotated[str | None, typer.Option(help="Quarantined before (ISO-8601).")]


@stream_cli.command("worker")
def worker_command(
    web_port: Annotated[int | None, typer.Option(help="Port of /health and /metrics.")] = None,
    processing_guarantee: Annotated[str | None, typer.Option(help="exactly_once | at_least_once")] = None,
    reference: Annotated[Path | None, typer.Option(help="reference.json with plans and regions.")] = None,
) -> None:
    """Run a Faust worker (several share the partitions of one consumer group)."""
    from stream_processors.worker import PreflightError, run_worker

    settings = get_settings()
    stream = stream_settings(settings)
    overrides: dict[str, Any] = {}
    if web_port is not None:
        overrides["web_port"] = web_port
    if processing_guarantee is not None:
        overrides["processing_guarantee"] = processing_guarantee
    if reference is not None:
        overrides["reference_path"] = reference
    stream = stream.model_validate({**stream.model_dump(), **overrides})
    try:
        run_worker(settings, stream)
    except PreflightError as error:
        console.print(f"[red]cannot start:[/red] {escape(str(error))}")
        raise typer.Exit(2) from None


def _time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"not an ISO-8601 time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _filters(reason: list[str] | None, family: list[str] | None, since: str | None, until: str | None) -> Filters:
    known = {code.value for code in QuarantineReason}
    unknown = sorted(set(reason or []) - known)
    if unknown:
        raise typer.BadParameter(f"unknown reason(s) {unknown}; known: {sorted(known)}")
    return Filters(frozenset(reason or []), frozenset(family or []), _time(since), _time(until))


def _scan(filters: Filters) -> list[dict[str, Any]]:
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("reading the quarantine", total=None)
        records = list(
            read_quarantine(
                get_settings(),
                filters,
                progress=lambda read: bar.update(task, description=f"reading the quarantine: {read} records"),
            )
        )
    return records


@quarantine_cli.command("list")
def list_command(
    reason: ReasonOption = None,
    family: FamilyOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many (newest last).")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON record per line instead of a table.")] = False,
) -> None:
    """List quarantined events."""
    records = _scan(_filters(reason, family, since, until))
    shown = sorted(records, key=lambda record: str(record.get("quarantined_at")))[-limit:]
    if as_json:
        for record in shown:
            sys.stdout.write(json.dumps(record) + "\n")
        return
    table = Table(title=f"{len(records)} quarantined event(s), showing {len(shown)}")
    for column in ("quarantine_id", "quarantined_at", "family", "reason", "field", "event_id", "message"):
        table.add_column(column, overflow="fold")
    for record in shown:
        first = (record.get("reasons") or [{}])[0]
        table.add_row(
            record["quarantine_id"],
            str(record.get("quarantined_at")),
            str(record.get("family")),
            str(record.get("reason")),
            str(first.get("field", "")),
            str(record.get("event_id")),
            str(first.get("message", ""))[:80],
        )
    Console().print(table)


@quarantine_cli.command("show")
def show_command(quarantine_id: str) -> None:
    """Print one quarantine record as JSON."""
    record = find(get_settings(), quarantine_id)
    if record is None:
        console.print(f"[red]no quarantine record {quarantine_id}[/red]")
        raise typer.Exit(1)
    sys.stdout.write(json.dumps(record, indent=2) + "\n")


@quarantine_cli.command("export")
def export_command(
    out: Annotated[Path, typer.Argument(help="JSONL file to write (one record per line).")],
    reason: ReasonOption = None,
    family: FamilyOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
) -> None:
    """Export matching records; edit `payload.json` in the file, then `replay --file` it."""
    records = _scan(_filters(reason, family, since, until))
    with out.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")
    console.print(f"exported {len(records)} record(s) to {out}")


@quarantine_cli.command("replay")
def replay_command(
    file: Annotated[Path | None, typer.Option("--file", help="An (edited) export to replay.")] = None,
    ids: Annotated[list[str] | None, typer.Option("--id", help="Quarantine id (repeatable).")] = None,
    reason: ReasonOption = None,
    family: FamilyOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    dry_run: Annotated[bool, typer.Option(help="Check and count, produce nothing.")] = False,
) -> None:
    """Send records back through the normal path (keeping their event_id)."""
    if file is not None:
        lines = file.read_text(encoding="utf-8").splitlines()
        records = [json.loads(line) for line in lines if line.strip()]
    else:
        filters = _filters(reason, family, since, until)
        if not (ids or filters.reasons or filters.families or filters.since or filters.until):
            raise typer.BadParameter("give --file, --id or at least one filter (refusing to replay everything)")
        records = _scan(Filters(filters.reasons, filters.families, filters.since, filters.until, frozenset(ids or [])))
    report = replay(get_settings(), records, dry_run=dry_run)
    verb = "would replay" if dry_run else "replayed"
    console.print(f"{verb} {len(report.replayed)} record(s); refused {len(report.refused)}")
    for quarantine_id, why in report.refused:
        console.print(f"  [yellow]{quarantine_id}[/yellow]: {why}")
    if report.refused:
        raise typer.Exit(1)
