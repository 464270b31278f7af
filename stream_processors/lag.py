"""Consumer lag of the raw topics, per partition this worker owns, as a Prometheus gauge.

    ledgerline_stream_consumer_lag{topic,partition} = high watermark - consumed position

The high watermark counts every offset, including transaction control records (commit/abort
markers written by transactional producers take an offset each and are never delivered). If
lag were "high watermark - committed offset", a partition whose last record is such a marker
would show 1 forever. So once everything handed to the processor up to the last data record is
committed, the consumed position is the fetcher's position (which moves past control records);
while messages are still pending, it is the committed offset. Under exactly-once (read
committed) Faust's `highwater` is the last stable offset.

Values are read from the consumer's in-memory state (no broker round trip): `refresh` is cheap
and runs on a timer and on every `/metrics` scrape. Partitions this worker loses are removed
from the gauge, so the sum over workers is the group's lag.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterable
from typing import Any

from faust.exceptions import ConsumerNotStarted
from faust.types import TP, Message
from prometheus_client import Gauge

# Not started, stopping, or a partition revoked between two reads (aiokafka asserts ownership).
NOT_READY = (ConsumerNotStarted, AssertionError, AttributeError, KeyError, TypeError)

LAG = Gauge(
    "ledgerline_stream_consumer_lag",
    "Raw messages not yet consumed and committed (high watermark - consumed position), owned partitions.",
    ["topic", "partition"],
)


class LagTracker:
    """Sets `LAG` for the raw-topic partitions assigned to `consumer`; forgets the others."""

    def __init__(self, topics: Collection[str]) -> None:
        self.topics = frozenset(topics)
        self.last_handed: dict[TP, int] = {}  # offset of the last raw message handed to the processor
        self._shown: set[TP] = set()

    def handed_over(self, messages: Iterable[Message]) -> None:
        self.last_handed.update({message.tp: message.offset for message in messages})

    def refresh(self, consumer: Any) -> dict[TP, int]:
        """Recompute the gauge; returns the lags set (for tests and logs)."""
        try:
            assigned = {tp for tp in consumer.assignment() if tp.topic in self.topics}
        except NOT_READY:  # consumer not started yet or stopping: nothing to report
            assigned = set()
        lags: dict[TP, int] = {}
        for tp in assigned:
            lag = self._lag(consumer, tp)
            if lag is not None:
                lags[tp] = lag
                LAG.labels(tp.topic, str(tp.partition)).set(lag)
        for tp in self._shown - set(lags):
            with contextlib.suppress(KeyError):
                LAG.remove(tp.topic, str(tp.partition))
        for tp in set(self.last_handed) - assigned:
            del self.last_handed[tp]
        self._shown = set(lags)
        return lags

    def _lag(self, consumer: Any, tp: TP) -> int | None:
        try:
            high = consumer.highwater(tp)
        except NOT_READY:  # revoked between assignment() and here
            return None
        if high is None:
            return None  # no fetch response for it yet
        committed = consumer._committed_offset.get(tp)
        position = fetch_position(consumer, tp)
        last = self.last_handed.get(tp)
        if committed is None:  # nothing committed yet since the assignment: how far the fetch got
            known = [value for value in (position, None if last is None else last + 1) if value is not None]
            if not known:
                return None
            consumed = min(known)
        elif (last is None or committed > last) and position is not None:
            consumed = max(committed, position)  # all data committed: what is left are control records
        else:
            consumed = committed
        return max(0, int(high) - int(consumed))


def fetch_position(consumer: Any, tp: TP) -> int | None:
    """aiokafka's position for `tp` (next offset it will return), or None if unknown.

    Read from aiokafka's subscription state: its `position()` is a coroutine on the consumer
    thread, which a scrape must not wait for. Plain attribute reads are safe across threads.
    """
    try:
        aiokafka_consumer = consumer._thread._ensure_consumer()
        state = aiokafka_consumer._subscription.subscription.assignment.state_value(tp)
        if state is None or not state.has_valid_position:
            return None
        return int(state.position)
    except NOT_READY:
        return None
