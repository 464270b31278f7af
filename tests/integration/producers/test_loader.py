"""The batch loader on files written by `producers.sample_data`, against the real broker."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest

import schemas
from platform_common.config import Settings
from platform_common.topics import Family, raw_topic
from producers.loader import CheckpointMismatch, load_file
from producers.sample_data import GenerationParams, generate, write_files
from tests.integration.producers.conftest import consume

pytestmark = pytest.mark.integration
LOADER_CLI = [sys.executable, "-c", "from producers.loader import produce_cli; produce_cli()"]
FAMILY = Family.PAYMENT  # has both contract faults of the generator: missing field, negative amount


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """Small sample data with injected bad records, in all three formats; plus the events."""
    result = generate(GenerationParams(customers=40, months=6, bad_record_share=0.1))
    out = tmp_path_factory.mktemp("sample")
    write_files(result, out, ["ndjson", "csv", "parquet"])
    return out, [event for family, event in result.events() if family is FAMILY]


def _is_valid(event: dict[str, Any]) -> bool:
    try:
        schemas.validate_event(FAMILY, event)
    except schemas.ContractViolation:
        return False
    return True


@pytest.mark.parametrize(("fmt", "workers"), [("ndjson", 1), ("csv", 1), ("parquet", 2)])
def test_loads_every_valid_row_and_writes_each_reject_with_line_field_and_reason(
    isolated_topics: Settings, sample: tuple[Path, list[dict[str, Any]]], fmt: str, workers: int, tmp_path: Path
) -> None:
    out, events = sample
    source = tmp_path / f"payments.{fmt}"
    source.write_bytes((out / fmt / f"{FAMILY.value}.{fmt}").read_bytes())
    valid = [event for event in events if _is_valid(event)]
    invalid = [event for event in events if not _is_valid(event)]
    assert valid
    assert invalid

    summary = load_file(source, FAMILY, isolated_topics, batch_size=100, workers=workers)

    assert (summary.read, summary.produced, summary.rejected) == (len(events), len(valid), len(invalid))
    assert summary.complete
    consumed = consume(isolated_topics, raw_topic(FAMILY, isolated_topics.kafka.topic_prefix))
    assert Counter(m.record["event_id"] for m in consumed) == Counter(e["event_id"] for e in valid)
    by_id = {m.record["event_id"]: schemas.to_json(m.record) for m in consumed}
    counts = Counter(e["event_id"] for e in valid)
    for event in [e for e in valid if counts[e["event_id"]] == 1][:50]:  # duplicates are injected
        produced = by_id[event["event_id"]]
        expected = copy.deepcopy(event)
        expected["metadata"]["received_at"] = produced["metadata"]["received_at"]  # stamped by the loader
        assert produced == expected

    rejects = [orjson.loads(line) for line in summary.rejects_path.read_bytes().splitlines()]
    assert sorted(r["event_id"] for r in rejects) == sorted(e["event_id"] for e in invalid)
    reasons = {(error["field"], error["code"]) for reject in rejects for error in reject["errors"]}
    assert ("amount_minor", "out_of_range") in reasons
    assert all(error["reason"] for reject in rejects for error in reject["errors"])
    assert any(code == "missing" for _, code in reasons)
    for reject in rejects:  # `line` points at the record, `row` is the record as read
        assert _event_id_at(source, fmt, reject["line"]) == reject["event_id"]
        assert _original_id(reject["row"]) == reject["event_id"]


def _event_id_at(source: Path, fmt: str, position: int) -> str:
    if fmt == "parquet":
        return str(pl.read_parquet(source)["event_id"][position - 1])
    line = source.read_text(encoding="utf-8").splitlines()[position - 1]
    return str(orjson.loads(line)["event_id"] if fmt == "ndjson" else line.split(",", 1)[0])


def _original_id(row: dict[str, Any]) -> str:
    return str(row["event_id"])


def test_completed_file_is_not_loaded_twice_and_a_changed_file_is_refused(
    isolated_topics: Settings, sample: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    out, events = sample
    source = tmp_path / "payments.ndjson"
    source.write_bytes((out / "ndjson" / f"{FAMILY.value}.ndjson").read_bytes())
    topic = raw_topic(FAMILY, isolated_topics.kafka.topic_prefix)
    first = load_file(source, FAMILY, isolated_topics)
    again = load_file(source, FAMILY, isolated_topics)
    assert again.already_complete
    assert again.produced == 0
    assert len(consume(isolated_topics, topic)) == first.produced

    restarted = load_file(source, FAMILY, isolated_topics, restart=True)
    assert restarted.produced == first.produced
    assert len(consume(isolated_topics, topic)) == 2 * first.produced

    with source.open("ab") as handle:
        handle.write(orjson.dumps(events[0]) + b"\n")
    with pytest.raises(CheckpointMismatch, match="size"):
        load_file(source, FAMILY, isolated_topics)


def test_killed_load_resumes_after_the_checkpoint_without_loss_or_mass_duplicates(
    isolated_topics: Settings, tmp_path: Path
) -> None:
    rows = [event for family, event in generate(GenerationParams(customers=250, months=6)) if family is Family.USAGE]
    source = tmp_path / "usage.ndjson"
    source.write_bytes(b"".join(orjson.dumps(event) + b"\n" for event in rows))
    checkpoint = tmp_path / "usage.ndjson.ledgerline-checkpoint"
    batch = 500
    env = {**os.environ, "LEDGERLINE_KAFKA__TOPIC_PREFIX": isolated_topics.kafka.topic_prefix}
    loader = subprocess.Popen(
        [*LOADER_CLI, str(source), "--family", "usage", "--batch-size", str(batch), "--no-progress"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not (checkpoint.exists() and json.loads(checkpoint.read_text())["done_through"] >= 3 * batch):
        assert loader.poll() is None, f"loader exited early: {loader.communicate()[1]!r}"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    loader.send_signal(signal.SIGKILL)
    loader.wait(timeout=10)
    killed_at = json.loads(checkpoint.read_text())
    assert not killed_at["complete"]
    assert killed_at["done_through"] < len(rows)

    summary = load_file(source, Family.USAGE, isolated_topics, batch_size=batch)

    assert summary.resumed_after == killed_at["done_through"]
    assert summary.read == len(rows) - killed_at["done_through"]  # settled rows are not read again
    ids = [
        m.record["event_id"]
        for m in consume(isolated_topics, raw_topic(Family.USAGE, isolated_topics.kafka.topic_prefix))
    ]
    assert set(ids) == {event["event_id"] for event in rows}
    # At most the batch in flight at the kill and, when its checkpoint save had not finished
    # (saves run on their own thread, see producers/loader/run.py), the one before it.
    assert len(ids) <= len(rows) + 2 * batch
