"""`watchdog`: what the fetch consumed but never delivered is read again, holes are left alone."""

from __future__ import annotations

from types import SimpleNamespace

from faust.types import TP

from stream_processors.watchdog import RECOVERY_STALL_S, PositionWatch, stalled_recovery

RAW = TP("t.events.usage.raw", 0)
RAW_1 = TP("t.events.usage.raw", 1)
CHANGELOG = TP("t.app-state-changelog", 2)
KEPT = TP("t.app-state-changelog", 3)


def _recovery(received: dict[TP, float], in_recovery: bool = True) -> SimpleNamespace:
    return SimpleNamespace(
        in_recovery=in_recovery,
        _recovery_started_at=100.0,
        active_highwaters={CHANGELOG: 42, KEPT: 50},
        active_offsets={CHANGELOG: -1, KEPT: 20},
        _active_events_received_at=received,
    )


def test_a_changelog_partition_behind_with_nothing_received_is_read_again_from_its_offset() -> None:
    recovery = _recovery({KEPT: 100.0 + RECOVERY_STALL_S})  # KEPT is receiving
    assert stalled_recovery(recovery, now=100.0 + RECOVERY_STALL_S - 1) == {}
    assert stalled_recovery(recovery, now=100.0 + RECOVERY_STALL_S + 1) == {CHANGELOG: 0}
    assert stalled_recovery(recovery, now=100.0 + 2 * RECOVERY_STALL_S + 1) == {CHANGELOG: 0, KEPT: 21}


def test_nothing_is_stalled_outside_a_recovery_or_once_caught_up() -> None:
    assert stalled_recovery(_recovery({}, in_recovery=False), now=1e9) == {}
    caught_up = _recovery({})
    caught_up.active_offsets = {CHANGELOG: 42, KEPT: 50}
    assert stalled_recovery(caught_up, now=1e9) == {}


def test_a_position_past_next_offset_twice_with_no_progress_is_read_again() -> None:
    watch = PositionWatch()
    assert watch.check({RAW: 7, RAW_1: 3}, {RAW: 1, RAW_1: 3}) == {}  # in flight, perhaps
    assert watch.check({RAW: 7, RAW_1: 3}, {RAW: 1, RAW_1: 3}) == {RAW: 1}  # still: stuck


def test_progress_between_checks_is_not_stuck() -> None:
    watch = PositionWatch()
    assert watch.check({RAW: 7}, {RAW: 1}) == {}
    assert watch.check({RAW: 9}, {RAW: 4}) == {}
    assert watch.check({RAW: 9}, {RAW: 9}) == {}


def test_a_hole_at_the_end_is_read_again_once_then_left_alone_until_it_moves() -> None:
    # offset 5 is a transactional producer's commit marker: the position stays one past the data
    watch = PositionWatch()
    watch.check({RAW: 6}, {RAW: 5})
    assert watch.check({RAW: 6}, {RAW: 5}) == {RAW: 5}
    assert watch.check({RAW: 5}, {RAW: 5}) == {}  # being read again
    assert watch.check({RAW: 6}, {RAW: 5}) == {}
    assert watch.check({RAW: 6}, {RAW: 5}) == {}  # the same place: a hole
    watch.check({RAW: 9}, {RAW: 8})
    assert watch.check({RAW: 9}, {RAW: 8}) == {RAW: 8}  # moved on: questioned afresh
