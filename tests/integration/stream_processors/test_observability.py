"""A real worker's consumer-lag gauge and the trace ids on its log lines.

The raw messages are written by a *transactional* producer, so every partition ends with a
commit marker: an offset that is never delivered. The lag must still reach 0 once the worker
has processed and committed everything (lag = high watermark - consumed position, where the
position after the last data record skips the marker).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from platform_common.config import Settings
from platform_common.kafka import make_producer
from platform_common.topics import Family, raw_topic
from tests.integration.stream_processors.helpers import Worker, module_topics, outputs, start_worker, wait_for
from tests.unit.stream_processors.factory import encode, encode_unchecked, usage

pytestmark = pytest.mark.integration
LAG = "ledgerline_stream_consumer_lag"


@pytest.fixture
def topics(stack: Settings) -> Iterator[Settings]:
    with module_topics(stack, "sp-observe") as settings:
        yield settings


def _produce_in_transactions(
    settings: Settings, messages: list[tuple[bytes, bytes, str]], per_transaction: int
) -> None:
    producer = make_producer(settings, **{"transactional.id": f"test-observe-{uuid.uuid4().hex}"})
    producer.init_transactions(30)
    topic = raw_topic(Family.USAGE, settings.kafka.topic_prefix)
    for start in range(0, len(messages), per_transaction):
        producer.begin_transaction()
        for key, value, trace_id in messages[start : start + per_transaction]:
            producer.produce(topic, value, key, headers=[("trace_id", trace_id.encode())])
        producer.commit_transaction(30)


def _lags(worker: Worker) -> dict[str, float]:
    return {name: value for name, value in worker.metrics().items() if name.startswith(LAG + "{")}


def _log_lines(worker: Worker) -> list[dict[str, Any]]:
    lines = []
    for line in worker.log_path.read_text(errors="replace").splitlines():
        start = line.find("{")  # Faust's terminal control codes may precede a JSON line
        if start >= 0:
            try:
                lines.append(json.loads(line[start:]))
            except json.JSONDecodeError:
                continue
    return lines


def test_lag_gauge_reaches_zero_and_quarantine_lines_carry_the_trace_id(topics: Settings, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    good = [
        (
            f"cus-{run}-{n % 7}".encode(),
            encode(Family.USAGE, usage(customer_id=f"cus-{run}-{n % 7}")),
            f"good-{run}-{n}",
        )
        for n in range(300)
    ]
    bad_trace = f"trace-bad-{run}"
    bad = (f"cus-{run}-bad".encode(), encode_unchecked(Family.USAGE, usage(), quantity=-1), bad_trace)
    worker = start_worker(topics, tmp_path, f"observe-{run}", log_level="INFO", lag_refresh_s=0.5)
    try:
        _produce_in_transactions(topics, [*good[:150], bad, *good[150:]], per_transaction=50)
        wait_for(lambda: len(outputs(topics)) >= len(good) + 1, timeout_s=60)

        # every raw-topic partition this worker owns has a series; all reach 0 after the drain
        lags = wait_for(lambda: (found := _lags(worker)) and all(v == 0 for v in found.values()) and found, 60)
        usage_topic = raw_topic(Family.USAGE, topics.kafka.topic_prefix)
        partitions = topics.kafka.default_partitions
        for partition in range(partitions):
            assert f'{LAG}{{partition="{partition}",topic="{usage_topic}"}}' in lags
        assert len(lags) == partitions * len(Family)

        quarantined = wait_for(
            lambda: [line for line in _log_lines(worker) if line.get("message") == "event quarantined"], 30
        )
        [line] = quarantined
        assert line["trace_id"] == bad_trace
        assert line["reason"] == "out_of_range"
        assert line["source"].startswith(usage_topic + "/")
    finally:
        worker.stop()


def test_lag_gauge_counts_a_backlog_before_it_is_drained(topics: Settings, tmp_path: Path) -> None:
    """The gauge is not stuck at 0: a worker that starts behind a backlog reports it."""
    run = uuid.uuid4().hex[:8]
    messages = [
        (f"cus-{run}-{n % 11}".encode(), encode(Family.USAGE, usage(customer_id=f"cus-{run}-{n % 11}")), f"t-{n}")
        for n in range(3000)
    ]
    _produce_in_transactions(topics, messages, per_transaction=1000)
    worker = start_worker(topics, tmp_path, f"observe-backlog-{run}", lag_refresh_s=0.2, commit_interval_s=3)
    try:
        peak = 0.0

        def drained() -> bool:
            nonlocal peak
            lags = _lags(worker)
            peak = max(peak, sum(lags.values()))
            raw = sum(v for k, v in worker.metrics().items() if k.startswith("ledgerline_stream_raw_events_total{"))
            return raw >= len(messages) and bool(lags) and sum(lags.values()) == 0

        wait_for(drained, timeout_s=90, every_s=0.1)
        assert peak > 0
    finally:
        worker.stop()
