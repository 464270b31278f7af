from __future__ import annotations

from datetime import UTC, datetime

from lake_unit_helpers import T0, event_value, record

from sinks.lake.batch import BatchLimits, PartitionBuffer
from sinks.lake.layout import parse_key
from sinks.lake.manifest import Manifest
from sinks.lake.objects import build_manifest, encode_batch
from sinks.lake.verify import check_chain, check_object

NOW = datetime(2024, 5, 1, tzinfo=UTC)


def manifest(
    start: int,
    end: int,
    partition: int = 0,
    count: int | None = None,
    first: int | None = None,
    family: str = "payment",
) -> Manifest:
    return Manifest(
        key=f"k{partition}-{start}",
        topic="t",
        partition=partition,
        family=family,
        start_offset=start,
        end_offset=end,
        first_offset=start if first is None else first,
        record_count=end - start + 1 if count is None else count,
        size_bytes=1,
        sha256="0" * 64,
        codec="deflate",
        min_kafka_timestamp=NOW,
        max_kafka_timestamp=NOW,
        min_event_time=None,
        max_event_time=None,
        family_counts={"payment": 1},
        schema_fingerprints={},
        undecodable_count=0,
    )


def test_contiguous_objects_pass_and_ranges_are_coalesced() -> None:
    problems, ranges = check_chain([manifest(10, 19), manifest(0, 9), manifest(20, 20), manifest(0, 4, 1)])
    assert problems == []
    assert ranges == {"t/0": [(0, 20)], "t/1": [(0, 4)]}


def test_gaps_and_overlaps_are_reported() -> None:
    problems, ranges = check_chain([manifest(0, 9), manifest(12, 15), manifest(15, 20)])
    assert [(p.kind, p.key) for p in problems] == [("gap", "k0-12"), ("overlap", "k0-15")]
    assert "10..11" in problems[0].detail
    assert ranges["t/0"] == [(0, 9), (12, 20)]


def test_missing_offsets_inside_an_object_are_reported_unless_the_topic_is_transactional() -> None:
    holes = [manifest(0, 9), manifest(10, 19, count=8, first=10), manifest(20, 29, count=9, first=21)]
    problems, _ = check_chain(holes)
    assert [(p.kind, p.key) for p in problems] == [("offset_holes", "k0-10"), ("offset_holes", "k0-20")]
    assert check_chain(holes, dense_offsets=False)[0] == []
    transactional = [manifest(0, 9, family="quarantine"), manifest(10, 19, count=8, first=11, family="quarantine")]
    assert check_chain(transactional)[0] == []


def test_impossible_ranges_are_reported() -> None:
    problems, _ = check_chain([manifest(0, 9, count=11), manifest(10, 19, first=9)])
    assert [p.kind for p in problems] == ["bad_range", "bad_range"]


def test_check_object_detects_a_changed_object_and_a_lying_manifest() -> None:
    buf = PartitionBuffer("events.payment.raw", 0, "payment", 0, BatchLimits(100, 10**9, 60))
    for offset in range(10):
        buf.add(record(offset, T0, event_value(offset)), 0.0)
    buf.seal()
    batch = buf.take_sealed()
    assert batch is not None
    body = encode_batch(batch, "deflate")
    good = build_manifest(batch, body, "deflate")
    item = parse_key(batch.key)
    assert check_object(item, good, body) == []
    other = encode_batch(batch, "null")
    assert [p.kind for p in check_object(item, good, other)] == ["checksum_mismatch"]
    lying = good.model_copy(update={"record_count": 9})
    assert [p.kind for p in check_object(item, lying, body)] == ["manifest_mismatch"]
    assert [p.kind for p in check_object(item, good, b"not an avro file")] == ["checksum_mismatch"]
    garbage = b"not an avro file"
    assert [p.kind for p in check_object(item, good.model_copy(update={"sha256": _sha(garbage)}), garbage)] == [
        "bad_object"
    ]


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_check_object_detects_a_key_whose_hour_is_not_the_first_records_arrival_hour() -> None:
    buf = PartitionBuffer("events.payment.raw", 0, "payment", 0, BatchLimits(100, 10**9, 60))
    buf.add(record(0, T0, event_value(0)), 0.0)
    buf.seal()
    batch = buf.take_sealed()
    assert batch is not None
    body = encode_batch(batch, "deflate")
    manifest = build_manifest(batch, body, "deflate")
    wrong_hour = parse_key(batch.key.replace("hour=10/", "hour=11/"))
    assert [p.kind for p in check_object(wrong_hour, manifest, body)] == ["bad_object"]
