"""SIGKILL the real `run` CLI at random points while events stream in, restart it, repeat; the
warehouse must still equal the generator's ground truth to the minor unit (no batch lost, none
applied twice, offsets at the end of every partition).

Size: LEDGERLINE_TEST_WAREHOUSE_KILL_EVENTS (default 30000) events and
LEDGERLINE_TEST_WAREHOUSE_KILLS (default 6) kills; the issue's full run is 200000 and 20.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from confluent_kafka import TopicPartition
from warehouse_sink_helpers import (
    REPO,
    assert_matches_ground_truth,
    cli_env,
    publish,
    query,
    sink_command,
    sink_settings,
)

from platform_common.config import Settings
from platform_common.kafka import make_consumer
from platform_common.topics import Family, clean_topic
from producers.sample_data import GenerationParams, generate
from sinks.warehouse import DEMO_FX_RATES, load_fx

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EVENTS = int(os.environ.get("LEDGERLINE_TEST_WAREHOUSE_KILL_EVENTS", "30000"))
KILLS = int(os.environ.get("LEDGERLINE_TEST_WAREHOUSE_KILLS", "6"))
EVENTS_PER_CUSTOMER_YEAR = 93  # what the generator produces per customer over 12 months


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(settings: Settings, metrics_port: int, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        sink_command(
            "run", "--metrics-port", str(metrics_port), "--batch-max-events", "2500", "--batch-max-seconds", "0.4"
        ),
        cwd=REPO,
        env=cli_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
        return response.status, response.read().decode()


def test_sigkill_at_random_points_loses_and_duplicates_nothing(
    fresh_database: Settings, isolated_topics: Settings, tmp_path: Path
) -> None:
    settings = fresh_database.model_copy(update={"kafka": isolated_topics.kafka})
    log = tmp_path / "sink.log"
    generated = generate(
        GenerationParams(customers=max(20, EVENTS // EVENTS_PER_CUSTOMER_YEAR), months=12, late_share=0.02, seed=11)
    )
    events = list(generated.events())
    load_fx(settings, DEMO_FX_RATES, sink_settings())
    rng = random.Random(2024)

    chunks = [events[i : i + 1_000] for i in range(0, len(events), 1_000)]
    pause = KILLS * 3.0 / len(chunks)  # the load lasts about as long as the kill schedule

    def load() -> None:
        for chunk in chunks:
            publish(settings, chunk, late_after=None)
            time.sleep(pause)

    publisher = threading.Thread(target=load, name="publisher")
    port = _free_port()
    process = _start(settings, port, log)
    publisher.start()
    loaded_at_kill = []
    try:
        for kill in range(KILLS):
            if kill == 0:
                _check_endpoints(port)
            # Let the restarted sink commit something, then kill it at a random moment.
            _wait_for_progress(settings, process, log)
            time.sleep(rng.uniform(0.0, 1.2))
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            assert process.returncode == -signal.SIGKILL
            loaded_at_kill.append(query(settings, "SELECT count(*) FROM warehouse.usage_event")[0][0])
            process = _start(settings, 0, log)
        publisher.join(timeout=300)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        publisher.join(timeout=60)
    final = subprocess.run(
        sink_command("run", "--metrics-port", "0", "--until-caught-up"),
        cwd=REPO,
        env=cli_env(settings),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert final.returncode == 0, final.stderr[-2000:]

    usage_total = generated.ground_truth["counts"]["good_by_family"]["usage"]
    mid_load = [count for count in loaded_at_kill if 0 < count < usage_total]
    assert len(mid_load) >= KILLS // 2, f"kills did not land during the load: {loaded_at_kill}"
    assert_matches_ground_truth(settings, events, generated.ground_truth)
    _assert_offsets_at_end(settings)


def _committed(settings: Settings) -> int:
    return int(query(settings, "SELECT coalesce(sum(next_offset), 0) FROM platform.consumer_offset")[0][0])


def _wait_for_progress(settings: Settings, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    start, deadline = _committed(settings), time.monotonic() + timeout
    while _committed(settings) == start:
        assert process.poll() is None, log.read_text(errors="replace")[-2000:]
        assert time.monotonic() < deadline, "the sink committed nothing"
        time.sleep(0.05)


def _check_endpoints(port: int) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            status, body = _get(f"http://127.0.0.1:{port}/metrics")
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    assert status == 200
    assert "ledgerline_warehouse_batch_seconds" in body
    assert "ledgerline_warehouse_events_in_total" in body
    status, health = _get(f"http://127.0.0.1:{port}/health")
    assert status == 200, health
    assert '"postgres"' in health


def _assert_offsets_at_end(settings: Settings) -> None:
    stored = {
        (topic, partition): offset
        for topic, partition, offset in query(
            settings, "SELECT topic, partition, next_offset FROM platform.consumer_offset"
        )
    }
    probe = make_consumer("warehouse-kill-test-probe", settings)
    try:
        for family in Family:
            topic = clean_topic(family, settings.kafka.topic_prefix)
            for partition in range(settings.kafka.default_partitions):
                _, high = probe.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                assert stored.get((topic, partition), 0) == high, (topic, partition)
    finally:
        probe.close()
