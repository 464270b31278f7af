"""The runtime glue between Faust and the processing core.

`StreamRuntime` turns Faust batches into `RawEvent`s, feeds them to the `EventProcessor`, renders
clean and quarantine records, appends each partition's state changes and hands everything to
`PartitionWriter`; it also restores the state from the changelog tables and runs housekeeping.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, cast

import faust
from confluent_kafka import Producer
from faust.types import TP, Message

import schemas
from platform_common.config import Settings
from platform_common.health import HealthReport, run_checks
from platform_common.kafka import make_producer
from platform_common.logging import trace_id_in, trace_ids_field
from platform_common.topics import Family, clean_topic, quarantine_topic, raw_topic
from stream_processors import metrics
from stream_processors.codec import EventCodec
from stream_processors.contract import ContractChecker
from stream_processors.core import EventProcessor, Outcome, ProcessorConfig, RawEvent
from stream_processors.lag import LagTracker, fetch_position
from stream_processors.offsets import OffsetGuard, named
from stream_processors.output import OutRecord, PartitionNotOwned, PartitionWriter
from stream_processors.quarantine import (
    clean_headers,
    encode_record,
    log_quarantined,
    quarantine_headers,
    quarantine_record,
)
from stream_processors.reference import ReferenceSource
from stream_processors.settings import StreamSettings, faust_app_id
from stream_processors.watchdog import PositionWatch, stalled_recovery

log = logging.getLogger(__name__)
MICROS_PER_SECOND = 1_000_000
SEEN_SWEEP_EVERY_S = 600.0
PROGRESS_EVERY_S = 30.0


def now_micros() -> int:
    return time.time_ns() // 1000


def processor_config(stream: StreamSettings) -> ProcessorConfig:
    return ProcessorConfig(
        clock_skew_us=int(stream.clock_skew_s * MICROS_PER_SECOND),
        allowed_lateness_us=int(stream.allowed_lateness_s * MICROS_PER_SECOND),
        correction_horizon_us=int(stream.correction_horizon_days * 86_400 * MICROS_PER_SECOND),
        dedupe_retention_us=int(stream.dedupe_retention_days * 86_400 * MICROS_PER_SECOND),
        subscription_grace_us=int(stream.subscription_grace_s * MICROS_PER_SECOND),
    )


class StreamRuntime:
    """Glue between Faust and the processor: batches in, records out, state restored."""

    def __init__(self, app: faust.App, settings: Settings, stream: StreamSettings, exactly_once: bool) -> None:
        prefix = settings.kafka.topic_prefix
        self.app = app
        self.stream = stream
        self.settings = settings
        self.ticks_topic = f"{faust_app_id(settings, stream)}-ticks"
        self._tick_producer: Producer | None = None
        self.family_by_topic = {raw_topic(family, prefix): family for family in Family}
        self.clean_topics = {family: clean_topic(family, prefix) for family in Family}
        self.quarantine_topic = quarantine_topic(prefix)
        self.reference = ReferenceSource(stream.reference_path, stream.reference_reload_s)
        catalog = schemas.catalog()
        self.processor = EventProcessor(
            EventCodec(catalog), ContractChecker(catalog), processor_config(stream), self.reference.data
        )
        self.writer = PartitionWriter(app, exactly_once, next(iter(self.family_by_topic)))
        self.lock = asyncio.Lock()
        self.seen_changelog = self.state_changelog = ""
        self.owned: set[int] | None = None  # partition numbers owned since the last rebalance
        self.batches = 0
        self.last_batch_at = 0.0
        self._blob_number = 0
        self._swept_at = time.monotonic()
        self.lag = LagTracker(self.family_by_topic)
        self.offset_guard = OffsetGuard()
        self.position_watch = PositionWatch()
        self._progress_at = time.monotonic()
        self._progress_events = 0

    def refresh_lag(self) -> None:
        """Consumer lag gauge from the consumer's own state (no broker call; see `lag`)."""
        if self.app.consumer is not None:
            self.lag.refresh(self.app.consumer)

    # -- state restore (called by Faust's recovery through ChangelogTable) --------------------
    def reset(self, assigned: set[TP], newly_assigned: set[TP]) -> None:
        """Keep only partitions still owned and not about to be restored from scratch."""
        raw = self.family_by_topic
        owned = {tp.partition for tp in assigned if tp.topic in raw}
        fresh = {tp.partition for tp in newly_assigned if tp.topic in raw}
        self.owned = owned
        self.offset_guard.forget({tp for tp in assigned if tp.topic in raw})
        self.processor.retain(owned - fresh)
        log.info("rebalance: state kept %s, rebuilt %s", sorted(owned - fresh), sorted(fresh))

    def load_seen(self, partition: int, key: bytes, value: bytes | None) -> None:
        if value:
            self.processor.state(partition).seen.load_blob(value)

    def load_state(self, partition: int, key: bytes, value: bytes | None) -> None:
        self.processor.state(partition).apply(key, value)

    # -- processing ---------------------------------------------------------------------------
    async def handle_messages(self, messages: Sequence[Message]) -> list[Message]:
        """Process one fetch of raw messages and ticks; returns those processed (the caller acks
        them).

        A raw message past its partition's durable `next_offset` is not processed: the ones in
        between never were, so the partition is read again from there (`offsets.OffsetGuard`).
        A tick (a message on `<app id>-ticks`, partition p) decides the parked messages of
        partition p whose grace window ended. Being a Kafka message on p's number, its outputs
        join p's transaction and are committed with its offset, exactly like a raw message's
        (written from the timer instead, they would sit in a transaction that nothing commits
        while the partition is idle).
        """
        started = time.perf_counter()
        done: list[Message] = []
        async with self.lock:
            self._reload_reference()
            now_us = now_micros()
            records: dict[int, list[OutRecord]] = defaultdict(list)
            owned = self.owned
            ticked: set[int] = set()
            reread: dict[TP, int] = {}
            previous: dict[TP, int] = {}  # last offset processed in this batch, per partition
            family_by_topic = self.family_by_topic
            processor = self.processor
            for message in messages:
                if owned is not None and message.partition not in owned:
                    continue  # fetched before a rebalance took the partition away: its new owner has it
                family = family_by_topic.get(message.topic)
                if family is None:  # a tick
                    ticked.add(message.partition)
                    records.setdefault(message.partition, [])
                    done.append(message)
                    continue
                tp = message.tp
                if tp in reread:
                    continue
                if previous.get(tp, -2) + 1 != message.offset:  # the batch's successor needs no check
                    next_offset = processor.next_offset(family, message.partition)
                    restart = self.offset_guard.admit(tp, message.offset, next_offset)
                    if restart is not None:
                        reread[tp] = restart
                        continue
                previous[tp] = message.offset
                raw = RawEvent(
                    family,
                    message.topic,
                    message.partition,
                    message.offset,
                    message.key,
                    message.value,
                    int(message.timestamp * 1000),
                    _headers(message.headers),
                )
                self._collect(processor.process(raw, now_us), now_us, records)
                records.setdefault(message.partition, [])
                done.append(message)
            for partition in sorted(ticked & set(processor.partitions)):
                self._collect(processor.expire_parked(partition, now_us), now_us, records)
            await self._write(records, now_us)
            for tp, offset in sorted(reread.items()):
                await self.app.consumer.seek(tp, offset)
        self.batches += 1
        self.last_batch_at = time.time()
        elapsed = time.perf_counter() - started
        metrics.BATCH_EVENTS.observe(len(messages))
        metrics.BATCH_SECONDS.observe(elapsed)
        self._log_batch(done, elapsed)
        return done

    def _log_batch(self, messages: Sequence[Message], elapsed: float) -> None:
        """A DEBUG line per batch and an INFO progress line at most every PROGRESS_EVERY_S, each
        naming the batch's trace ids (bounded), so a request can be found in a busy worker's log."""
        self._progress_events += len(messages)
        progress = time.monotonic() - self._progress_at >= PROGRESS_EVERY_S
        if not (progress or log.isEnabledFor(logging.DEBUG)):
            return  # collecting trace ids costs a header scan per message: only for a line written
        fields = {
            "events": len(messages),
            "partitions": sorted({message.partition for message in messages}),
            "batch_ms": round(elapsed * 1000, 1),
            **trace_ids_field(trace_id_in(_headers(message.headers)) for message in messages),
        }
        log.debug("batch processed", extra=fields)
        if progress:
            self._progress_at = time.monotonic()
            log.info("progress", extra={**fields, "events_since_last": self._progress_events})
            self._progress_events = 0

    async def housekeeping(self) -> None:
        """Tick partitions with expired parked messages, reload reference data, sweep, gauges;
        and re-read what the fetch consumed but never delivered (see `watchdog`)."""
        async with self.lock:
            self._reload_reference()
            consumer = self.app.consumer
            stalled = stalled_recovery(cast(Any, self.app.tables).recovery)  # Faust internal, see watchdog
            if stalled:
                log.warning("table recovery stalled: reading its changelogs again", extra={"from": named(stalled)})
                await consumer.seek_wait(stalled)
            if self.app.rebalancing or self.app.in_recovery:
                return
            owned_tps = [tp for tp in self.app.assignor.assigned_actives() if tp.topic in self.family_by_topic]
            next_offsets = {
                tp: self.processor.next_offset(self.family_by_topic[tp.topic], tp.partition) for tp in owned_tps
            }
            stuck = self.position_watch.check({tp: fetch_position(consumer, tp) for tp in owned_tps}, next_offsets)
            if stuck:
                await consumer.seek_wait(stuck)
            now_us = now_micros()
            grace = self.processor.config.subscription_grace_us
            owned = {tp.partition for tp in owned_tps}
            for partition in sorted(owned & set(self.processor.partitions)):
                parked = self.processor.partitions[partition].parked.values()
                if any(event.first_seen_us + grace <= now_us for event in parked):
                    self._ticker().produce(self.ticks_topic, b"", partition=partition)
            if self._tick_producer is not None:
                self._tick_producer.poll(0)
            if time.monotonic() - self._swept_at > SEEN_SWEEP_EVERY_S:
                self._swept_at = time.monotonic()
                for state in self.processor.partitions.values():
                    state.seen.expire(now_us)
            metrics.refresh_gauges(self.processor)

    def _ticker(self) -> Producer:
        if self._tick_producer is None:
            self._tick_producer = make_producer(self.settings, **{"linger.ms": 0})
        return self._tick_producer

    def _reload_reference(self) -> None:
        if self.reference.maybe_reload():
            self.processor.reference = self.reference.data

    def _collect(self, outcomes: list[Outcome], now_us: int, records: dict[int, list[OutRecord]]) -> None:
        for outcome in outcomes:
            metrics.observe(outcome)
            event = outcome.event
            if outcome.kind == "clean" and outcome.decoded is not None:
                records[event.partition].append(
                    OutRecord(
                        self.clean_topics[event.family],
                        event.key,
                        outcome.decoded.latest_bytes,
                        clean_headers(outcome),
                        event.timestamp_ms,
                    )
                )
            elif outcome.kind == "quarantined":
                document = quarantine_record(outcome, now_us)
                log_quarantined(outcome, document)
                records[event.partition].append(
                    OutRecord(self.quarantine_topic, event.key, encode_record(document), quarantine_headers(outcome))
                )

    async def _write(self, records: dict[int, list[OutRecord]], now_us: int) -> None:
        for partition, outputs in records.items():
            state = self.processor.partitions.get(partition)
            if state is not None:
                blob, changes = state.drain(partition, now_us)
                if blob is not None:
                    self._blob_number += 1
                    key = b"%d:%d:%d" % (partition, now_us, self._blob_number)
                    outputs.append(OutRecord(self.seen_changelog, key, blob))
                outputs.extend(OutRecord(self.state_changelog, key, value) for key, value in changes)
            try:
                await self.writer.write(partition, outputs)
            except PartitionNotOwned as error:
                # Revoked mid-batch: the offsets of this batch cannot be committed by this worker
                # either, so the partition's new owner reprocesses it. Nothing is lost.
                log.warning("partition revoked during a batch", extra={"partition": partition, "tid": str(error)})

    # -- health -------------------------------------------------------------------------------
    def health(self) -> HealthReport:
        def worker_running() -> None:
            if self.app.should_stop or getattr(self.app, "crash_reason", None) is not None:
                raise RuntimeError(f"worker stopping: {getattr(self.app, 'crash_reason', None)!r}")

        def reference_loaded() -> None:
            if self.stream.reference_path is not None and not self.reference.data.checked:
                raise RuntimeError("reference data not loaded")

        return run_checks([("worker", worker_running), ("reference_data", reference_loaded)])


def _headers(headers: Any) -> tuple[tuple[str, bytes], ...]:
    if not headers:
        return ()
    items = headers.items() if isinstance(headers, Mapping) else headers
    return tuple((str(name), value if isinstance(value, bytes) else bytes(value or b"")) for name, value in items)
