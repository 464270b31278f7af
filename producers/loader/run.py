"""Load one file onto a family's raw topic: validate, encode, produce, checkpoint.

Records go through the same `prepare_event` as gateway requests, inline or in worker
processes (`workers`), which prepare the next batches while this process produces. Within a
batch production is asynchronous (librdkafka batches, compresses and retries; the producer is
idempotent with acks=all). After each batch the loader waits for its acknowledgements and
saves the checkpoint, so a killed run re-sends at most the one batch it was in (default 5000
records). Ctrl-C also saves the checkpoint.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from confluent_kafka import KafkaError, Message, Producer

from platform_common.config import Settings
from platform_common.kafka import make_producer
from platform_common.topics import Family, raw_topic
from producers.events import new_trace_id
from producers.loader import checkpoint as checkpoints
from producers.loader.prepare import prepared_chunks
from producers.loader.readers import Format, detect_format, read_chunks

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
    __slots__ = ("end", "outstanding", "produced", "read", "rejected", "rejects_end", "sealed")

    def __init__(self) -> None:
        self.end = 0
        self.rejects_end = 0
        self.outstanding = 0
        self.read = 0
        self.produced = 0
        self.rejected = 0
        self.sealed = False


class _Acks:
    """Batches in read order; the settled prefix is what the checkpoint may record."""

    def __init__(self) -> None:
        self.pending: deque[_Batch] = deque()
        self.failure: str | None = None

    def delivered(self, batch: _Batch, error: KafkaError | None, _: Message) -> None:
        batch.outstanding -= 1
        if error is None:
            batch.produced += 1
        elif self.failure is None:
            self.failure = str(error)

    def settle(self, state: checkpoints.Checkpoint) -> bool:
        advanced = False
        while self.pending and self.pending[0].sealed and self.pending[0].outstanding == 0:
            if self.failure is not None:
                break  # a batch with a lost message must not be checkpointed as done
            batch = self.pending.popleft()
            state.done_through = batch.end
            state.read += batch.read
            state.produced += batch.produced
            state.rejected += batch.rejected
            state.rejects_bytes = batch.rejects_end
            advanced = True
        return advanced


def load_file(
    path: Path,
    family: Family | str,
    settings: Settings,
    *,
    fmt: Format | None = None,
    rejects_path: Path | None = None,
    checkpoint_path: Path | None = None,
    restart: bool = False,
    batch_size: int = 5000,
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
    chunks = read_chunks(path, fmt, state.done_through, batch_size)
    prepared = prepared_chunks(chunks, resolved, topic, new_trace_id(), _workers(workers, path))
    producer = make_producer(settings, **{**DEFAULT_PRODUCER_OVERRIDES, **(producer_overrides or {})})
    acks = _Acks()
    done_this_run = 0
    with _open_rejects(rejects_path, state.rejects_bytes if saved else 0) as rejects:
        try:
            for chunk in prepared:
                batch = _Batch()
                acks.pending.append(batch)
                callback = partial(acks.delivered, batch)
                batch.outstanding = len(chunk.messages)
                for value, key, headers in chunk.messages:
                    _produce(producer, topic, value, key, headers, callback)
                for line in chunk.rejects:
                    rejects.write(line)
                batch.read, batch.rejected, batch.end = chunk.read, len(chunk.rejects), chunk.end
                batch.rejects_end = rejects.tell()
                batch.sealed = True
                while batch.outstanding > 0:
                    producer.poll(0.05)
                if acks.failure is not None:
                    break
                acks.settle(state)
                _save(checkpoint_path, state, rejects)
                done_this_run += batch.read
                if progress:
                    progress(done_this_run)
        finally:
            prepared.close()  # stops worker processes, also on Ctrl-C
            producer.flush(30.0)  # an interrupted batch: let its messages finish either way
            acks.settle(state)
            _save(checkpoint_path, state, rejects)
    if acks.failure is not None:
        raise LoadError(f"Kafka did not acknowledge every event ({acks.failure}); re-run to resume")
    state.complete = not acks.pending
    _save(checkpoint_path, state, None)
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


def _produce(
    producer: Producer,
    topic: str,
    value: bytes,
    key: bytes,
    headers: list[tuple[str, str | bytes | None]],
    callback: Callable[[KafkaError | None, Message], None],
) -> None:
    while True:
        try:
            producer.produce(topic, value, key, headers=headers, on_delivery=callback)
            return
        except BufferError:
            producer.poll(0.05)  # local queue full: serve deliveries, then retry


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


def _save(path: Path, state: checkpoints.Checkpoint, rejects: BinaryIO | None) -> None:
    if rejects is not None:
        rejects.flush()  # the checkpoint must never point past what the rejects file holds
    checkpoints.save(path, state)
