"""Creates everything the stages expect to exist: topics, the lake bucket, the warehouse.

Each step is idempotent, so `ledgerline setup` can run on every deploy and every demo start.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from platform_common.config import Settings, get_settings
from platform_common.kafka import ensure_standard_topics
from platform_common.postgres import set_up_database
from platform_common.s3 import ensure_lake_bucket


@dataclass(frozen=True)
class SetupReport:
    topics_created: list[str]
    bucket_created: bool
    migrations_applied: list[str]


def set_up_platform(settings: Settings | None = None) -> SetupReport:
    settings = settings or get_settings()
    return SetupReport(
        topics_created=ensure_standard_topics(settings),
        bucket_created=asyncio.run(ensure_lake_bucket(settings)),
        migrations_applied=set_up_database(settings),
    )
