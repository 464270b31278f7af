from __future__ import annotations

import itertools

from hypothesis import example, given, settings
from hypothesis import strategies as st
from lake_unit_helpers import HOUR_MS, T0, record

from sinks.lake.batch import Batch, BatchLimits, PartitionBuffer
from sinks.lake.layout import hour_bucket


def buffer(start: int = 0, records: int = 1000, size: int = 10**9, seconds: float = 60) -> PartitionBuffer:
    return PartitionBuffer("events.payment.raw", 0, "payment", start, BatchLimits(records, size, seconds))


def drain(buf: PartitionBuffer) -> list[Batch]:
    batches = []
    while (batch := buf.take_sealed()) is not None:
        batches.append(batch)
    return batches


def test_cut_by_record_count_and_next_batch_starts_after_the_last_record() -> None:
    buf = buffer(start=100, records=3)
    for offset in range(100, 107):
        buf.add(record(offset), 0.0)
    batches = drain(buf)
    assert [(b.start_offset, b.last_offset) for b in batches] == [(100, 102), (103, 105)]
    assert buf.open is not None
    assert buf.open.start_offset == 106


def test_cut_by_value_bytes() -> None:
    buf = buffer(size=1024)
    for offset in range(4):
        buf.add(record(offset, value=b"x" * 600), 0.0)
    assert [(b.start_offset, b.last_offset) for b in drain(buf)] == [(0, 1), (2, 3)]


def test_time_cut_seals_an_old_batch_only() -> None:
    buf = buffer(seconds=5)
    buf.add(record(0), now=10.0)
    assert buf.next_deadline() == 15.0
    assert not buf.seal_if_due(14.9)
    assert buf.seal_if_due(15.0)
    assert [b.last_offset for b in drain(buf)] == [0]
    assert buf.next_deadline() is None


def test_a_later_hour_cuts_the_batch_but_an_earlier_one_does_not_fragment_it() -> None:
    buf = buffer()
    buf.add(record(0, T0 + 10), 0.0)
    buf.add(record(1, T0 - 5), 0.0)  # skewed producer clock: previous hour, stays
    buf.add(record(2, T0 + HOUR_MS), 0.0)  # next hour: new object in the next hour partition
    buf.seal()
    batches = drain(buf)
    assert [(b.start_offset, b.last_offset) for b in batches] == [(0, 1), (2, 2)]
    assert "hour=10/" in batches[0].key
    assert "hour=11/" in batches[1].key


def test_offsets_with_holes_still_chain_batches_without_gaps() -> None:
    """Transaction markers take offsets without records; a batch starts right after the previous."""
    buf = buffer(start=0, records=2)
    for offset in (0, 1, 3, 4, 7):
        buf.add(record(offset), 0.0)
    buf.seal()
    assert [(b.start_offset, b.records[0]["offset"], b.last_offset) for b in drain(buf)] == [
        (0, 0, 1),
        (2, 3, 4),
        (5, 7, 7),
    ]


def test_skip_to_drops_what_an_existing_object_holds_and_rebatches_the_rest() -> None:
    buf = buffer(start=100, records=10)
    for offset in range(100, 125):
        buf.add(record(offset), 1.0)
    must_seek = buf.skip_to(112)  # an earlier run archived 100..111
    assert must_seek is False
    batches = drain(buf)
    assert [(b.start_offset, b.last_offset) for b in batches] == [(112, 121)]
    assert buf.open is not None
    assert (buf.open.start_offset, buf.open.last_offset) == (122, 124)
    assert buf.committed == 112


def test_skip_beyond_what_was_consumed_asks_for_a_seek_and_ignores_older_records() -> None:
    buf = buffer(start=0)
    buf.add(record(0), 0.0)
    assert buf.skip_to(50) is True
    assert buf.open is None
    assert not buf.sealed
    assert not buf.accepts(49)
    assert buf.accepts(50)
    buf.add(record(50), 0.0)
    assert buf.open is not None
    assert buf.open.start_offset == 50


def test_skip_keeps_the_tail_of_the_batch_whose_upload_found_a_shorter_object() -> None:
    buf = buffer(start=0, records=5)
    for offset in range(7):
        buf.add(record(offset), 1.0)
    in_flight = buf.take_sealed()  # 0..4 is being uploaded; 5..6 are open
    assert in_flight is not None
    buf.skip_to(3, unwritten=in_flight)  # a crashed run had archived 0..2 only
    assert buf.open is not None
    assert (buf.open.start_offset, [r["offset"] for r in buf.open.records]) == (3, [3, 4, 5, 6])


def simulate(
    offsets: list[int],
    stamps: list[int],
    limits: BatchLimits,
    seal_at: set[int],
    start: int,
    lake: dict[int, list[int]],
) -> None:
    """One life of the sink for one partition, against a write-once `lake` {start: offsets}."""
    buf = PartitionBuffer("events.payment.raw", 0, "payment", start, limits)

    def upload_all() -> None:
        while (batch := buf.take_sealed()) is not None:
            if batch.start_offset in lake:  # If-None-Match refused: skip past the existing object
                buf.skip_to(lake[batch.start_offset][-1] + 1, unwritten=batch)
            else:
                lake[batch.start_offset] = [item["offset"] for item in batch.records]

    for index, offset in enumerate(offsets):
        if offset < start or not buf.accepts(offset):
            continue
        buf.add(record(offset, stamps[index]), float(index))
        if index in seal_at:
            buf.seal()
        upload_all()
    while buf.open is not None:  # a skip while draining re-batches into a new open batch
        buf.seal()
        upload_all()


@settings(max_examples=300, deadline=None)
@example(  # the restart re-batches past a shorter object written by the crashed life
    gaps=[1] * 20,
    hours=[0] * 150,
    first_limit=3,
    second_limit=5,
    first_seals=set(),
    second_seals=set(),
    crash_after=10,
    commit_pick=0,
)
@given(
    gaps=st.lists(st.integers(min_value=1, max_value=2), min_size=1, max_size=150),
    hours=st.lists(st.integers(min_value=-1, max_value=1), min_size=150, max_size=150),
    first_limit=st.integers(min_value=1, max_value=20),
    second_limit=st.integers(min_value=1, max_value=20),
    first_seals=st.sets(st.integers(min_value=0, max_value=150)),
    second_seals=st.sets(st.integers(min_value=0, max_value=150)),
    crash_after=st.integers(min_value=0, max_value=150),
    commit_pick=st.integers(min_value=0, max_value=1000),
)
def test_a_restart_with_other_cuts_tiles_the_offsets_exactly_once(
    gaps: list[int],
    hours: list[int],
    first_limit: int,
    second_limit: int,
    first_seals: set[int],
    second_seals: set[int],
    crash_after: int,
    commit_pick: int,
) -> None:
    """Property: a first life archives a prefix with its own cuts and dies having committed any of
    its object boundaries; a second life with other cuts resumes from there. Every offset ends up in
    exactly one object, objects start where the previous one ended, and none is written twice."""
    offsets = list(itertools.accumulate(gaps, initial=0))[1:]
    stamps = [T0 + hours[i % len(hours)] * HOUR_MS + i for i in range(len(offsets))]
    lake: dict[int, list[int]] = {}
    first = BatchLimits(first_limit, 10**9, 60)
    simulate(offsets[:crash_after], stamps, first, first_seals, 0, lake)
    boundaries = sorted({0, *lake, *(items[-1] + 1 for items in lake.values())})
    committed = boundaries[commit_pick % len(boundaries)]
    first_life = {start: list(items) for start, items in lake.items()}

    simulate(offsets, stamps, BatchLimits(second_limit, 10**9, 60), second_seals, committed, lake)

    assert all(lake[start] == items for start, items in first_life.items())  # write-once
    archived = [offset for start in sorted(lake) for offset in lake[start]]
    assert archived == sorted(set(archived)), "an offset is archived twice"
    assert set(archived) == set(offsets), "an offset was lost"
    ends = {start: items[-1] for start, items in lake.items()}
    starts = sorted(lake)
    for previous, current in itertools.pairwise(starts):
        assert current == ends[previous] + 1, "objects must tile the offsets"
    for start, items in lake.items():
        assert items[0] >= start
        assert items == sorted(items)
        bucket = hour_bucket(stamps[offsets.index(items[0])])
        assert all(hour_bucket(stamps[offsets.index(o)]) <= bucket for o in items)
