"""`ledgerline sink lake run | verify | ls` (also `python -m sinks.lake ...` before it is mounted)."""

from __future__ import annotations

import faulthandler
import json
import signal
from datetime import datetime
from types import FrameType

import typer

from platform_common.config import get_settings
from platform_common.logging import configure_logging
from platform_common.metrics import serve_metrics
from sinks.lake.settings import lake_settings

lake_sink_cli = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Archive raw and quarantine topics to the lake, byte for byte, and check it.",
)


@lake_sink_cli.command("run")
def run(
    metrics_port: int | None = typer.Option(None, help="Port of /metrics and /health (0 disables)."),
    max_batch_records: int | None = typer.Option(None, help="Records per object at most."),
    max_batch_seconds: float | None = typer.Option(None, help="Seconds a record may wait for its object."),
    group_id: str | None = typer.Option(None, help="Consumer group (the topic prefix is prepended)."),
) -> None:
    """Consume until SIGTERM/SIGINT, then archive what is buffered, commit and exit."""
    from sinks.lake.sink import LakeSink

    settings = get_settings()
    configure_logging(settings.log_level)
    overrides = {
        "metrics_port": metrics_port,
        "max_batch_records": max_batch_records,
        "max_batch_seconds": max_batch_seconds,
        "group_id": group_id,
    }
    lake = lake_settings(settings).model_copy(
        update={name: value for name, value in overrides.items() if value is not None}
    )
    lake = type(lake).model_validate(lake.model_dump())
    sink = LakeSink(settings, lake)

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        sink.stop()

    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1 <pid>` dumps every stack
    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    server = serve_metrics(lake.metrics_host, lake.metrics_port, sink.health_checks()) if lake.metrics_port else None
    try:
        stats = sink.run()
    finally:
        if server is not None:
            server.shutdown()
    typer.echo(
        f"lake sink stopped: {stats.objects_written} objects, {stats.records_written} records written, "
        f"{stats.objects_existing} existing objects skipped"
    )


@lake_sink_cli.command("verify")
def verify_command(
    family: str | None = typer.Option(None, help="Only this family (or 'quarantine')."),
    start: datetime | None = typer.Option(None, help="Window start (UTC)."),
    end: datetime | None = typer.Option(None, help="Window end (UTC, exclusive)."),
    checksums: bool = typer.Option(True, help="Download objects and recompute their manifests."),
    dense_offsets: bool = typer.Option(
        True, help="Require every offset of a raw-topic object's range (off for transactional raw topics)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Exit 1 when an object lacks its manifest, does not match it, or offsets have a gap/overlap."""
    from rich.progress import Progress

    from sinks.lake.verify import verify

    settings = get_settings()
    with Progress(transient=True) as progress:
        task = progress.add_task("verifying lake objects", total=None)
        report = verify(
            family,
            _utc(start),
            _utc(end),
            settings=settings,
            checksums=checksums,
            dense_offsets=dense_offsets,
            on_object=lambda _item: progress.advance(task),
        )
    if as_json:
        typer.echo(json.dumps(report.as_dict()))
    else:
        typer.echo(f"{report.objects} objects, {report.records} records, {report.bytes} bytes")
        for name, ranges in report.ranges.items():
            typer.echo(f"  {name}: " + ", ".join(f"{low}..{high}" for low, high in ranges))
        for problem in report.problems:
            typer.echo(f"PROBLEM {problem.kind} {problem.key}: {problem.detail}")
        typer.echo("ok" if report.ok else f"{len(report.problems)} problems")
    if not report.ok:
        raise typer.Exit(1)


@lake_sink_cli.command("ls")
def ls_command(
    family: str | None = typer.Option(None, help="Only this family (or 'quarantine')."),
    start: datetime | None = typer.Option(None, help="Window start (UTC)."),
    end: datetime | None = typer.Option(None, help="Window end (UTC, exclusive)."),
) -> None:
    """One line per object: key, offsets, record count, size (from its manifest)."""
    from sinks.lake.reader import LakeReader

    reader = LakeReader(get_settings())
    for item in reader.list_objects(family, _utc(start), _utc(end)):
        manifest = reader.read_manifest(item.key)
        if manifest is None:
            typer.echo(f"{item.key}\t(no manifest)")
        else:
            typer.echo(
                f"{item.key}\t{manifest.start_offset}..{manifest.end_offset}\t"
                f"{manifest.record_count} records\t{manifest.size_bytes} bytes"
            )


def _utc(value: datetime | None) -> datetime | None:
    """CLI datetimes without a zone are read as UTC, like every timestamp in the platform."""
    from datetime import UTC

    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
