"""`close_consumer` returns even when the group join has completed but the application has not
been handed its assignment yet: the state a sink stopped in its first second is in, where a
bare `Consumer.close()` blocks forever (holding the GIL, so no timer in the process can help).

Each attempt runs in a child process, so a hang shows up as a timeout instead of hanging pytest.
The previous static member is killed first, as in a crash-and-restart, which makes the new
member's join complete on the broker at once.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from platform_common.config import Settings
from platform_common.kafka import make_producer
from platform_common.topics import raw_topic

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]

CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    from platform_common.config import Settings
    from platform_common.kafka import close_consumer, make_consumer

    settings = Settings.model_validate(json.loads(sys.argv[1]))
    topic, group, mode, delay = sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
    consumer = make_consumer(group, settings, **{"group.instance.id": group + "@test", "session.timeout.ms": 30000})
    consumer.subscribe([topic], on_assign=lambda _c, _p: None, on_revoke=lambda _c, _p: None)
    if mode == "crash":
        deadline = time.monotonic() + 30
        while not consumer.assignment() and time.monotonic() < deadline:
            consumer.consume(10, 0.1)
        until = time.monotonic() + delay
        while time.monotonic() < until:  # fetching when it dies
            consumer.consume(100, 0.1)
        os._exit(0 if consumer.assignment() else 3)
    time.sleep(delay)  # the join completes meanwhile; nothing polls
    started = time.monotonic()
    close_consumer(consumer)
    print(json.dumps({"close_seconds": time.monotonic() - started}))
    """
)


def _child(settings: Settings, topic: str, group: str, mode: str, delay: float, timeout_s: float) -> str:
    config = settings.model_dump(mode="json", exclude={"postgres", "s3"})
    result = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(config), topic, group, mode, str(delay)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=True,
    )
    return result.stdout


def test_close_right_after_a_restart_returns(isolated_topics: Settings) -> None:
    topic = raw_topic("usage", isolated_topics.kafka.topic_prefix)
    group = f"close-{uuid.uuid4().hex[:8]}"
    producer = make_producer(isolated_topics)
    for index in range(600):
        producer.produce(topic, b"payload", f"key-{index}".encode())
    assert producer.flush(30) == 0
    for delay in (0.1, 0.2, 0.3):  # a bare close() hung at each of these (confluent-kafka 2.16.1)
        _child(isolated_topics, topic, group, "crash", 1.0, timeout_s=60)
        try:
            output = _child(isolated_topics, topic, group, "close", delay, timeout_s=20)
        except subprocess.TimeoutExpired:
            pytest.fail(f"close did not return within 20 s ({delay} s after subscribing)")
        assert json.loads(output.strip().splitlines()[-1])["close_seconds"] < 10
