"""The gateway's settings: the `gateway` group of the central `Settings` (`LEDGERLINE_GATEWAY__*`)."""

from __future__ import annotations

from platform_common.config import Settings
from platform_common.stage_config import GatewaySettings

__all__ = ["GatewaySettings", "gateway_settings"]


def gateway_settings(settings: Settings) -> GatewaySettings:
    return settings.gateway
