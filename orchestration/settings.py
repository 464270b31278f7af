"""Settings of the orchestration stage: the `orchestration` group of the central `Settings`
(`LEDGERLINE_ORCHESTRATION__*`)."""

from __future__ import annotations

from platform_common.config import Settings
from platform_common.stage_config import OrchestrationSettings

__all__ = ["OrchestrationSettings", "orchestration_settings", "processor_metrics_urls"]


def orchestration_settings(settings: Settings) -> OrchestrationSettings:
    return settings.orchestration


def processor_metrics_urls(config: OrchestrationSettings) -> list[str]:
    return list(config.stream_metrics_urls) or [f"http://127.0.0.1:{config.stream_web_port}/metrics"]
