"""The CPU-heavy half of loading: decode a chunk, validate and Avro-encode every record.

It runs inline or in worker processes (`--workers`), so validation scales with cores while
the main process only produces and tracks acknowledgements. Workers are spawned, not forked:
polars' thread pool and librdkafka's threads do not survive a fork safely.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
from collections import deque
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

import schemas
from platform_common.topics import Family
from producers.events import prepare_event
from producers.loader.columns import shaper
from producers.loader.readers import Chunk, SourceRecord, decode

Message = tuple[bytes, bytes, list[tuple[str, str | bytes | None]]]


@dataclass(slots=True)
class Prepared:
    end: int
    read: int
    messages: list[Message]
    rejects: list[bytes]  # NDJSON lines for the rejects file


def prepare_chunk(chunk: Chunk, family: Family, topic: str, trace_id: str) -> Prepared:
    received_at = datetime.now(UTC)
    messages: list[Message] = []
    rejects: list[bytes] = []
    records = decode(chunk, shaper(family))
    for record in records:
        errors = [record.problem] if record.problem else None
        if errors is None:
            try:
                message = prepare_event(family, record.event, topic=topic, trace_id=trace_id, received_at=received_at)
            except schemas.ContractViolation as violation:
                errors = violation.errors
            else:
                messages.append((message.value, message.key, message.headers))
                continue
        rejects.append(reject_line(record, errors))
    return Prepared(chunk.end, len(records), messages, rejects)


def reject_line(record: SourceRecord, errors: list[dict[str, str]]) -> bytes:
    event_id = record.event.get("event_id") if isinstance(record.event, dict) else None
    line = {"line": record.position, "event_id": event_id, "errors": errors, "row": record.original}
    return orjson.dumps(line, default=str) + b"\n"


def prepared_chunks(
    chunks: Iterator[Chunk], family: Family, topic: str, trace_id: str, workers: int
) -> Generator[Prepared, None, None]:
    """`prepare_chunk` over `chunks`, in order. With workers > 1, a bounded number of chunks
    is prepared ahead (2 per worker), so memory stays flat however large the file is."""
    if workers <= 1:
        for chunk in chunks:
            yield prepare_chunk(chunk, family, topic, trace_id)
        return
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=_ignore_sigint) as pool:
        pending: deque[Any] = deque()
        for chunk in chunks:
            pending.append(pool.apply_async(prepare_chunk, (chunk, family, topic, trace_id)))
            if len(pending) >= 2 * workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def _ignore_sigint() -> None:
    """Ctrl-C is the main process's business: it flushes and saves the checkpoint."""
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
