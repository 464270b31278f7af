"""Orchestration: Prefect flows (forecast, backfill, reconcile, read-model refresh), the
one-command demo and the smoke path.

Public surface (pinned by a test):
- flows: `forecast_flow`, `backfill_flow`, `reconcile_flow`, `refresh_flow`;
- functions: `run_backfill`, `run_reconcile`, `run_demo`, `run_smoke`, `stop_pipeline`;
- typer apps: `backfill_cli` (`ledgerline backfill`), `reconcile_cli` (`ledgerline reconcile`),
  `orchestration_cli` (`ledgerline orchestration serve`), `demo_cli` (`ledgerline demo`).

Names resolve lazily (PEP 562): importing the package does not import Prefect.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestration.backfill import BackfillReport, BackfillRequest
    from orchestration.backfill_flow import backfill_flow, run_backfill
    from orchestration.cli import backfill_cli, reconcile_cli
    from orchestration.demo import DemoOptions, DemoResult, run_demo
    from orchestration.demo_cli import demo_cli
    from orchestration.demo_data import DemoParams
    from orchestration.forecast_flow import forecast_flow
    from orchestration.processes import PipelinePorts, stop_pipeline
    from orchestration.reconcile_flow import ReconcileMismatch, ReconcileReport, reconcile_flow, run_reconcile
    from orchestration.refresh_flow import refresh_flow
    from orchestration.serve import orchestration_cli
    from orchestration.smoke import SmokeReport, run_smoke

_HOMES = {
    "orchestration.backfill": ("BackfillReport", "BackfillRequest"),
    "orchestration.backfill_flow": ("backfill_flow", "run_backfill"),
    "orchestration.cli": ("backfill_cli", "reconcile_cli"),
    "orchestration.demo": ("DemoOptions", "DemoResult", "run_demo"),
    "orchestration.demo_cli": ("demo_cli",),
    "orchestration.demo_data": ("DemoParams",),
    "orchestration.forecast_flow": ("forecast_flow",),
    "orchestration.processes": ("PipelinePorts", "stop_pipeline"),
    "orchestration.reconcile_flow": ("ReconcileMismatch", "ReconcileReport", "reconcile_flow", "run_reconcile"),
    "orchestration.refresh_flow": ("refresh_flow",),
    "orchestration.serve": ("orchestration_cli",),
    "orchestration.smoke": ("SmokeReport", "run_smoke"),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
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


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'orchestration' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
