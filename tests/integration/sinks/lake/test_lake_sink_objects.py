"""The lake sink against real Kafka and MinIO: exact bytes, layout, manifests, time-based flush."""

from __future__ import annotations

import io
import json
import logging
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import fastavro
import pytest
from lake_sink_helpers import (
    GARBAGE,
    SinkThread,
    caught_up,
    event_messages,
    produce,
    quarantine_message,
    wait_for,
)

from platform_common.config import Settings
from platform_common.topics import raw_topic
from sinks.lake import LakeReader, LakeRecord, LakeSinkSettings, iter_manifests, list_objects, read_object, verify
from sinks.lake.layout import hour_bucket, parse_key
from sinks.lake.settings import consumer_group

pytestmark = pytest.mark.integration
QUARANTINE_DOCUMENT = json.dumps(
    {
        "format": "ledgerline.quarantine/v1",
        "family": "payment",
        "event_id": "payment-7",
        "payload": {"avro_b64": None, "json": {"event_time": "2024-01-01T00:00:00Z"}},
    }
).encode()


def lake_settings(max_batch_records: int, max_batch_seconds: float) -> LakeSinkSettings:
    return LakeSinkSettings(metrics_port=0, max_batch_records=max_batch_records, max_batch_seconds=max_batch_seconds)


def test_objects_hold_the_exact_original_records_under_family_date_hour_keys(
    isolated_topics: Settings, isolated_bucket: Settings
) -> None:
    settings = isolated_topics.model_copy(update={"s3": isolated_bucket.s3})
    prefix = settings.kafka.topic_prefix
    headers: list[tuple[str, bytes | None]] = [("trace", b"1"), ("trace", b"2"), ("nothing", None)]
    messages = event_messages(settings, 400)
    messages += [
        (raw_topic("payment", prefix), b"customer-1", GARBAGE, headers),
        (raw_topic("usage", prefix), None, None, []),
        quarantine_message(settings, GARBAGE, family="usage"),
        quarantine_message(settings, messages[0][2], family="subscription"),
        quarantine_message(settings, QUARANTINE_DOCUMENT, family="usage"),  # the document wins
    ]
    sent = produce(settings, messages)
    lake = lake_settings(max_batch_records=37, max_batch_seconds=0.5)

    with SinkThread(settings, lake) as sink:
        wait_for(lambda: caught_up(settings, consumer_group(settings, lake)), 60, what="lake sink to catch up")
    sink.raise_error()

    reader = LakeReader(settings)
    objects = list_objects(settings=settings)
    assert objects, "no lake objects written"
    archived: dict[tuple[str, int, int], LakeRecord] = {}
    per_offset: Counter[tuple[str, int, int]] = Counter()
    for item in objects:
        body = reader.read_bytes(item.key)
        source = fastavro.reader(io.BytesIO(body))  # valid OCF, schema embedded
        assert isinstance(source.writer_schema, dict)
        assert source.writer_schema["name"] == "io.ledgerline.lake.LakeRecord"
        assert source.codec == "deflate"
        records = list(read_object(item.key, settings=settings))
        assert item.start_offset <= records[0].offset
        assert item.hour == datetime.fromtimestamp(hour_bucket(records[0].kafka_timestamp_ms) * 3600, UTC)
        assert all(record.kafka_timestamp < item.hour + timedelta(hours=1) for record in records)
        expected_family = "quarantine" if item.topic.endswith("quarantine") else item.topic.split(".")[-2]
        assert item.family == expected_family
        assert item.key.startswith(f"family={expected_family}/date={item.hour:%Y-%m-%d}/hour={item.hour:%H}/")
        for record in records:
            coordinates = (record.topic, record.partition, record.offset)
            per_offset[coordinates] += 1
            archived[coordinates] = record

    assert set(per_offset.values()) == {1}
    assert set(per_offset) == {(s.topic, s.partition, s.offset) for s in sent}
    for message in sent:
        record = archived[(message.topic, message.partition, message.offset)]
        assert record.value == message.value
        assert record.key == message.key
        assert tuple((h.key, h.value) for h in record.headers) == message.headers
        assert record.kafka_timestamp_ms == message.timestamp_ms

    garbage = [r for r in archived.values() if r.value == GARBAGE]
    assert len(garbage) == 2
    assert all(r.event_id is None and r.decode_error == "bad_header" for r in garbage)
    assert {r.family for r in garbage} == {"payment", "usage"}
    document = next(r for r in archived.values() if r.value == QUARANTINE_DOCUMENT)
    assert (document.family, document.event_id, document.decode_error) == ("payment", "payment-7", None)
    valid = [r for r in archived.values() if r.decode_error is None]
    assert len(valid) == 402
    assert all(r.event_id and r.event_time for r in valid)

    report = verify(settings=settings)
    assert report.ok, report.problems
    assert report.records == len(sent)
    manifests = list(iter_manifests(settings=settings))
    assert len(manifests) == len(objects)
    assert sum(m.record_count for m in manifests) == len(sent)
    assert sum(m.undecodable_count for m in manifests) == 3
    assert {m.key for m in iter_manifests("quarantine", settings=settings)} == {
        o.key for o in objects if o.family == "quarantine"
    }
    now = datetime.now(UTC)
    assert list_objects("payment", now - timedelta(hours=2), now + timedelta(hours=1), settings=settings) == [
        o for o in objects if o.family == "payment"
    ]
    assert list_objects("payment", now + timedelta(hours=2), now + timedelta(hours=3), settings=settings) == []


def test_time_based_flush_writes_a_small_batch_after_the_timeout(
    isolated_topics: Settings, isolated_bucket: Settings
) -> None:
    settings = isolated_topics.model_copy(update={"s3": isolated_bucket.s3})
    lake = lake_settings(max_batch_records=10_000, max_batch_seconds=1.5)
    reader = LakeReader(settings)
    with SinkThread(settings, lake) as sink:
        time.sleep(2)  # joined and idle
        topic = raw_topic("subscription", settings.kafka.topic_prefix)
        sent = produce(
            settings, [(topic, b"same-customer", value, []) for _t, _k, value, _h in event_messages(settings, 3)]
        )
        produced_at = time.monotonic()
        wait_for(lambda: list(reader.list_keys("family=subscription/")), 20, interval=0.05, what="the object")
        flushed_after = time.monotonic() - produced_at
        keys = list(reader.list_keys("family=subscription/"))
        wait_for(lambda: caught_up(settings, consumer_group(settings, lake)), 20, what="the commit")
    sink.raise_error()
    assert flushed_after >= 1.5 - 0.05, "flushed before the batch timeout"
    assert len(keys) == 1
    records = list(reader.read_object(keys[0]))
    assert [r.offset for r in records] == [s.offset for s in sent] == [0, 1, 2]
    assert parse_key(keys[0]).start_offset == 0


def test_object_log_line_names_the_trace_ids_its_records_carried(
    isolated_topics: Settings, isolated_bucket: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings = isolated_topics.model_copy(update={"s3": isolated_bucket.s3})
    messages = [
        (topic, key, value, [("trace_id", f"trace-{index}".encode())])
        for index, (topic, key, value, _headers) in enumerate(event_messages(settings, 40))
    ]
    produce(settings, messages)
    lake = lake_settings(max_batch_records=1000, max_batch_seconds=0.3)

    with caplog.at_level(logging.INFO, logger="sinks.lake.store"), SinkThread(settings, lake) as sink:
        wait_for(lambda: caught_up(settings, consumer_group(settings, lake)), 60, what="lake sink to catch up")
    sink.raise_error()

    written = [record for record in caplog.records if record.getMessage() == "lake object written"]
    assert written
    logged = {trace for record in written for trace in record.__dict__["trace_ids"]}
    assert logged == {f"trace-{index}" for index in range(40)}
    assert sum(record.__dict__["trace_id_count"] for record in written) == 40
