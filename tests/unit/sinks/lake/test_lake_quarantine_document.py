from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from lake_unit_helpers import event_value

from sinks.lake.quarantine import inspect_quarantine_document


def document(**overrides: Any) -> bytes:
    """A quarantine record in the stream processor's `ledgerline.quarantine/v1` JSON format."""
    original = event_value(3)
    body: dict[str, Any] = {
        "format": "ledgerline.quarantine/v1",
        "quarantine_id": "q-1",
        "reason": "contract_violation",
        "family": "payment",
        "event_id": "payment-000000003",
        "source": {"topic": "events.payment.raw", "partition": 0, "offset": 7},
        "payload": {
            "avro_b64": base64.b64encode(original).decode(),
            "json": {"event_id": "payment-000000003", "event_time": "2024-01-01T00:00:03Z"},
            "writer_version": 2,
        },
    }
    body.update(overrides)
    return json.dumps(body).encode()


def test_family_event_id_time_and_fingerprint_come_from_the_document() -> None:
    found = inspect_quarantine_document(document())
    assert found is not None
    assert found.subject == "payment"
    assert found.event_id == "payment-000000003"
    assert found.event_time_us == int(datetime(2024, 1, 1, 0, 0, 3, tzinfo=UTC).timestamp()) * 1_000_000
    assert found.fingerprint == event_value(3)[2:10].hex()
    assert found.version == 2
    assert found.error is None


def test_a_document_that_cannot_be_decoded_keeps_what_it_can() -> None:
    found = inspect_quarantine_document(document(family="nonsense", event_id=None, payload={"avro_b64": None}))
    assert found is not None
    assert (found.subject, found.event_id, found.event_time_us, found.fingerprint) == (None, None, None, None)


def test_other_values_are_left_to_the_avro_inspector() -> None:
    assert inspect_quarantine_document(None) is None
    assert inspect_quarantine_document(b"\xc3\x01binary") is None
    assert inspect_quarantine_document(b"{not json") is None
    assert inspect_quarantine_document(json.dumps({"format": "something/else"}).encode()) is None
