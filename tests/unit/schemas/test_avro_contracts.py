"""House rules every Avro contract must follow, checked on every version of every family."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from platform_common.topics import Family
from schemas import catalog

ENVELOPE = ["event_id", "event_type", "event_time", "source", "schema_version", "metadata"]
TIMESTAMP = {"type": "long", "logicalType": "timestamp-micros"}
DATE = {"type": "int", "logicalType": "date"}


def _all_schemas() -> list[tuple[str, int, dict[str, Any]]]:
    return [
        (subject, version.version, version.schema)
        for subject in catalog().subjects
        for version in catalog().versions(subject)
    ]


def _fields(schema: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any], Any]]:
    """(dotted name, field, non-null type) for every field, nested records included."""
    for field in schema["fields"]:
        kind = field["type"]
        if isinstance(kind, list):
            kind = next(branch for branch in kind if branch != "null")
        yield prefix + field["name"], field, kind
        if isinstance(kind, dict) and kind.get("type") == "record":
            yield from _fields(kind, f"{prefix}{field['name']}.")


def _names(kind: Any) -> Iterator[str]:
    if isinstance(kind, list):
        for branch in kind:
            yield from _names(branch)
    elif isinstance(kind, str):
        yield kind
    else:
        yield kind["type"]
        for field in kind.get("fields", []):
            yield from _names(field["type"])


SCHEMAS = _all_schemas()
IDS = [f"{subject}-v{version}" for subject, version, _ in SCHEMAS]


def test_one_subject_per_family() -> None:
    assert sorted(catalog().subjects) == sorted(family.value for family in Family)


@pytest.mark.parametrize(("subject", "version", "schema"), SCHEMAS, ids=IDS)
def test_record_starts_with_the_envelope(subject: str, version: int, schema: dict[str, Any]) -> None:
    assert schema["namespace"] == "io.ledgerline.events"
    assert schema["doc"]
    assert [field["name"] for field in schema["fields"][: len(ENVELOPE)]] == ENVELOPE
    by_name = {field["name"]: field for field in schema["fields"]}
    assert by_name["event_type"]["type"]["type"] == "enum"
    assert by_name["event_time"]["type"] == TIMESTAMP
    metadata = by_name["metadata"]["type"]
    assert metadata["name"] == "PlatformMetadata"
    assert [(field["name"], field["type"], field.get("default", "-")) for field in metadata["fields"]] == [
        ("received_at", ["null", TIMESTAMP], None),
        ("producer", "string", "-"),
        ("trace_id", ["null", "string"], None),
    ]


@pytest.mark.parametrize(("subject", "version", "schema"), SCHEMAS, ids=IDS)
def test_every_field_is_documented(subject: str, version: int, schema: dict[str, Any]) -> None:
    undocumented = [name for name, field, _ in _fields(schema) if not field.get("doc", "").strip()]
    assert undocumented == []


@pytest.mark.parametrize(("subject", "version", "schema"), SCHEMAS, ids=IDS)
def test_no_floating_point_anywhere(subject: str, version: int, schema: dict[str, Any]) -> None:
    assert not {"float", "double", "bytes", "fixed"} & set(_names(schema))


@pytest.mark.parametrize(("subject", "version", "schema"), SCHEMAS, ids=IDS)
def test_money_time_and_naming_rules(subject: str, version: int, schema: dict[str, Any]) -> None:
    for name, field, kind in _fields(schema):
        leaf = name.rsplit(".", 1)[-1]
        if leaf.endswith("_minor"):
            assert kind == "long", name
        if leaf == "currency":
            assert field["ledgerline.constraints"]["pattern"] == "^[A-Z]{3}$"
            assert any(f["name"] == "amount_minor" or f["name"].endswith("_minor") for f in schema["fields"])
        if leaf.endswith(("_time", "_at")):
            assert kind == TIMESTAMP, name
        if leaf.endswith("_date"):
            assert kind == DATE, name
        if kind in (TIMESTAMP, DATE):
            assert leaf.endswith(("_time", "_at", "_date", "_start", "_end")), name
        if kind == "boolean":
            assert leaf.startswith("is_"), name
        if isinstance(field["type"], list):
            assert (field["type"][0] == "null" and field.get("default", "-") is None) or kind == "boolean", name
