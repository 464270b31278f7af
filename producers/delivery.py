"""Awaitable Kafka delivery for asyncio services (the gateway).

confluent-kafka reports acknowledgements through delivery callbacks served by `poll()`. A
daemon thread polls, and each batch of messages gets one future that resolves when the last
callback of the batch arrived, so a request of 100 events costs one loop wake-up, not 100.
librdkafka's `message.timeout.ms` is set to the caller's delivery timeout, so a message the
broker never acknowledged ends as an error callback rather than hanging; an extra asyncio
timeout is the backstop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from producers.events import OutgoingEvent


class DeliveryFailed(Exception):
    """At least one message of a batch was not acknowledged by the broker (or timed out)."""


@dataclass(frozen=True, slots=True)
class Delivered:
    partition: int
    offset: int


class _PendingBatch:
    """Counts outstanding acknowledgements; resolves its future once, from the poll thread."""

    __slots__ = ("error", "future", "lock", "loop", "remaining", "results")

    def __init__(self, size: int, loop: asyncio.AbstractEventLoop) -> None:
        self.remaining = size
        self.results: list[Delivered | None] = [None] * size
        self.error: str | None = None
        self.loop = loop
        self.future: asyncio.Future[None] = loop.create_future()
        self.lock = threading.Lock()

    def on_delivery(self, index: int, error: KafkaError | None, message: Message) -> None:
        if error is None:
            self.results[index] = Delivered(message.partition() or 0, message.offset() or 0)
        self._settle(1, None if error is None else str(error))

    def abandon(self, count: int, reason: str) -> None:
        """Messages that never entered the queue (local queue full, unknown topic...)."""
        self._settle(count, reason)

    def _settle(self, count: int, error: str | None) -> None:
        with self.lock:
            if error is not None and self.error is None:
                self.error = error
            self.remaining -= count
            done = self.remaining == 0
        if done:
            self.loop.call_soon_threadsafe(_resolve, self.future)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class AsyncKafkaProducer:
    """One idempotent, acks=all producer per process, shared by all requests."""

    def __init__(self, config: dict[str, Any], delivery_timeout_s: float) -> None:
        self.delivery_timeout_s = delivery_timeout_s
        self._producer = Producer(
            {
                **config,
                "message.timeout.ms": int(delivery_timeout_s * 1000),
                "logger": logging.getLogger("producers.kafka"),  # librdkafka logs as JSON, via poll()
            }
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll_forever, name="kafka-poll", daemon=True)
        self._thread.start()

    @property
    def producer(self) -> Producer:
        return self._producer

    def _poll_forever(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.05)

    async def send(self, messages: Sequence[OutgoingEvent]) -> list[Delivered]:
        """Produce every message and return once the broker acknowledged all of them.

        Raises `DeliveryFailed` when any message failed or the delivery timeout passed; the
        caller must then not report success for any message of the batch.
        """
        if not messages:
            return []
        batch = _PendingBatch(len(messages), asyncio.get_running_loop())
        produce = self._producer.produce
        for index, message in enumerate(messages):
            try:
                produce(
                    message.topic,
                    message.value,
                    message.key,
                    headers=message.headers,
                    on_delivery=partial(batch.on_delivery, index),
                )
            except (BufferError, KafkaException) as error:
                batch.abandon(len(messages) - index, f"not queued: {error!r}")
                break
        try:
            await asyncio.wait_for(asyncio.shield(batch.future), self.delivery_timeout_s + 2.0)
        except TimeoutError:
            raise DeliveryFailed(f"no acknowledgement within {self.delivery_timeout_s}s") from None
        if batch.error is not None:
            raise DeliveryFailed(batch.error)
        return [result for result in batch.results if result is not None]

    def close(self, timeout_s: float = 10.0) -> int:
        """Flush what is queued, stop polling; returns the number of messages left unsent."""
        remaining = self._producer.flush(timeout_s)
        self._stop.set()
        self._thread.join(timeout=5)
        return remaining
