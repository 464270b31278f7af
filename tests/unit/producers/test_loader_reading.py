"""The NDJSON reader (numpy line splitting) and the loader's produce loop, without services."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from producers.loader import readers
from producers.loader.readers import read_chunks
from producers.loader.run import _produce_all


def _reference(path: Path, after: int) -> list[tuple[int, bytes]]:
    """What the reader must yield: every non-blank physical line after `after`, as read."""
    with path.open("rb") as handle:
        return [(number, line) for number, line in enumerate(handle, start=1) if number > after and line.strip()]


CONTENTS = [
    b'{"a":1}\n{"a":2}\n\n   \n{"a":3}\r\n\t\n{"a":4}',  # blank lines, CRLF, no final newline
    b'{"a":1}\n' * 57,
    b"\n\n\n",
    b"",
    b'{"a":"x\rstill line 1"}\n \x0b\x0c\n{"b":2}\n\n',
    b"".join(b'{"n":%d,"pad":"%s"}\n' % (i, b"x" * (i % 17)) for i in range(300)) + b"  \n",
]


@pytest.mark.parametrize("content", CONTENTS)
@pytest.mark.parametrize("block", [1, 7, 64, 1 << 22])
@pytest.mark.parametrize("batch_size", [1, 4, 1000])
@pytest.mark.parametrize("after", [0, 3, 50])
def test_ndjson_chunks_hold_every_non_blank_line_with_its_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes, block: int, batch_size: int, after: int
) -> None:
    monkeypatch.setattr(readers, "_BLOCK", block)  # lines and chunks spanning file blocks
    path = tmp_path / "f.ndjson"
    path.write_bytes(content)
    chunks = list(read_chunks(path, "ndjson", after, batch_size))
    got = [chunk.lines[index] for chunk in chunks if chunk.lines is not None for index in range(len(chunk.lines))]
    assert got == _reference(path, after)
    assert all(0 < chunk.size <= batch_size for chunk in chunks)
    assert all(chunk.end == chunk.lines[len(chunk.lines) - 1][0] for chunk in chunks if chunk.lines is not None)


class _FullQueueProducer:
    """Refuses every third message once with BufferError, as librdkafka does when its local
    queue is full; the loop must serve deliveries and retry that same message."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes, Any]] = []
        self.polls = 0
        self._refused: set[int] = set()

    def produce(self, topic: str, value: bytes, key: bytes, headers: Any = None) -> None:
        index = len(self.sent)
        if index % 3 == 2 and index not in self._refused:
            self._refused.add(index)
            raise BufferError("queue full")
        self.sent.append((topic, value, key, headers))

    def poll(self, timeout: float) -> int:
        self.polls += 1
        return 0


def test_produce_loop_retries_the_refused_message_and_keeps_order() -> None:
    producer = _FullQueueProducer()
    values = [b"v%d" % i for i in range(10)]
    keys = [b"k%d" % i for i in range(10)]
    headers: list[list[tuple[str, str | bytes | None]]] = [[("trace_id", b"t%d" % i)] for i in range(10)]
    _produce_all(producer, "topic", values, keys, headers)  # type: ignore[arg-type]
    assert producer.sent == [("topic", values[i], keys[i], headers[i]) for i in range(10)]
    assert producer.polls == 3
