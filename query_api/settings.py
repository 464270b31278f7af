"""The query API's settings: the `query` group of the central `Settings` (`LEDGERLINE_QUERY__*`)."""

from __future__ import annotations

from platform_common.config import Settings
from platform_common.stage_config import QuerySettings

__all__ = ["QuerySettings", "query_settings"]


def query_settings(settings: Settings) -> QuerySettings:
    return settings.query
