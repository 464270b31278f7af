"""Stream-processor benchmark: one Faust worker on the generator's stream with 5 % bad records.

    .venv/bin/python benchmarks/stream.py [--events 1000000] [--processing-guarantee at_least_once]

1. Generates N events (sample-data generator, 5 % bad records, 2 % late) into fresh raw topics.
   Every message carries a `trace_id` header, as the gateway's do.
2. Raw baseline, same run, same bytes: plain confluent-kafka consume -> produce of every raw
   message to a copy topic (same key and partition), one process, no decoding.
3. One worker (`python -m stream_processors worker`, a subprocess) on the backlog: events/s from
   its first to its last message, the peak RSS of the worker process (VmHWM).
4. Steady 2,000 events/s for `--steady-s` seconds (fresh topics, fresh worker, the generator's
   history compressed into that time): end-to-end lag per clean record (now - the raw message's
   producer timestamp, which the clean record keeps): p50/p99 ms, and the consumer lag in
   messages (end offsets - committed offsets) and the worker's `ledgerline_stream_consumer_lag`
   gauge, sampled every 250 ms, p50/p99; the first 5 s are warm-up.

Prints progress, then as its last line one JSON object (CONTRIBUTING.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from _scratch import drop_topics
from confluent_kafka import TopicPartition

from platform_common.config import Settings, get_settings
from platform_common.kafka import ensure_standard_topics, ensure_topics, make_consumer, make_producer
from platform_common.topics import Family, TopicSpec, clean_topic, raw_topic
from producers.sample_data import GenerationParams, generate
from tests.unit.stream_processors.factory import generated_message

ROOT = Path(__file__).resolve().parents[1]
CUSTOMERS_PER_MILLION = 6_700  # 24 months of generator history, ~1.01M events
Message = tuple[Family, bytes, bytes]


def _say(message: str) -> None:
    print(f"[stream-bench] {message}", flush=True)


def _messages(events: int, seed: int) -> tuple[list[Message], dict[str, Any]]:
    customers = max(30, round(CUSTOMERS_PER_MILLION * events / 1_000_000))
    params = GenerationParams(customers=customers, seed=seed, bad_record_share=0.05, late_share=0.02)
    result = generate(params)
    messages = [(family, *generated_message(family, event)) for family, event in result.events()]
    return messages[:events], result.reference


def _produce(settings: Settings, messages: list[Message], per_second: float | None = None) -> None:
    """Like the gateway: every raw message carries a `trace_id` header (the worker copies it to the
    clean record and logs it), so the benchmark pays for header handling as production does."""
    producer = make_producer(settings)
    prefix, started = settings.kafka.topic_prefix, time.monotonic()
    run = uuid.uuid4().hex[:8]
    for number, (family, key, value) in enumerate(messages, 1):
        headers: list[tuple[str, str | bytes | None]] = [("trace_id", f"{run}-{number:08x}")]
        while True:
            try:
                producer.produce(raw_topic(family, prefix), value, key, headers=headers)
                break
            except BufferError:
                producer.poll(0.05)
        if per_second is not None:
            ahead = number / per_second - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
        producer.poll(0)
    producer.flush(60)


def _baseline(settings: Settings, total: int) -> float:
    """Plain consume -> produce of the same bytes: the floor any processor pays."""
    prefix = settings.kafka.topic_prefix
    copies = {raw_topic(f, prefix): f"{prefix}baseline.{f.value}" for f in Family}
    ensure_topics([TopicSpec(name, settings.kafka.default_partitions, 3_600_000) for name in copies.values()], settings)
    consumer = make_consumer(f"baseline-{uuid.uuid4().hex}", settings, **{"fetch.max.bytes": 52_428_800})
    producer = make_producer(settings)
    consumer.subscribe(list(copies))
    seen, started = 0, None
    while seen < total:
        for message in consumer.consume(5000, 1.0):
            if message.error() is not None:
                continue
            started = started or time.perf_counter()
            while True:
                try:
                    producer.produce(
                        copies[message.topic() or ""],
                        message.value(),
                        message.key(),
                        partition=message.partition() or 0,
                    )
                    break
                except BufferError:
                    producer.poll(0.05)
            seen += 1
        producer.poll(0)
    producer.flush(60)
    consumer.commit(asynchronous=False)
    consumer.close()
    return total / (time.perf_counter() - (started or time.perf_counter()))


class WorkerProcess:
    def __init__(self, settings: Settings, reference: Path, guarantee: str, data_dir: Path) -> None:
        self.port = 18_900 + (os.getpid() + int(time.time())) % 90
        self.app_id = f"bench-{uuid.uuid4().hex[:6]}"
        env = {
            **os.environ,
            "LEDGERLINE_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix,
            "LEDGERLINE_LOG_LEVEL": "WARNING",
            "LEDGERLINE_STREAM__APP_ID": self.app_id,
            "LEDGERLINE_STREAM__WEB_PORT": str(self.port),
            "LEDGERLINE_STREAM__REFERENCE_PATH": str(reference),
            "LEDGERLINE_STREAM__PROCESSING_GUARANTEE": guarantee,
            "LEDGERLINE_STREAM__DATA_DIR": str(data_dir),
        }
        self.log = (data_dir / "worker.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "stream_processors", "worker"], cwd=ROOT, env=env, stdout=self.log, stderr=self.log
        )

    def raw_count(self) -> float:
        return self.metric_sum("ledgerline_stream_raw_events_total{")

    def metric_sum(self, prefix: str) -> float:
        """Sum of the worker's /metrics samples whose line starts with `prefix` (0 if unreachable)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as response:
                lines = response.read().decode().splitlines()
        except OSError:
            return 0.0
        return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(prefix))

    def rss_peak_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(60)


def _run_worker(worker: WorkerProcess, total: int) -> tuple[float, float]:
    first = last = None
    seen, reported = 0.0, 0.0
    while seen < total:
        if worker.process.poll() is not None:
            raise RuntimeError(f"worker exited with {worker.process.returncode}")
        seen = worker.raw_count()
        now = time.perf_counter()
        if seen > 0 and first is None:
            first = now
        last = now
        time.sleep(0.2)
        if now - reported >= 10:
            reported = now
            _say(f"worker: {int(seen)}/{total} messages")
    if first is None or last is None:
        raise RuntimeError("the worker processed nothing")
    return total / max(last - first, 1e-9), worker.rss_peak_mb()


def _steady(settings: Settings, worker: WorkerProcess, messages: list[Message], rate: float) -> dict[str, float]:
    """Latency per clean record (polled one by one: `consume(n, timeout)` would wait out its
    timeout at this rate and add ~50 ms to every figure), and two lag series sampled by a side
    thread so their broker round trips never delay the latency loop: the group's committed lag
    (end offsets - committed offsets) and the worker's own `ledgerline_stream_consumer_lag`."""
    prefix = settings.kafka.topic_prefix
    consumer = make_consumer(f"lag-{uuid.uuid4().hex}", settings, **{"auto.offset.reset": "latest"})
    consumer.subscribe([clean_topic(family, prefix) for family in Family])
    while not consumer.assignment():
        consumer.poll(0.2)
    latencies: list[float] = []
    warm_until = time.monotonic() + 5.0  # partition assignment and first fetches are not steady state
    lag_samples: list[int] = []
    gauge_samples: list[float] = []
    done = threading.Event()

    def sample_lag() -> None:
        probe = make_consumer(worker.app_id.replace("bench", "lagprobe"), settings)
        group_consumer = make_consumer(f"{prefix}{worker.app_id}", settings)
        raw_tps = [
            TopicPartition(raw_topic(f, prefix), p) for f in Family for p in range(settings.kafka.default_partitions)
        ]
        done.wait(max(0.0, warm_until - time.monotonic()))
        while not done.wait(0.25):
            committed = group_consumer.committed(raw_tps, timeout=5)
            ends = [probe.get_watermark_offsets(tp, timeout=5)[1] for tp in raw_tps]
            lag_samples.append(sum(end - max(tp.offset, 0) for end, tp in zip(ends, committed, strict=True)))
            gauge_samples.append(worker.metric_sum("ledgerline_stream_consumer_lag{"))
        for client in (probe, group_consumer):
            client.close()

    sampler = threading.Thread(target=sample_lag)
    sampler.start()
    producing = threading.Thread(target=_produce, args=(settings, messages), kwargs={"per_second": rate})
    producing.start()
    drain_until = float("inf")
    while time.monotonic() < drain_until:
        if not producing.is_alive() and drain_until == float("inf"):
            drain_until = time.monotonic() + 5.0  # let the last records arrive
        message = consumer.poll(0.05)
        if message is not None and message.error() is None and time.monotonic() > warm_until:
            latencies.append(time.time() * 1000 - message.timestamp()[1])
    done.set()
    producing.join()
    sampler.join()
    consumer.close()
    ordered = sorted(latencies)
    return {
        "p50_ms": round(statistics.median(ordered), 1),
        "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 1),
        "lag_messages_p50": _quantile(lag_samples, 0.5),
        "lag_messages_p99": _quantile(lag_samples, 0.99),
        "lag_gauge_p50": _quantile(gauge_samples, 0.5),
        "lag_gauge_p99": _quantile(gauge_samples, 0.99),
        "steady_clean_records": len(ordered),
    }


def _quantile(values: list[Any], q: float) -> Any:
    return sorted(values)[int(q * (len(values) - 1))] if values else None


def _isolated(base: Settings, name: str) -> Settings:
    prefix = f"bench-stream-{name}-{uuid.uuid4().hex[:6]}."
    settings = base.model_copy(update={"kafka": base.kafka.model_copy(update={"topic_prefix": prefix})})
    ensure_standard_topics(settings)
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--processing-guarantee", default="at_least_once", choices=["at_least_once", "exactly_once"])
    parser.add_argument("--steady-rate", type=float, default=2000.0)
    parser.add_argument("--steady-s", type=float, default=45.0)
    args = parser.parse_args()
    base = get_settings()
    workdir = Path(tempfile.mkdtemp(prefix="stream-bench-"))
    backlog, steady_topics = _isolated(base, "backlog"), _isolated(base, "steady")
    try:
        _say(f"generating {args.events} events (5 % bad, 2 % late)")
        messages, reference = _messages(args.events, seed=42)
        (workdir / "reference.json").write_text(json.dumps(reference))
        _say(f"producing {len(messages)} raw messages")
        _produce(backlog, messages)
        _say("raw baseline: confluent-kafka consume -> produce of the same bytes")
        baseline = _baseline(backlog, len(messages))
        _say(f"baseline {baseline:.0f} events/s; starting one worker ({args.processing_guarantee})")
        cpu_before = os.times()
        worker = WorkerProcess(backlog, workdir / "reference.json", args.processing_guarantee, workdir)
        try:
            events_per_s, rss_mb = _run_worker(worker, len(messages))
        finally:
            worker.stop()
        cpu = os.times()
        worker_cpu = (cpu.children_user + cpu.children_system) - (cpu_before.children_user + cpu_before.children_system)
        _say(f"worker {events_per_s:.0f} events/s, peak RSS {rss_mb:.0f} MB, {worker_cpu:.0f} CPU s")
        # Steady load on fresh topics and a fresh worker, so its history starts where the data does.
        steady, steady_reference = _messages(int(args.steady_rate * args.steady_s), seed=43)
        (workdir / "steady-reference.json").write_text(json.dumps(steady_reference))
        steady_worker = WorkerProcess(
            steady_topics, workdir / "steady-reference.json", args.processing_guarantee, workdir
        )
        try:
            while not _healthy(steady_worker):
                time.sleep(0.5)
            _say(f"steady {args.steady_rate:.0f} events/s for {args.steady_s:.0f} s")
            lag = _steady(steady_topics, steady_worker, steady, args.steady_rate)
        finally:
            steady_worker.stop()
    finally:
        drop_topics(backlog, backlog.kafka.topic_prefix)
        drop_topics(steady_topics, steady_topics.kafka.topic_prefix)
    result = {
        "events": len(messages),
        "processing_guarantee": args.processing_guarantee,
        "events_per_s": round(events_per_s),
        **lag,
        "rss_mb": round(rss_mb, 1),
        "baseline_events_per_s": round(baseline),
        "ratio_to_baseline": round(events_per_s / baseline, 3),
        "worker_cpu_us_per_event": round(worker_cpu / len(messages) * 1e6, 1),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result), flush=True)


def _healthy(worker: WorkerProcess) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{worker.port}/health", timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


if __name__ == "__main__":
    main()
