"""Consumer-lag arithmetic and trace ids on the processor's per-event log lines."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from faust.types import TP
from prometheus_client import REGISTRY

from platform_common.logging import JsonFormatter
from platform_common.topics import Family
from stream_processors.core import EventProcessor
from stream_processors.lag import LagTracker
from stream_processors.quarantine import log_quarantined, quarantine_record
from tests.unit.stream_processors.factory import NOW_US, encode, encode_unchecked, raw, usage

TOPIC = "t.events.usage.raw"


@dataclass
class _State:
    position: int | None

    @property
    def has_valid_position(self) -> bool:
        return self.position is not None


@dataclass
class _Assignment:
    states: dict[TP, _State]

    def state_value(self, tp: TP) -> _State | None:
        return self.states.get(tp)


@dataclass
class StubConsumer:
    """The few attributes of Faust's aiokafka consumer that `LagTracker` reads."""

    highwaters: dict[TP, int]
    committed: dict[TP, int | None] = field(default_factory=dict)
    positions: dict[TP, int | None] = field(default_factory=dict)

    def assignment(self) -> set[TP]:
        return set(self.highwaters)

    def highwater(self, tp: TP) -> int:
        return self.highwaters[tp]

    @property
    def _committed_offset(self) -> dict[TP, int | None]:
        return self.committed

    @property
    def _thread(self) -> Any:
        states = {tp: _State(position) for tp, position in self.positions.items()}
        subscription = type("S", (), {"assignment": _Assignment(states)})()
        aiokafka = type("A", (), {"_subscription": type("Sub", (), {"subscription": subscription})()})()
        return type("T", (), {"_ensure_consumer": staticmethod(lambda: aiokafka)})()


class _Message:
    def __init__(self, tp: TP, offset: int) -> None:
        self.tp, self.offset = tp, offset


def _gauge(tp: TP) -> float | None:
    labels = {"topic": tp.topic, "partition": str(tp.partition)}
    return REGISTRY.get_sample_value("ledgerline_stream_consumer_lag", labels)


def test_lag_ignores_a_transaction_marker_after_the_last_data_record() -> None:
    tp = TP(TOPIC, 0)
    tracker = LagTracker([TOPIC])
    tracker.handed_over([_Message(tp, 8)])  # type: ignore[list-item]
    # offsets 0..8 data, 9 a commit marker: high watermark 10, committed 9, fetcher past the marker
    consumer = StubConsumer({tp: 10}, {tp: 9}, {tp: 10})
    assert tracker.refresh(consumer) == {tp: 0}
    assert _gauge(tp) == 0


def test_lag_counts_from_the_committed_offset_while_messages_are_pending() -> None:
    tp = TP(TOPIC, 1)
    tracker = LagTracker([TOPIC])
    tracker.handed_over([_Message(tp, 499)])  # type: ignore[list-item]
    # fetched up to 499 (position 500) but only 0..199 committed: 800 of 1000 are not done
    consumer = StubConsumer({tp: 1000}, {tp: 200}, {tp: 500})
    assert tracker.refresh(consumer) == {tp: 800}
    assert _gauge(tp) == 800


def test_lag_before_the_first_commit_and_without_a_fetch() -> None:
    tp, idle = TP(TOPIC, 2), TP(TOPIC, 3)
    tracker = LagTracker([TOPIC])
    tracker.handed_over([_Message(tp, 49)])  # type: ignore[list-item]
    consumer = StubConsumer({tp: 100, idle: None}, {}, {tp: 50})  # type: ignore[dict-item]
    assert tracker.refresh(consumer) == {tp: 50}


def test_revoked_partitions_leave_the_gauge_and_other_topics_are_ignored() -> None:
    kept, revoked, other = TP(TOPIC, 4), TP(TOPIC, 5), TP("t.app-seen-changelog", 4)
    tracker = LagTracker([TOPIC])
    consumer = StubConsumer({kept: 5, revoked: 7, other: 9}, {kept: 5, revoked: 3, other: 0}, {kept: 5, revoked: 3})
    assert tracker.refresh(consumer) == {kept: 0, revoked: 4}
    consumer.highwaters.pop(revoked)
    assert tracker.refresh(consumer) == {kept: 0}
    assert _gauge(revoked) is None
    assert _gauge(other) is None


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What the stream processor's loggers write, formatted as in production (JSON lines)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("stream_processors")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_quarantine_line_carries_the_events_trace_id(processor: EventProcessor, json_lines: io.StringIO) -> None:
    bad = encode_unchecked(Family.USAGE, usage(), quantity=-1)
    outcome = processor.process(raw(Family.USAGE, bad, 3, headers=(("trace_id", b"trace-bad-1"),)), NOW_US)[0]
    assert outcome.kind == "quarantined"
    log_quarantined(outcome, quarantine_record(outcome, NOW_US))
    [line] = _lines(json_lines)
    assert line["message"] == "event quarantined"
    assert line["trace_id"] == "trace-bad-1"
    assert line["reason"] == "out_of_range"
    assert line["source"].endswith("/0/3")


def test_conflicting_duplicate_is_a_warning_with_its_own_trace_id(
    processor: EventProcessor, json_lines: io.StringIO
) -> None:
    event = usage(event_id="conflict-1")
    processor.process(raw(Family.USAGE, encode(Family.USAGE, event), 1, headers=(("trace_id", b"first"),)), NOW_US)
    changed = encode(Family.USAGE, {**event, "quantity": event["quantity"] + 1})
    outcome = processor.process(raw(Family.USAGE, changed, 2, headers=(("trace_id", b"second"),)), NOW_US)[0]
    log_quarantined(outcome, quarantine_record(outcome, NOW_US))
    [line] = _lines(json_lines)
    assert (line["level"], line["message"]) == ("warning", "conflicting duplicate quarantined")
    assert line["trace_id"] == "second"


def test_processing_error_line_carries_the_trace_id(
    processor: EventProcessor, json_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(subject: str, record: dict[str, Any]) -> list[Any]:
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(processor.contract, "check", broken)
    value = encode(Family.USAGE, usage())
    [outcome] = processor.process(raw(Family.USAGE, value, 5, headers=(("trace_id", b"trace-err"),)), NOW_US)
    assert str(outcome.reason) == "processing_error"
    [line] = _lines(json_lines)
    assert (line["message"], line["trace_id"]) == ("processing error", "trace-err")
    assert "ZeroDivisionError" in line["exception"]


def test_lines_outside_an_event_carry_no_trace_id(processor: EventProcessor, json_lines: io.StringIO) -> None:
    bad = encode_unchecked(Family.USAGE, usage(), quantity=-1)
    outcome = processor.process(raw(Family.USAGE, bad, 3), NOW_US)[0]  # no trace_id header
    log_quarantined(outcome, quarantine_record(outcome, NOW_US))
    logging.getLogger("stream_processors.runtime").info("after")
    assert [line.get("trace_id") for line in _lines(json_lines)] == [None, None]
