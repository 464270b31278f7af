"""Gateway benchmark: 100-event batches against `gateway serve --workers 2` on the real broker.

    .venv/bin/python benchmarks/gateway.py                       # 1000 batches, 4 clients
    .venv/bin/python benchmarks/gateway.py --batches 1000 --concurrency 16

Creates a scratch database (migrations applied) and a unique topic prefix, starts the gateway
in a subprocess on a free port, creates an API key with a rate limit out of the way, and drives
it from concurrent httpx clients with pre-serialised bodies (distinct event ids per batch).
Reports events/s over the measured phase, p50/p99 batch latency (request sent -> 202 read) and
the RSS of the gateway's processes; checks that the raw topic holds every accepted event.
Targets: >= 10k events/s and p99 <= 150 ms. Everything runs on this machine (broker, Postgres,
gateway, client), so CPU time is reported too. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _scratch import drop_stack, scratch_database
from confluent_kafka import TopicPartition

from platform_common.config import Settings, get_settings
from platform_common.kafka import make_consumer
from platform_common.topics import Family, raw_topic
from producers.gateway import create_api_key


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def payment(batch: int, index: int) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "invoice_paid",
        "event_time": "2024-03-01T09:30:00Z",
        "source": "bench",
        "schema_version": 2,
        "metadata": {"producer": "benchmarks/gateway.py"},
        "payment_id": f"py_{batch}_{index}",
        "invoice_id": f"in_{batch}_{index}",
        "subscription_id": f"sub_{index}",
        "customer_id": f"cus_{(batch * 100 + index) % 5000:06d}",
        "amount_minor": 4900 + index,
        "currency": "EUR",
        "service_period_start": "2024-03-01",
        "service_period_end": "2024-03-31",
        "region_id": "emea",
        "failure_reason": None,
        "payment_method": "card",
    }


def rss_mb(root: int) -> float:
    """RSS of `root` and all its descendants (the uvicorn supervisor and its workers)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    family, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in family]
        family.update(children)
        frontier.extend(children)
    total_kb = 0
    for pid in family:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024


def topic_messages(settings: Settings, topic: str) -> int:
    consumer = make_consumer(f"bench-{uuid.uuid4().hex}", settings)
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        counts = [consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10) for p in partitions]
        return sum(high - low for low, high in counts)
    finally:
        consumer.close()


async def drive(base: str, key: str, bodies: list[bytes], concurrency: int) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=base, limits=limits, headers=headers, timeout=30) as client:

        async def worker() -> None:
            nonlocal errors
            while not queue.empty():
                body = queue.get_nowait()
                started = time.perf_counter()
                response = await client.post("/v1/events/payment/batch", content=body)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 202 or response.json()["accepted"] != 100:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, errors, time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=1000, help="measured 100-event batches")
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent clients")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    base_settings = get_settings()
    token = uuid.uuid4().hex[:8]
    database, prefix = f"ledgerline_bench_gateway_{token}", f"bench-gateway-{token}."
    settings = scratch_database(base_settings, database, prefix)
    _, key = create_api_key(settings, "benchmark", ["payment"], rate_limit_per_s=10_000_000)
    port = free_port()
    env = {**os.environ, "LEDGERLINE_POSTGRES__DATABASE": database, "LEDGERLINE_KAFKA__TOPIC_PREFIX": prefix}
    command = [sys.executable, "-c", "from producers.gateway import gateway_cli; gateway_cli()"]
    server = subprocess.Popen(
        [*command, "serve", "--port", str(port), "--workers", str(args.workers)],
        env={**env, "LEDGERLINE_LOG_LEVEL": "WARNING"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("gateway did not become healthy")
            time.sleep(0.2)
        total = args.warmup + args.batches
        bodies = [orjson.dumps({"events": [payment(b, i) for i in range(100)]}) for b in range(total)]
        print(f"gateway up on {base} with {args.workers} workers; {total} batches of 100 prepared", flush=True)
        asyncio.run(drive(base, key, bodies[: args.warmup], args.concurrency))
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        latencies, errors, elapsed = asyncio.run(drive(base, key, bodies[args.warmup :], args.concurrency))
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        rss = rss_mb(server.pid)
        print(f"measured {len(latencies)} batches in {elapsed:.2f}s, {errors} errors", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    messages = topic_messages(settings, raw_topic(Family.PAYMENT, prefix))
    drop_stack(base_settings, settings)
    client_cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    result = {
        "benchmark": "gateway",
        "events_per_s": round(len(latencies) * 100 / elapsed),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "rss_mb": round(rss, 1),
        "batches": len(latencies),
        "batch_size": 100,
        "concurrency": args.concurrency,
        "workers": args.workers,
        "errors": errors,
        "kafka_messages": messages,
        "expected_messages": total * 100,
        "client_cpu_s": round(client_cpu, 2),
        "elapsed_s": round(elapsed, 2),
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
