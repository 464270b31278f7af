"""End-to-end benchmark: the demo pipeline from the first event sent to the pipeline drained.

    .venv/bin/python benchmarks/e2e.py                          # 1,000 customers x 12 months
    .venv/bin/python benchmarks/e2e.py --customers 5000 --months 24   # the full demo size

On a scratch database, topic prefix and bucket (removed afterwards), it starts the demo's
processes (stream worker, lake sink, warehouse sink, gateway, query API), generates the sample
history, sends it like `ledgerline demo` (batch loader for the past, REST gateway for the last
month) and waits until the processor, the lake sink and the warehouse sink have drained:

* `events_per_s`: raw events received / seconds from the first send to drained;
* `baseline_events_per_s`: the same messages (value, key, headers, read back from the raw
  topics) produced again with a bare confluent-kafka producer (acks=all, idempotent) to a
  scratch topic — the cost of just getting the bytes into Kafka;
* `ratio_to_baseline`: ours over the baseline; `rss_mb`: the pipeline processes' resident
  memory summed at the end; per-step seconds beside them.

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from pathlib import Path
from tempfile import mkdtemp
from typing import Any

from confluent_kafka import TopicPartition

from orchestration import drain, processes
from orchestration.demo import set_up
from orchestration.demo_data import DemoParams, SendReport, load_files, prepare, send_gateway
from orchestration.processes import PipelinePorts
from orchestration.scratch import free_port, scratch_stack
from platform_common.config import Settings, get_settings
from platform_common.kafka import ensure_topics, make_consumer, make_producer
from platform_common.topics import DAY_MS, Family, TopicSpec, raw_topic

Message = tuple[bytes | None, bytes | None, list[tuple[str, Any]]]


def read_raw(settings: Settings) -> list[Message]:
    consumer = make_consumer(f"bench-e2e-{uuid.uuid4().hex}", settings, **{"enable.partition.eof": True})
    try:
        topics = [raw_topic(family, settings.kafka.topic_prefix) for family in Family]
        metadata = consumer.list_topics(timeout=10)
        assignment = [TopicPartition(t, p, 0) for t in topics for p in metadata.topics[t].partitions]
        consumer.assign(assignment)
        open_partitions, messages = len(assignment), []
        while open_partitions:
            for message in consumer.consume(10_000, timeout=1.0):
                if message.error() is not None:
                    open_partitions -= 1
                    continue
                raw_headers: Any = message.headers() or []
                messages.append((message.value(), message.key(), [(str(k), v) for k, v in raw_headers]))
        return messages
    finally:
        consumer.close()


def baseline(settings: Settings, messages: list[Message]) -> float:
    topic = f"{settings.kafka.topic_prefix}bench-baseline"
    ensure_topics([TopicSpec(topic, settings.kafka.default_partitions, DAY_MS)], settings)
    producer = make_producer(settings, **{"linger.ms": 10})
    started = time.perf_counter()
    for value, key, headers in messages:
        while True:
            try:
                producer.produce(topic, value, key, headers=headers)
                break
            except BufferError:
                producer.poll(0.05)
    if producer.flush(120) != 0:
        raise SystemExit("baseline producer could not deliver every message")
    return time.perf_counter() - started


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return round(total / 1024, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args()
    params = DemoParams(customers=args.customers, months=args.months)
    data_dir = Path(mkdtemp(prefix="ledgerline-bench-e2e-"))
    with scratch_stack(get_settings(), data_dir, "bench_e2e") as settings:
        print(f"scratch stack: prefix {settings.kafka.topic_prefix}, data {data_dir}", flush=True)
        set_up(settings)
        data = prepare(params, data_dir, print)
        ports = PipelinePorts(free_port(), free_port(), free_port(), free_port())
        specs = processes.pipeline_specs(settings, ports, data.reference_path)
        try:
            pids = processes.start_pipeline(settings, specs, print)
            sent = SendReport()
            started = time.monotonic()
            load_files(settings, data, sent, print)
            loaded = time.monotonic()
            send_gateway(settings, data, params, sent, print)
            gateway_done = time.monotonic()
            urls = [spec.metrics_url for spec in specs if spec.name.startswith("stream-")]
            progress = drain.wait_drained(settings, urls, args.timeout, print, interval_s=1.0)
            drained = time.monotonic()
            memory = rss_mb(list(pids.values()))
        finally:
            processes.stop_pipeline(settings)
        messages = read_raw(settings)
        print(f"baseline: producing {len(messages):,} raw messages again with a bare producer", flush=True)
        baseline_s = baseline(settings, messages)
    seconds = drained - started
    ours = progress.raw_messages / seconds
    raw = len(messages) / baseline_s
    print(f"pipeline: {progress.raw_messages:,} events in {seconds:.1f}s; baseline {baseline_s:.1f}s", flush=True)
    print(
        json.dumps(
            {
                "benchmark": "e2e",
                "customers": args.customers,
                "months": args.months,
                "events": progress.raw_messages,
                "events_per_s": round(ours, 1),
                "baseline_events_per_s": round(raw, 1),
                "ratio_to_baseline": round(ours / raw, 4),
                "rss_mb": memory,
                "seconds": {
                    "load": round(loaded - started, 2),
                    "gateway": round(gateway_done - loaded, 2),
                    "drain_after_send": round(drained - gateway_done, 2),
                    "first_send_to_drained": round(seconds, 2),
                    "baseline": round(baseline_s, 2),
                },
            }
        )
    )


if __name__ == "__main__":
    main()
