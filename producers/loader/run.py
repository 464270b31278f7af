"""Load one file onto a family's raw topic: validate, encode, produce, checkpoint.

Chunks are prepared (parsed, validated and Avro-encoded column-wise, see `prepare`) ahead of
production in a background thread, or in worker processes (`workers`). Within a batch,
production is asynchronous (librdkafka batches, compresses and retries; the producer is
idempotent with acks=all) and costs one C call per message: delivery reports come only for
failures. After each batch the loader waits for its acknowledgements and saves the
checkpoint (on a thread of its own, `checkpoint.CheckpointWriter`) before producing the next
one, so a killed run re-sends at most the batch it was in and, if its checkpoint was still
being written, the one before (`DEFAULT_BATCH_SIZE` records each unless told otherwise); the
next batches are being prepared meanwhile. Ctrl-C also saves the checkpoint.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from confluent_kafka import KafkaError, Message, Producer

from platform_common.config import Settings
from platform_common.kafka import make_producer
from platform_common.topics import Family, raw_topic
from producers.events import new_trace_id
from producers.loader import checkpoint as checkpoints
from producers.loader.prepare import Headers, prepared_chunks
from producers.loader.readers import Format, detect_format, read_chunks

# The preparing thread and this one (which produces) share the GIL; neither holds it long, but
# with Python's default 5 ms switch interval a thread that wants it can wait that long for
# it. A shorter interval while loading measured ~35% more events/s on 2 cores.
GIL_SWITCH_INTERVAL_S = 0.0005
# A batch's last messages would wait `linger.ms` for more that never come before they are
# sent; a flush, even one this short, makes librdkafka send what it holds at once. Measured:
# the wait for a batch's acknowledgements drops from ~13 ms to ~3 ms with linger.ms=10.
TAIL_KICK_S = 0.001
# Records prepared per call (a whole number of batches): each call costs ~3 ms on top of the
# per-record work, ~0.7 us per record at 5000 records, ~0.2 at 20000.
PREPARE_RECORDS = 20_000
# Each batch ends with a wait for its acknowledgements (one acks=all round trip, ~5-10 ms) that
# bounds what a killed run re-sends (this batch, and the one before if its checkpoint save was
# still running: see the module docstring). Measured on 2 CPUs, 1M events: 200 batches of
# 5000 spent ~1.4 s of a ~4 s load in those waits, 50 batches of 20000 ~0.4 s. A re-sent batch
# is harmless (event ids make it a duplicate the stream processor drops), so the larger one.
DEFAULT_BATCH_SIZE = 20_000
ProgressFn = Callable[[int], None]  # records settled in this run so far
AUTO_WORKERS_MIN_BYTES = 32 * 1024 * 1024
DEFAULT_PRODUCER_OVERRIDES: dict[str, Any] = {"message.timeout.ms": 60_000, "linger.ms": 10}


class LoadError(RuntimeError):
    """The broker refused or lost messages; re-run to resume from the checkpoint."""


@dataclass
class LoadSummary:
    read: int
    produced: int
    rejected: int
    resumed_after: int
    elapsed_s: float
    complete: bool
    already_complete: bool
    rejects_path: Path
    checkpoint_path: Path

    @property
    def events_per_s(self) -> float:
        return self.read / self.elapsed_s if self.elapsed_s > 0 else 0.0


class _Batch:
    """One prepared chunk on its way to the broker; at most one is in flight at a time."""

    __slots__ = ("end", "failed", "read", "rejected", "rejects_end", "sent")

    def __init__(self, end: int, read: int, sent: int, rejected: int, rejects_end: int) -> None:
        self.end = end
        self.read = read
        self.sent = sent
        self.rejected = rejected
        self.rejects_end = rejects_end
        self.failed = 0


class _Acks:
    """Delivery reports. The producer reports only failures (`delivery.report.only.error`),
    which saves a Python callback per message; a batch is settled once the producer's queue
    is empty, and because only one batch is ever in flight, every failure belongs to it."""

    def __init__(self) -> None:
        self.failure: str | None = None
        self.failed = 0

    def report(self, error: KafkaError | None, _: Message) -> None:
        if error is not None:
            self.failed += 1
            if self.failure is None:
                self.failure = str(error)

    def settle(self, producer: Producer, batch: _Batch, state: checkpoints.Checkpoint, timeout_s: float) -> bool:
        """Wait for `batch`'s acknowledgements; record it in `state` unless a message was lost."""
        deadline = time.monotonic() + timeout_s
        while len(producer) > 0 and time.monotonic() < deadline:
            producer.poll(0.001)
        producer.poll(0)  # serve error reports that arrived with the last acknowledgements
        if len(producer) > 0 or self.failure is not None:
            return False  # a batch with a lost message must not be checkpointed as done
        state.done_through = batch.end
        state.read += batch.read
        state.produced += batch.sent
        state.rejected += batch.rejected
        state.rejects_bytes = batch.rejects_end
        return True


def load_file(
    path: Path,
    family: Family | str,
    settings: Settings,
    *,
    fmt: Format | None = None,
    rejects_path: Path | None = None,
    checkpoint_path: Path | None = None,
    restart: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int = 0,
    progress: ProgressFn | None = None,
    producer_overrides: dict[str, Any] | None = None,
) -> LoadSummary:
    resolved = Family(family)
    fmt = fmt or detect_format(path)
    topic = raw_topic(resolved, settings.kafka.topic_prefix)
    rejects_path = rejects_path or path.with_name(path.name + ".rejects.ndjson")
    checkpoint_path = checkpoint_path or checkpoints.default_path(path)
    identity = checkpoints.Identity.of(path, resolved.value, topic, settings.kafka.bootstrap_servers)
    saved = None if restart else checkpoints.load(checkpoint_path, identity)
    state = saved or checkpoints.Checkpoint(identity)
    started = time.perf_counter()
    resumed_after = state.done_through
    if state.complete:
        return LoadSummary(0, 0, 0, resumed_after, 0.0, True, True, rejects_path, checkpoint_path)
    run = {"read": state.read, "produced": state.produced, "rejected": state.rejected}
    chunk_size = batch_size * max(1, PREPARE_RECORDS // batch_size)
    chunks = read_chunks(path, fmt, state.done_through, chunk_size)
    prepared = prepared_chunks(chunks, resolved, topic, new_trace_id(), _workers(workers, path), batch_size, chunk_size)
    acks = _Acks()
    config = {**DEFAULT_PRODUCER_OVERRIDES, **(producer_overrides or {})}
    timeout_s = float(config.get("message.timeout.ms", 60_000)) / 1000 + 5
    producer = make_producer(settings, **config, on_delivery=acks.report, **{"delivery.report.only.error": True})
    in_flight: _Batch | None = None
    done_this_run = 0
    switch_interval = sys.getswitchinterval()
    writer = checkpoints.CheckpointWriter(checkpoint_path)
    try:
        with _open_rejects(rejects_path, state.rejects_bytes if saved else 0) as rejects:
            sys.setswitchinterval(min(switch_interval, GIL_SWITCH_INTERVAL_S))
            try:
                # Batch N+1 is prepared (the generator's next step) while batch N is in flight;
                # it is produced only once N is settled and checkpointed.
                for chunk in prepared:
                    if in_flight is not None:
                        if not acks.settle(producer, in_flight, state, timeout_s):
                            break
                        _save(writer, state, rejects)
                        done_this_run += in_flight.read
                        in_flight = None
                        if progress:
                            progress(done_this_run)
                    _produce_all(producer, topic, chunk.values, chunk.keys, chunk.headers)
                    producer.flush(TAIL_KICK_S)  # see TAIL_KICK_S
                    rejects.writelines(chunk.rejects)
                    in_flight = _Batch(chunk.end, chunk.read, len(chunk.values), len(chunk.rejects), rejects.tell())
                else:
                    if in_flight is not None and acks.settle(producer, in_flight, state, timeout_s):
                        done_this_run += in_flight.read
                        in_flight = None
                        if progress:
                            progress(done_this_run)
            finally:
                sys.setswitchinterval(switch_interval)
                prepared.close()  # stops worker processes, also on Ctrl-C
                producer.flush(30.0)  # an interrupted batch: let its messages finish either way
                if in_flight is not None and acks.failure is None and len(producer) == 0:
                    acks.settle(producer, in_flight, state, 0)
                    in_flight = None
                _save(writer, state, rejects)
        if acks.failure is not None:
            raise LoadError(f"Kafka did not acknowledge every event ({acks.failure}); re-run to resume")
        state.complete = in_flight is None
        _save(writer, state, None)
    finally:
        writer.close()  # the last state handed over is on disk when this returns
    return LoadSummary(
        read=state.read - run["read"],
        produced=state.produced - run["produced"],
        rejected=state.rejected - run["rejected"],
        resumed_after=resumed_after,
        elapsed_s=time.perf_counter() - started,
        complete=state.complete,
        already_complete=False,
        rejects_path=rejects_path,
        checkpoint_path=checkpoint_path,
    )


def _produce_all(
    producer: Producer, topic: str, values: list[bytes], keys: list[bytes], headers: list[Headers]
) -> None:
    """The tight loop: one C call per message, no per-message callback or tuple."""
    produce = producer.produce
    start, count = 0, len(values)
    while start < count:
        index = start
        try:
            for index in range(start, count):
                produce(topic, values[index], keys[index], headers=headers[index])
            return
        except BufferError:
            producer.poll(0.05)  # local queue full: serve deliveries, then retry the same message
            start = index


def _workers(requested: int, path: Path) -> int:
    """0 = auto. Inline for small files (spawning workers costs a second or two) and on small
    machines: this process and librdkafka need a core of their own, so worker processes only
    pay off from 4 CPUs (measured on 2 CPUs: 2 workers were slower than inline)."""
    if requested > 0:
        return requested
    if path.stat().st_size < AUTO_WORKERS_MIN_BYTES:
        return 1
    return max(1, (os.cpu_count() or 1) - 2)


def _open_rejects(path: Path, keep_bytes: int) -> BinaryIO:
    """Rejects of settled records are kept; anything written after the checkpoint is cut off,
    because those records are read (and rejected) again."""
    if keep_bytes and path.exists():
        handle = path.open("r+b")
        handle.truncate(keep_bytes)
        handle.seek(keep_bytes)
        return handle
    return path.open("wb")


def _save(writer: checkpoints.CheckpointWriter, state: checkpoints.Checkpoint, rejects: BinaryIO | None) -> None:
    if rejects is not None:
        rejects.flush()  # the checkpoint must never point past what the rejects file holds
    writer.submit(state)
