"""The typer apps mount the way the report asks `ledgerline/cli.py` to mount them."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from orchestration import backfill_cli, demo_cli, orchestration_cli, reconcile_cli


def composed() -> typer.Typer:
    app = typer.Typer(no_args_is_help=True)

    @app.callback()
    def _root() -> None:
        """root"""

    app.add_typer(demo_cli, name="demo")
    app.add_typer(backfill_cli, name="backfill")
    app.add_typer(reconcile_cli, name="reconcile")
    app.add_typer(orchestration_cli, name="orchestration")
    return app


def test_commands_and_options_are_reachable() -> None:
    runner = CliRunner()
    app = composed()
    for args, expected in (
        (["demo", "--help"], "--customers"),
        (["demo", "--help"], "stop"),
        (["demo", "stop", "--help"], "demo stop"),
        (["backfill", "run", "--help"], "--source"),
        (["backfill", "status", "--help"], "backfill status"),
        (["reconcile", "--help"], "--start-date"),
        (["orchestration", "serve", "--help"], "--metrics-port"),
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
        assert expected in result.output, (args, result.output)


def test_backfill_refuses_a_bad_request_before_touching_anything() -> None:
    result = CliRunner().invoke(composed(), ["backfill", "run", "--source", "s3", "--no-prefect"])
    assert result.exit_code != 0
    assert "source must be kafka or lake" in result.output
