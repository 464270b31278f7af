"""Building a benchmark warehouse from events, the way production does: generate events with the
sample-data generator, publish them as clean Avro events to the clean topics of an isolated topic
prefix (in a spawned process, so the generator's memory never counts in the caller's RSS), and
run the real warehouse sink over them until it has caught up. benchmarks/sink.py follows the same
pattern with its own fixed generator parameters; benchmarks/query.py builds its warehouse here.
"""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platform_common.config import Settings
from platform_common.postgres import Role, connect
from platform_common.topics import Family, clean_topic

PROGRESS_EVERY_S = 15.0

Say = Callable[[str], None]


@dataclass(frozen=True)
class Published:
    events: int
    by_family: dict[str, int]
    generate_seconds: float
    publish_seconds: float
    reference_path: Path


def _publish(settings_json: str, params: Any, out_dir: str, tag: str) -> None:
    """The spawned publisher: generate, write reference.json and a summary, publish every event."""
    from platform_common.kafka import make_producer
    from producers.sample_data import generate
    from schemas import partition_key, serializer, validate_event

    def say(message: str) -> None:
        print(f"[{tag}] {message}", flush=True)

    settings = Settings.model_validate_json(settings_json)
    started = time.perf_counter()
    shown = [started]

    def progress(phase: str, done: int, total: int) -> None:
        if time.perf_counter() - shown[0] >= PROGRESS_EVERY_S:
            shown[0] = time.perf_counter()
            say(f"generating: {phase} {done:,}/{total:,}, {shown[0] - started:.0f}s")

    result = generate(params, progress=progress)
    generated = time.perf_counter()
    counts = result.ground_truth["counts"]
    total = int(counts["sent_total"])
    say(f"generated {total:,} events in {generated - started:.0f}s: {counts['sent_by_family']}")
    out = Path(out_dir)
    (out / "reference.json").write_text(json.dumps(result.reference), encoding="utf-8")
    producer, codec = make_producer(settings), serializer()
    last_time, last_sent = generated, 0
    for sent, (family, event) in enumerate(result.events(), start=1):
        record = validate_event(family, event)
        topic = clean_topic(family, settings.kafka.topic_prefix)
        producer.produce(topic, value=codec.encode(family.value, record), key=partition_key(family, record))
        if sent % 100_000 == 0:
            producer.flush(120)
            now = time.perf_counter()
            if now - last_time >= PROGRESS_EVERY_S:
                rate = (sent - last_sent) / (now - last_time)
                say(f"published {sent:,}/{total:,} ({rate:,.0f} events/s, {now - generated:.0f}s publishing)")
                last_time, last_sent = now, sent
        else:
            producer.poll(0)
    if producer.flush(300) != 0:
        raise RuntimeError("events left unsent")
    published = time.perf_counter()
    say(f"published {total:,} events in {published - generated:.0f}s ({total / (published - generated):,.0f}/s)")
    summary = {
        "events": total,
        "by_family": counts["sent_by_family"],
        "generate_seconds": generated - started,
        "publish_seconds": published - generated,
    }
    (out / "published.json").write_text(json.dumps(summary), encoding="utf-8")


def publish(settings: Settings, params: Any, out_dir: Path, tag: str) -> Published:
    """Generate `params` (a GenerationParams) and publish every event to the clean topics."""
    publisher = multiprocessing.get_context("spawn").Process(
        target=_publish, args=(settings.model_dump_json(), params, str(out_dir), tag)
    )
    publisher.start()
    publisher.join()
    if publisher.exitcode != 0:
        raise RuntimeError("publishing the benchmark events failed")
    found = json.loads((out_dir / "published.json").read_text(encoding="utf-8"))
    return Published(
        events=int(found["events"]),
        by_family={family: int(count) for family, count in found["by_family"].items()},
        generate_seconds=float(found["generate_seconds"]),
        publish_seconds=float(found["publish_seconds"]),
        reference_path=out_dir / "reference.json",
    )


class SinkProgress:
    """Prints every PROGRESS_EVERY_S how far the sink's committed offsets (one transaction per batch
    with its rows) have come: events merged, rate over the interval and overall, elapsed time."""

    def __init__(self, settings: Settings, consumer_name: str, total: int, say: Say) -> None:
        self._settings, self._consumer, self._total, self._say = settings, consumer_name, total, say
        self._topics = [clean_topic(family, settings.kafka.topic_prefix) for family in Family]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> SinkProgress:
        self._started = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        last_time, last_done = self._started, 0
        with connect(Role.ADMIN, self._settings, autocommit=True) as conn:
            while not self._stop.wait(PROGRESS_EVERY_S):
                row = conn.execute(
                    "SELECT coalesce(sum(next_offset), 0) FROM platform.consumer_offset"
                    " WHERE consumer_name = %s AND topic = ANY(%s)",
                    (self._consumer, self._topics),
                ).fetchone()
                done, now = int(row[0]) if row else 0, time.perf_counter()
                elapsed = now - self._started
                self._say(
                    f"sink: {done:,}/{self._total:,} events ({100 * done / max(self._total, 1):.0f}%),"
                    f" {(done - last_done) / (now - last_time):,.0f}/s now, {done / elapsed:,.0f}/s overall,"
                    f" {elapsed:.0f}s"
                )
                last_time, last_done = now, done


def run_sink(settings: Settings, published: Published, say: Say) -> tuple[int, float]:
    """Demo FX rates, then the warehouse sink until caught up; returns (events merged, seconds)."""
    from sinks.warehouse import WarehouseSink, load_fx, warehouse_settings

    sink = warehouse_settings(settings).model_copy(
        update={"metrics_port": 0, "reference_path": published.reference_path}
    )
    load_fx(settings, sink.fx_rates_file, sink)  # what `ledgerline setup` seeds an empty warehouse with
    say(f"warehouse sink: {published.events:,} events, batches of up to {sink.batch_max_events:,}")
    started = time.perf_counter()
    with SinkProgress(settings, sink.consumer_name, published.events, say):
        report = WarehouseSink(settings, sink).run(until_caught_up=True)
    seconds = time.perf_counter() - started
    rate = report.messages / seconds
    say(f"sink: {report.messages:,} events in {seconds:.0f}s ({rate:,.0f}/s, {report.batches} batches)")
    if report.messages != published.events:
        raise RuntimeError(f"the sink merged {report.messages:,} events, {published.events:,} were published")
    return report.messages, seconds
