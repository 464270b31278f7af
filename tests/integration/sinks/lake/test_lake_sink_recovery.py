"""Write-once behaviour: no second copy, no overlapping objects after re-consuming, manifests repaired."""

from __future__ import annotations

import asyncio

import pytest
from lake_sink_helpers import SinkThread, caught_up, event_messages, produce, wait_for

from platform_common.config import Settings
from platform_common.s3 import s3_client
from sinks.lake import LakeReader, LakeSinkSettings, verify
from sinks.lake.batch import Batch, BatchLimits, PartitionBuffer
from sinks.lake.layout import manifest_key
from sinks.lake.settings import consumer_group
from sinks.lake.store import FlushResult, LakeStore

pytestmark = pytest.mark.integration


def combined(topics: Settings, bucket: Settings) -> Settings:
    return topics.model_copy(update={"s3": bucket.s3})


def run_until_caught_up(settings: Settings, lake: LakeSinkSettings) -> SinkThread:
    with SinkThread(settings, lake) as sink:
        wait_for(lambda: caught_up(settings, consumer_group(settings, lake)), 60, what="lake sink to catch up")
    sink.raise_error()
    return sink


def test_if_none_match_keeps_the_first_object_and_reports_its_manifest(isolated_bucket: Settings) -> None:
    settings = isolated_bucket
    topic = "t.events.payment.raw"

    def batch(values: list[bytes]) -> tuple[PartitionBuffer, Batch]:
        buffer = PartitionBuffer(topic, 0, "payment", 100, BatchLimits(1000, 10**9, 60))
        for offset, value in enumerate(values, start=100):
            buffer.add(
                {
                    "topic": topic,
                    "partition": 0,
                    "offset": offset,
                    "kafka_timestamp": 1_714_557_600_000,
                    "timestamp_type": "create_time",
                    "key": None,
                    "headers": [],
                    "value": value,
                    "family": "payment",
                    "event_id": None,
                    "event_time": None,
                    "schema_fingerprint": None,
                    "schema_version": None,
                    "decode_error": "bad_header",
                },
                0.0,
            )
        buffer.seal()
        sealed = buffer.take_sealed()
        assert sealed is not None
        return buffer, sealed

    async def scenario() -> tuple[FlushResult, FlushResult, bytes, list[str]]:
        async with s3_client(settings) as s3:
            store = LakeStore(s3, settings.s3.lake_bucket, "deflate")
            first = await store.write(*batch([b"a", b"b", b"c"]))
            second = await store.write(*batch([b"x", b"y"]))  # same start offset, other end and bytes
            stored = await s3.get_object(Bucket=settings.s3.lake_bucket, Key=first.batch.key)
            body: bytes = await stored["Body"].read()
            listing = await s3.list_objects_v2(Bucket=settings.s3.lake_bucket)
            return first, second, body, [item["Key"] for item in listing.get("Contents", [])]

    first, second, body, keys = asyncio.run(scenario())
    assert first.created
    assert not second.created
    assert first.batch.key == second.batch.key
    assert second.manifest == first.manifest  # the caller skips to the existing object's end
    assert second.next_offset == 103
    assert [record.value for record in LakeReader(settings).read_object(first.batch.key)] == [b"a", b"b", b"c"]
    assert sorted(keys) == sorted([first.batch.key, manifest_key(first.batch.key)])
    assert len(body) == first.manifest.size_bytes


def test_reconsuming_with_other_batch_boundaries_adds_no_object(
    isolated_topics: Settings, isolated_bucket: Settings
) -> None:
    """A new consumer group re-reads everything with different size/time cuts: every batch starts at
    an existing object's start, so each is refused and skipped; nothing overlaps."""
    settings = combined(isolated_topics, isolated_bucket)
    produce(settings, event_messages(settings, 3000))
    run_until_caught_up(settings, LakeSinkSettings(metrics_port=0, max_batch_records=70, max_batch_seconds=0.3))
    reader = LakeReader(settings)
    before = sorted(reader.list_keys())

    again = run_until_caught_up(
        settings,
        LakeSinkSettings(metrics_port=0, group_id="lake-rerun", max_batch_records=45, max_batch_seconds=1),
    )
    assert again.sink.stats.objects_written == 0
    assert again.sink.stats.objects_existing > 0
    assert sorted(reader.list_keys()) == before
    report = verify(settings=settings)
    assert report.ok, report.problems
    assert report.records == 3000


def test_a_crash_between_object_and_manifest_is_repaired_on_restart(
    isolated_topics: Settings, isolated_bucket: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = combined(isolated_topics, isolated_bucket)
    produce(settings, event_messages(settings, 500))
    lake = LakeSinkSettings(metrics_port=0, max_batch_records=1000, max_batch_seconds=0.5)
    original = LakeStore.put_manifest

    async def crash(self: LakeStore, manifest: object) -> None:
        raise RuntimeError("simulated crash after the data object was written")

    monkeypatch.setattr(LakeStore, "put_manifest", crash)
    with SinkThread(settings, lake) as crashed:
        wait_for(lambda: crashed.error is not None, 30, what="the simulated crash")
    assert "simulated crash" in str(crashed.error)
    orphans = verify(settings=settings)
    assert {problem.kind for problem in orphans.problems} == {"missing_manifest"}

    monkeypatch.setattr(LakeStore, "put_manifest", original)
    restarted = run_until_caught_up(settings, lake)
    assert restarted.sink.stats.objects_existing >= 1
    report = verify(settings=settings)
    assert report.ok, report.problems
    assert report.records == 500


def test_verify_reports_a_tampered_object_and_a_missing_one(
    isolated_topics: Settings, isolated_bucket: Settings
) -> None:
    settings = combined(isolated_topics, isolated_bucket)
    produce(settings, event_messages(settings, 300))
    run_until_caught_up(settings, LakeSinkSettings(metrics_port=0, max_batch_records=3, max_batch_seconds=0.3))
    reader = LakeReader(settings)
    objects = reader.list_objects("usage")
    by_partition = [item for item in objects if item.partition == objects[0].partition]
    assert len(by_partition) >= 3
    tampered, removed = by_partition[0], by_partition[1]

    async def damage() -> None:
        async with s3_client(settings) as s3:
            bucket = settings.s3.lake_bucket
            body = reader.read_bytes(tampered.key)
            await s3.put_object(Bucket=bucket, Key=tampered.key, Body=body[:-1] + bytes([body[-1] ^ 1]))
            await s3.delete_object(Bucket=bucket, Key=removed.key)

    asyncio.run(damage())
    report = verify("usage", settings=settings)
    kinds = {(problem.kind, problem.key) for problem in report.problems}
    assert ("checksum_mismatch", tampered.key) in kinds
    assert ("orphan_manifest", removed.key) in kinds
    assert ("gap", by_partition[2].key) in kinds
    assert verify("usage", settings=settings, checksums=False).problems != []
    assert verify("payment", settings=settings).ok
