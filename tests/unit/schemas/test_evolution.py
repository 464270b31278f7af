"""Schema evolution: old data stays readable, released versions never change."""

from __future__ import annotations

import hashlib
import itertools
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from schemas import catalog, serializer, validate_event

# Every released version, pinned: (Avro CRC-64 fingerprint, sha256 of the sorted-key JSON).
# A new version is added here when it ships; an existing line never changes.
RELEASED = {
    ("operational_cost", 1): ("0ff92d52bc5c06a4", "af45eeeaaa0e26720cda1af5059207a5a3a01bb408c5168bcead12c5254ba3d7"),
    ("operational_cost", 2): ("ea5eed4d41e231fd", "f00b6aa903a4b175c5817c488d9a4e814fc55f166fc197a2c8536f724dacfbcc"),
    ("payment", 1): ("4cf0267b830ba649", "7d2ac01caaa3ad0356900fb40ace614b4001bfca50679d314b3e1deb7fd5fe30"),
    ("payment", 2): ("dd44bcbbd3bddfae", "243aa4408fbeb30477dd145a5ee23abf7c08a5e862e7d0e6eab73d32a751d3b0"),
    ("subscription", 1): ("a9bf18b924aca2e7", "a52afe3570b7b68741cb12ec95b8043edf673ebe0d06c79e34b46e26547bcc64"),
    ("subscription", 2): ("62481b3ea705eb88", "8cafc247a315f9406b444de91c70c543f0b89118a18b099fcb87758d36fef8eb"),
    ("usage", 1): ("617fe48d3902cad2", "148b7c8329002b39116453b81c386a8da1d4a4fe14b8bc5bf02a901b2db54d7e"),
    ("usage", 2): ("fc74757a94a33395", "147ab7c7af7f65ebd98359cb8ead92206ecd2389363cc88ac765ff902cbfc211"),
}


def _sample(avro: Any, named: dict[str, Any]) -> Any:
    """A valid value for any Avro type, preferring the non-null branch so every field is exercised."""
    if isinstance(avro, list):
        return _sample(next(branch for branch in avro if branch != "null"), named)
    if isinstance(avro, str):
        if avro in named:
            return _sample(named[avro], named)
        avro = {"type": avro}
    kind, logical = avro["type"], avro.get("logicalType")
    if logical == "timestamp-micros":
        return datetime(2024, 2, 29, 12, 0, 0, 1, tzinfo=UTC)
    if logical == "date":
        return date(2024, 2, 29)
    if kind == "record":
        named[avro["name"]] = avro
        return {field["name"]: _field_sample(field, named) for field in avro["fields"]}
    if kind == "enum":
        named[avro["name"]] = avro
        return avro["symbols"][-1]
    return {"string": "ABC", "int": 7, "long": 2**40 + 1, "boolean": False}[kind]


def _field_sample(field: dict[str, Any], named: dict[str, Any]) -> Any:
    minimum = field.get("ledgerline.constraints", {}).get("minimum")
    return minimum if minimum is not None else _sample(field["type"], named)


def _versions() -> list[tuple[str, int]]:
    return [(subject, version.version) for subject in catalog().subjects for version in catalog().versions(subject)]


@pytest.mark.parametrize(("subject", "version"), _versions())
def test_data_written_with_every_version_decodes_with_the_current_reader(subject: str, version: int) -> None:
    writer = catalog().version(subject, version)
    latest = catalog().latest(subject)
    record = _sample(writer.schema, {})
    decoded = serializer().decode(serializer().encode_with(writer, record))
    assert decoded.subject == subject
    assert decoded.writer_version == version
    assert set(decoded.record) == {field["name"] for field in latest.schema["fields"]}
    for name, value in record.items():
        assert decoded.record[name] == value
    for field in latest.schema["fields"]:
        if field["name"] not in record:
            assert decoded.record[field["name"]] == field["default"]
    # What an old producer wrote, upgraded to the current shape, still meets today's contract.
    validate_event(subject, decoded.record)


def test_every_subject_has_a_v2_that_adds_an_optional_field() -> None:
    for subject in catalog().subjects:
        versions = catalog().versions(subject)
        assert [version.version for version in versions][:2] == [1, 2]
        for older, newer in itertools.pairwise(versions):
            old_fields = {field["name"]: field for field in older.schema["fields"]}
            new_fields = {field["name"]: field for field in newer.schema["fields"]}
            assert set(old_fields) < set(new_fields), f"{subject} v{newer.version} must only add fields"
            for name in set(new_fields) - set(old_fields):
                assert "default" in new_fields[name], f"{subject} v{newer.version}.{name} needs a default"
            for name in old_fields:
                assert json.dumps(old_fields[name]["type"], sort_keys=True) == json.dumps(
                    new_fields[name]["type"], sort_keys=True
                ), f"{subject} v{newer.version} changed the type of {name}"


def test_released_versions_are_pinned_and_unchanged() -> None:
    found = {
        (subject, version.version): (
            version.fingerprint.hex(),
            hashlib.sha256(json.dumps(version.schema, sort_keys=True).encode()).hexdigest(),
        )
        for subject in catalog().subjects
        for version in catalog().versions(subject)
    }
    for key, pinned in RELEASED.items():
        assert found.get(key) == pinned, f"released schema {key} was edited; add a new version instead"
    assert set(found) - set(RELEASED) == set(), "pin the new version in RELEASED when it ships"
