"""The CPU-heavy half of loading: decode a chunk, validate and Avro-encode every record.

Most rows take the columnar path (`producers.loader.fast`): the chunk is parsed into
columns, checked by the contract expressed as polars expressions and encoded in one numpy
pass, a few microseconds per row instead of tens. Rows it does not certainly accept (invalid
ones, and valid ones in unusual forms) go through `prepare_event`, the same row-wise path as
the gateway, which gives rejects their exact reasons; messages stay in file order.

It runs in a background thread by default, or in worker processes (`--workers`). Workers are
spawned, not forked: polars' thread pool and librdkafka's threads do not survive a fork safely.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import signal
import threading
from collections import deque
from collections.abc import Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

import schemas
from platform_common.topics import Family
from producers.events import prepare_event
from producers.loader.columns import shaper
from producers.loader.fast import FastRows, fast_rows
from producers.loader.readers import Chunk, SourceRecord, decode, decode_rows

Headers = list[tuple[str, str | bytes | None]]
# Chunks prepared at once in the loader's own process. Two threads keep both cores of a small
# machine busy while the main thread produces (the GIL-holding parts are short); measured on
# 2 CPUs: ~10% more events/s than one thread, ~60 MB more memory.
PREPARE_THREADS = 2


Rows = npt.NDArray[np.int64]


@dataclass(slots=True)
class Prepared:
    """One chunk, ready to produce: parallel lists of message values, keys and headers in
    file order (a customer's events keep their order on the partition), and the rejects.
    `rows` and `reject_rows` are the chunk indexes of the messages and of the rejects."""

    end: int
    read: int
    values: list[bytes]
    keys: list[bytes]
    headers: list[Headers]
    rejects: list[bytes]  # NDJSON lines for the rejects file
    rows: Rows
    reject_rows: Rows


def prepare_chunk(
    chunk: Chunk,
    family: Family,
    topic: str,
    trace_id: str,
    received_at: datetime | None = None,
    columnar: bool = True,
) -> Prepared:
    """Columnar for the rows the vectorised contract accepts; `prepare_event` row by row for
    the rest (rejects get their exact reasons there) and for chunks the fast path cannot read.
    `columnar=False` is the row-wise path alone, the reference the columnar path is tested
    against."""
    received_at = received_at or datetime.now(UTC)
    fast = fast_rows(chunk, family, trace_id, received_at) if columnar else None
    if fast is None:
        records = decode(chunk, shaper(family))
        return _row_wise(chunk, records, family, topic, trace_id, received_at, list(range(chunk.size)))
    if len(fast.rows) == chunk.size:
        return Prepared(chunk.end, chunk.size, fast.values, fast.keys, fast.headers, [], fast.rows, _NONE)
    slow = np.setdiff1d(np.arange(chunk.size), fast.rows, assume_unique=True).tolist()
    records = decode_rows(chunk, shaper(family), slow)
    rest = _row_wise(chunk, records, family, topic, trace_id, received_at, slow)
    return _merge(chunk, fast, rest)


_NONE: Rows = np.zeros(0, dtype=np.int64)


def _row_wise(
    chunk: Chunk,
    records: list[SourceRecord],
    family: Family,
    topic: str,
    trace_id: str,
    received_at: datetime,
    indexes: list[int],
) -> Prepared:
    values: list[bytes] = []
    keys: list[bytes] = []
    headers: list[Headers] = []
    rejects: list[bytes] = []
    rows: list[int] = []
    reject_rows: list[int] = []
    for index, record in zip(indexes, records, strict=True):
        errors = [record.problem] if record.problem else None
        if errors is None:
            try:
                message = prepare_event(family, record.event, topic=topic, trace_id=trace_id, received_at=received_at)
            except schemas.ContractViolation as violation:
                errors = violation.errors
            else:
                values.append(message.value)
                keys.append(message.key)
                headers.append(message.headers)
                rows.append(index)
                continue
        rejects.append(reject_line(record, errors))
        reject_rows.append(index)
    return Prepared(chunk.end, chunk.size, values, keys, headers, rejects, _rows(rows), _rows(reject_rows))


def _rows(indexes: list[int]) -> Rows:
    return np.asarray(indexes, dtype=np.int64)


def _merge(chunk: Chunk, fast: FastRows, rest: Prepared) -> Prepared:
    """Both halves' messages, back in file order."""
    rows = np.concatenate([fast.rows, rest.rows])
    order = np.argsort(rows, kind="stable")
    picks = order.tolist()
    values, keys, headers = fast.values + rest.values, fast.keys + rest.keys, fast.headers + rest.headers
    return Prepared(
        chunk.end,
        chunk.size,
        [values[i] for i in picks],
        [keys[i] for i in picks],
        [headers[i] for i in picks],
        rest.rejects,
        rows[order],
        rest.reject_rows,
    )


def split(prepared: Prepared, chunk: Chunk, size: int) -> list[Prepared]:
    """A prepared chunk as batches of `size` records, each with its own end position.

    Preparing costs a few milliseconds per call on top of the per-row work, so the loader
    prepares several batches at once; producing and checkpointing stay per batch."""
    if chunk.size <= size:
        return [prepared]
    batches = []
    for low in range(0, chunk.size, size):
        high = min(low + size, chunk.size)
        first, last = np.searchsorted(prepared.rows, [low, high]).tolist()
        bad_first, bad_last = np.searchsorted(prepared.reject_rows, [low, high]).tolist()
        batches.append(
            Prepared(
                chunk.position(high - 1),
                high - low,
                prepared.values[first:last],
                prepared.keys[first:last],
                prepared.headers[first:last],
                prepared.rejects[bad_first:bad_last],
                prepared.rows[first:last],
                prepared.reject_rows[bad_first:bad_last],
            )
        )
    return batches


def reject_line(record: SourceRecord, errors: list[dict[str, str]]) -> bytes:
    event_id = record.event.get("event_id") if isinstance(record.event, dict) else None
    line = {"line": record.position, "event_id": event_id, "errors": errors, "row": record.original}
    return orjson.dumps(line, default=str) + b"\n"


def prepared_chunks(
    chunks: Iterator[Chunk],
    family: Family,
    topic: str,
    trace_id: str,
    workers: int,
    batch_size: int,
    chunk_size: int | None = None,
) -> Generator[Prepared, None, None]:
    """`prepare_chunk` over `chunks` (of at most `chunk_size` records), in order, as batches
    of `batch_size` records (`split`). A bounded amount is prepared ahead (two chunks' worth
    of batches from `PREPARE_THREADS` threads; with workers > 1, 2 chunks per worker
    process), so memory stays flat however large the file is."""
    if workers <= 1:
        per_chunk = -(-(chunk_size or batch_size) // batch_size)
        yield from _ahead_in_threads(chunks, family, topic, trace_id, batch_size, 2 * per_chunk)
        return
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=_ignore_sigint) as pool:
        pending: deque[tuple[Chunk, Any]] = deque()
        for chunk in chunks:
            pending.append((chunk, pool.apply_async(prepare_chunk, (chunk, family, topic, trace_id))))
            if len(pending) >= 2 * workers:
                done, result = pending.popleft()
                yield from split(result.get(), done, batch_size)
        while pending:
            done, result = pending.popleft()
            yield from split(result.get(), done, batch_size)


_DONE = object()


def _ahead_in_threads(
    chunks: Iterator[Chunk], family: Family, topic: str, trace_id: str, batch_size: int, ahead: int
) -> Generator[Prepared, None, None]:
    """Read chunks in a thread and prepare them on `PREPARE_THREADS` threads, handing the
    batches over in file order, up to `ahead` batches ahead. Parsing, validation and
    encoding run mostly in Arrow, polars and numpy, which release the GIL, so they overlap
    with each other, with this thread producing and waiting for acknowledgements, and with
    librdkafka's threads."""
    ready: queue.Queue[object] = queue.Queue(maxsize=max(2, ahead))
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def hand_over(pending: deque[tuple[Chunk, Future[Prepared]]]) -> bool:
        chunk, future = pending.popleft()
        return all(put(batch) for batch in split(future.result(), chunk, batch_size))

    def work() -> None:
        try:
            with ThreadPoolExecutor(PREPARE_THREADS, thread_name_prefix="loader-prepare") as pool:
                pending: deque[tuple[Chunk, Future[Prepared]]] = deque()
                for chunk in chunks:
                    pending.append((chunk, pool.submit(prepare_chunk, chunk, family, topic, trace_id)))
                    if len(pending) >= PREPARE_THREADS and not hand_over(pending):
                        return
                while pending:
                    if not hand_over(pending):
                        return
            put(_DONE)
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, which re-raises it
            put(error)

    thread = threading.Thread(target=work, name="loader-read", daemon=True)
    thread.start()
    try:
        while True:
            item = ready.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, Prepared)
            yield item
    finally:
        stop.set()
        thread.join(timeout=30)


def _ignore_sigint() -> None:
    """Ctrl-C is the main process's business: it flushes and saves the checkpoint."""
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
