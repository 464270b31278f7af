"""A small helper for services that produce events straight to Kafka, without the gateway.

It does exactly what the gateway does to an event (contract validation, Avro single-object
encoding, partition key, `trace_id` header) with the platform's idempotent acks=all producer,
so a consumer cannot tell which door an event came through. Delivery is asynchronous;
`flush()` waits for every acknowledgement and raises if any message was lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from confluent_kafka import KafkaError, Message

from platform_common.config import Settings, get_settings
from platform_common.kafka import make_producer
from platform_common.topics import Family, raw_topic
from producers.events import OutgoingEvent, prepare_event


class ProduceError(RuntimeError):
    """Some messages were not acknowledged by the broker; `failures` has (event_id, reason)."""

    def __init__(self, failures: list[tuple[str, str]]) -> None:
        self.failures = failures
        super().__init__(f"{len(failures)} event(s) not acknowledged, first: {failures[0]}")


class EventProducer:
    """Validate + encode + produce events of any family to the raw topics.

    >>> with EventProducer() as events:  # settings from LEDGERLINE_* variables
    ...     events.send("payment", payment_json, trace_id="4bf92f3577b34da6a3ce929d0e0e4736")
    ... # leaving the block flushes and raises ProduceError if anything was not acknowledged
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        stamp_received_at: bool = False,
        producer_config: dict[str, Any] | None = None,
    ) -> None:
        """`producer_config` overrides librdkafka settings of the platform producer (keep
        acks=all and idempotence); `stamp_received_at` fills metadata.received_at for
        services that act as an ingestion point themselves."""
        self._settings = settings or get_settings()
        self._producer = make_producer(self._settings, **(producer_config or {}))
        self._stamp_received_at = stamp_received_at
        self._failures: list[tuple[str, str]] = []
        self.acknowledged = 0

    def send(self, family: Family | str, event: Mapping[str, Any], *, trace_id: str | None = None) -> str:
        """Queue one event; returns its event_id. Raises `schemas.ContractViolation` at once
        for an invalid event (nothing is produced), `BufferError` only if the local queue
        stays full after waiting for deliveries."""
        resolved = Family(family)
        message = prepare_event(
            resolved,
            event,
            topic=raw_topic(resolved, self._settings.kafka.topic_prefix),
            trace_id=trace_id,
            received_at=datetime.now(UTC) if self._stamp_received_at else None,
        )
        self._produce(message)
        return message.event_id

    def _produce(self, message: OutgoingEvent) -> None:
        def on_delivery(error: KafkaError | None, _: Message) -> None:
            if error is None:
                self.acknowledged += 1
            else:
                self._failures.append((message.event_id, str(error)))

        for _ in range(100):
            try:
                self._producer.produce(
                    message.topic, message.value, message.key, headers=message.headers, on_delivery=on_delivery
                )
                break
            except BufferError:
                self._producer.poll(0.1)  # local queue full: let deliveries drain it
        else:
            raise BufferError("local producer queue stayed full for 10 s")
        self._producer.poll(0)

    def flush(self, timeout_s: float = 30.0) -> None:
        """Wait for every queued event; raise `ProduceError` if any was not acknowledged."""
        unsent = self._producer.flush(timeout_s)
        if unsent:
            self._failures.append(("<queued>", f"{unsent} message(s) still queued after {timeout_s}s"))
        if self._failures:
            failures, self._failures = self._failures, []
            raise ProduceError(failures)

    def __enter__(self) -> EventProducer:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self.flush()
        else:
            self._producer.flush(5.0)
