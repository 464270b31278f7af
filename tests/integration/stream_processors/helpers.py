"""Running real stream workers (subprocesses) against real Kafka, and reading what they wrote."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from platform_common.config import Settings
from platform_common.kafka import ensure_standard_topics, make_admin, make_consumer, make_producer
from platform_common.topics import Family, clean_topic, quarantine_topic, raw_topic

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def module_topics(stack: Settings, name: str) -> Iterator[Settings]:
    """Like the `isolated_topics` fixture, for a module-scoped worker (changelogs share the prefix)."""
    prefix = f"test-{name}-{uuid.uuid4().hex[:8]}."
    settings = stack.model_copy(update={"kafka": stack.kafka.model_copy(update={"topic_prefix": prefix})})
    ensure_standard_topics(settings)
    try:
        yield settings
    finally:
        admin = make_admin(settings)
        names = [topic for topic in admin.list_topics(timeout=10).topics if topic.startswith(prefix)]
        if names:
            for future in admin.delete_topics(names, operation_timeout=30).values():
                future.result(timeout=30)


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.url(path), timeout=5) as response:  # noqa: S310 - loopback
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def metrics(self) -> dict[str, float]:
        _, body = self.get("/metrics")
        values: dict[str, float] = {}
        for line in body.decode().splitlines():
            if line.startswith("ledgerline_stream") and " " in line:
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        return values

    def wait_healthy(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited with {self.process.returncode}:\n{self.tail()}")
            try:
                if self.get("/health")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"worker not healthy after {timeout_s}s:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 60.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def start_worker(settings: Settings, tmp: Path, app_id: str, log_level: str = "WARNING", **stream: Any) -> Worker:
    port = free_port()
    env = {
        **os.environ,
        "LEDGERLINE_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix,
        "LEDGERLINE_KAFKA__BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers,
        "LEDGERLINE_LOG_LEVEL": log_level,
        "LEDGERLINE_STREAM__APP_ID": app_id,
        "LEDGERLINE_STREAM__WEB_PORT": str(port),
        "LEDGERLINE_STREAM__DATA_DIR": str(tmp / "data"),
        "LEDGERLINE_STREAM__SESSION_TIMEOUT_S": "6",
        "LEDGERLINE_STREAM__BATCH_WITHIN_S": "0.02",
        **{f"LEDGERLINE_STREAM__{name.upper()}": str(value) for name, value in stream.items()},
    }
    log_path = tmp / f"worker-{port}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "stream_processors", "worker"],
        cwd=ROOT,
        env=env,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    worker = Worker(process, port, log_path)
    worker.wait_healthy()
    return worker


def produce(
    settings: Settings,
    messages: Iterable[tuple[Family, bytes | None, bytes | None]],
    headers: list[tuple[str, str | bytes | None]] | None = None,
    per_second: float | None = None,
) -> int:
    producer = make_producer(settings)
    count = 0
    started = time.monotonic()
    for family, key, value in messages:
        producer.produce(raw_topic(family, settings.kafka.topic_prefix), value, key, headers=headers)
        count += 1
        if per_second is not None:
            ahead = count / per_second - (time.monotonic() - started)
            if ahead > 0:
                producer.poll(0)
                time.sleep(ahead)
        producer.poll(0)
    assert producer.flush(30) == 0
    return count


@dataclass
class Output:
    topic: str
    partition: int
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]

    @property
    def record(self) -> dict[str, Any]:
        return dict(json.loads(self.value))


def read_all(settings: Settings, topics: list[str], timeout_s: float = 10.0) -> list[Output]:
    """Every committed record currently in `topics` (read to the end offsets taken now)."""
    consumer = make_consumer(f"test-reader-{uuid.uuid4().hex}", settings)
    try:
        assignment, ends = [], {}
        for topic in topics:
            metadata = consumer.list_topics(topic, timeout=10).topics[topic]
            for partition in metadata.partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                if high > low:
                    assignment.append(TopicPartition(topic, partition, OFFSET_BEGINNING))
                    ends[(topic, partition)] = high
        consumer.assign(assignment)
        found: list[Output] = []
        deadline = time.monotonic() + timeout_s
        while ends and time.monotonic() < deadline:
            for message in consumer.consume(500, 0.5):
                if message.error() is not None:
                    continue
                found.append(
                    Output(
                        message.topic() or "",
                        message.partition() or 0,
                        message.key(),
                        message.value() or b"",
                        _headers(message.headers()),
                    )
                )
            positions = consumer.position([TopicPartition(t, p) for t, p in ends])
            for position in positions:
                if position.offset >= ends[(position.topic, position.partition)]:
                    ends.pop((position.topic, position.partition))
        return found
    finally:
        consumer.close()


def outputs(settings: Settings) -> list[Output]:
    prefix = settings.kafka.topic_prefix
    return read_all(settings, [clean_topic(family, prefix) for family in Family] + [quarantine_topic(prefix)])


def wait_for(check: Callable[[], Any], timeout_s: float = 60.0, every_s: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every_s)
    raise TimeoutError(f"condition not met after {timeout_s}s (last: {last!r})")


def _latest_counts(settings: Settings, app_id: str) -> dict[str, dict[str, Any]]:
    """The latest count record per `<family>|<partition>` in the worker's `state` changelog."""
    topic = f"{settings.kafka.topic_prefix}{app_id}-state-changelog"
    latest: dict[str, dict[str, Any]] = {}
    for output in read_all(settings, [topic]):
        if output.key is not None and output.key.startswith(b"n|") and output.value:
            latest[output.key.decode()[2:]] = json.loads(output.value)
    return latest


def durable_counts(settings: Settings, app_id: str) -> dict[str, dict[str, int]]:
    """Latest per-partition counts from the worker's `state` changelog, summed per family."""
    totals: dict[str, dict[str, int]] = {}
    for key, counts in _latest_counts(settings, app_id).items():
        family = key.split("|")[0]
        total = totals.setdefault(family, {"raw": 0, "clean": 0, "duplicate": 0, "parked": 0, "quarantined": 0})
        for name in ("raw", "clean", "duplicate", "parked"):
            total[name] += counts[name]
        total["quarantined"] += sum(counts["quarantined"].values())
    return totals


def partition_report(settings: Settings, app_id: str) -> dict[str, dict[str, int]]:
    """Per raw partition: messages on it, the worker's latest durable raw count and next offset,
    and the group's committed offset; a failure message with this says where events went missing."""
    latest = _latest_counts(settings, app_id)
    group = f"{settings.kafka.topic_prefix}{app_id}"  # the Faust app id (see faust_app_id)
    consumer = make_consumer(group, settings, **{"enable.auto.commit": False})  # never joins: reads commits
    topics = make_admin(settings).list_topics(timeout=10).topics
    try:
        report: dict[str, dict[str, int]] = {}
        for family in Family:
            name = raw_topic(family, settings.kafka.topic_prefix)
            partitions = len(topics[name].partitions)
            committed = consumer.committed([TopicPartition(name, p) for p in range(partitions)], timeout=10)
            for tp in committed:
                _, end = consumer.get_watermark_offsets(tp, timeout=10)
                if end == 0:
                    continue
                counts = latest.get(f"{family.value}|{tp.partition}", {})
                report[f"{family.value}/{tp.partition}"] = {
                    "end": end,
                    "raw": counts.get("raw", -1),
                    "next_offset": counts.get("next_offset", -1),
                    "committed": tp.offset,
                }
        return report
    finally:
        consumer.close()


def _headers(headers: Any) -> dict[str, bytes]:
    return {str(name): bytes(value or b"") for name, value in headers or []}
