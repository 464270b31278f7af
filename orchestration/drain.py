"""Has the pipeline drained? Lag of the processor, the lake sink and the warehouse sink.

Drained means: the stream processor's group has committed every raw message, no message is
parked waiting for its subscription, the lake sink has archived every raw and quarantine
message, the warehouse has stored every clean message — and the high watermarks did not move
between two consecutive looks (nothing is still arriving).
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from orchestration import kafka_state
from platform_common.config import Settings
from platform_common.postgres import Role, connect
from platform_common.topics import Family, clean_topic, quarantine_topic, raw_topic


@dataclass(frozen=True)
class Groups:
    processor: str
    lake: str
    warehouse_consumer: str


def groups(settings: Settings) -> Groups:
    from sinks.lake import lake_settings
    from sinks.warehouse import warehouse_settings
    from stream_processors import stream_settings

    prefix = settings.kafka.topic_prefix
    return Groups(
        processor=prefix + stream_settings(settings).app_id,
        lake=prefix + lake_settings(settings).group_id,
        warehouse_consumer=warehouse_settings(settings).consumer_name,
    )


@dataclass(frozen=True)
class Progress:
    processor_lag: int
    lake_lag: int
    warehouse_lag: int
    parked: int | None  # None: no processor metrics answered
    raw_messages: int
    clean_high: int
    signature: tuple[int, ...]  # every high watermark, to tell "still arriving" from "done"

    @property
    def drained(self) -> bool:
        return self.processor_lag == 0 and self.lake_lag == 0 and self.warehouse_lag == 0 and not self.parked

    def describe(self) -> str:
        parked = "?" if self.parked is None else str(self.parked)
        return (
            f"raw {self.raw_messages:,} | processor lag {self.processor_lag:,} | parked {parked} | "
            f"lake lag {self.lake_lag:,} | warehouse lag {self.warehouse_lag:,}"
        )


def warehouse_positions(settings: Settings, consumer_name: str, topics: Sequence[str]) -> dict[tuple[str, int], int]:
    with connect(Role.WRITER, settings) as conn:
        rows = conn.execute(
            "SELECT topic, partition, next_offset FROM platform.consumer_offset"
            " WHERE consumer_name = %s AND topic = ANY(%s)",
            (consumer_name, list(topics)),
        ).fetchall()
    return {(str(topic), int(partition)): int(offset) for topic, partition, offset in rows}


def scrape(url: str, timeout_s: float = 5.0) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Prometheus text from `url` as name -> [(labels, value)]."""
    with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 - our own loopback endpoints
        text = response.read().decode("utf-8")
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
    return samples


def parked_messages(metrics_urls: Sequence[str]) -> int | None:
    total, answered = 0, False
    for url in metrics_urls:
        try:
            samples = scrape(url)
        except OSError:
            continue
        answered = True
        for labels, value in samples.get("ledgerline_stream_owned_events", []):
            if labels.get("outcome") == "parked":
                total += int(value)
    return total if answered else None


def _warehouse_loads_quarantine(settings: Settings) -> bool:
    """Then the quarantine topic is one of its inputs: drained means its rows are in as well."""
    from sinks.warehouse import warehouse_settings

    return bool(warehouse_settings(settings).load_quarantine)


def measure(settings: Settings, processor_metrics: Sequence[str] = ()) -> Progress:
    prefix = settings.kafka.topic_prefix
    names = groups(settings)
    raw = [raw_topic(family, prefix) for family in Family]
    clean = [clean_topic(family, prefix) for family in Family]
    quarantine = quarantine_topic(prefix)
    marks = kafka_state.watermarks(settings, [*raw, *clean, quarantine])
    raw_marks = {key: value for key, value in marks.items() if key[0] in raw}
    lake_marks = {key: value for key, value in marks.items() if key[0] in raw or key[0] == quarantine}
    warehouse_topics = [*clean, quarantine] if _warehouse_loads_quarantine(settings) else clean
    clean_marks = {key: value for key, value in marks.items() if key[0] in warehouse_topics}
    processor = kafka_state.committed(settings, names.processor, raw_marks)
    lake = kafka_state.committed(settings, names.lake, lake_marks)
    warehouse = warehouse_positions(settings, names.warehouse_consumer, warehouse_topics)
    return Progress(
        processor_lag=sum(kafka_state.lag(settings, processor, raw_marks).values()),
        lake_lag=sum(kafka_state.lag(settings, lake, lake_marks).values()),
        warehouse_lag=sum(kafka_state.lag(settings, dict(warehouse), clean_marks).values()),
        parked=parked_messages(processor_metrics),
        raw_messages=sum(high - low for low, high in raw_marks.values()),
        clean_high=sum(high for _, high in clean_marks.values()),
        signature=tuple(high for _, (_, high) in sorted(marks.items())),
    )


def wait_drained(
    settings: Settings,
    processor_metrics: Sequence[str],
    timeout_s: float,
    say: Callable[[str], None],
    interval_s: float = 2.0,
) -> Progress:
    """Poll until drained twice in a row with unchanged high watermarks; progress every ~10 s."""
    started = time.monotonic()
    previous: Progress | None = None
    last_said = 0.0
    while True:
        current = measure(settings, processor_metrics)
        if current.drained and previous is not None and previous.drained and previous.signature == current.signature:
            say(f"drained after {time.monotonic() - started:.0f}s: {current.describe()}")
            return current
        if time.monotonic() - last_said >= 10:
            say(f"waiting for the pipeline to drain: {current.describe()}")
            last_said = time.monotonic()
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"pipeline not drained within {timeout_s:.0f}s: {current.describe()}")
        previous = current
        time.sleep(interval_s)


def wait_topic_processed(settings: Settings, family: Family, timeout_s: float, interval_s: float = 0.5) -> float:
    """Wait until the stream processor has committed every message of `family`'s raw topic."""
    started = time.monotonic()
    topic = raw_topic(family, settings.kafka.topic_prefix)
    group = groups(settings).processor
    while True:
        marks = kafka_state.watermarks(settings, [topic])
        if sum(kafka_state.lag(settings, kafka_state.committed(settings, group, marks), marks).values()) == 0:
            return time.monotonic() - started
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"the stream processor did not finish {topic} within {timeout_s:.0f}s")
        time.sleep(interval_s)
