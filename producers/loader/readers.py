"""Stream a CSV, NDJSON or Parquet file as batches of numbered records.

Every record carries its position: the physical line for NDJSON, the line for CSV (header is
line 1; a quoted cell spanning lines shifts later numbers), the 1-based row for Parquet.
Positions only grow, which is what the checkpoint relies on: resuming skips every record at
or before the checkpointed position without validating it again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson
import polars as pl

from producers.loader.columns import RowShaper

Format = Literal["csv", "ndjson", "parquet"]
_SUFFIXES: dict[str, Format] = {
    ".csv": "csv",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".json": "ndjson",
    ".parquet": "parquet",
    ".pq": "parquet",
}


@dataclass(slots=True)
class SourceRecord:
    position: int
    event: Any  # what the contract validates
    original: Any  # what a reject line shows
    problem: dict[str, str] | None = None  # unreadable record (e.g. invalid JSON)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A batch of records as read, cheap to send to a worker process: raw NDJSON lines, or a
    DataFrame slice (pickled as Arrow). `decode` turns it into records."""

    fmt: Format
    end: int  # position of the last record
    lines: list[tuple[int, bytes]] | None = None
    frame: pl.DataFrame | None = None
    first: int = 0  # position of the first row of `frame`

    @property
    def size(self) -> int:
        return len(self.lines) if self.lines is not None else (self.frame.height if self.frame is not None else 0)


def detect_format(path: Path) -> Format:
    try:
        return _SUFFIXES[path.suffix.lower()]
    except KeyError:
        raise ValueError(f"cannot tell the format of {path.name}; pass --format csv|ndjson|parquet") from None


def estimate_records(path: Path, fmt: Format) -> int | None:
    """Record count for the progress bar (exact for Parquet, newline count otherwise)."""
    if fmt == "parquet":
        return int(pl.scan_parquet(path).select(pl.len()).collect().item())
    lines = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            lines += chunk.count(b"\n")
    return max(0, lines - (1 if fmt == "csv" else 0))


def read_chunks(path: Path, fmt: Format, after: int, batch_size: int) -> Iterator[Chunk]:
    """Chunks of at most `batch_size` records whose position is greater than `after`."""
    if fmt == "ndjson":
        return _ndjson(path, after, batch_size)
    return _tabular(path, fmt, after, batch_size)


def decode(chunk: Chunk, shaper: RowShaper) -> list[SourceRecord]:
    if chunk.lines is not None:
        return [_ndjson_record(position, line, shaper) for position, line in chunk.lines]
    assert chunk.frame is not None
    from_text = chunk.fmt == "csv"
    return [
        SourceRecord(position, shaper.shape(row, from_text), row)
        for position, row in enumerate(chunk.frame.iter_rows(named=True), start=chunk.first)
    ]


def _ndjson_record(position: int, line: bytes, shaper: RowShaper) -> SourceRecord:
    try:
        parsed = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        text = line.decode("utf-8", errors="replace").rstrip("\r\n")
        problem = {"field": "", "reason": f"invalid JSON: {error}", "code": "invalid_json"}
        return SourceRecord(position, None, text, problem)
    event = shaper.shape(parsed, False) if isinstance(parsed, dict) and shaper.is_flat(parsed) else parsed
    return SourceRecord(position, event, parsed)


def _ndjson(path: Path, after: int, batch_size: int) -> Iterator[Chunk]:
    lines: list[tuple[int, bytes]] = []
    with path.open("rb") as handle:
        for position, line in enumerate(handle, start=1):
            if position <= after or not line.strip():
                continue
            lines.append((position, line))
            if len(lines) >= batch_size:
                yield Chunk("ndjson", lines[-1][0], lines=lines)
                lines = []
    if lines:
        yield Chunk("ndjson", lines[-1][0], lines=lines)


def _tabular(path: Path, fmt: Format, after: int, batch_size: int) -> Iterator[Chunk]:
    if fmt == "csv":
        # Every cell as text: type inference would turn ids like "00123" into numbers.
        skip = max(0, after - 1)  # position = line, header is line 1
        frame = pl.scan_csv(path, infer_schema=False, skip_rows_after_header=skip)
        first = 2 + skip
    else:
        frame = pl.scan_parquet(path).slice(after)
        first = after + 1
    for batch in frame.collect_batches(chunk_size=batch_size):
        if batch.height:
            yield Chunk(fmt, first + batch.height - 1, frame=batch, first=first)
            first += batch.height
