"""The lake sink loop: consume raw + quarantine topics, batch per partition, archive, then commit.

Ordering per topic-partition: at most one upload in flight, and a partition's offsets are
committed (synchronously) only after its object and manifest are durable. Across partitions
uploads overlap. The consumer is touched only from the loop's own thread (consume runs in a
worker thread while uploads proceed, but commits, seeks and lookups happen between consumes).
Any unexpected error ends the process: what was not committed is re-consumed on restart and the
write-once keys turn the re-run into skips, so crashing is always safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from platform_common.avro_codec import SchemaCatalog
from platform_common.config import Settings
from platform_common.health import HealthCheck
from platform_common.kafka import close_consumer, make_consumer
from platform_common.s3 import ensure_bucket, s3_client
from sinks.lake import metrics
from sinks.lake.batch import BatchLimits, PartitionBuffer
from sinks.lake.envelope import EventInspector
from sinks.lake.layout import topic_families
from sinks.lake.records import RecordBuilder
from sinks.lake.settings import LakeSinkSettings, consumer_group, instance_id
from sinks.lake.store import FlushResult, LakeStore

log = logging.getLogger(__name__)
TP = tuple[str, int]
_REBALANCING = {
    KafkaError.REBALANCE_IN_PROGRESS,
    KafkaError.ILLEGAL_GENERATION,
    KafkaError.UNKNOWN_MEMBER_ID,
    KafkaError._ASSIGNMENT_LOST,
}


@dataclass
class SinkStats:
    records_consumed: int = 0
    objects_written: int = 0
    objects_existing: int = 0
    records_written: int = 0
    bytes_written: int = 0
    flush_seconds: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))
    committed: dict[TP, int] = field(default_factory=dict)
    heartbeat: float = field(default_factory=time.monotonic)


class LakeSink:
    def __init__(self, settings: Settings, lake: LakeSinkSettings, catalog: SchemaCatalog | None = None) -> None:
        if catalog is None:
            from schemas import catalog as shipped_catalog

            catalog = shipped_catalog()
        self.settings = settings
        self.lake = lake
        self.families = topic_families(settings.kafka.topic_prefix, lake.include_quarantine)
        self.records = RecordBuilder(self.families, EventInspector(catalog, lake.decode_mode))
        self.limits = BatchLimits(lake.max_batch_records, lake.max_batch_bytes, lake.max_batch_seconds)
        self.stats = SinkStats()
        self._stop = threading.Event()
        self._buffers: dict[TP, PartitionBuffer] = {}
        self._in_flight: set[asyncio.Task[FlushResult]] = set()
        self._rebalances: list[tuple[str, list[TopicPartition]]] = []
        self._assigned: set[TP] = set()
        self._lag_at = 0.0

    def stop(self) -> None:
        """Thread- and signal-safe: finish the current cycle, archive what is buffered, commit, exit."""
        self._stop.set()

    def run(self) -> SinkStats:
        asyncio.run(self.run_async())
        return self.stats

    async def run_async(self) -> None:
        consumer = make_consumer(
            consumer_group(self.settings, self.lake),
            self.settings,
            **{
                "group.instance.id": instance_id(self.settings, self.lake),
                "session.timeout.ms": self.lake.session_timeout_ms,
                "fetch.max.bytes": 64 * 1024 * 1024,
            },
        )
        consumer.subscribe(
            sorted(self.families),
            on_assign=lambda _c, parts: self._rebalances.append(("assign", parts)),
            on_revoke=lambda _c, parts: self._rebalances.append(("revoke", parts)),
            on_lost=lambda _c, parts: self._rebalances.append(("revoke", parts)),
        )
        log.info("lake sink started", extra={"topics": sorted(self.families), "bucket": self._bucket})
        try:
            async with s3_client(self.settings) as s3:
                await ensure_bucket(s3, self._bucket)
                store = LakeStore(s3, self._bucket, self.lake.codec)
                try:
                    while not self._stop.is_set():
                        await self._cycle(consumer, store)
                    await self._drain_within_deadline(consumer, store)
                finally:
                    for task in self._in_flight:
                        task.cancel()  # only after the deadline: the next owner finds what got written
                    await asyncio.gather(*self._in_flight, return_exceptions=True)
        finally:
            close_consumer(consumer)
        log.info("lake sink stopped", extra={"objects_written": self.stats.objects_written})

    @property
    def _bucket(self) -> str:
        return self.settings.s3.lake_bucket

    async def _cycle(self, consumer: Consumer, store: LakeStore) -> None:
        messages = await asyncio.to_thread(consumer.consume, self.lake.poll_max_records, self._poll_timeout())
        self.stats.heartbeat = time.monotonic()
        self._apply_rebalances()
        now = time.monotonic()
        for message in messages:
            self._accept(consumer, message, now)
        for buffer in self._buffers.values():
            buffer.seal_if_due(now)
        self._start_uploads(store)
        buffered = sum(buffer.buffered_bytes for buffer in self._buffers.values())
        metrics.BUFFERED_BYTES.set(buffered)
        over = buffered > self.lake.max_buffered_bytes
        if over and not self._in_flight:  # many partitions, none full yet: cut the largest early
            largest = max(self._buffers.values(), key=lambda item: item.open.value_bytes if item.open else 0)
            largest.seal()
            self._start_uploads(store)
        await self._collect(consumer, block=over)
        self._start_uploads(store)
        self._refresh_lag(consumer)

    async def _drain_within_deadline(self, consumer: Consumer, store: LakeStore) -> None:
        """A stop must end the process even when S3 or the group coordinator is slow: exiting with
        records uncommitted is safe, because their next consumer skips the objects already written."""
        try:
            await asyncio.wait_for(self._drain(consumer, store), self.lake.shutdown_timeout_seconds)
        except TimeoutError:
            buffered = sum(len(buffer.sealed) + (buffer.open is not None) for buffer in self._buffers.values())
            log.warning(
                "shutdown drain exceeded its deadline; uncommitted records will be re-read by the next owner",
                extra={"deadline_seconds": self.lake.shutdown_timeout_seconds, "batches_left": buffered},
            )

    async def _drain(self, consumer: Consumer, store: LakeStore) -> None:
        self._apply_rebalances()
        while self._in_flight or any(buffer.sealed or buffer.open for buffer in self._buffers.values()):
            for buffer in self._buffers.values():
                buffer.seal()  # again after each round: a skip re-batches leftovers into an open batch
            self._start_uploads(store)
            await self._collect(consumer, block=True)

    def _poll_timeout(self) -> float:
        """Short while uploads are pending (their commits wait for the next cycle), else until the
        next time-based flush is due, at most half a second."""
        if self._in_flight or any(buffer.sealed for buffer in self._buffers.values()):
            return 0.02
        deadlines = [d for b in self._buffers.values() if (d := b.next_deadline()) is not None]
        if not deadlines:
            return 0.5
        return min(0.5, max(0.01, min(deadlines) - time.monotonic()))

    def _apply_rebalances(self) -> None:
        """Revoked partitions lose their buffers (uncommitted records are the new owner's to
        archive; objects already written are found by it through If-None-Match)."""
        while self._rebalances:
            kind, partitions = self._rebalances.pop(0)
            log.info("partitions %sed", kind, extra={"partitions": [(p.topic, p.partition) for p in partitions]})
            for part in partitions:
                key = (part.topic, part.partition)
                if kind == "assign":
                    self._assigned.add(key)
                    continue
                self._assigned.discard(key)
                self._buffers.pop(key, None)
                self.stats.committed.pop(key, None)
                with contextlib.suppress(KeyError):
                    metrics.CONSUMER_LAG.remove(part.topic, str(part.partition))

    def _accept(self, consumer: Consumer, message: Message, now: float) -> None:
        error = message.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                return
            if error.fatal():
                raise RuntimeError(f"fatal Kafka error: {error}")
            log.warning("kafka error", extra={"error": str(error)})
            return
        topic, partition, offset = message.topic(), message.partition(), message.offset()
        if topic is None or partition is None or offset is None:
            return
        buffer = self._buffers.get((topic, partition))
        if buffer is None:
            if (topic, partition) not in self._assigned:
                return  # fetched before a revocation in the same consume() call
            buffer = self._open_buffer(consumer, topic, partition, offset)
        if not buffer.accepts(offset):
            return
        self.stats.records_consumed += 1
        buffer.add(self.records.build(message, topic, partition, offset), now)

    def _open_buffer(self, consumer: Consumer, topic: str, partition: int, first_offset: int) -> PartitionBuffer:
        """A partition's first batch starts at the committed offset (even if a transaction marker
        sits there), so its key matches the one a pre-crash run computed for the same batch."""
        committed = consumer.committed([TopicPartition(topic, partition)], timeout=30)[0].offset
        start = committed if 0 <= committed <= first_offset else first_offset
        buffer = PartitionBuffer(topic, partition, self.families[topic], start, self.limits)
        self._buffers[(topic, partition)] = buffer
        self.stats.committed[(topic, partition)] = start
        return buffer

    def _start_uploads(self, store: LakeStore) -> None:
        for buffer in self._buffers.values():
            if len(self._in_flight) >= self.lake.max_concurrent_uploads:
                return
            if buffer.in_flight:
                continue
            batch = buffer.take_sealed()
            if batch is None:
                continue
            buffer.in_flight = True
            self._in_flight.add(asyncio.create_task(store.write(buffer, batch)))

    async def _collect(self, consumer: Consumer, block: bool) -> None:
        if block and self._in_flight:
            await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
        done = [task for task in self._in_flight if task.done()]
        commits: list[TopicPartition] = []
        for task in done:
            self._in_flight.discard(task)
            result = task.result()  # an upload that failed after retries ends the process
            buffer = result.buffer
            buffer.in_flight = False
            if self._buffers.get((buffer.topic, buffer.partition)) is not buffer:
                continue  # revoked meanwhile: the new owner re-consumes and finds the object
            self._account(result)
            if not result.created and buffer.skip_to(result.next_offset, unwritten=result.batch):
                self._seek(consumer, buffer, result.next_offset)
            commits.append(TopicPartition(buffer.topic, buffer.partition, result.next_offset))
        if commits:
            try:
                consumer.commit(offsets=commits, asynchronous=False)
            except KafkaException as error:
                if error.args[0].code() not in _REBALANCING:
                    raise
                log.warning("commit refused during a rebalance", extra={"error": str(error)})
                return  # the partitions' next owner re-consumes them and skips the written objects
            for part in commits:
                self.stats.committed[(part.topic, part.partition)] = part.offset

    def _account(self, result: FlushResult) -> None:
        manifest = result.manifest
        self.stats.flush_seconds.append(result.seconds)
        metrics.BATCH_SECONDS.observe(result.seconds)
        metrics.BATCH_AGE_SECONDS.observe(time.monotonic() - result.batch.opened_at)
        if not result.created:
            self.stats.objects_existing += 1
            metrics.OBJECTS_SKIPPED.labels(manifest.family).inc()
            return
        self.stats.objects_written += 1
        self.stats.records_written += manifest.record_count
        self.stats.bytes_written += manifest.size_bytes
        metrics.OBJECTS_WRITTEN.labels(manifest.family).inc()
        metrics.BYTES_WRITTEN.labels(manifest.family).inc(manifest.size_bytes)
        metrics.RECORDS_WRITTEN.labels(manifest.topic).inc(manifest.record_count)
        if manifest.undecodable_count:
            metrics.UNDECODABLE.labels(manifest.topic).inc(manifest.undecodable_count)

    @staticmethod
    def _seek(consumer: Consumer, buffer: PartitionBuffer, offset: int) -> None:
        try:
            consumer.seek(TopicPartition(buffer.topic, buffer.partition, offset))
        except Exception as error:  # noqa: BLE001 - seeking only saves re-reading; accepts() filters anyway
            log.debug("seek skipped", extra={"error": repr(error)})

    def _refresh_lag(self, consumer: Consumer) -> None:
        now = time.monotonic()
        if now - self._lag_at >= self.lake.lag_refresh_seconds:
            self._lag_at = now
            metrics.report_progress(consumer, self.stats, self._buffers)

    def health_checks(self) -> list[HealthCheck]:
        def loop_alive() -> None:
            age = time.monotonic() - self.stats.heartbeat
            if age > 60:
                raise RuntimeError(f"consume loop silent for {age:.0f}s")

        return [("consume_loop", loop_alive)]
