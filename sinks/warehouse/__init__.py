"""Warehouse sink: clean Kafka topics -> PostgreSQL (event tables, SCD2 dimensions, daily facts,
subscription state and MRR movements), one transaction per batch including the consumer offsets.

`ledgerline sink warehouse` is `warehouse_sink_cli`; the functions below are what the CLI, the
orchestration (rebuilds, FX loads) and the tests call.
"""

from typing import TYPE_CHECKING

from platform_common.lazy import lazy_exports
from sinks.warehouse.cli import warehouse_sink_cli

if TYPE_CHECKING:
    from sinks.warehouse.bootstrap import WarehouseSetupReport, set_up_warehouse
    from sinks.warehouse.consumer import RunReport, WarehouseSink
    from sinks.warehouse.maintenance import load_fx, read_fx_file, rebuild, refresh, reset_for_rebuild
    from sinks.warehouse.settings import DEMO_FX_RATES, MrrRules, WarehouseSinkSettings, warehouse_settings
    from sinks.warehouse.store import SinkAlreadyRunning

__all__ = [
    "DEMO_FX_RATES",
    "MrrRules",
    "RunReport",
    "SinkAlreadyRunning",
    "WarehouseSetupReport",
    "WarehouseSink",
    "WarehouseSinkSettings",
    "load_fx",
    "read_fx_file",
    "rebuild",
    "refresh",
    "reset_for_rebuild",
    "set_up_warehouse",
    "warehouse_settings",
    "warehouse_sink_cli",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "WarehouseSetupReport": "sinks.warehouse.bootstrap",
        "set_up_warehouse": "sinks.warehouse.bootstrap",
        "RunReport": "sinks.warehouse.consumer",
        "WarehouseSink": "sinks.warehouse.consumer",
        "load_fx": "sinks.warehouse.maintenance",
        "read_fx_file": "sinks.warehouse.maintenance",
        "rebuild": "sinks.warehouse.maintenance",
        "refresh": "sinks.warehouse.maintenance",
        "reset_for_rebuild": "sinks.warehouse.maintenance",
        "DEMO_FX_RATES": "sinks.warehouse.settings",
        "MrrRules": "sinks.warehouse.settings",
        "WarehouseSinkSettings": "sinks.warehouse.settings",
        "warehouse_settings": "sinks.warehouse.settings",
        "SinkAlreadyRunning": "sinks.warehouse.store",
    },
)
