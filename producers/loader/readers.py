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

import numpy as np
import numpy.typing as npt
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
class Lines:
    """NDJSON lines as one buffer: line i is `blob[starts[i]:ends[i]]` (with its newline, if
    it had one) at physical line `positions[i]`. One buffer rather than a list of lines keeps
    reading at numpy speed and lets the columnar path parse the chunk in one call."""

    blob: bytes
    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]
    positions: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int) -> tuple[int, bytes]:
        return int(self.positions[index]), self.blob[self.starts[index] : self.ends[index]]

    @classmethod
    def of(cls, lines: list[tuple[int, bytes]]) -> Lines:
        """From (position, line) pairs (tests and small inputs)."""
        lengths = np.array([len(line) for _, line in lines], dtype=np.int64)
        ends = np.cumsum(lengths)
        positions = np.array([position for position, _ in lines], dtype=np.int64)
        return cls(b"".join(line for _, line in lines), ends - lengths, ends, positions)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A batch of records as read, cheap to send to a worker process: NDJSON lines, or a
    DataFrame slice (pickled as Arrow). `decode` turns it into records."""

    fmt: Format
    end: int  # position of the last record
    lines: Lines | None = None
    frame: pl.DataFrame | None = None
    first: int = 0  # position of the first row of `frame`

    @property
    def size(self) -> int:
        return len(self.lines) if self.lines is not None else (self.frame.height if self.frame is not None else 0)

    def position(self, index: int) -> int:
        """Position of the record at `index` (0-based within the chunk)."""
        return int(self.lines.positions[index]) if self.lines is not None else self.first + index


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
        return [_ndjson_record(*chunk.lines[index], shaper) for index in range(len(chunk.lines))]
    assert chunk.frame is not None
    from_text = chunk.fmt == "csv"
    return [
        SourceRecord(position, shaper.shape(row, from_text), row)
        for position, row in enumerate(chunk.frame.iter_rows(named=True), start=chunk.first)
    ]


def decode_rows(chunk: Chunk, shaper: RowShaper, indexes: list[int]) -> list[SourceRecord]:
    """`decode` of only the records at `indexes` (0-based within the chunk)."""
    if chunk.lines is not None:
        return [_ndjson_record(*chunk.lines[index], shaper) for index in indexes]
    assert chunk.frame is not None
    from_text = chunk.fmt == "csv"
    records = []
    for index in indexes:
        row = chunk.frame.row(index, named=True)
        records.append(SourceRecord(chunk.first + index, shaper.shape(row, from_text), row))
    return records


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
    """Blocks of the file split into lines with numpy; blank lines are skipped (their numbers
    still count), and a chunk may span blocks."""
    pending: list[Lines] = []
    count = 0
    for lines in _ndjson_lines(path, after):
        taken = 0
        while taken < len(lines):
            take = min(batch_size - count, len(lines) - taken)
            pending.append(_slice(lines, taken, taken + take))
            count += take
            taken += take
            if count >= batch_size:
                yield _ndjson_chunk(pending)
                pending, count = [], 0
    if count:
        yield _ndjson_chunk(pending)


_BLOCK = 1 << 22
_BLANK = np.zeros(256, dtype=bool)
_BLANK[list(b" \t\n\r\x0b\x0c")] = True  # what bytes.strip() removes


def _ndjson_lines(path: Path, after: int) -> Iterator[Lines]:
    """Every non-blank line after position `after`, block by block."""
    seen = 0  # physical lines before the current block
    carry = b""
    with path.open("rb") as handle:
        while True:
            block = handle.read(_BLOCK)
            data = carry + block
            if not data:
                return
            array = np.frombuffer(data, dtype=np.uint8)
            ends = np.flatnonzero(array == 0x0A).astype(np.int64) + 1
            if not block and (not len(ends) or ends[-1] != len(data)):
                ends = np.append(ends, len(data))  # the last line has no newline
            carry = data[int(ends[-1]) :] if len(ends) else data
            if len(ends):
                starts = np.concatenate([[0], ends[:-1]]).astype(np.int64)
                positions = np.arange(seen + 1, seen + 1 + len(ends), dtype=np.int64)
                keep = positions > after
                for index in np.flatnonzero(_BLANK[array[starts]] & keep):  # rare: check those fully
                    keep[index] = bool(data[starts[index] : ends[index]].strip())
                seen += len(ends)
                if keep.any():
                    yield Lines(data, starts[keep], ends[keep], positions[keep])
            if not block:
                return


def _slice(lines: Lines, start: int, stop: int) -> Lines:
    return Lines(lines.blob, lines.starts[start:stop], lines.ends[start:stop], lines.positions[start:stop])


def _ndjson_chunk(parts: list[Lines]) -> Chunk:
    """One buffer holding just the parts' lines, offsets rebased onto it."""
    blobs, starts, ends = [], [], []
    base = 0
    for part in parts:
        low, high = int(part.starts[0]), int(part.ends[-1])
        blobs.append(part.blob[low:high])
        starts.append(part.starts - low + base)
        ends.append(part.ends - low + base)
        base += high - low
    positions = np.concatenate([part.positions for part in parts])
    lines = Lines(b"".join(blobs), np.concatenate(starts), np.concatenate(ends), positions)
    return Chunk("ndjson", int(positions[-1]), lines=lines)


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
