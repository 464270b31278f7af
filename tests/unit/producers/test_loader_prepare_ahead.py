"""The loader's read-ahead: chunks prepared on several threads come back in file order,
exactly as preparing them one by one would give them, and a failure reaches the caller."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from platform_common.topics import Family
from producers.loader import prepare
from producers.loader.prepare import prepare_chunk, prepared_chunks, split
from producers.loader.readers import Chunk, read_chunks
from producers.sample_data import GenerationParams, generate

RECEIVED_AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _usage_file(tmp_path: Path, count: int) -> Path:
    """Usage events with every 7th line broken (a missing field) and one line not JSON."""
    lines: list[bytes] = []
    for family, event in generate(GenerationParams(customers=40, months=3, seed=11)):
        if family is Family.USAGE:
            if len(lines) % 7 == 3:
                event = {key: value for key, value in event.items() if key != "metric"}
            lines.append(orjson.dumps(event))
            if len(lines) == count:
                break
    lines[10] = b"{not json"
    path = tmp_path / "usage.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


@pytest.fixture(autouse=True)
def _fixed_arrival(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every chunk gets the same arrival time, so parallel and serial results compare equal."""
    original = prepare.prepare_chunk

    def at_fixed_time(chunk: Chunk, family: Family, topic: str, trace_id: str) -> prepare.Prepared:
        return original(chunk, family, topic, trace_id, RECEIVED_AT)

    monkeypatch.setattr(prepare, "prepare_chunk", at_fixed_time)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_batches_come_back_in_file_order_whatever_the_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threads: int
) -> None:
    monkeypatch.setattr(prepare, "PREPARE_THREADS", threads)
    path = _usage_file(tmp_path, 600)
    expected = [
        batch
        for chunk in read_chunks(path, "ndjson", 0, 100)
        for batch in split(prepare_chunk(chunk, Family.USAGE, "t", "trace", RECEIVED_AT), chunk, 25)
    ]
    got = list(prepared_chunks(read_chunks(path, "ndjson", 0, 100), Family.USAGE, "t", "trace", 1, 25, 100))
    assert [batch.end for batch in got] == [batch.end for batch in expected]
    assert [batch.values for batch in got] == [batch.values for batch in expected]
    assert [batch.rejects for batch in got] == [batch.rejects for batch in expected]
    assert sum(len(batch.values) for batch in got) + sum(len(batch.rejects) for batch in got) == 600
    assert sum(len(batch.rejects) for batch in got) > 80  # the broken lines were really rejected


def test_a_failure_while_preparing_reaches_the_caller(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _usage_file(tmp_path, 300)
    calls = 0
    original = prepare.prepare_chunk

    def failing(*args: object) -> prepare.Prepared:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("disk went away")
        return original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(prepare, "prepare_chunk", failing)
    batches = prepared_chunks(read_chunks(path, "ndjson", 0, 100), Family.USAGE, "t", "trace", 1, 50, 100)
    first = [next(batches), next(batches)]
    assert [batch.read for batch in first] == [50, 50]
    with pytest.raises(RuntimeError, match="disk went away"):
        list(batches)


def test_closing_early_stops_the_read_ahead(tmp_path: Path) -> None:
    path = _usage_file(tmp_path, 600)
    batches = prepared_chunks(read_chunks(path, "ndjson", 0, 50), Family.USAGE, "t", "trace", 1, 50, 50)
    next(batches)
    batches.close()  # joins the reading thread; a thread left behind would keep the file open
    import threading

    assert not [thread for thread in threading.enumerate() if thread.name.startswith("loader-")]
