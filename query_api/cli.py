"""`ledgerline api ...`: serve the query API (and its dashboard); refresh its read models."""

from __future__ import annotations

import os
import tempfile

import typer

from platform_common.config import get_settings
from platform_common.postgres import Role, connect

api_cli = typer.Typer(no_args_is_help=True, help="Query API and dashboard over the warehouse.")


@api_cli.command("serve")
def serve(
    host: str | None = typer.Option(None, "--host", help="Default: LEDGERLINE_API__QUERY_HOST."),
    port: int | None = typer.Option(None, "--port", min=1, max=65535, help="Default: LEDGERLINE_API__QUERY_PORT."),
    workers: int = typer.Option(1, "--workers", min=1, help="uvicorn worker processes."),
    access_log: bool = typer.Option(False, "--access-log/--no-access-log", help="uvicorn's access log."),
) -> None:
    """Run the query API with uvicorn (dashboard at /dashboard, OpenAPI at /docs, /health, /metrics)."""
    import uvicorn

    settings = get_settings()
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Workers are spawned processes; each writes its samples here and /metrics sums them.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="ledgerline-query-metrics-")
    uvicorn.run(
        "query_api.app:create_app_from_env",
        factory=True,
        host=host or settings.api.query_host,
        port=port or settings.api.query_port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        access_log=access_log,
        log_config=None,
        timeout_graceful_shutdown=15,
    )


@api_cli.command("refresh")
def refresh() -> None:
    """Rebuild the read models now (the pipeline does this after each warehouse batch)."""
    from query_api.read_models import refresh_read_models

    with connect(Role.WRITER, get_settings()) as conn:
        result = refresh_read_models(conn)
    typer.echo(
        f"refresh {result.refresh_id}: data as of {result.horizon_date} ({result.reporting_currency}) "
        f"in {result.duration_ms} ms"
    )
