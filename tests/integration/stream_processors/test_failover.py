"""Restarts and a SIGKILL under load: the de-dup state survives, nothing is lost or doubled.

Guarantee checked (the platform runs at-least-once; see stream_processors/README.md): after
one of two workers is SIGKILLed mid-stream, every accepted event_id is on the clean topics (no
loss) and nothing else is; a message the dead worker had emitted but not committed may be
emitted again with the same event_id and bytes, which the sinks' upserts by event_id absorb, so
the test counts distinct event_ids there. Every bad message is in the quarantine (duplicates by
quarantine_id collapse), and the durable counters are exact: their duplicate count equals the
injected duplicates and raw = clean + quarantined + duplicates = messages sent.
"""

from __future__ import annotations

import random
import signal
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from platform_common.config import Settings
from platform_common.topics import Family
from tests.integration.stream_processors.helpers import (
    durable_counts,
    module_topics,
    outputs,
    partition_report,
    produce,
    start_worker,
    wait_for,
)
from tests.unit.stream_processors.factory import BASE, encode, encode_unchecked, payment, subscription, usage

pytestmark = pytest.mark.integration


@pytest.fixture
def topics(stack: Settings) -> Iterator[Settings]:
    """Topics of this test alone: a new consumer group reads the raw topics from the start."""
    with module_topics(stack, "sp-failover") as settings:
        yield settings


def _clean_event_ids(settings: Settings) -> Counter[str]:
    return Counter(
        output.headers["ledgerline-event-id"].decode()
        for output in outputs(settings)
        if output.topic.endswith(".clean")
    )


def test_restart_keeps_dedupe_state(topics: Settings, tmp_path: Path) -> None:
    app_id = f"restart-{uuid.uuid4().hex[:6]}"
    event = usage(customer_id="cus-restart", event_id=f"restart-{uuid.uuid4().hex}")
    first = start_worker(topics, tmp_path, app_id)
    try:
        produce(topics, [(Family.USAGE, b"cus-restart", encode(Family.USAGE, event))])
        wait_for(lambda: _clean_event_ids(topics)[event["event_id"]] >= 1)
    finally:
        first.stop()
    second = start_worker(topics, tmp_path, app_id)  # same app id: same group, same changelogs
    try:
        fresh = usage(customer_id="cus-restart", event_id=f"fresh-{uuid.uuid4().hex}")
        produce(topics, [(Family.USAGE, b"cus-restart", encode(Family.USAGE, e)) for e in (event, fresh)])
        wait_for(lambda: _clean_event_ids(topics)[fresh["event_id"]] >= 1)  # re-emission allowed (ALO)
        duplicates = 'ledgerline_stream_duplicate_events_total{family="usage"}'
        wait_for(lambda: second.metrics()[duplicates] == 1)
        # The re-sent copy (offset 1) was dropped: no clean record comes from it.
        sources = [o.headers["ledgerline-source"] for o in outputs(topics) if o.topic.endswith(".clean")]
        assert not [source for source in sources if source.endswith(b"/1")]
        assert _clean_event_ids(topics)[event["event_id"]] >= 1
    finally:
        second.stop()


def _workload(customers: int, seed: int) -> tuple[list[tuple[Family, bytes, bytes]], int, int, int]:
    rng = random.Random(seed)
    run = uuid.uuid4().hex[:6]
    good: list[tuple[Family, bytes, bytes]] = []
    for number in range(customers):
        ids: dict[str, Any] = {"customer_id": f"cus-{run}-{number}", "subscription_id": f"sub-{run}-{number}"}
        key = ids["customer_id"].encode()
        good.append((Family.SUBSCRIPTION, key, encode(Family.SUBSCRIPTION, subscription(**ids))))
        good.append((Family.PAYMENT, key, encode(Family.PAYMENT, payment(**ids))))
        for day in range(25):
            at = BASE + timedelta(hours=day)
            event = usage(customer_id=ids["customer_id"], at=at, event_id=f"u-{run}-{number}-{day}")
            good.append((Family.USAGE, key, encode(Family.USAGE, event)))
    messages = list(good)
    duplicates = rng.sample(range(len(good)), len(good) // 10)
    for index in duplicates:
        messages.insert(rng.randrange(index + 1, len(messages) + 1), good[index])  # always after the original
    bad = 0
    for number in range(0, customers, 2):
        value = encode_unchecked(Family.USAGE, usage(customer_id=f"cus-{run}-{number}"), quantity=-1)
        messages.insert(rng.randrange(len(messages)), (Family.USAGE, f"cus-{run}-{number}".encode(), value))
        bad += 1
    return messages, len(good), len(duplicates), bad


def test_sigkill_of_one_of_two_workers_loses_nothing_and_doubles_nothing(topics: Settings, tmp_path: Path) -> None:
    app_id = f"failover-{uuid.uuid4().hex[:6]}"
    messages, good, duplicates, bad = _workload(customers=60, seed=11)
    survivor = start_worker(topics, tmp_path, app_id, log_level="INFO")
    victim = start_worker(topics, tmp_path, app_id)
    try:
        producer = threading.Thread(target=produce, args=(topics, messages), kwargs={"per_second": 500.0})
        producer.start()
        raw = 'ledgerline_stream_raw_events_total{family="usage"}'
        wait_for(lambda: victim.metrics().get(raw, 0) > 50 and survivor.metrics().get(raw, 0) > 50, timeout_s=60)
        victim.stop(signal.SIGKILL)  # mid-stream: uncommitted transactions are left behind
        producer.join()

        seen: list[dict[str, int]] = []

        def finished() -> dict[str, dict[str, int]] | None:
            counts = durable_counts(topics, app_id)
            totals = {name: sum(family[name] for family in counts.values()) for name in ("raw", "parked")}
            seen.append(totals)
            return counts if totals["raw"] == len(messages) and totals["parked"] == 0 else None

        try:
            counts = wait_for(finished, timeout_s=120, every_s=1.0)
        except TimeoutError:
            metrics = {k: v for k, v in survivor.metrics().items() if v and ("raw" in k or "owned" in k)}
            report = partition_report(topics, app_id)
            pytest.fail(
                f"not done: {seen[-1:]} of {len(messages)}; by partition {report}; survivor {metrics}:\n"
                f"{survivor.tail(60)}"
            )
    finally:
        survivor.stop()
        victim.stop()
    clean = _clean_event_ids(topics)
    quarantined = Counter(o.record["quarantine_id"] for o in outputs(topics) if o.topic.endswith("quarantine"))
    assert len(clean) == good, "an accepted event is missing from the clean topics (or a bad one got there)"
    assert len(quarantined) == bad
    totals = {name: sum(family[name] for family in counts.values()) for name in counts["usage"]}
    assert totals["duplicate"] == duplicates
    assert totals["raw"] == totals["clean"] + totals["quarantined"] + totals["duplicate"] == len(messages)
    assert (totals["clean"], totals["quarantined"]) == (good, bad)
