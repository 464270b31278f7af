"""Settings of the lake sink: the `lake_sink` group of the central `Settings` (`LEDGERLINE_LAKE_SINK__*`)."""

from __future__ import annotations

import socket

from platform_common.config import Settings
from platform_common.stage_config import Codec, LakeSinkSettings

__all__ = ["Codec", "LakeSinkSettings", "consumer_group", "instance_id", "lake_settings"]


def lake_settings(settings: Settings) -> LakeSinkSettings:
    return settings.lake_sink


def consumer_group(settings: Settings, lake: LakeSinkSettings) -> str:
    return settings.kafka.topic_prefix + lake.group_id


def instance_id(settings: Settings, lake: LakeSinkSettings) -> str:
    return lake.instance_id or f"{consumer_group(settings, lake)}@{socket.gethostname()}"
