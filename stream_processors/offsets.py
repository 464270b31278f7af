"""Which raw message may be processed next, decided from the durable state, not the fetch.

Each partition's counts carry `next_offset`, the raw offset after the last message counted; it
is restored from the changelog with the rest of the state, so it is the one record of what
this consumer group has processed that survives crashes and rebalances. Faust's own
bookkeeping does not: records fetched just before a seek can be delivered just after it, a
batch dropped at a rebalance can leave the fetch position past it when nothing was committed
yet, and an offset jump is counted as acknowledged (the 2-worker SIGKILL test lost up to 20
events of a partition to these, a few runs in a hundred). A message beyond `next_offset` means
the ones in between were never processed: the partition is read again from `next_offset`.

Some jumps are real holes: a transactional producer's commit markers take offsets, and records
deleted by retention before they were read are gone. So a jump is believed on the second sight,
when the re-read from `next_offset` brings the same offset first again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from faust.types import TP

log = logging.getLogger(__name__)


class OffsetGuard:
    def __init__(self) -> None:
        self._reread: dict[TP, tuple[int, int]] = {}  # tp -> (read again from, jump that caused it)

    def admit(self, tp: TP, offset: int, next_offset: int) -> int | None:
        """None to process the message at `offset`; otherwise the offset to read `tp` again
        from (the rest of this fetch for `tp` is to be skipped too)."""
        if offset <= next_offset:
            self._reread.pop(tp, None)  # in order again (or an already counted message)
            return None
        jump = (next_offset, offset)
        if self._reread.get(tp) == jump:  # the re-read brought the same offset first: a hole
            del self._reread[tp]
            log.info("offset hole confirmed", extra={"tp": _name(tp), "hole": [next_offset, offset - 1]})
            return None
        self._reread[tp] = jump
        log.warning(
            "raw messages skipped by the fetch: reading them again",
            extra={"tp": _name(tp), "next_offset": next_offset, "offset": offset},
        )
        return next_offset

    def forget(self, keep: set[TP]) -> None:
        """Drop the memory of partitions no longer owned."""
        for tp in set(self._reread) - keep:
            del self._reread[tp]


def _name(tp: TP) -> str:
    return f"{tp.topic}/{tp.partition}"


def named(offsets: Mapping[TP, int]) -> dict[str, int]:
    """Offsets by `topic/partition`, for log fields."""
    return {_name(tp): offset for tp, offset in offsets.items()}
