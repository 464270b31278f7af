"""`python -m sinks.lake` runs the same typer app that `ledgerline sink lake` mounts."""

from sinks.lake.cli import lake_sink_cli

lake_sink_cli(prog_name="ledgerline sink lake")
