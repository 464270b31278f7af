"""`python -m sinks.warehouse ...`: the same typer app as `ledgerline sink warehouse`, with JSON logs."""

from __future__ import annotations

from platform_common.config import get_settings
from platform_common.logging import configure_logging
from sinks.warehouse.cli import warehouse_sink_cli

if __name__ == "__main__":
    configure_logging(get_settings().log_level)
    warehouse_sink_cli(prog_name="ledgerline sink warehouse")
