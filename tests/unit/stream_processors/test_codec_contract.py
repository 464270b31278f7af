"""The hot-path codec and contract checks agree with the shared `schemas` implementations."""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_writer
from hypothesis import given, settings
from hypothesis import strategies as st

import schemas
from platform_common.avro_codec import HEADER_LENGTH, SINGLE_OBJECT_MARKER, UndecodableEvent, make_schema_version
from platform_common.topics import Family
from stream_processors.codec import EventCodec
from stream_processors.contract import ContractChecker
from tests.unit.stream_processors.factory import BUILDERS, encode, payment, subscription


@pytest.mark.parametrize("family", list(Family), ids=str)
def test_decode_matches_the_shared_serializer(codec: EventCodec, family: Family) -> None:
    data = encode(family, BUILDERS[family]())
    ours, theirs = codec.decode(data), schemas.serializer().decode(data)
    assert (ours.subject, ours.writer_version, ours.record) == (theirs.subject, theirs.writer_version, theirs.record)
    assert ours.latest_bytes == data


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"", "bad_header"), (b"{}", "bad_header"), (SINGLE_OBJECT_MARKER + b"\x00" * 8, "unknown_schema")],
)
def test_undecodable_reasons_match(codec: EventCodec, data: bytes, reason: str) -> None:
    with pytest.raises(UndecodableEvent) as ours:
        codec.decode(data)
    with pytest.raises(UndecodableEvent) as theirs:
        schemas.serializer().decode(data)
    assert ours.value.reason == theirs.value.reason == reason


def test_corrupt_and_trailing_bytes_are_undecodable(codec: EventCodec) -> None:
    data = encode(Family.PAYMENT, payment())
    with pytest.raises(UndecodableEvent, match="decode") as corrupt:
        codec.decode(data[: HEADER_LENGTH + 5])
    assert corrupt.value.reason == "corrupt_body"
    with pytest.raises(UndecodableEvent, match="trailing") as trailing:
        codec.decode(data + b"\x00")
    assert trailing.value.reason == "corrupt_body"


def test_old_writer_versions_are_read_into_the_latest_and_fingerprint_alike(codec: EventCodec) -> None:
    v1 = schemas.catalog().version("payment", 1)
    event = payment()
    record = schemas.validate_event(Family.PAYMENT, {**event, "payment_method": None})
    old = {key: value for key, value in record.items() if key != "payment_method"}
    body = _write(v1.schema, {**old, "schema_version": 1})
    decoded = codec.decode(SINGLE_OBJECT_MARKER + v1.fingerprint + body)
    assert decoded.writer_version == 1
    assert decoded.record["payment_method"] is None
    assert decoded.latest_bytes[2:HEADER_LENGTH] == schemas.catalog().latest("payment").fingerprint
    assert codec.decode(decoded.latest_bytes).record == decoded.record
    assert decoded.fingerprint == codec.fingerprint("payment", {**record, "schema_version": 2})


def _write(schema: dict[str, Any], record: dict[str, Any]) -> bytes:
    import io

    buffer = io.BytesIO()
    schemaless_writer(buffer, parse_schema(schema), record)
    return buffer.getvalue()


def test_fingerprint_ignores_platform_metadata_only(codec: EventCodec) -> None:
    record = schemas.validate_event(Family.SUBSCRIPTION, subscription())
    base = codec.fingerprint("subscription", record)
    other_metadata = copy.deepcopy(record)
    other_metadata["metadata"] = {"received_at": None, "producer": "elsewhere", "trace_id": "abc"}
    other_metadata["schema_version"] = 1
    assert codec.fingerprint("subscription", other_metadata) == base
    assert codec.fingerprint("subscription", {**record, "quantity": 4}) != base
    assert codec.fingerprint("subscription", {**record, "source": "other"}) != base


def test_fingerprint_layout_is_derived_from_the_schema() -> None:
    """The skip-based slicing equals hashing a re-encoding without the excluded fields."""
    version = make_schema_version("payment", 9, _payment_schema_with_leading_extras())
    from stream_processors.codec import _generic_ranges

    record = {**schemas.validate_event(Family.PAYMENT, payment()), "extra": [1, 2]}
    body = _write(version.schema, record)
    ranges = _generic_ranges(version.schema)(body, 0)
    assert len(ranges) == 2
    stripped = b"".join(body[a:b] for a, b in ranges)
    assert stripped == _write(_only(version.schema, {"schema_version", "metadata"}), record)


def _payment_schema_with_leading_extras() -> dict[str, Any]:
    schema = copy.deepcopy(schemas.catalog().latest("payment").schema)
    schema["fields"].append({"name": "extra", "type": {"type": "array", "items": "int"}, "default": []})
    return schema


def _only(schema: dict[str, Any], names: set[str]) -> dict[str, Any]:
    return {**schema, "fields": [field for field in schema["fields"] if field["name"] in names]}


# -- contract checks vs. schemas.validate_event ------------------------------------------------

MUTATIONS: dict[Family, dict[str, st.SearchStrategy[Any]]] = {
    Family.PAYMENT: {
        "amount_minor": st.integers(-(2**40), 2**40),
        "currency": st.sampled_from(["USD", "usd", "US", "USDD", "", "EUR"]),
        "source": st.sampled_from(["", "billing", "x" * 3]),
        "event_id": st.text(min_size=0, max_size=140, alphabet="ab"),
        "failure_reason": st.none() | st.just("declined"),
        "event_type": st.sampled_from(["invoice_paid", "payment_failed", "refunded", "chargeback"]),
        "schema_version": st.integers(-3, 5),
        "metadata.producer": st.sampled_from(["", "p"]),
    },
    Family.SUBSCRIPTION: {
        "quantity": st.integers(-5, 5),
        "billing_interval_count": st.integers(-1, 3),
        "event_type": st.sampled_from(["created", "canceled", "plan_changed", "trial_started", "paused"]),
        "cancel_reason": st.none() | st.just("too_expensive"),
        "effective_date": st.none() | st.just(subscription()["event_time"][:10]),
        "change_kind": st.none() | st.just("upgrade"),
        "discount": st.none()
        | st.fixed_dictionaries(
            {
                "kind": st.sampled_from(["amount", "percent"]),
                "amount_minor": st.none() | st.integers(-10, 10),
                "percent_basis_points": st.none() | st.integers(-10, 10_010),
                "duration_months": st.none() | st.integers(-1, 3),
            }
        ),
    },
}


@settings(max_examples=300, deadline=None)
@given(data=st.data(), family=st.sampled_from(sorted(MUTATIONS, key=str)))
def test_contract_checks_agree_with_validate_event(
    contract: ContractChecker, data: st.DataObject, family: Family
) -> None:
    record = schemas.validate_event(family, BUILDERS[family]())
    for name, strategy in MUTATIONS[family].items():
        if data.draw(st.booleans(), label=f"mutate {name}"):
            value = data.draw(strategy, label=name)
            if name.startswith("metadata."):
                record["metadata"][name.split(".", 1)[1]] = value
            elif name in ("effective_date",) and value is not None:
                record[name] = __import__("datetime").date.fromisoformat(value)
            else:
                record[name] = value
    findings = contract.check(family.value, record)
    refused: list[dict[str, str]] = []
    try:
        schemas.validate_event(family, json.loads(json.dumps(schemas.to_json(record))))
    except schemas.ContractViolation as violation:
        refused = violation.errors
    if not refused:
        assert findings == []
        return
    assert findings, f"validate_event refused ({refused}) but the checks found nothing"
    # validate_event stops before the conditional rules when a value rule fails, so its fields
    # are a subset of ours (we report every broken rule at once).
    assert {error["field"] for error in refused} <= {finding.field for finding in findings}


@settings(max_examples=200, deadline=None)
@given(
    event_id=st.text(min_size=1, max_size=128),
    source=st.text(min_size=1, max_size=300),
    producer=st.text(min_size=1, max_size=200),
    trace_id=st.none() | st.text(max_size=200),
    received=st.booleans(),
    version=st.integers(1, 2),
)
def test_standard_envelope_parser_agrees_with_the_generic_one(
    event_id: str, source: str, producer: str, trace_id: str | None, received: bool, version: int
) -> None:
    from stream_processors.codec import _generic_ranges, _standard_ranges

    schema = schemas.catalog().latest("usage").schema
    record = schemas.validate_event(Family.USAGE, BUILDERS[Family.USAGE]())
    record.update(event_id=event_id, source=source, schema_version=version)
    record["metadata"] = {
        "producer": producer,
        "trace_id": trace_id,
        "received_at": record["event_time"] if received else None,
    }
    body = b"pad" + _write(schema, record)
    generic = _generic_ranges(schema)(body, 3)
    assert _standard_ranges(body, 3) == [(generic[0][0], generic[-1][1])]
    assert all(left[1] == right[0] for left, right in itertools.pairwise(generic))
