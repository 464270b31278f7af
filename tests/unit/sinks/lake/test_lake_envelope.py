from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any, Literal

import fastavro
import pytest
from lake_unit_helpers import T0, event_value, record

from platform_common.topics import Family
from schemas import catalog, serializer
from sinks.lake.batch import Batch, BatchLimits, PartitionBuffer
from sinks.lake.envelope import EventInspector, LakeHeader, family_of_header
from sinks.lake.objects import build_manifest, encode_batch, iter_lake_records, rebuild_manifest
from sinks.lake.synthetic import synthetic_event

LIMITS = BatchLimits(max_records=1000, max_bytes=10**9, max_seconds=60)


def sealed_batch(records: list[dict[str, Any]]) -> Batch:
    buffer = PartitionBuffer("events.payment.raw", 0, "payment", int(records[0]["offset"]), LIMITS)
    for item in records:
        buffer.add(item, 0.0)
    buffer.seal()
    batch = buffer.take_sealed()
    assert batch is not None
    return batch


@pytest.mark.parametrize("mode", ["full", "prefix"])
def test_inspector_reads_event_id_and_time_of_valid_events(mode: Literal["full", "prefix"]) -> None:
    inspector = EventInspector(catalog(), mode)
    for family in Family:
        event_id, value = synthetic_event(family, 42, serializer())
        found = inspector.inspect(value)
        assert found.error is None
        assert found.event_id == event_id
        assert found.subject == family.value
        assert found.event_time_us == int(datetime(2024, 1, 1, 0, 0, 42, tzinfo=UTC).timestamp()) * 1_000_000
        assert found.fingerprint == value[2:10].hex()
        if mode == "full":
            assert found.version == catalog().latest(family.value).version


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (b"\x00\xffgarbage", "bad_header"),
        (b"", "bad_header"),
        (None, "null_value"),
        (b"\xc3\x01" + b"\x01" * 8 + b"body", "unknown_schema"),
    ],
)
def test_inspector_classifies_undecodable_values_without_raising(value: bytes | None, error: str) -> None:
    modes: tuple[Literal["full", "prefix"], ...] = ("full", "prefix")
    for mode in modes:
        found = EventInspector(catalog(), mode).inspect(value)
        assert found.error == error
        assert found.event_id is None


def test_full_mode_refuses_truncated_bodies_and_trailing_bytes() -> None:
    value = event_value(1)
    inspector = EventInspector(catalog(), "full")
    assert inspector.inspect(value[:-5]).error == "corrupt_body"
    assert inspector.inspect(value + b"\x00").error == "trailing_bytes"
    assert inspector.inspect(value[:-5]).event_id is None


def test_prefix_mode_refuses_a_body_cut_inside_the_leading_fields() -> None:
    assert EventInspector(catalog(), "prefix").inspect(event_value(1)[:14]).error == "corrupt_body"


def test_family_header_is_read_only_when_it_names_a_family() -> None:
    assert family_of_header([("reason", b"x"), ("family", b"usage")]) == "usage"
    assert family_of_header([("family", b"nonsense")]) is None
    assert family_of_header(None) is None


def test_ocf_object_round_trips_every_byte_including_garbage_null_and_repeated_headers() -> None:
    headers = [("trace", b"a"), ("trace", b"b"), ("empty", None), ("bin", b"\x00\xff")]
    records = [
        record(10, T0, event_value(1), key=b"customer-1", headers=headers),
        record(11, T0 + 5, b"\x00\xffnot avro\xc3", key=None),
        record(12, T0 + 9, None, key=b"k"),
        record(13, T0 + 9, b"", key=b""),
    ]
    batch = sealed_batch(records)
    body = encode_batch(batch, "deflate")

    source = fastavro.reader(io.BytesIO(body))  # a plain Avro reader needs nothing but the file
    assert source.codec == "deflate"
    assert isinstance(source.writer_schema, dict)
    assert source.writer_schema["name"] == "io.ledgerline.lake.LakeRecord"
    assert source.metadata["ledgerline.start_offset"] == "10"
    assert source.metadata["ledgerline.end_offset"] == "13"

    back = list(iter_lake_records(body))
    assert [item.offset for item in back] == [10, 11, 12, 13]
    assert [item.value for item in back] == [records[i]["value"] for i in range(4)]
    assert [item.key for item in back] == [b"customer-1", None, b"k", b""]
    assert back[0].headers == tuple(LakeHeader(name, data) for name, data in headers)
    assert [item.kafka_timestamp_ms for item in back] == [T0, T0 + 5, T0 + 9, T0 + 9]
    assert back[0].event_id == "payment-000000001"
    assert back[0].decode_error is None
    assert back[1].event_id is None
    assert back[1].decode_error == "bad_header"
    assert back[2].decode_error == "null_value"


def test_objects_are_byte_identical_when_the_same_batch_is_encoded_again() -> None:
    records = [record(offset, T0 + offset, event_value(offset)) for offset in range(50)]
    assert encode_batch(sealed_batch(records), "deflate") == encode_batch(sealed_batch(records), "deflate")


def test_manifest_rebuilt_from_the_object_alone_equals_the_one_written_with_it() -> None:
    records = [record(offset, T0 + offset, event_value(offset)) for offset in range(5, 40)]
    records.append(record(40, T0 - 1000, b"garbage"))
    batch = sealed_batch(records)
    body = encode_batch(batch, "deflate")
    written = build_manifest(batch, body, "deflate")
    assert rebuild_manifest(batch.key, body) == written
    assert (written.start_offset, written.first_offset, written.end_offset, written.record_count) == (5, 5, 40, 36)
    assert written.family_counts == {"payment": 36}
    assert written.undecodable_count == 1
    assert sum(written.schema_fingerprints.values()) == 35
    assert written.min_kafka_timestamp.timestamp() * 1000 == T0 - 1000
    assert written.min_event_time == datetime(2024, 1, 1, 0, 0, 5, tzinfo=UTC)
    assert type(written).from_json_bytes(written.to_json_bytes()) == written
