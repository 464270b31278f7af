"""Warehouse sink: clean Kafka topics -> PostgreSQL (event tables, SCD2 dimensions, daily facts,
subscription state and MRR movements), one transaction per batch including the consumer offsets.

`ledgerline sink warehouse` is `warehouse_sink_cli`; the functions below are what the CLI, the
orchestration (rebuilds, FX loads) and the tests call.
"""

from __future__ import annotations

from sinks.warehouse.cli import warehouse_sink_cli
from sinks.warehouse.consumer import RunReport, WarehouseSink
from sinks.warehouse.maintenance import load_fx, read_fx_file, rebuild, refresh, reset_for_rebuild
from sinks.warehouse.settings import DEMO_FX_RATES, MrrRules, WarehouseSinkSettings, warehouse_settings
from sinks.warehouse.store import SinkAlreadyRunning

__all__ = [
    "DEMO_FX_RATES",
    "MrrRules",
    "RunReport",
    "SinkAlreadyRunning",
    "WarehouseSink",
    "WarehouseSinkSettings",
    "load_fx",
    "read_fx_file",
    "rebuild",
    "refresh",
    "reset_for_rebuild",
    "warehouse_settings",
    "warehouse_sink_cli",
]
