"""The consume loop: clean topics (and the quarantine topic) -> batches -> one transaction each
(rows + offsets together).

Offsets come from platform.consumer_offset, set on every assignment (on_assign), so Kafka's
committed offsets never matter for correctness. Decoding the next batch overlaps with the
database working on the previous one (one batch in flight, on its own thread and connection).
Batch log lines name the trace ids the batch carried (`trace_id` headers); per-event warnings
and errors are logged inside `traced(...)` so they carry their event's trace id.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psycopg
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message, TopicPartition

import schemas
from platform_common.avro_codec import UndecodableEvent
from platform_common.config import Settings
from platform_common.kafka import close_consumer, make_consumer
from platform_common.logging import trace_ids_field, traced
from platform_common.metrics import serve_metrics
from platform_common.postgres import Role, connect
from platform_common.topics import Family, clean_topic, quarantine_topic
from sinks.warehouse import metrics, progress
from sinks.warehouse.headers import header_facts
from sinks.warehouse.quarantine import MalformedQuarantineRecord, parse_record
from sinks.warehouse.reference import NameSource
from sinks.warehouse.rows import Batch, Position, to_row
from sinks.warehouse.settings import WarehouseSinkSettings, consumer_group, instance_id, warehouse_settings
from sinks.warehouse.store import (
    SESSION_OPTIONS,
    BatchResult,
    acquire_session_lock,
    apply_batch,
    ensure_state,
    stored_offsets,
)

log = logging.getLogger(__name__)


@dataclass
class RunReport:
    batches: int = 0
    messages: int = 0
    rows_by_table: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


class WarehouseSink:
    def __init__(self, settings: Settings, sink: WarehouseSinkSettings | None = None) -> None:
        self.settings = settings
        self.sink = sink or warehouse_settings(settings)
        prefix = settings.kafka.topic_prefix
        self.families = {clean_topic(family, prefix): family for family in Family}
        self.quarantine_topic = quarantine_topic(prefix) if self.sink.load_quarantine else None
        self.topics = sorted(self.families) + ([self.quarantine_topic] if self.quarantine_topic else [])
        self.serializer = schemas.serializer()
        self.names = NameSource(self.sink.reference_path)  # an unreadable file fails here, at start
        self._stop = threading.Event()
        self._assigned: set[tuple[str, int]] = set()
        self._committed: dict[tuple[str, int], int] = {}
        self._inflight: tuple[Future[BatchResult], Batch] | None = None
        self._pending = Batch()
        self._report = RunReport()
        self._last_loop = time.monotonic()
        self._lag_checked = 0.0

    def stop(self) -> None:
        self._stop.set()

    # -- lifecycle ------------------------------------------------------------------------------

    def run(self, *, until_caught_up: bool = False) -> RunReport:
        """Consume until stop() (or, with until_caught_up, until every partition is drained)."""
        started = time.monotonic()
        sink = self.sink
        with (
            connect(Role.WRITER, self.settings, autocommit=True, application_name="warehouse-sink-lock") as lock,
            connect(
                Role.WRITER,
                self.settings,
                prepare_threshold=None,
                options=SESSION_OPTIONS,
                application_name="warehouse-sink",
            ) as conn,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="warehouse-batch") as executor,
        ):
            acquire_session_lock(lock, sink.lock_wait_seconds)
            ensure_state(conn, sink.reporting_currency)
            self._lock_conn = lock
            consumer = make_consumer(
                consumer_group(self.settings, sink),
                self.settings,
                **{
                    "group.instance.id": instance_id(self.settings, sink, self.topics),
                    "session.timeout.ms": sink.session_timeout_ms,
                    "enable.partition.eof": False,
                },
            )
            # Watermark queries on the group consumer queue behind its fetches (~0.5 s each); a
            # separate, never-subscribed client answers in about a millisecond.
            self._probe = make_consumer(consumer_group(self.settings, sink) + "-watermarks", self.settings)
            server = None
            if sink.metrics_port:
                server = serve_metrics(sink.metrics_host, sink.metrics_port, self._health_checks())
            try:
                consumer.subscribe(
                    self.topics,
                    on_assign=self._on_assign,
                    on_revoke=self._on_revoke,
                    on_lost=self._on_revoke,
                )
                self._loop(consumer, conn, executor, until_caught_up)
            finally:
                if server is not None:
                    server.shutdown()
                close_consumer(consumer)
                self._probe.close()
        self._report.seconds = time.monotonic() - started
        return self._report

    def _loop(
        self, consumer: Consumer, conn: psycopg.Connection[Any], executor: ThreadPoolExecutor, until_caught_up: bool
    ) -> None:
        sink = self.sink
        pending_since: float | None = None
        while not self._stop.is_set():
            self._last_loop = time.monotonic()
            room = max(1, min(sink.poll_max_records, sink.batch_max_events - self._pending.messages))
            messages = consumer.consume(num_messages=room, timeout=0.2)
            for message in messages:
                self._add(message)
            if self._pending.messages and pending_since is None:
                pending_since = time.monotonic()
            due = pending_since is not None and time.monotonic() - pending_since >= sink.batch_max_seconds
            idle_flush = until_caught_up and not messages and self._pending.messages > 0
            if self._pending.messages >= sink.batch_max_events or due or idle_flush:
                self._submit(conn, executor)
                pending_since = None
            self._collect(block=False)
            self._refresh_lag(consumer)
            drained = until_caught_up and not messages and not self._pending.messages and self._inflight is None
            if drained and self._caught_up(consumer):
                break
        if self._pending.messages:
            self._submit(conn, executor)
        self._collect(block=True)

    # -- batches --------------------------------------------------------------------------------

    def _add(self, message: Message) -> None:
        error = message.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                return
            if error.retriable() or error.code() in (KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN):
                log.warning("transient Kafka error; the client retries", extra={"error": str(error)})
                return
            raise KafkaException(error)
        topic, partition, offset = message.topic(), message.partition(), message.offset()
        if topic is None or partition is None or offset is None:
            return
        position = Position(topic, partition, offset)
        late, trace_id = header_facts(message.headers())
        value = message.value()
        if value is None:
            self._pending.skip(position, trace_id)
            return
        if topic == self.quarantine_topic:
            self._add_quarantine(value, position, trace_id)
            return
        family = self.families[topic]
        try:
            decoded = self.serializer.decode(value)
            if decoded.subject != family.value:
                raise UndecodableEvent("wrong_subject", f"{decoded.subject} event on {topic}")
        except UndecodableEvent as problem:
            metrics.UNDECODABLE.labels(topic).inc()
            with traced(trace_id):
                log.error(
                    "undecodable clean event skipped",
                    extra={"topic": topic, "partition": partition, "offset": offset, "reason": problem.reason},
                )
            self._pending.skip(position, trace_id)
            return
        if late:
            metrics.LATE_EVENTS.labels(topic).inc()
        row = to_row(family, decoded.record, decoded.writer_version, position, late)
        self._pending.add(family, row, position, trace_id or row[9])

    def _add_quarantine(self, value: bytes, position: Position, trace_id: str | None) -> None:
        """A quarantine record becomes a warehouse.quarantine_event row; a malformed one is skipped."""
        try:
            row = parse_record(value)
        except MalformedQuarantineRecord as problem:
            metrics.UNDECODABLE.labels(position.topic).inc()
            with traced(trace_id):
                log.error(
                    "malformed quarantine record skipped",
                    extra={
                        "topic": position.topic,
                        "partition": position.partition,
                        "offset": position.offset,
                        "reason": str(problem),
                    },
                )
            self._pending.skip(position, trace_id)
            return
        self._pending.add_quarantine(row, position, row["trace_id"] or trace_id)

    def _submit(self, conn: psycopg.Connection[Any], executor: ThreadPoolExecutor) -> None:
        self._collect(block=True)
        batch, self._pending = self._pending, Batch()
        for topic, count in batch.events_by_topic.items():  # once per batch: labels() per message costs
            metrics.EVENTS_IN.labels(topic).inc(count)
        future = executor.submit(apply_batch, conn, batch, self.sink.consumer_name, self.sink, self.names.current())
        self._inflight = (future, batch)

    def _collect(self, *, block: bool) -> None:
        """Account for the batch in flight once it committed; re-raise its failure."""
        if self._inflight is None:
            return
        future, batch = self._inflight
        if not block and not future.done():
            return
        self._inflight = None
        try:
            result = future.result()
        except Exception:
            log.exception(
                "batch failed; nothing of it was committed",
                extra={"messages": batch.messages, **trace_ids_field(batch.trace_ids)},
            )
            raise
        self._committed.update(batch.next_offsets)
        report = self._report
        report.batches += 1
        report.messages += batch.messages
        metrics.BATCH_SECONDS.observe(result.seconds)
        metrics.BATCH_EVENTS.observe(batch.messages)
        metrics.DUPLICATES.inc(batch.duplicates)
        for table, count in result.rows_by_table.items():
            report.rows_by_table[table] = report.rows_by_table.get(table, 0) + count
            metrics.ROWS_MERGED.labels(table).inc(count)
        if result.horizon is not None:
            metrics.HORIZON.set(time.mktime(result.horizon.timetuple()))
        log.info(
            "batch committed",
            extra={
                "messages": batch.messages,
                "rows": batch.row_count,
                "quarantine_records": len(batch.quarantine),
                "seconds": round(result.seconds, 3),
                **trace_ids_field(batch.trace_ids),
            },
        )

    # -- partitions -----------------------------------------------------------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._collect(block=True)
        stored = stored_offsets(self._lock_conn, self.sink.consumer_name, self.topics)
        for tp in partitions:
            key = (tp.topic, tp.partition)
            tp.offset = stored.get(key, OFFSET_BEGINNING)
            if key in stored:
                self._committed[key] = stored[key]
        consumer.assign(partitions)
        self._assigned = {(tp.topic, tp.partition) for tp in partitions}
        log.info("partitions assigned from stored offsets", extra={"partitions": len(partitions)})

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._collect(block=True)
        revoked = {(tp.topic, tp.partition) for tp in partitions}
        self._pending.drop_partitions(revoked)
        self._assigned -= revoked

    def _lag(self, consumer: Consumer) -> dict[tuple[str, int], int]:
        """Per assigned partition: records past what is consumed (commit markers excluded once
        the consumer's position has moved past them; see progress.py)."""
        marks = progress.watermarks(self._probe, self._assigned)
        busy = set(self._pending.next_offsets)
        if self._inflight is not None:
            busy.update(self._inflight[1].next_offsets)
        return progress.lag(marks, self._committed, progress.positions(consumer, marks), busy)

    def _caught_up(self, consumer: Consumer) -> bool:
        """Every partition of the subscribed topics is assigned here (one sink per warehouse, so a
        partial assignment means a departed member still holds some until its session expires)
        and consumed through its high watermark (the gauge says so too)."""
        if not self._assigned:
            return False
        try:
            if not progress.partitions(self._probe, self.topics) <= self._assigned:
                return False
            lags = self._lag(consumer)
        except KafkaException as error:  # metadata not ready (new topic, leader moving): ask again
            log.warning("caught-up check failed; retrying", extra={"error": str(error)})
            return False
        if any(lags.values()):
            return False
        self._set_lag(lags)
        return True

    def _refresh_lag(self, consumer: Consumer) -> None:
        now = time.monotonic()
        if now - self._lag_checked < self.sink.lag_refresh_seconds or not self._assigned:
            return
        self._lag_checked = now
        try:
            self._set_lag(self._lag(consumer))
        except KafkaException as error:
            log.warning("consumer lag not measured", extra={"error": str(error)})

    @staticmethod
    def _set_lag(lags: dict[tuple[str, int], int]) -> None:
        for (topic, partition), lag in lags.items():
            metrics.CONSUMER_LAG.labels(topic, str(partition)).set(lag)

    def _health_checks(self) -> list[tuple[str, Any]]:
        def postgres() -> None:
            self._lock_conn.execute("SELECT 1")

        def kafka() -> None:
            # On the probe client: the group consumer answers metadata requests behind its own
            # fetches (3-5 s while it catches up), so the check timed out and process
            # supervisors (orchestration, the demo) waited 10-30 s for a healthy sink.
            self._probe.list_topics(timeout=2)

        def loop() -> None:
            stalled = time.monotonic() - self._last_loop
            if stalled > 60:
                raise RuntimeError(f"consume loop stalled for {stalled:.0f}s")

        return [("postgres", postgres), ("kafka", kafka), ("consume_loop", loop)]
