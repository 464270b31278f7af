"""Loader pieces that need no services: row shaping and checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest

from platform_common.topics import Family
from producers.loader import checkpoint
from producers.loader.columns import shaper
from producers.loader.readers import detect_format


def test_csv_cells_become_typed_nested_events() -> None:
    row = {
        "event_id": "e1",
        "quantity": "12",
        "unit_price_minor": "-0",
        "billing_interval_count": "1.5",
        "metadata.producer": "p",
        "metadata.received_at": None,
        "discount.kind": "percent",
        "discount.percent_basis_points": "1250",
        "discount.amount_minor": None,
        "customer_id": "00123",
    }
    event = shaper(Family.SUBSCRIPTION).shape(row, from_text=True)
    assert event["quantity"] == 12
    assert event["unit_price_minor"] == 0
    assert event["billing_interval_count"] == "1.5"  # not coerced: the contract rejects it
    assert event["customer_id"] == "00123"  # strings stay strings
    assert event["metadata"] == {"producer": "p", "received_at": None}
    assert event["discount"] == {"kind": "percent", "percent_basis_points": 1250, "amount_minor": None}


def test_empty_nullable_record_is_null_and_empty_required_cells_are_missing() -> None:
    row = {"discount.kind": None, "discount.amount_minor": None, "currency": None}
    event = shaper(Family.SUBSCRIPTION).shape(row, from_text=True)
    assert event == {"discount": None}
    usage = shaper(Family.USAGE).shape({"is_billable": "FALSE", "metric": None, "bogus.col": "1"}, from_text=True)
    assert usage == {"is_billable": False, "bogus": {"col": "1"}}  # unknown columns reach the contract


def test_parquet_structs_with_null_required_leaves_are_missing() -> None:
    row = {"metadata": {"producer": None, "received_at": None, "trace_id": None}, "amount_minor": 5}
    event = shaper(Family.PAYMENT).shape(row, from_text=False)
    assert event == {"metadata": {"received_at": None, "trace_id": None}, "amount_minor": 5}


@pytest.mark.parametrize(("name", "fmt"), [("a.csv", "csv"), ("a.JSONL", "ndjson"), ("a.parquet", "parquet")])
def test_format_from_suffix(name: str, fmt: str) -> None:
    assert detect_format(Path(name)) == fmt


def test_unknown_suffix_is_refused() -> None:
    with pytest.raises(ValueError, match="--format"):
        detect_format(Path("a.xlsx"))


def test_checkpoint_round_trips_and_refuses_another_file_version(tmp_path: Path) -> None:
    source = tmp_path / "f.ndjson"
    source.write_text("{}\n")
    identity = checkpoint.Identity.of(source, "usage", "events.usage.raw", "k:1")
    path = checkpoint.default_path(source)
    assert checkpoint.load(path, identity) is None
    checkpoint.save(path, checkpoint.Checkpoint(identity, done_through=7, produced=5, rejected=2))
    loaded = checkpoint.load(path, identity)
    assert loaded is not None
    assert (loaded.done_through, loaded.produced, loaded.rejected) == (7, 5, 2)
    other_topic = checkpoint.Identity.of(source, "usage", "other.usage.raw", "k:1")
    with pytest.raises(checkpoint.CheckpointMismatch, match="topic"):
        checkpoint.load(path, other_topic)
    source.write_text("{}\n{}\n")
    with pytest.raises(checkpoint.CheckpointMismatch, match="size"):
        checkpoint.load(path, checkpoint.Identity.of(source, "usage", "events.usage.raw", "k:1"))
