"""Event producers: everything that puts events onto the platform's raw topics.

* `gateway_cli` / `create_app`: the REST ingestion gateway (`ledgerline gateway serve`).
* `produce` / `produce_cli` / `load_file`: the batch loader (`ledgerline produce FILE`).
* `EventProducer`: validate + encode + produce from any Python service, no gateway needed.
* `generate`, `write_files`, `generate_cli`, ...: the deterministic sample-data generator.

Names are resolved lazily (PEP 562), so a gateway worker that imports `producers.gateway`
does not also load polars and the sample-data generator.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from producers.direct import EventProducer, ProduceError
    from producers.events import OutgoingEvent, prepare_event
    from producers.gateway import GatewaySettings, create_api_key, create_app, ensure_bootstrap_api_key, gateway_cli
    from producers.loader import LoadSummary, load_file, produce, produce_cli
    from producers.sample_data import (
        FORMATS,
        BadKind,
        GenerationParams,
        GenerationResult,
        ProgressFn,
        generate,
        generate_cli,
        write_files,
    )

_HOMES = {
    "producers.direct": ("EventProducer", "ProduceError"),
    "producers.events": ("OutgoingEvent", "prepare_event"),
    "producers.gateway": (
        "GatewaySettings",
        "create_api_key",
        "create_app",
        "ensure_bootstrap_api_key",
        "gateway_cli",
    ),
    "producers.loader": ("LoadSummary", "load_file", "produce", "produce_cli"),
    "producers.sample_data": (
        "FORMATS",
        "BadKind",
        "GenerationParams",
        "GenerationResult",
        "ProgressFn",
        "generate",
        "generate_cli",
        "write_files",
    ),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "FORMATS",
    "BadKind",
    "EventProducer",
    "GatewaySettings",
    "GenerationParams",
    "GenerationResult",
    "LoadSummary",
    "OutgoingEvent",
    "ProduceError",
    "ProgressFn",
    "create_api_key",
    "create_app",
    "ensure_bootstrap_api_key",
    "gateway_cli",
    "generate",
    "generate_cli",
    "load_file",
    "prepare_event",
    "produce",
    "produce_cli",
    "write_files",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'producers' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
