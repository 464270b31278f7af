from __future__ import annotations

import orchestration


def test_public_surface_is_pinned() -> None:
    assert sorted(orchestration.__all__) == [
        "BackfillReport",
        "BackfillRequest",
        "DemoOptions",
        "DemoParams",
        "DemoResult",
        "PipelinePorts",
        "ReconcileMismatch",
        "ReconcileReport",
        "SmokeReport",
        "backfill_cli",
        "backfill_flow",
        "demo_cli",
        "forecast_flow",
        "orchestration_cli",
        "reconcile_cli",
        "reconcile_flow",
        "refresh_flow",
        "run_backfill",
        "run_demo",
        "run_reconcile",
        "run_smoke",
        "stop_pipeline",
    ]
    for name in orchestration.__all__:
        assert getattr(orchestration, name) is not None


def test_typer_apps_are_typer_apps() -> None:
    import typer

    for name in ("backfill_cli", "reconcile_cli", "orchestration_cli", "demo_cli"):
        assert isinstance(getattr(orchestration, name), typer.Typer)


def test_stage_runner_knows_every_stage() -> None:
    from orchestration.stages import STAGES

    assert set(STAGES) == {"gateway", "stream", "lake-sink", "warehouse-sink", "query-api", "orchestration"}
    assert True  # importing the stage table must not need Prefect
