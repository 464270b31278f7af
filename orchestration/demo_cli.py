"""`ledgerline demo [--customers N --months M ...]`, `ledgerline demo stop`, `ledgerline demo status`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from platform_common.config import get_settings

demo_cli = typer.Typer(help="Run the platform end to end on sample data; stop it; show its processes.")


def _say(message: str) -> None:
    typer.echo(f"[demo] {message}")


@demo_cli.callback(invoke_without_command=True)
def demo_command(
    ctx: typer.Context,
    customers: Annotated[int, typer.Option(min=1, help="Customers in the generated history.")] = 5000,
    months: Annotated[int, typer.Option(min=2, max=240, help="Months of history.")] = 24,
    seed: Annotated[int, typer.Option(help="Generator seed (same seed, same events).")] = 42,
    bad_share: Annotated[float, typer.Option(min=0.0, max=0.2, help="Share of deliberately bad records.")] = 0.002,
    gateway_months: Annotated[int, typer.Option(min=0, help="Last months sent through the REST gateway.")] = 1,
    stream_workers: Annotated[int, typer.Option(min=1, max=4, help="Stream processor workers.")] = 1,
    resend: Annotated[bool, typer.Option(help="Send the data again even if this data set was ingested.")] = False,
    forecast: Annotated[bool, typer.Option("--forecast/--no-forecast", help="Run the forecast flow.")] = True,
    refresh_warehouse: Annotated[bool, typer.Option(help="Let the forecast flow re-derive the warehouse.")] = False,
    timeout: Annotated[float | None, typer.Option(help="Seconds to wait for the drain (default: settings).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Also print the summary as one JSON line.")] = False,
) -> None:
    """Generate ~2 years of sample data, send it through the gateway and the loader, keep the
    pipeline running, forecast, and print the dashboard URL and a summary."""
    if ctx.invoked_subcommand is not None:
        return
    from orchestration.demo import DemoOptions, run_demo
    from orchestration.demo_data import DemoParams
    from orchestration.demo_summary import render
    from orchestration.processes import PipelinePorts
    from orchestration.settings import orchestration_settings

    settings = get_settings()
    config = orchestration_settings(settings)
    ports = PipelinePorts(
        config.stream_web_port, config.lake_metrics_port, config.warehouse_metrics_port, config.metrics_port
    )
    options = DemoOptions(
        params=DemoParams(
            customers=customers,
            months=months,
            seed=seed,
            bad_share=bad_share,
            gateway_months=min(gateway_months, months - 1),
        ),
        ports=ports,
        stream_workers=stream_workers,
        resend=resend,
        forecast=forecast,
        refresh_warehouse=refresh_warehouse,
        drain_timeout_s=timeout or config.drain_timeout_s,
    )
    result = run_demo(settings, options, _say)
    render(result.summary, result.timings, _say)
    _say("the pipeline keeps running; stop it with `ledgerline demo stop` (or `make down`)")
    if as_json:
        typer.echo(json.dumps({"summary": result.summary, "timings": result.timings}, default=str))


@demo_cli.command("stop")
def stop_command() -> None:
    """Stop the demo's processes (gateway, stream workers, sinks, query API) by pid file."""
    from orchestration.processes import stop_pipeline

    stopped = stop_pipeline(get_settings())
    if not stopped:
        _say("no pipeline processes recorded")
    for name, was_running in stopped.items():
        _say(f"{name}: {'stopped' if was_running else 'was not running'}")


@demo_cli.command("status")
def status_command() -> None:
    """Exit 0 only when every recorded pipeline process is alive."""
    from orchestration.processes import pipeline_state

    states = pipeline_state(get_settings())
    for state in states:
        typer.echo(f"{state.name:<15} {'up' if state.alive else 'down':<5} pid {state.pid}")
    if not states or not all(state.alive for state in states):
        raise typer.Exit(1)
