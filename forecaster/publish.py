"""The compact per-run record on the `forecasts` topic (JSON, key = run id).

Published after the vintage is committed to Postgres: the database is the source of truth and the
record tells downstream consumers a new vintage exists. A failed delivery raises, so the job exits
non-zero while the vintage itself stays stored.
"""

from __future__ import annotations

import json
from typing import Any

from platform_common.config import Settings, get_settings
from platform_common.kafka import make_producer
from platform_common.topics import forecasts_topic


class PublishError(RuntimeError):
    """The run record could not be delivered to Kafka."""


def encode(record: dict[str, Any]) -> bytes:
    return json.dumps(record, separators=(",", ":"), sort_keys=True, default=str).encode()


def publish_run_record(record: dict[str, Any], settings: Settings | None = None, timeout_s: float = 30.0) -> None:
    settings = settings or get_settings()
    topic = forecasts_topic(settings.kafka.topic_prefix)
    producer = make_producer(settings)
    failures: list[str] = []

    def on_delivery(error: Any, _message: Any) -> None:
        if error is not None:
            failures.append(str(error))

    producer.produce(topic, key=str(record["run_id"]).encode(), value=encode(record), on_delivery=on_delivery)
    undelivered = producer.flush(timeout_s)
    if undelivered or failures:
        raise PublishError(f"run record not delivered to {topic}: {failures or f'{undelivered} pending'}")
