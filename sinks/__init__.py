"""Sinks: the immutable raw lake (MinIO) and the star schema in Postgres.

Each sink is its own sub-package with its own public surface (`sinks.lake`, `sinks.warehouse`);
this package only names them and provides the `ledgerline sink` command group.
"""

from __future__ import annotations

import typer

from sinks.lake import lake_sink_cli
from sinks.warehouse import warehouse_sink_cli

sink_cli = typer.Typer(no_args_is_help=True, help="Run the sinks (lake: raw events to MinIO; warehouse: star schema).")
sink_cli.add_typer(lake_sink_cli, name="lake")
sink_cli.add_typer(warehouse_sink_cli, name="warehouse")

__all__ = ["sink_cli"]
