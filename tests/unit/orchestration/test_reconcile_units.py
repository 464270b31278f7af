from __future__ import annotations

import json
from collections import Counter
from datetime import date

from orchestration.reconcile import (
    Archived,
    Check,
    DayRow,
    PartitionBalance,
    Reconciler,
    Scope,
    archived_clean,
    balance_check,
    lake_count_below,
    partition_balance,
    quarantine_source,
    to_date,
)
from orchestration.reconcile_flow import ReconcileMismatch, ReconcileReport, report_tables
from orchestration.scan import PartitionScan
from platform_common.topics import Family


def test_lake_coverage_uses_inclusive_offset_ranges() -> None:
    spans = [(0, 9), (10, 19), (30, 39)]
    assert Reconciler.covered(spans, 0)
    assert Reconciler.covered(spans, 19)
    assert not Reconciler.covered(spans, 20)
    assert not Reconciler.covered(spans, 29)
    assert Reconciler.covered(spans, 39)
    assert not Reconciler.covered(spans, 40)
    assert not Reconciler.covered([], 0)


def test_report_flags_missing_rows_and_failed_checks() -> None:
    good = DayRow("payment", date(2026, 1, 2), Counter(raw=10, lake=10, clean=9, quarantined=1, warehouse=9))
    missing = DayRow("usage", date(2026, 1, 2), Counter(raw=5, lake=4, lake_missing=1, clean=5, warehouse=5))
    report = ReconcileReport([good], [Check("mrr_bridge", True, "ok")])
    assert report.ok
    assert report.mismatches == []
    report = ReconcileReport([good, missing], [Check("mrr_bridge", False, "2 rows break")])
    assert not report.ok
    assert any("usage 2026-01-02" in item and "lake_missing" in item for item in report.mismatches)
    assert any(item.startswith("mrr_bridge") for item in report.mismatches)
    data = report.as_dict()
    assert data["ok"] is False
    assert data["totals"]["usage"]["lake_missing"] == 1
    assert len(report_tables(data)) == 2
    assert "mismatches" in str(ReconcileMismatch(report))


def test_scope_and_days() -> None:
    assert to_date(0) == date(1970, 1, 1)
    scope = Scope(start=date(2026, 1, 1), end=date(2026, 1, 31))
    assert scope.includes(date(2026, 1, 31))
    assert not scope.includes(date(2026, 2, 1))


def test_partition_balance_difference_needs_every_term() -> None:
    item = PartitionBalance(0, received=10, clean=6, quarantined=1, duplicates=2, parked=1)
    assert item.difference == 0
    item.clean = 5
    assert item.difference == 1
    item.quarantined = None
    assert item.difference is None
    item = PartitionBalance(1, received=1, clean=1, quarantined=0, duplicates=0, parked=0, unverified=["trimmed"])
    assert item.difference is None


def test_balance_check_mismatch_unverified_and_ok() -> None:
    good = PartitionBalance(0, received=10, clean=7, quarantined=1, duplicates=2, parked=0, processor_raw=10)
    off = PartitionBalance(1, received=5, clean=3, quarantined=1, duplicates=0, parked=0, processor_raw=4)
    lost = PartitionBalance(2, duplicates=0, parked=0, unverified=["payment.raw/2 trimmed"])

    check = balance_check("payment", [good])
    assert (check.ok, check.status) == (True, "ok")
    assert check.data["totals"]["received"] == 10
    assert "balanced" in check.detail

    check = balance_check("payment", [good, off, lost])  # a real mismatch wins over unverified
    assert (check.ok, check.status) == (False, "mismatch")
    assert check.data["differences"] == {"1": 1}
    assert check.data["unverified"] == {"2": ["payment.raw/2 trimmed"]}

    check = balance_check("payment", [good, lost])
    assert (check.ok, check.status) == (False, "unverified")
    assert "payment.raw/2 trimmed" in check.detail

    assert balance_check("usage", []).status == "ok"


def test_lake_count_below_needs_a_gapless_tiling_from_zero() -> None:
    # (start_offset, first_offset, end_offset, record_count)
    dense = [(0, 0, 9, 10), (10, 10, 19, 10), (20, 20, 29, 10)]
    assert lake_count_below(dense, 25) == 25
    assert lake_count_below(dense, 30) == 30
    assert lake_count_below(dense, 31) is None  # not archived that far
    assert lake_count_below([(0, 0, 9, 10), (12, 12, 19, 8)], 15) is None  # gap 10..11
    assert lake_count_below([(0, 0, 9, 10), (5, 5, 19, 15)], 15) is None  # overlap
    assert lake_count_below([(3, 3, 9, 7)], 5) is None  # the lake starts after offset 0
    assert lake_count_below([(0, 0, 9, 8)], 10) == 8  # holes inside a whole object: its count
    assert lake_count_below([(0, 0, 9, 8)], 5) is None  # ... but not how many lie below 5


def test_report_fails_on_unverified_unless_allowed() -> None:
    unverified = Check("balance:payment", False, "unverified (trimmed)", unverified=True)
    report = ReconcileReport([], [Check("mrr_bridge", True, "ok"), unverified])
    assert report.mismatches == []
    assert report.unverified == ["balance:payment: unverified (trimmed)"]
    assert not report.ok
    assert "balance:payment" in str(ReconcileMismatch(report))
    allowed = ReconcileReport([], report.checks, allow_unverified=True)
    assert allowed.ok
    data = allowed.as_dict()
    assert data["ok"] is True
    assert data["unverified"] == report.unverified
    assert [c["status"] for c in data["checks"]] == ["ok", "unverified"]
    mismatch = ReconcileReport([], [Check("balance:usage", False, "off by 1"), unverified], allow_unverified=True)
    assert not mismatch.ok
    assert mismatch.failures == ["balance:usage: off by 1"]


def test_count_reader_parses_what_the_stream_processor_writes() -> None:
    """The contract between the processor's changelog records and `platform_common.stream_counts`."""
    from platform_common.stream_counts import ProcessorCounts
    from stream_processors.state import ParkedEvent, PartitionState

    state = PartitionState(retention_us=3_600_000_000)
    counts = state.counts_for(Family.PAYMENT)
    counts.raw, counts.clean, counts.duplicate, counts.parked, counts.next_offset = 9, 5, 2, 1, 12
    counts.quarantined = {"out_of_range": 1}
    parked = ParkedEvent("payment", "events.payment.raw", 3, 11, None, b"x", 0, (), 0, "sub-1")
    state.park(parked)
    _, records = state.drain(3, now_us=0)
    reader = ProcessorCounts("topic", exists=True)
    for key, value in records:
        reader.apply(key, value)
    durable = reader.counts[("payment", 3)]
    assert (durable.raw, durable.clean, durable.duplicate, durable.parked, durable.quarantined) == (9, 5, 2, 1, 1)
    assert durable.next_offset == 12
    assert reader.parked == {("events.payment.raw", 3, 11)}

    older = json.dumps({**vars(counts), "raw": 1, "next_offset": 2}).encode()
    reader.apply(b"n|payment|3", older)  # a re-ordered older record never rolls the counts back
    assert reader.counts[("payment", 3)].next_offset == 12
    reader.apply(b"p|events.payment.raw:3:11", None)  # released
    assert reader.parked == set()


def test_balance_without_durable_counts() -> None:
    """No state changelog: partitions that ever held messages are unverified, empty ones balance."""
    from platform_common.config import Settings
    from platform_common.stream_counts import ProcessorCounts

    reconciler = Reconciler(Settings())
    absent = ProcessorCounts("x-state-changelog", exists=False)
    topic = "events.payment.raw"
    marks = {(topic, 0): (0, 5), (topic, 1): (0, 0)}
    used = partition_balance(
        reconciler.settings.kafka.topic_prefix, Family.PAYMENT, 0, absent, set(), marks, {}, {}, {}
    )
    empty = partition_balance(
        reconciler.settings.kafka.topic_prefix, Family.PAYMENT, 1, absent, set(), marks, {}, {}, {}
    )
    assert used.unverified == ["no durable counts (topic x-state-changelog missing)"]
    assert empty.difference == 0
    assert balance_check("payment", [used, empty]).status == "unverified"
    assert balance_check("payment", [empty]).status == "ok"


def test_outputs_emitted_twice_are_one_output_and_two_kinds_are_a_double() -> None:
    from platform_common.config import Settings

    reconciler = Reconciler(Settings())
    kinds: dict[int, str] = {}
    reconciler.output(kinds, 7, "quarantined")
    reconciler.output(kinds, 7, "quarantined")  # at-least-once: the same record again
    reconciler.output(kinds, 8, "clean")
    reconciler.output(kinds, 8, "clean")
    assert reconciler.doubles == 0
    reconciler.output(kinds, 7, "clean")  # one raw message, two different outputs
    assert reconciler.doubles == 1
    assert kinds == {7: "clean", 8: "clean"}


def test_archived_clean_counts_warehouse_rows_naming_deleted_messages() -> None:
    topic = "events.usage.clean"
    marks = {(topic, 0): (4, 7), (topic, 1): (3, 5), (topic, 2): (0, 6)}
    rows = [("e0", 0, 0), ("e1", 0, 1), ("e2", 0, 3), ("e3", 0, 4), ("e4", 1, 2), ("e5", 2, 0)]
    loaded = {(topic, 0): 7, (topic, 1): 2, (topic, 2): 6}  # partition 1: loaded only to offset 2
    archived = archived_clean(topic, rows, loaded, marks)
    assert archived.events == {0: 3}  # e3 names a message still on the topic; partition 2 is untrimmed
    assert set(archived.sources) == {0}
    assert archived.missing == {1: "deleted before the warehouse sink loaded it (its offset: 2)"}


def test_quarantine_source_reads_the_record_or_gives_none() -> None:
    record = {
        "format": "ledgerline.quarantine/v1",
        "source": {"topic": "events.usage.raw", "partition": 2, "offset": 9},
    }
    assert quarantine_source(json.dumps(record).encode()) == ("events.usage.raw", 2, 9)
    assert quarantine_source(b"not json") is None
    assert quarantine_source(b"[1, 2]") is None
    assert quarantine_source(json.dumps({"source": {"topic": "t"}}).encode()) is None
    assert quarantine_source(None) is None


def _trimmed_partition(clean_store: Archived, quarantine_store: Archived) -> tuple[PartitionBalance, PartitionBalance]:
    """Raw partition 0 of usage, offsets 0..9 all processed: sources 0-3, 5-7 clean, 4 and 8
    quarantined, 9 a duplicate. Retention deleted clean offsets 0..3 (the outputs of sources 0-3)
    and quarantine offset 0 (source 4's record); the quarantine store put source 4 back among the
    outputs (as `_archived_quarantine` does)."""
    from platform_common.config import Settings
    from platform_common.stream_counts import DurableCounts, ProcessorCounts

    reconciler = Reconciler(Settings())
    raw, clean, quarantine = "events.usage.raw", "events.usage.clean", "quarantine"
    durable = ProcessorCounts("x-state-changelog", exists=True)
    durable.counts[("usage", 0)] = DurableCounts("usage", 0, 10, 7, 1, 0, 2, 10)
    marks = {(raw, 0): (0, 10), (clean, 0): (4, 7), (quarantine, 0): (1, 2)}
    scan = PartitionScan()
    scan.offsets.extend(range(10))
    outputs = {(raw, 0): {5: "clean", 6: "clean", 7: "clean", 8: "quarantined", 4: "quarantined"}}
    stores = {"clean": clean_store, "quarantined": quarantine_store}
    balance = partition_balance(
        reconciler.settings.kafka.topic_prefix, Family.USAGE, 0, durable, set(), marks, {0: scan}, {}, outputs, stores
    )
    untrimmed = {(raw, 0): (0, 10), (clean, 0): (0, 7), (quarantine, 0): (0, 2)}
    outputs[(raw, 0)].update({0: "clean", 1: "clean", 2: "clean", 3: "clean"})
    reference = partition_balance(
        reconciler.settings.kafka.topic_prefix, Family.USAGE, 0, durable, set(), untrimmed, {0: scan}, {}, outputs
    )
    return balance, reference


def test_balance_counts_deleted_outputs_from_the_durable_stores() -> None:
    warehouse = Archived(sources={0: "warehouse event rows (one per event)"}, events={0: 4})
    quarantine = Archived(sources={0: "warehouse.quarantine_event (raw source of each record)"})
    balance, reference = _trimmed_partition(warehouse, quarantine)
    assert (balance.received, balance.clean, balance.quarantined, balance.duplicates) == (10, 7, 2, 1)
    assert balance.difference == 0
    assert (reference.clean, reference.quarantined, reference.archived) == (7, 2, [])
    assert balance.archived == [
        "clean below events.usage.clean/0@4: warehouse event rows (one per event)",
        "quarantined below quarantine/0@1: warehouse.quarantine_event (raw source of each record)",
    ]
    check = balance_check("usage", [balance])
    assert check.status == "ok"
    assert check.data["archived"] == {"0": balance.archived}
    assert "counted from the warehouse or lake in 1 partition(s)" in check.detail

    lost_row = Archived(sources=warehouse.sources, events={0: 3})  # a warehouse row deleted
    balance, _ = _trimmed_partition(lost_row, quarantine)
    assert balance.difference == 1
    assert balance_check("usage", [balance]).status == "mismatch"


def test_balance_is_unverified_only_where_no_store_accounts_for_deleted_outputs() -> None:
    warehouse = Archived(sources={0: "warehouse event rows (one per event)"}, events={0: 4})
    nowhere = Archived(missing={0: "the lake's quarantine archive does not tile offsets 0..0"})
    balance, _ = _trimmed_partition(warehouse, nowhere)
    assert balance.difference is None
    assert balance.clean == 7
    assert balance.unverified == [
        "quarantine/0 trimmed below offset 1: the lake's quarantine archive does not tile offsets 0..0"
    ]
    check = balance_check("usage", [balance])
    assert check.status == "unverified"
    assert "quarantine/0 trimmed below offset 1" in check.detail

    unloaded = Archived(missing={0: "deleted before the warehouse sink loaded it (its offset: 2)"})
    balance, _ = _trimmed_partition(unloaded, Archived(sources={0: "the lake's archive of the quarantine topic"}))
    assert balance.unverified == [
        "events.usage.clean/0 trimmed below offset 4: deleted before the warehouse sink loaded it (its offset: 2)"
    ]
    assert balance.quarantined == 2
