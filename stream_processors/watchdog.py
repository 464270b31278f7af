"""Repairs for two ways the fetch can consume records that never reach their reader.

Both were caught in the 2-worker SIGKILL test (a few runs in a hundred, more under load) with a
dump of the survivor's consumer state: aiokafka's fetch positions had moved past records that
Faust's fetch loop then discarded, around the rebalance that followed the kill (records
fetched for a partition just resumed or paused, or across a generation change).

- A changelog partition taken over in that rebalance: its position was at the end, but the
  table recovery had received none of its records, so the recovery waited (minutes) and the
  partitions it covers stayed unprocessed.
- A raw partition on which nothing had been committed yet: Faust rewinds partitions to their
  committed offsets after a rebalance, which cannot rewind those, so the records it dropped
  were never processed (the partition's durable `next_offset` stayed behind the position).

Each check compares the fetch position with what the reader has (the recovery's offsets, the
processor's `next_offset`) and, when one stays behind with nothing arriving, seeks the
partition back. Re-reading is harmless: the recovery ignores offsets it has applied and the
processor does not recount messages below `next_offset`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from faust.types import TP

from stream_processors.offsets import named

log = logging.getLogger(__name__)
RECOVERY_STALL_S = 10.0


def stalled_recovery(recovery: Any, now: float | None = None) -> dict[TP, int]:
    """Active changelog partitions of a running recovery that are behind their highwater and
    have received nothing for RECOVERY_STALL_S: the offset to read each again from. Reads
    Faust's `Recovery` bookkeeping (the same its "No event received" warning uses)."""
    if not recovery.in_recovery or recovery._recovery_started_at is None:
        return {}
    now = time.monotonic() if now is None else now
    stalled: dict[TP, int] = {}
    for tp, highwater in recovery.active_highwaters.items():
        offset = recovery.active_offsets.get(tp)
        if highwater is None or offset is None or offset >= highwater:
            continue
        last = recovery._active_events_received_at.get(tp, recovery._recovery_started_at)
        if now - last >= RECOVERY_STALL_S:
            stalled[tp] = max(offset + 1, 0)
    return stalled


class PositionWatch:
    """Raw partitions whose fetch position stayed past the processor's `next_offset` with
    nothing processed between two checks: records consumed but never handed over."""

    def __init__(self) -> None:
        self._last: dict[TP, tuple[int, int]] = {}
        self._sought: dict[TP, tuple[int, int]] = {}

    def check(self, positions: Mapping[TP, int | None], next_offsets: Mapping[TP, int]) -> dict[TP, int]:
        """The partitions to read again, and from where. A partition that comes back to the
        same position with nothing processed after being read again ends in a hole (a
        transactional producer's commit marker): it is left alone until it moves."""
        behind: dict[TP, tuple[int, int]] = {}
        for tp, position in positions.items():
            expected = next_offsets.get(tp)
            if position is not None and expected is not None and position > expected:
                behind[tp] = (position, expected)
        self._sought = {tp: state for tp, state in self._sought.items() if next_offsets.get(tp) == state[1]}
        stuck = {
            tp: state[1]
            for tp, state in behind.items()
            if self._last.get(tp) == state and self._sought.get(tp) != state
        }
        self._sought.update({tp: behind[tp] for tp in stuck})
        self._last = behind
        if stuck:
            log.warning(
                "raw records consumed but never processed: reading them again",
                extra={"from": named(stuck), "positions": named({tp: behind[tp][0] for tp in stuck})},
            )
        return stuck
