"""`OffsetGuard`: a raw message past the partition's durable `next_offset` is read again first."""

from __future__ import annotations

from faust.types import TP

from stream_processors.offsets import OffsetGuard

TP0 = TP("t.events.usage.raw", 0)
TP1 = TP("t.events.usage.raw", 1)


def test_messages_in_order_or_already_counted_are_admitted() -> None:
    guard = OffsetGuard()
    assert guard.admit(TP0, 5, next_offset=5) is None
    assert guard.admit(TP0, 3, next_offset=6) is None  # re-delivered after a restart: not recounted


def test_a_jump_is_read_again_from_the_next_offset_until_the_missing_messages_arrive() -> None:
    # 9 arrives while 5..8 were never processed (fetched before a seek, or dropped at a rebalance)
    guard = OffsetGuard()
    assert guard.admit(TP0, 9, next_offset=5) == 5
    assert guard.admit(TP0, 5, next_offset=5) is None  # the re-read
    assert guard.admit(TP0, 9, next_offset=9) is None


def test_the_same_jump_first_again_after_the_re_read_is_a_real_hole() -> None:
    # offsets 5..7 hold a transactional producer's markers, or were deleted by retention
    guard = OffsetGuard()
    assert guard.admit(TP0, 8, next_offset=5) == 5
    assert guard.admit(TP0, 8, next_offset=5) is None
    assert guard.admit(TP0, 12, next_offset=9) == 9  # a later jump is questioned afresh


def test_a_different_jump_on_the_re_read_is_questioned_again() -> None:
    guard = OffsetGuard()
    assert guard.admit(TP0, 9, next_offset=5) == 5
    assert guard.admit(TP0, 7, next_offset=5) == 5  # still not 5: read again, not believed
    assert guard.admit(TP0, 7, next_offset=5) is None


def test_partitions_are_independent_and_forgotten_when_revoked() -> None:
    guard = OffsetGuard()
    assert guard.admit(TP0, 9, next_offset=5) == 5
    assert guard.admit(TP1, 3, next_offset=3) is None
    guard.forget({TP1})
    assert guard.admit(TP0, 9, next_offset=5) == 5  # forgotten: questioned afresh
