"""Batch-loader benchmark: 1M usage events from NDJSON, beside raw confluent-kafka produce.

    .venv/bin/python benchmarks/loader.py                 # 1,000,000 events (file cached)
    .venv/bin/python benchmarks/loader.py --events 200000 --workers 1   # inline validation
    .venv/bin/python benchmarks/loader.py --format parquet   # or csv: the same events converted

The file holds the first N usage events of `producers.sample_data` (usage every 2nd day, ~1.07M
usage events) and is cached under `<services.data_dir>/bench/`. Under a unique topic prefix:

1. `load_file` (read, validate against the contract, Avro-encode, produce, per-batch acks and
   checkpoint) -> events/s;
2. the Avro messages it produced are read back and produced again, as they are, with a bare
   confluent-kafka producer of the same configuration (acks=all, idempotent) to another topic
   -> baseline events/s.

`ratio_to_baseline` is ours over the raw baseline (target >= 0.5). Both producers use the same
configuration (`DEFAULT_PRODUCER_OVERRIDES`: acks=all, idempotent, lz4, linger) and the same
bytes and headers; the loader's producer only adds its failure-only delivery reports. CPU
seconds and the load average (at the start and the end) are reported too because other
processes share the machine. The last line printed is one JSON object.

Where the loader's time goes: it parses, validates and encodes column-wise in a background
thread (2-4 us of CPU per event on this 2-core machine, about half of it Arrow's JSON parse,
the rest the polars checks and the numpy Avro encoding) while the main thread produces (~1 us
per event, like the baseline's loop); and it waits for the broker's acknowledgement of every
batch before producing the next one (that is what lets a killed run re-send at most one
batch), one acks=all round trip per `--batch-size` events, which the raw baseline never waits
for.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from confluent_kafka import TopicPartition

from platform_common.config import Settings, get_settings
from platform_common.kafka import ensure_standard_topics, ensure_topics, make_admin, make_consumer, make_producer
from platform_common.topics import Family, TopicSpec, raw_topic
from producers.loader import load_file
from producers.loader.run import DEFAULT_BATCH_SIZE, DEFAULT_PRODUCER_OVERRIDES

Message = tuple[bytes, bytes, list[tuple[str, bytes]]]


def cpu_seconds() -> float:
    """This process and its finished children (the loader's worker processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def broker_cpu_seconds() -> float | None:
    """CPU of the local Kafka broker process(es), None when the broker runs elsewhere: both
    producers here share 2 cores with it, so how busy it was explains the figures."""
    total, found = 0.0, False
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if b"kafka.Kafka" not in (proc / "cmdline").read_bytes():
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        found = True
    return total if found else None


def _spent(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else round(after - before, 2)


def event_file(settings: Settings, events: int) -> Path:
    path = settings.services.data_dir / "bench" / f"loader-usage-{events}.ndjson"
    if path.exists():
        print(f"reusing {path}", flush=True)
        return path
    from producers.sample_data import GenerationParams, generate

    print(f"generating {events:,} usage events with producers.sample_data ...", flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    written = 0
    with temporary.open("wb") as handle:
        for family, event in generate(GenerationParams(usage_every_n_days=2)):
            if family is Family.USAGE:
                handle.write(orjson.dumps(event) + b"\n")
                written += 1
                if written == events:
                    break
    if written < events:
        raise SystemExit(f"sample data has only {written} usage events")
    temporary.replace(path)
    return path


def as_format(source: Path, fmt: str) -> Path:
    """The same events as Parquet (nested records stay structs) or CSV (nested fields as dotted
    columns, every cell text), converted once and cached."""
    if fmt == "ndjson":
        return source
    import polars as pl

    path = source.with_suffix(f".{fmt}")
    if not path.exists():
        print(f"converting {source.name} to {fmt} ...", flush=True)
        temporary = path.with_suffix(".tmp")
        frame = pl.read_ndjson(source, infer_schema_length=None)
        if fmt == "parquet":
            frame.write_parquet(temporary)
        else:
            nested = {name: kind for name, kind in frame.schema.items() if isinstance(kind, pl.Struct)}
            for name, kind in nested.items():
                fields = [field.name for field in kind.fields]
                frame = frame.with_columns(
                    pl.col(name).struct.field(field).alias(f"{name}.{field}") for field in fields
                ).drop(name)
            frame.write_csv(temporary)
        temporary.replace(path)
    return path


def read_back(settings: Settings, topic: str, expected: int) -> list[Message]:
    consumer = make_consumer(f"bench-{uuid.uuid4().hex}", settings, **{"fetch.max.bytes": 52_428_800})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, partition, 0) for partition in partitions])
        messages: list[Message] = []
        deadline = time.monotonic() + 300
        while len(messages) < expected and time.monotonic() < deadline:
            for message in consumer.consume(10_000, timeout=1.0):
                if message.error() is None:
                    raw_headers: Any = message.headers() or []
                    headers = [(str(name), bytes(value or b"")) for name, value in raw_headers]
                    messages.append((message.value() or b"", message.key() or b"", headers))
        return messages
    finally:
        consumer.close()


def raw_produce(settings: Settings, topic: str, messages: list[Message]) -> float:
    producer = make_producer(settings, **DEFAULT_PRODUCER_OVERRIDES)
    started = time.perf_counter()
    produce = producer.produce
    for value, key, headers in messages:
        while True:
            try:
                produce(topic, value, key, headers=headers)  # type: ignore[arg-type]
                break
            except BufferError:
                producer.poll(0.05)
    if producer.flush(120) != 0:
        raise SystemExit("baseline producer could not deliver every message")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--workers", type=int, default=0, help="0: the loader's auto choice")
    parser.add_argument("--format", choices=["ndjson", "parquet", "csv"], default="ndjson", help="the file's format")
    args = parser.parse_args()

    base = get_settings()
    load_at_start = os.getloadavg()[0]
    # Generated in a child process so the loader's RSS below is the loader's alone.
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        source = pool.apply(as_format, (pool.apply(event_file, (base, args.events)), args.format))
    prefix = f"bench-loader-{uuid.uuid4().hex[:8]}."
    settings = base.model_copy(update={"kafka": base.kafka.model_copy(update={"topic_prefix": prefix})})
    ensure_standard_topics(settings)
    baseline_topic = f"{prefix}baseline"
    ensure_topics([TopicSpec(baseline_topic, settings.kafka.default_partitions, 3_600_000)], settings)
    topic = raw_topic(Family.USAGE, prefix)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            print(f"loading {source.name} -> {topic}", flush=True)
            cpu, broker_before = cpu_seconds(), broker_cpu_seconds()
            started = time.perf_counter()
            summary = load_file(
                source,
                Family.USAGE,
                settings,
                checkpoint_path=Path(scratch) / "checkpoint",
                rejects_path=Path(scratch) / "rejects.ndjson",
                batch_size=args.batch_size,
                workers=args.workers,
                restart=True,
            )
            elapsed = time.perf_counter() - started
            loader_cpu = cpu_seconds() - cpu
            broker_loader = _spent(broker_before, broker_cpu_seconds())
        loader_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"loader: {summary.read:,} read, {summary.produced:,} produced in {elapsed:.1f}s", flush=True)
        messages = read_back(settings, topic, summary.produced)
        print(f"read back {len(messages):,} Avro messages; raw produce -> {baseline_topic}", flush=True)
        cpu, broker_before = cpu_seconds(), broker_cpu_seconds()
        baseline_elapsed = raw_produce(settings, baseline_topic, messages)
        baseline_cpu = cpu_seconds() - cpu
        broker_baseline = _spent(broker_before, broker_cpu_seconds())
    finally:
        admin = make_admin(base)
        names = [name for name in admin.list_topics(timeout=10).topics if name.startswith(prefix)]
        for future in admin.delete_topics(names, operation_timeout=60).values():
            future.result(timeout=60)
    ours = summary.read / elapsed
    baseline = len(messages) / baseline_elapsed
    print(f"loader {ours:,.0f} events/s, raw produce {baseline:,.0f} events/s", flush=True)
    print(
        json.dumps(
            {
                "benchmark": "loader",
                "events": summary.read,
                "produced": summary.produced,
                "rejected": summary.rejected,
                "events_per_s": round(ours),
                "baseline_events_per_s": round(baseline),
                "ratio_to_baseline": round(ours / baseline, 3),
                "rss_mb": round(loader_rss_mb, 1),
                "elapsed_s": round(elapsed, 2),
                "loader_cpu_s": round(loader_cpu, 2),
                # Per CPU-second of the producing process(es): less sensitive to a shared machine.
                "events_per_cpu_s": round(summary.read / loader_cpu) if loader_cpu else None,
                "baseline_events_per_cpu_s": round(len(messages) / baseline_cpu) if baseline_cpu else None,
                "baseline_elapsed_s": round(baseline_elapsed, 2),
                "baseline_cpu_s": round(baseline_cpu, 2),
                # The local broker's CPU during each run (null when it runs elsewhere): with
                # the producer's, against 2 cores x elapsed, it shows how saturated each run was.
                "broker_cpu_s_loader": broker_loader,
                "broker_cpu_s_baseline": broker_baseline,
                "batch_size": args.batch_size,
                "workers": args.workers or "auto",
                "format": args.format,
                "cpus": os.cpu_count(),
                "load_avg_1m_start": round(load_at_start, 2),
                "load_avg_1m": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
