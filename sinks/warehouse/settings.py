"""Settings of the warehouse sink and the MRR rules: the `warehouse_sink` group of the central
`Settings` (`LEDGERLINE_WAREHOUSE_SINK__<FIELD>`, `LEDGERLINE_WAREHOUSE_SINK__MRR__<FIELD>`)."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from hashlib import blake2b

from platform_common.config import Settings
from platform_common.stage_config import DEMO_FX_RATES, MrrRules, WarehouseSinkSettings

__all__ = [
    "DEMO_FX_RATES",
    "MrrRules",
    "WarehouseSinkSettings",
    "consumer_group",
    "instance_id",
    "warehouse_settings",
]


def warehouse_settings(settings: Settings) -> WarehouseSinkSettings:
    return settings.warehouse_sink


def consumer_group(settings: Settings, sink: WarehouseSinkSettings) -> str:
    return settings.kafka.topic_prefix + sink.consumer_name


def instance_id(settings: Settings, sink: WarehouseSinkSettings, topics: Sequence[str] = ()) -> str:
    """The static membership id, ending in a digest of the subscribed topics. A static member that
    rejoins under a known id gets its cached assignment back without a rebalance, even when it
    now subscribes to more topics (switching load_quarantine on would never be assigned the
    quarantine topic); a new id per topic set forces the one rebalance that picks them up."""
    base = sink.instance_id or f"{consumer_group(settings, sink)}@{socket.gethostname()}"
    if not topics:
        return base
    return f"{base}/{blake2b('|'.join(sorted(topics)).encode(), digest_size=4).hexdigest()}"
