"""`BatchingConsumer._hand_over`: what is acked, when, and what a rebalance does to a batch;
and its livelock check, which must not crash on a partition being reset.

The drain loop itself is Faust's (exercised by every integration test through a real worker);
these pin the at-least-once rules of the hand-over with a stand-in for the consumer's state.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import pytest
from faust.types import TP

from stream_processors.fetch import batching_consumer
from stream_processors.lag import LagTracker

TOPIC = "t.events.usage.raw"


class _Message:
    def __init__(self, partition: int, offset: int) -> None:
        self.tp = TP(TOPIC, partition)
        self.topic, self.partition, self.offset = TOPIC, partition, offset


class _FlowControl:
    def __init__(self, on_acquire: Any = None) -> None:
        self.on_acquire = on_acquire

    async def acquire(self) -> None:
        if self.on_acquire is not None:
            self.on_acquire()


class _App:
    def __init__(self) -> None:
        self.consumer_generation_id = 1
        self.flow_control = _FlowControl()


class _ConsumerState:
    """The attributes `_hand_over` touches on Faust's consumer."""

    def __init__(self) -> None:
        self.transport = type("Transport", (), {"app": _App()})()
        self.should_stop = False
        self._unacked_messages: set[Any] = set()
        self.acked: list[int] = []
        self.tracked_when_handled: list[int] = []
        self.assigned: set[TP] = {TP(TOPIC, partition) for partition in range(6)}
        self._committed_offset: dict[TP, int | None] = {}
        self.seeks: list[tuple[int, int]] = []

    def assignment(self) -> set[TP]:
        return self.assigned

    async def seek(self, tp: TP, offset: int) -> None:
        self.seeks.append((tp.partition, offset))

    def track_message(self, message: Any) -> None:
        self._unacked_messages.add(message)

    def ack(self, message: Any) -> None:
        self.acked.append(message.offset)
        self._unacked_messages.discard(message)


def _hand_over(state: _ConsumerState, handler: Any, batch: list[_Message], generation: int = 1) -> None:
    cls: Any = batching_consumer([TOPIC], handler, LagTracker([TOPIC]), 100, 0.01)
    asyncio.run(cls._hand_over(state, batch, generation))


def test_acks_only_what_the_handler_processed_and_only_after_it_returned() -> None:
    state = _ConsumerState()
    batch = [_Message(0, 10), _Message(1, 11), _Message(0, 12)]

    async def handler(messages: Sequence[Any]) -> list[Any]:
        assert state.acked == []  # nothing acked while the batch is being processed
        state.tracked_when_handled = sorted(m.offset for m in state._unacked_messages)
        return [m for m in messages if m.partition == 0]  # partition 1 was revoked meanwhile

    _hand_over(state, handler, batch)
    assert state.tracked_when_handled == [10, 11, 12]  # a rebalance waits for tracked messages
    assert state.acked == [10, 12]
    assert state._unacked_messages == set()  # the skipped one does not block the next rebalance


def test_a_batch_fetched_before_a_rebalance_is_dropped_unacked() -> None:
    state = _ConsumerState()
    app = state.transport.app

    def rebalance() -> None:  # flow control was suspended; the group moved to a new generation
        app.consumer_generation_id = 2

    app.flow_control.on_acquire = rebalance
    called: list[int] = []

    async def handler(messages: Sequence[Any]) -> list[Any]:
        called.append(len(messages))
        return list(messages)

    state.assigned -= {TP(TOPIC, 2)}  # revoked by the rebalance
    state._committed_offset = {TP(TOPIC, 0): 1, TP(TOPIC, 3): None}  # forgotten mid-rebalance
    batch = [_Message(0, 2), _Message(0, 1), _Message(2, 7), _Message(3, 4)]
    _hand_over(state, handler, batch, generation=1)
    assert called == []
    assert state.acked == []
    assert state._unacked_messages == set()
    # Its partitions still owned are read again from the batch's first offset on each (not from
    # 0 when Faust has forgotten the committed offset mid-rebalance): the drain loop may have
    # moved their read offsets past the batch, which would make the batch "already read".
    assert state.seeks == [(0, 1), (3, 4)]


def test_a_failing_handler_acks_nothing() -> None:
    state = _ConsumerState()

    async def handler(messages: Sequence[Any]) -> list[Any]:
        raise RuntimeError("write failed")

    with pytest.raises(RuntimeError, match="write failed"):  # propagates: Faust crashes the worker
        _hand_over(state, handler, [_Message(0, 5)])
    assert state.acked == []


def test_offsets_are_not_committed_after_an_output_batch_was_lost() -> None:
    """Faust flushes the producer before committing, but a flush also ends when a batch failed."""
    lost = ConnectionError("broker gone")

    async def handler(messages: Sequence[Any]) -> list[Any]:
        return list(messages)

    cls: Any = batching_consumer([TOPIC], handler, LagTracker([TOPIC]), 100, 0.01, lambda: lost)
    stub = type("Stub", (), {"log": logging.getLogger("test")})()
    assert asyncio.run(cls._commit(stub, {TP(TOPIC, 0): 42})) is False


class _Thread:
    """Faust's consumer thread, whose livelock check reads aiokafka's partition position."""

    def __init__(self, position: int | None) -> None:
        self.position = position
        self.checked: list[TP] = []

    def verify_event_path(self, now: float, tp: TP) -> None:
        assert self.position is not None  # what aiokafka's `position` does while a reset is pending
        self.checked.append(tp)


def test_livelock_check_skips_a_partition_whose_position_is_being_reset() -> None:
    async def handler(batch: Sequence[Any]) -> Sequence[Any]:
        return batch

    consumer_class: Any = batching_consumer([TOPIC], handler, LagTracker([TOPIC]), 100, 0.01)
    tp = TP(TOPIC, 3)
    resetting = type("State", (), {"_thread": _Thread(None)})()
    consumer_class.verify_event_path(resetting, 0.0, tp)  # used to crash the worker

    consuming = type("State", (), {"_thread": _Thread(42)})()
    consumer_class.verify_event_path(consuming, 0.0, tp)
    assert consuming._thread.checked == [tp]
