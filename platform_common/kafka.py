"""confluent-kafka clients configured once, the same way, for every stage.

Producers are idempotent with acks=all so a retry after a network blip never duplicates or
reorders a partition; consumers never auto-commit, because each stage commits only after its
output is durable.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from platform_common.config import Settings, get_settings
from platform_common.topics import TopicSpec, standard_topics

log = logging.getLogger(__name__)


def base_config(settings: Settings | None = None) -> dict[str, Any]:
    settings = settings or get_settings()
    return {
        "bootstrap.servers": settings.kafka.bootstrap_servers,
        "client.id": settings.kafka.client_id,
    }


def producer_config(settings: Settings | None = None, **overrides: Any) -> dict[str, Any]:
    return {
        **base_config(settings),
        "acks": "all",
        "enable.idempotence": True,
        "compression.type": "lz4",
        "linger.ms": 5,
        "batch.num.messages": 10000,
        "queue.buffering.max.messages": 500000,
        **overrides,
    }


def consumer_config(group_id: str, settings: Settings | None = None, **overrides: Any) -> dict[str, Any]:
    return {
        **base_config(settings),
        "group.id": group_id,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        **overrides,
    }


# librdkafka's own log lines are routed through Python logging so they come out as JSON too.
_client_log = logging.getLogger("librdkafka")


def make_producer(settings: Settings | None = None, **overrides: Any) -> Producer:
    return Producer(producer_config(settings, **overrides), logger=_client_log)


def make_consumer(group_id: str, settings: Settings | None = None, **overrides: Any) -> Consumer:
    return Consumer(consumer_config(group_id, settings, **overrides), logger=_client_log)


def close_consumer(consumer: Consumer) -> None:
    """Close a group consumer without the hang `Consumer.close()` has in one state.

    When a join has completed but its assignment is still queued for the application (one poll
    away; a sink stopped during its first second is the usual case), `close()` blocks forever,
    holding the GIL (seen with confluent-kafka 2.13 to 2.16, static and dynamic members alike). Leaving
    the subscription and serving the queue first hands over and revokes that assignment, so
    close() has nothing to wait for. A message the serving poll returns is dropped: nothing
    past the committed offsets is lost by that, its partition's next owner reads it again.
    """
    try:
        consumer.unsubscribe()
        consumer.consume(num_messages=1, timeout=0)
    except (KafkaException, RuntimeError) as error:  # already closed, or the cluster is gone
        log.debug("consumer not settled before close", extra={"error": str(error)})
    consumer.close()


def make_admin(settings: Settings | None = None) -> AdminClient:
    return AdminClient(base_config(settings), logger=_client_log)


def ensure_topics(specs: Iterable[TopicSpec], settings: Settings | None = None, timeout_s: float = 30.0) -> list[str]:
    """Create missing topics; existing ones are left alone. Returns the names it created."""
    settings = settings or get_settings()
    admin = make_admin(settings)
    existing = set(admin.list_topics(timeout=timeout_s).topics)
    wanted = [spec for spec in specs if spec.name not in existing]
    if not wanted:
        return []
    futures = admin.create_topics(
        [
            NewTopic(
                spec.name,
                num_partitions=spec.partitions,
                replication_factor=settings.kafka.replication_factor,
                config=spec.config(),
            )
            for spec in wanted
        ],
        operation_timeout=timeout_s,
    )
    created = []
    for name, future in futures.items():
        try:
            future.result(timeout=timeout_s)
            created.append(name)
        except KafkaException as error:
            if error.args[0].name() != "TOPIC_ALREADY_EXISTS":
                raise
    log.info("topics created", extra={"topics": created})
    return created


def ensure_standard_topics(settings: Settings | None = None) -> list[str]:
    settings = settings or get_settings()
    return ensure_topics(standard_topics(settings.kafka.topic_prefix, settings.kafka.default_partitions), settings)
