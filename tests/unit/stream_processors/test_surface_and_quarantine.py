from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import typer

import schemas
import stream_processors
from platform_common.topics import Family
from stream_processors.core import EventProcessor
from stream_processors.quarantine import (
    FORMAT,
    LATE_HEADER,
    REPLAY_HEADER,
    SOURCE_HEADER,
    clean_headers,
    quarantine_id,
    quarantine_record,
)
from stream_processors.settings import StreamSettings, stream_settings
from stream_processors.triage import Filters, _replay_message
from tests.unit.stream_processors.factory import NOW_US, encode, encode_unchecked, payment, raw, subscription, usage


def test_public_surface_is_pinned() -> None:
    assert sorted(stream_processors.__all__) == [
        "EventProcessor",
        "Finding",
        "Outcome",
        "ProcessorConfig",
        "QUARANTINE_FORMAT",
        "QuarantineReason",
        "RawEvent",
        "StreamSettings",
        "quarantine_cli",
        "stream_cli",
        "stream_settings",
    ]
    assert isinstance(stream_processors.stream_cli, typer.Typer)
    assert isinstance(stream_processors.quarantine_cli, typer.Typer)


def test_quarantine_record_keeps_everything_needed_to_replay(processor: EventProcessor) -> None:
    value = encode_unchecked(Family.USAGE, usage(event_id="u-9"), quantity=-3)
    headers = (("trace_id", b"t-1"), (REPLAY_HEADER, b"q-old"))
    outcome = processor.process(raw(Family.USAGE, value, 42, partition=3, headers=headers), NOW_US)[0]
    record = json.loads(json.dumps(quarantine_record(outcome, NOW_US)))
    assert record["format"] == FORMAT
    assert record["quarantine_id"] == quarantine_id(outcome.event.topic, 3, 42)
    assert record["reason"] == "out_of_range"
    assert record["reasons"] == [{"code": "out_of_range", "message": "must be >= 0, got -3", "field": "quantity"}]
    assert (record["family"], record["event_id"], record["replay_of"]) == ("usage", "u-9", "q-old")
    assert record["source"] | {"key_b64": None} == {
        "topic": outcome.event.topic,
        "partition": 3,
        "offset": 42,
        "timestamp_ms": 0,
        "key_b64": None,
    }
    assert base64.b64decode(record["payload"]["avro_b64"]) == value
    assert record["payload"]["json"]["quantity"] == -3
    assert record["first_seen_at"].endswith("Z")


def test_undecodable_payload_is_kept_as_bytes(processor: EventProcessor) -> None:
    outcome = processor.process(raw(Family.USAGE, b"\x00\xffjunk", 0), NOW_US)[0]
    record = quarantine_record(outcome, NOW_US)
    assert record["event_id"] is None
    assert record["payload"]["json"] is None
    assert base64.b64decode(record["payload"]["avro_b64"]) == b"\x00\xffjunk"


def test_clean_headers_carry_late_flag_lineage_and_trace(processor: EventProcessor) -> None:
    outcome = processor.process(
        raw(Family.USAGE, encode(Family.USAGE, usage()), 7, headers=(("trace_id", b"t"),)), NOW_US
    )[0]
    headers = dict(clean_headers(outcome))
    assert headers[LATE_HEADER] == b"false"
    assert headers[SOURCE_HEADER].endswith(b"/0/7")
    assert headers["trace_id"] == b"t"


def _record_for(processor: EventProcessor, family: Family, value: bytes) -> dict[str, Any]:
    outcome = processor.process(raw(family, value, 1, key=b"cus-1"), NOW_US)[0]
    record: dict[str, Any] = json.loads(json.dumps(quarantine_record(outcome, NOW_US)))
    return record


def test_replay_of_an_unedited_record_sends_the_original_bytes(processor: EventProcessor, settings_stub) -> None:
    value = encode(Family.SUBSCRIPTION, subscription(plan_id="legacy-1"))
    record = _record_for(processor, Family.SUBSCRIPTION, value)
    topic, partition, key, sent, headers = _replay_message(settings_stub, record)
    assert (topic, partition, key, sent) == ("t.events.subscription.raw", 0, b"cus-1", value)
    assert (REPLAY_HEADER, record["quarantine_id"].encode()) in headers


def test_replay_of_an_edited_record_is_validated_and_keeps_the_event_id(processor, settings_stub) -> None:
    record = _record_for(processor, Family.PAYMENT, encode_unchecked(Family.PAYMENT, payment(), amount_minor=-5))
    record["payload"]["json"]["amount_minor"] = 5
    _, _, _, sent, _ = _replay_message(settings_stub, record)
    assert schemas.serializer().decode(sent).record["amount_minor"] == 5

    record["payload"]["json"]["amount_minor"] = -6
    import pytest

    with pytest.raises(ValueError, match="violates the contract"):
        _replay_message(settings_stub, record)
    record["payload"]["json"].update(amount_minor=6, event_id="another")
    with pytest.raises(ValueError, match="must keep event_id"):
        _replay_message(settings_stub, record)


def test_filters() -> None:
    record = {
        "quarantine_id": "q-1",
        "family": "usage",
        "reasons": [{"code": "too_late"}, {"code": "unknown_region"}],
        "quarantined_at": "2024-03-02T00:00:00Z",
    }
    assert Filters(reasons=frozenset({"unknown_region"})).matches(record)
    assert not Filters(reasons=frozenset({"unknown_plan"})).matches(record)
    assert not Filters(families=frozenset({"payment"})).matches(record)
    assert Filters(since=datetime(2024, 3, 1, tzinfo=UTC), until=datetime(2024, 3, 3, tzinfo=UTC)).matches(record)
    assert not Filters(since=datetime(2024, 3, 3, tzinfo=UTC)).matches(record)
    assert not Filters(ids=frozenset({"q-2"})).matches(record)


def test_stream_settings_come_from_the_environment(monkeypatch) -> None:
    from platform_common.config import load_settings

    monkeypatch.setenv("LEDGERLINE_STREAM__WEB_PORT", "18123")
    monkeypatch.setenv("LEDGERLINE_STREAM__PROCESSING_GUARANTEE", "at_least_once")
    loaded = stream_settings(load_settings())
    assert (loaded.web_port, loaded.processing_guarantee) == (18123, "at_least_once")
    assert StreamSettings().dedupe_retention_days == 7
    assert StreamSettings().correction_horizon_days == 35


def test_a_backfill_copy_keeps_the_original_quarantine_id(processor: EventProcessor) -> None:
    value = encode_unchecked(Family.USAGE, usage(event_id="u-10"), quantity=-3)
    original = processor.process(raw(Family.USAGE, value, 7, partition=1), NOW_US)[0]
    origin = f"{original.event.topic}/1/7".encode()
    copy_headers = (("ledgerline-backfill", b"run-1"), ("ledgerline-backfill-source", origin))
    copy = processor.process(raw(Family.USAGE, value, 900, partition=1, headers=copy_headers), NOW_US)[0]
    first, second = quarantine_record(original, NOW_US), quarantine_record(copy, NOW_US)
    assert first["quarantine_id"] == second["quarantine_id"] == quarantine_id(original.event.topic, 1, 7)
    assert second["source"]["offset"] == 900  # where the copy sits: reconcile and triage read this
    stray = processor.process(
        raw(Family.USAGE, value, 901, partition=1, headers=(("ledgerline-backfill-source", origin),)), NOW_US
    )
    assert quarantine_record(stray[0], NOW_US)["quarantine_id"] == quarantine_id(original.event.topic, 1, 901)
