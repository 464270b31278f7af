"""The sink's JSON log lines name the trace ids of what they handled: each batch line lists the
`trace_id` headers of its messages, and a per-event error line carries its event's trace id."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from warehouse_scenario_events import scenario
from warehouse_sink_helpers import REPO, cli_env, publish_quarantine, sink_command

from platform_common.config import Settings
from platform_common.kafka import make_producer
from platform_common.topics import Family, clean_topic
from schemas import partition_key, serializer, validate_event

pytestmark = pytest.mark.integration

BATCH_TRACE = "0af7651916cd43dd8448eb211c80319c"
BAD_EVENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
BAD_QUARANTINE_TRACE = "00f067aa0ba902b7a1b2c3d4e5f60718"


def _log_lines(stderr: str) -> list[dict[str, Any]]:
    lines = []
    for line in stderr.splitlines():
        try:
            parsed = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(parsed, dict):
            lines.append(parsed)
    return lines


def test_batch_lines_name_header_trace_ids_and_event_errors_carry_theirs(
    fresh_database: Settings, isolated_topics: Settings
) -> None:
    settings = fresh_database.model_copy(update={"kafka": isolated_topics.kafka})
    family_name, payload = scenario()[0]
    family = Family(family_name)
    record = validate_event(family, dict(payload))
    topic = clean_topic(family, settings.kafka.topic_prefix)
    producer = make_producer(settings)
    producer.produce(
        topic,
        value=serializer().encode(family.value, record),
        key=partition_key(family, record),
        headers=[("trace_id", BATCH_TRACE.encode())],
    )
    producer.produce(topic, value=b"\x00not avro", key=b"k", headers=[("trace_id", BAD_EVENT_TRACE.encode())])
    assert producer.flush(30) == 0
    publish_quarantine(settings, [b"{not json"], headers=[("trace_id", BAD_QUARANTINE_TRACE.encode())])

    result = subprocess.run(
        sink_command("run", "--until-caught-up", "--metrics-port", "0"),
        cwd=REPO,
        env=cli_env(settings, LEDGERLINE_LOG_LEVEL="INFO"),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = _log_lines(result.stderr)

    batches = [line for line in lines if line.get("message") == "batch committed"]
    assert batches, result.stderr[-3000:]
    named = [trace for line in batches for trace in line["trace_ids"]]
    assert BATCH_TRACE in named
    assert sum(line["trace_id_count"] for line in batches) == len(named) >= 3

    errors = {line["message"]: line for line in lines if line.get("level") == "error"}
    assert errors["undecodable clean event skipped"]["trace_id"] == BAD_EVENT_TRACE
    assert errors["malformed quarantine record skipped"]["trace_id"] == BAD_QUARANTINE_TRACE
