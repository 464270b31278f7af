"""SIGKILL the real lake sink CLI at random points while events stream in, restart it, repeat.

Whatever the kill interrupts (a consume, an encode, a PUT, the gap between object and manifest,
a commit), the lake must end up with every offset in exactly one object, no overlapping or
duplicate objects, and manifests that match their objects. Restarts use different batch limits,
so batch boundaries move between lives, which is what would create overlaps without the
start-offset naming. Lives end in turn right after a new object appears (before its manifest,
most likely), right after a new manifest appears (before the commit), or at a random moment.

Size: LEDGERLINE_TEST_LAKE_KILL_EVENTS (default 20000) events and LEDGERLINE_TEST_LAKE_KILLS
(default 5) kills, about 30 s; the issue's full run is 200000 and 20, about 1.5 min. Set
LEDGERLINE_TEST_LAKE_KILL_SEED to replay a run (the seed is printed).
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from lake_sink_helpers import GARBAGE, Sent, caught_up, event_messages, produce, quarantine_message, wait_for

from platform_common.config import Settings
from platform_common.kafka import make_producer
from sinks.lake import LakeReader, LakeSinkSettings, verify
from sinks.lake.settings import consumer_group

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EVENTS = int(os.environ.get("LEDGERLINE_TEST_LAKE_KILL_EVENTS", "20000"))
KILLS = int(os.environ.get("LEDGERLINE_TEST_LAKE_KILLS", "5"))
SEED = int(os.environ.get("LEDGERLINE_TEST_LAKE_KILL_SEED", str(random.SystemRandom().randrange(10**6))))
LIFE_SECONDS = (1.0, 4.0)
REPO = Path(__file__).resolve().parents[4]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SinkProcess:
    def __init__(self, settings: Settings, log_dir: Path, life: int, rng: random.Random) -> None:
        self.port = free_port()
        self.records = rng.choice([50, 173, 400, 1000])
        self.seconds = rng.choice([0.2, 0.7, 2.0])
        env = {
            **os.environ,
            "LEDGERLINE_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix,
            "LEDGERLINE_S3__LAKE_BUCKET": settings.s3.lake_bucket,
            "LEDGERLINE_LOG_LEVEL": "INFO",
        }
        self.log = log_dir / f"life-{life:03d}.log"
        command = [sys.executable, "-m", "sinks.lake", "run", "--metrics-port", str(self.port)]
        command += ["--max-batch-records", str(self.records), "--max-batch-seconds", str(self.seconds)]
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def answers(self, path: str) -> bool:
        try:
            self.get(path)
        except OSError:
            return False
        return True

    def get(self, path: str) -> tuple[int, str]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as response:
            return int(response.status), response.read().decode()


def kill_right_after_a_put(reader: LakeReader, prefix: str, patience: float = 3.0) -> None:
    """Return as soon as a new object (`family=`) or manifest (`_manifests/`) is visible: most
    likely before the sink wrote the manifest, or committed the offsets, respectively."""
    known = sum(1 for _ in reader.list_keys(prefix))
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline and sum(1 for _ in reader.list_keys(prefix)) == known:
        time.sleep(0.005)


def start_producing(settings: Settings, rng: random.Random, sent: list[Sent]) -> threading.Thread:
    """Events of all four families plus garbage and quarantine, at a rate spanning the kills."""
    messages = event_messages(settings, EVENTS)
    for index in range(0, EVENTS, 250):
        topic, key, _value, headers = messages[index]
        messages[index] = (topic, key, GARBAGE + str(index).encode(), headers)
    for index in range(0, EVENTS, 500):
        messages[index + 1] = quarantine_message(settings, messages[index + 1][2])
    chunk = 500
    pause = chunk / (EVENTS / (KILLS * sum(LIFE_SECONDS) / 2))

    def run() -> None:
        kafka = make_producer(settings, **{"linger.ms": 5})
        for start in range(0, EVENTS, chunk):
            sent.extend(produce(settings, messages[start : start + chunk], kafka))
            time.sleep(pause * rng.uniform(0.5, 1.5))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_sigkill_at_random_points_never_loses_duplicates_or_overlaps(
    isolated_topics: Settings, isolated_bucket: Settings, tmp_path: Path
) -> None:
    settings = isolated_topics.model_copy(update={"s3": isolated_bucket.s3})
    rng = random.Random(SEED)
    print(f"lake kill test: seed {SEED}, {EVENTS} events, {KILLS} kills")
    sent: list[Sent] = []
    producer = start_producing(settings, rng, sent)
    lives: list[SinkProcess] = []
    started = time.monotonic()
    try:
        reader = LakeReader(settings)
        for life in range(KILLS):
            process = SinkProcess(settings, tmp_path, life, rng)
            lives.append(process)
            time.sleep(rng.uniform(*LIFE_SECONDS))
            moment = ("after_object", "after_manifest", "any")[life % 3]
            if moment != "any":
                kill_right_after_a_put(reader, "family=" if moment == "after_object" else "_manifests/")
            process.kill()
        producer.join(300)
        assert not producer.is_alive()
        print(f"lake kill test: kills done after {time.monotonic() - started:.1f}s")

        final = SinkProcess(settings, tmp_path, KILLS, rng)
        lives.append(final)
        group = consumer_group(settings, LakeSinkSettings())
        try:
            wait_for(lambda: caught_up(settings, group), 120, interval=0.5, what="the last life to catch up")
        except AssertionError:
            final.process.send_signal(signal.SIGUSR1)  # stacks into the log, for the failure message
            time.sleep(1)
            raise AssertionError(final.log.read_text()[-6000:]) from None
        # The previous life may already have committed everything, so "caught up" can be true
        # before the final process has opened its metrics port: wait for it to answer.
        wait_for(lambda: final.answers("/health"), 60, interval=0.2, what="the final life's /health")
        status, health = final.get("/health")
        assert status == 200
        assert json.loads(health)["status"] == "ok"
        status, metrics = final.get("/metrics")
        assert "ledgerline_lake_objects_written_total" in metrics
        assert "ledgerline_lake_consumer_lag" in metrics
        final.process.send_signal(signal.SIGTERM)
        try:
            code = final.process.wait(60)
        except subprocess.TimeoutExpired:
            final.process.send_signal(signal.SIGUSR1)  # stacks into the log, for the failure message
            time.sleep(1)
            raise AssertionError("no exit 60 s after SIGTERM:\n" + final.log.read_text()[-8000:]) from None
        assert code == 0, final.log.read_text()[-3000:]
    finally:
        for leftover in lives:
            if leftover.process.poll() is None:
                leftover.process.kill()
                leftover.process.wait(30)

    recoveries = sum(life.log.read_text().count("lake object already exists") for life in lives)
    repaired = sum(life.log.read_text().count("rebuilt a missing lake manifest") for life in lives)
    print(
        f"lake kill test: caught up after {time.monotonic() - started:.1f}s; "
        f"{recoveries} existing objects skipped, {repaired} manifests rebuilt"
    )

    report = verify(settings=settings)
    assert report.ok, report.problems[:20]
    seen: Counter[tuple[str, int, int]] = Counter()
    values: dict[tuple[str, int, int], bytes | None] = {}
    for item in reader.list_objects():
        for record in reader.read_object(item.key):
            coordinates = (record.topic, record.partition, record.offset)
            seen[coordinates] += 1
            values[coordinates] = record.value
    expected = {(s.topic, s.partition, s.offset): s.value for s in sent}
    assert len(expected) == EVENTS
    assert [c for c, n in seen.items() if n > 1] == []  # every offset in exactly one object
    assert set(seen) == set(expected)
    assert values == expected
    assert report.records == EVENTS

    env = {
        **os.environ,
        "LEDGERLINE_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix,
        "LEDGERLINE_S3__LAKE_BUCKET": settings.s3.lake_bucket,
    }
    cli = [sys.executable, "-m", "sinks.lake"]
    checked = subprocess.run([*cli, "verify", "--json"], cwd=REPO, env=env, capture_output=True, timeout=120)
    assert checked.returncode == 0, checked.stderr.decode()[-2000:]
    assert json.loads(checked.stdout.decode().strip().splitlines()[-1])["records"] == EVENTS
    listed = subprocess.run([*cli, "ls"], cwd=REPO, env=env, capture_output=True, timeout=120)
    assert listed.returncode == 0
    assert len(listed.stdout.decode().strip().splitlines()) == report.objects
