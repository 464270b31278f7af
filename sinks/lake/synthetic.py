"""Schema-valid synthetic events, for the lake sink's tests and benchmark.

The lake archives bytes, so what matters is that values are real single-object Avro of the
shipped schemas (and, for contrast, not); business realism is the sample-data generator's job.
Every field is filled from the latest schema of a family, so new schema versions need no edits.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from platform_common.avro_codec import SingleObjectSerializer
from platform_common.topics import Family

BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)


def _fill(schema: Any, index: int, name: str = "value") -> Any:
    if isinstance(schema, list):
        return None if "null" in schema else _fill(schema[0], index, name)
    if isinstance(schema, str):
        text = f"{name}-{index:08d}"
        return {"string": text, "int": 1, "long": 1, "boolean": False, "bytes": b"", "null": None}.get(schema, 1.0)
    kind = schema["type"]
    if kind == "record":
        return {field["name"]: _fill(field["type"], index, field["name"]) for field in schema["fields"]}
    if kind == "enum":
        return schema["symbols"][index % len(schema["symbols"])]
    if kind == "array":
        return []
    if kind == "map":
        return {}
    if kind == "fixed":
        return bytes(schema["size"])
    if schema.get("logicalType") in {"timestamp-micros", "timestamp-millis"}:
        return BASE_TIME
    if schema.get("logicalType") == "date":
        return BASE_TIME.date()
    return _fill(kind, index, name)


def synthetic_event(family: Family | str, index: int, serializer: SingleObjectSerializer) -> tuple[str, bytes]:
    """(event_id, encoded value) of a valid event of `family`; deterministic in `index`."""
    version = serializer.catalog.latest(Family(family).value)
    record = _fill(version.schema, index)
    event_id = f"{Family(family).value}-{index:09d}"
    record["event_id"] = event_id
    record["event_time"] = BASE_TIME + timedelta(seconds=index)
    return event_id, serializer.encode_with(version, record)
