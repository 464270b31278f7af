"""Writing a batch's output for one source partition: clean, quarantine and changelog records.

Everything a batch produces for source partition p is written to partition p of its target
topic (clean topics and the quarantine have the raw topics' partition count, checked at start),
so a customer's events stay co-partitioned. Under at-least-once (the default) Faust flushes this
producer before it commits offsets. Under exactly-once every record belongs to the transaction
of partition p (Faust runs one transactional producer per partition and commits the consumed
offsets in it); holding that transaction's lock while appending means a commit cannot split a
batch.

Records go through aiokafka's batch builder rather than Faust's per-message `send` path, which
costs ~60 us per message in Python bookkeeping (measured; see the benchmark notes). The two
attributes used below (`_transaction_producers`, `_trn_locks`) are Faust's aiokafka driver
internals; they are isolated here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import faust

log = logging.getLogger(__name__)


class PartitionNotOwned(RuntimeError):
    """The transactional producer of a partition is gone: it was revoked in a rebalance."""


@dataclass(slots=True)
class OutRecord:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    timestamp_ms: int | None = None


class PartitionWriter:
    def __init__(self, app: faust.App, exactly_once: bool, group_topic: str) -> None:
        self.app = app
        self.exactly_once = exactly_once
        self.group_topic = group_topic  # any consumed topic: all share one co-partitioned group
        self._crash: asyncio.Future[None] | None = None
        # Set (synchronously, before any flush waiting on the batch resumes) when an output batch
        # was not delivered: the consumer then refuses to commit offsets (see fetch.py).
        self.delivery_error: BaseException | None = None

    def _producer(self, partition: int) -> tuple[Any, Any]:
        driver: Any = self.app.producer
        if not self.exactly_once:
            return driver._producer, contextlib.nullcontext()
        group = self.app.assignor.group_for_topic(self.group_topic)
        transactional_id = f"{self.app.conf.id}-{group}-{partition}"
        producer = driver._transaction_producers.get(transactional_id)
        if producer is None:
            raise PartitionNotOwned(transactional_id)
        return producer, driver._trn_locks[transactional_id]

    async def write(self, partition: int, records: Sequence[OutRecord]) -> None:
        if not records:
            return
        producer, lock = self._producer(partition)
        batches: list[tuple[str, Any]] = []
        current: dict[str, Any] = {}
        for record in records:
            builder = current.get(record.topic)
            if (
                builder is None
                or builder.append(
                    timestamp=record.timestamp_ms, key=record.key, value=record.value, headers=record.headers
                )
                is None
            ):
                builder = current[record.topic] = producer.create_batch()
                batches.append((record.topic, builder))
                metadata = builder.append(
                    timestamp=record.timestamp_ms, key=record.key, value=record.value, headers=record.headers
                )
                if metadata is None:
                    raise ValueError(f"record for {record.topic} is larger than producer_max_batch_size")
        async with lock:
            for topic, builder in batches:
                future = await producer.send_batch(builder, topic, partition=partition)
                future.add_done_callback(self._check_delivery)

    def _check_delivery(self, future: asyncio.Future[Any]) -> None:
        if future.cancelled() or future.exception() is None:
            return
        error = future.exception()
        self.delivery_error = error
        log.error("output batch not delivered; stopping the worker", extra={"error": repr(error)})
        # Under at-least-once the offsets must not be committed past a lost batch; under
        # exactly-once the transaction fails anyway. Crashing makes Faust stop and a supervisor
        # restart the worker from the last committed offsets.
        self._crash = asyncio.ensure_future(self.app.crash(error))  # type: ignore[arg-type]
