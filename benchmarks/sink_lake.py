"""Lake sink throughput against a raw baseline measured in the same run.

A large raw stream (default 1M single-object Avro events of all four families, 0.1 % garbage)
is produced once to an isolated topic prefix. Then, from the same topics:

* ours: the real `LakeSink` (fresh consumer group, default settings but `max_batch_records`)
  until every record is durable in write-once OCF objects with manifests and committed;
* baseline: the least a lake writer can do: consume the same records with the same client and
  batch size, concatenate the raw values per partition into chunks of the same record count,
  and `put_object` them (no envelope, no decoding, no conditional write, no manifest, no commit).

`ratio_to_baseline` is ours over the baseline in events/s. `p50_ms`/`p99_ms` are per-object
write latencies (encode + conditional PUT of object and manifest). `rss_mb` is the peak RSS of
the whole run, producing included. `cpu_seconds` (process CPU during each phase) is reported
beside wall time because the services share the machine; `decode_only_events_per_s` is the
single-core rate of the Avro decoding the sink does per event and the baseline does not.
Topics and bucket are deleted afterwards.

    .venv/bin/python benchmarks/sink_lake.py [--events 1000000] [--batch-records 10000]

`benchmarks/sink.py` imports `lake_benchmark` from here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from platform_common.config import Settings, get_settings
from platform_common.kafka import ensure_standard_topics, make_admin, make_consumer, make_producer
from platform_common.s3 import ensure_bucket, s3_client
from platform_common.topics import Family, raw_topic
from schemas import serializer
from sinks.lake import LakeSink, LakeSinkSettings, verify
from sinks.lake.envelope import EventInspector
from sinks.lake.synthetic import synthetic_event

Progress = Callable[[str], None]
POOL = 20_000  # distinct encoded events, cycled: the sink's cost does not depend on uniqueness


def lake_benchmark(
    events: int = 1_000_000,
    batch_records: int = 10_000,
    decode_mode: str = "full",
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the benchmark on the configured services; returns the CONTRIBUTING.md metrics."""
    say = progress or (lambda _message: None)
    base = settings or get_settings()
    name = f"bench-lake-{uuid.uuid4().hex[:10]}"
    isolated = base.model_copy(
        update={
            "kafka": base.kafka.model_copy(update={"topic_prefix": f"{name}."}),
            "s3": base.s3.model_copy(update={"lake_bucket": name}),
        }
    )
    ensure_standard_topics(isolated)
    asyncio.run(_create_bucket(isolated))
    try:
        started = time.perf_counter()
        input_bytes = _produce(isolated, events, say)
        say(f"produced {events} events ({input_bytes / 1e6:.1f} MB) in {time.perf_counter() - started:.1f}s")

        lake = LakeSinkSettings(
            metrics_port=0,
            max_batch_records=batch_records,
            max_batch_seconds=30,
            decode_mode=decode_mode,  # type: ignore[arg-type]
        )
        cpu = time.process_time()
        ours_s, sink = _run_sink(isolated, lake, events, say)
        ours_cpu = time.process_time() - cpu
        say(f"lake sink: {events / ours_s:,.0f} events/s, {input_bytes / ours_s / 1e6:.1f} MB/s")
        cpu = time.process_time()
        baseline_s = asyncio.run(_baseline(isolated, events, batch_records, lake.max_concurrent_uploads))
        baseline_cpu = time.process_time() - cpu
        say(f"baseline: {events / baseline_s:,.0f} events/s, {input_bytes / baseline_s / 1e6:.1f} MB/s")
        report = verify(settings=isolated, checksums=False)
        latencies = sorted(sink.stats.flush_seconds)
        return {
            "events": events,
            "events_per_s": round(events / ours_s, 1),
            "mb_per_s": round(input_bytes / ours_s / 1e6, 2),
            "baseline_events_per_s": round(events / baseline_s, 1),
            "baseline_mb_per_s": round(input_bytes / baseline_s / 1e6, 2),
            "ratio_to_baseline": round(baseline_s / ours_s, 3),
            "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 1),
            "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "seconds": round(ours_s, 2),
            "baseline_seconds": round(baseline_s, 2),
            "cpu_seconds": round(ours_cpu, 2),
            "baseline_cpu_seconds": round(baseline_cpu, 2),
            "decode_only_events_per_s": round(_decode_rate(decode_mode), 1),
            "input_mb": round(input_bytes / 1e6, 1),
            "objects": sink.stats.objects_written,
            "object_mb": round(sink.stats.bytes_written / 1e6, 1),
            "batch_records": batch_records,
            "codec": lake.codec,
            "decode_mode": decode_mode,
            "verified": report.ok and report.records == events,
        }
    finally:
        _clean_up(isolated)


def _produce(settings: Settings, events: int, say: Progress) -> int:
    codec = serializer()
    families = list(Family)
    pool = [synthetic_event(families[i % 4], i, codec)[1] for i in range(POOL)]
    topics = [raw_topic(family, settings.kafka.topic_prefix) for family in families]
    producer = make_producer(settings, **{"linger.ms": 50})
    total = 0
    for index in range(events):
        value = pool[index % POOL] if index % 1000 != 999 else b"\x00garbage" + index.to_bytes(8, "big")
        total += len(value)
        while True:
            try:
                producer.produce(topics[index % 4], value=value, key=f"customer-{index % 9973}".encode())
                break
            except BufferError:
                producer.poll(0.05)
        if index % 200_000 == 0 and index:
            say(f"  produced {index}")
    if producer.flush(120) != 0:
        raise RuntimeError("benchmark events were not all acknowledged")
    return total


def _decode_rate(decode_mode: str) -> float:
    """Single-core rate of what the sink must do per event that the baseline skips: decoding."""
    inspector = EventInspector(serializer().catalog, decode_mode)  # type: ignore[arg-type]
    codec = serializer()
    values = [synthetic_event(list(Family)[i % 4], i, codec)[1] for i in range(20_000)]
    started = time.process_time()
    for value in values:
        inspector.inspect(value)
    return len(values) / max(time.process_time() - started, 1e-9)


def _run_sink(settings: Settings, lake: LakeSinkSettings, events: int, say: Progress) -> tuple[float, LakeSink]:
    """Time from start to every record durable and committed (stop() flushes the last batches)."""
    sink = LakeSink(settings, lake)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            sink.run()
        except BaseException as error:  # noqa: BLE001 - re-raised below
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    started = time.perf_counter()
    thread.start()
    next_report = 5.0
    while sink.stats.records_consumed < events and thread.is_alive():
        time.sleep(0.02)
        if time.perf_counter() - started > next_report:
            say(f"  lake sink consumed {sink.stats.records_consumed}, objects {sink.stats.objects_written}")
            next_report += 5
    sink.stop()
    thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return elapsed, sink


async def _baseline(settings: Settings, events: int, chunk_records: int, concurrency: int) -> float:
    consumer = make_consumer(f"{settings.kafka.topic_prefix}bench-baseline", settings)
    consumer.subscribe([raw_topic(family, settings.kafka.topic_prefix) for family in Family])
    chunks: dict[tuple[str, int], list[bytes]] = defaultdict(list)
    in_flight: set[asyncio.Task[Any]] = set()
    seen = 0
    started = time.perf_counter()
    async with s3_client(settings) as s3:

        async def put(key: str, values: list[bytes]) -> None:
            await s3.put_object(Bucket=settings.s3.lake_bucket, Key=key, Body=b"".join(values))

        def upload(part: tuple[str, int], values: list[bytes]) -> None:
            key = f"baseline/{part[0]}/{part[1]}/{seen}"
            in_flight.add(asyncio.create_task(put(key, values)))

        try:
            while seen < events:
                messages = await asyncio.to_thread(consumer.consume, 5000, 0.05)
                for message in messages:
                    value = message.value()
                    if message.error() or not isinstance(value, bytes):
                        continue
                    seen += 1
                    part = (str(message.topic()), int(message.partition() or 0))
                    chunks[part].append(value)
                    if len(chunks[part]) >= chunk_records:
                        upload(part, chunks.pop(part))
                while len(in_flight) >= concurrency:
                    done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                    in_flight.difference_update(done)
            for part in list(chunks):
                upload(part, chunks.pop(part))
            await asyncio.gather(*in_flight)
        finally:
            consumer.close()
    return time.perf_counter() - started


async def _create_bucket(settings: Settings) -> None:
    async with s3_client(settings) as s3:
        await ensure_bucket(s3, settings.s3.lake_bucket)


def _clean_up(settings: Settings) -> None:
    async def remove_bucket() -> None:
        async with s3_client(settings) as s3:
            bucket = settings.s3.lake_bucket
            async for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for item in page.get("Contents", []):
                    await s3.delete_object(Bucket=bucket, Key=item["Key"])
            await s3.delete_bucket(Bucket=bucket)

    asyncio.run(remove_bucket())
    admin = make_admin(settings)
    prefix = settings.kafka.topic_prefix
    names = [topic for topic in admin.list_topics(timeout=10).topics if topic.startswith(prefix)]
    if names:
        for future in admin.delete_topics(names, operation_timeout=30).values():
            future.result(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch-records", type=int, default=10_000)
    parser.add_argument("--decode-mode", choices=["full", "prefix"], default="full")
    args = parser.parse_args()
    result = lake_benchmark(
        args.events,
        args.batch_records,
        args.decode_mode,
        progress=lambda message: print(message, flush=True),
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
