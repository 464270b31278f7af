"""Settings of the stream-processing stage: the `stream` group of the central `Settings`
(`LEDGERLINE_STREAM__*`)."""

from __future__ import annotations

from platform_common.config import Settings
from platform_common.stage_config import StreamSettings

__all__ = ["StreamSettings", "faust_app_id", "stream_settings"]


def stream_settings(settings: Settings) -> StreamSettings:
    return settings.stream


def faust_app_id(settings: Settings, stream: StreamSettings) -> str:
    return f"{settings.kafka.topic_prefix}{stream.app_id}"
