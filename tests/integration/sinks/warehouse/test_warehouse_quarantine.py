"""Quarantine records (format ledgerline.quarantine/v1, written here by hand from the documented
contract) land in warehouse.quarantine_event exactly once: duplicates in the topic, a second
and a third read of the whole topic, and a re-publish add nothing."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from warehouse_sink_helpers import drain, publish_quarantine, query, sink_settings

from platform_common.config import Settings
from platform_common.postgres import Role, connect
from platform_common.topics import quarantine_topic

pytestmark = pytest.mark.integration


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def quarantine_record(number: int, *, decodable: bool = True, trace_id: str | None = None, **extra: Any) -> bytes:
    headers = [["late", _b64("false")]] + ([["trace_id", _b64(trace_id)]] if trace_id else [])
    payload_json = (
        {"event_id": f"evt-q{number}", "event_time": "2024-03-05T10:11:12.5Z", "amount_minor": -5}
        if decodable
        else None
    )
    record = {
        "format": "ledgerline.quarantine/v1",
        "quarantine_id": f"q-{number:020x}",
        "reason": "out_of_range" if decodable else "undecodable",
        "reasons": (
            [
                {"code": "out_of_range", "message": "amount_minor must be >= 0", "field": "amount_minor"},
                {"code": "unknown_currency", "message": "XXX is not ISO-4217", "field": "currency"},
            ]
            if decodable
            else [{"code": "undecodable", "message": "bad magic bytes", "field": None}]
        ),
        "family": "payment",
        "event_id": f"evt-q{number}" if decodable else None,
        "source": {"topic": "events.payment.raw", "partition": 1, "offset": 100 + number, "timestamp_ms": 0},
        "headers": headers,
        "first_seen_at": "2024-03-05T10:11:13Z",
        "quarantined_at": "2024-03-05T10:11:14.123456Z",
        "replay_of": None,
        "payload": {"avro_b64": None, "json": payload_json, "writer_version": 2 if decodable else None},
        **extra,
    }
    return json.dumps(record).encode()


def _rows(settings: Settings) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = query(
        settings,
        "SELECT quarantine_id, family, reason, reason_codes, message, field_path, event_id, event_time,"
        " first_seen_at, quarantined_at, source_topic, source_partition, source_offset, replay_of, trace_id,"
        " loaded_at FROM warehouse.quarantine_event ORDER BY quarantine_id",
    )
    return rows


def _forget_quarantine_offsets(settings: Settings) -> None:
    with connect(Role.ADMIN, settings) as conn:
        conn.execute(
            "DELETE FROM platform.consumer_offset WHERE topic = %s", (quarantine_topic(settings.kafka.topic_prefix),)
        )


def test_quarantine_records_land_exactly_once(fresh_database: Settings, isolated_topics: Settings) -> None:
    settings = fresh_database.model_copy(update={"kafka": isolated_topics.kafka})
    records = [
        quarantine_record(1, trace_id="4bf92f3577b34da6a3ce929d0e0e4736"),
        quarantine_record(2, decodable=False),
        quarantine_record(3, replay_of=f"q-{1:020x}"),
        quarantine_record(1, trace_id="4bf92f3577b34da6a3ce929d0e0e4736"),  # written twice (at-least-once)
        b"not json at all",  # skipped, logged; must not fail the batch
        quarantine_record(4, first_seen_at=None),  # not a usable record: skipped
    ]
    publish_quarantine(settings, records)
    drain(settings)

    rows = _rows(settings)
    assert [row[0] for row in rows] == [f"q-{n:020x}" for n in (1, 2, 3)]
    first = {row[0]: row for row in rows}[f"q-{1:020x}"]
    assert first[1:7] == (
        "payment",
        "out_of_range",
        ["out_of_range", "unknown_currency"],
        "amount_minor must be >= 0",
        "amount_minor",
        "evt-q1",
    )
    assert first[7].isoformat() == "2024-03-05T10:11:12.500000+00:00"
    assert first[9].isoformat() == "2024-03-05T10:11:14.123456+00:00"
    assert first[10:15] == ("events.payment.raw", 1, 101, None, "4bf92f3577b34da6a3ce929d0e0e4736")
    undecodable = {row[0]: row for row in rows}[f"q-{2:020x}"]
    assert undecodable[2:8] == ("undecodable", ["undecodable"], "bad magic bytes", None, None, None)
    assert undecodable[14] is None
    assert {row[0]: row for row in rows}[f"q-{3:020x}"][13] == f"q-{1:020x}"

    # The offsets of the quarantine topic are stored with the rows: a plain re-run reads nothing.
    stored = query(
        settings,
        "SELECT sum(next_offset) FROM platform.consumer_offset WHERE topic = %s",
        (quarantine_topic(settings.kafka.topic_prefix),),
    )[0][0]
    assert stored == len(records)

    # Replay the whole topic twice (offsets forgotten), then re-publish it: nothing changes,
    # not even loaded_at (no row is rewritten).
    for _ in range(2):
        _forget_quarantine_offsets(settings)
        drain(settings)
        assert _rows(settings) == rows
    publish_quarantine(settings, records)
    drain(settings)
    assert _rows(settings) == rows


def test_quarantine_loading_can_be_turned_off(fresh_database: Settings, isolated_topics: Settings) -> None:
    settings = fresh_database.model_copy(update={"kafka": isolated_topics.kafka})
    publish_quarantine(settings, [quarantine_record(7)])
    # Short sessions: switching the setting changes the static membership id (a new topic set), so
    # the previous run's member holds its partitions until its session expires.
    drain(settings, sink_settings(load_quarantine=False, session_timeout_ms=6_000))
    assert _rows(settings) == []
    drain(settings, sink_settings(session_timeout_ms=6_000))  # on again (the default): the record waited
    assert [row[0] for row in _rows(settings)] == [f"q-{7:020x}"]
