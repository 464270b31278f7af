"""The columnar Avro encoder against fastavro: byte for byte, every family and schema version."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import polars as pl
import pytest
from fastavro import parse_schema, schemaless_writer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import schemas
from platform_common.avro_codec import SINGLE_OBJECT_MARKER, SchemaVersion
from producers.columnar import encode_frame, plan_for
from producers.columnar.avro import zigzag_varints
from producers.columnar.frames import PRESENT
from producers.columnar.plan import INT_RANGES, Leaf, Plan, Unsupported, build_plan
from producers.loader.fast import micros

VERSIONS = [
    (subject, version.version)
    for subject in schemas.catalog().subjects
    for version in schemas.catalog().versions(subject)
]
_DAY_ZERO = date(1970, 1, 1).toordinal()
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)
_EDGE_LONGS = [0, -1, 1, 63, -64, 64, -65, 2**31 - 1, -(2**31), 2**62, 2**63 - 1, -(2**63)]


def _leaf_value(leaf: Leaf) -> st.SearchStrategy[Any]:
    if leaf.kind == "string":
        value: st.SearchStrategy[Any] = _TEXT | st.sampled_from(["", "é", "漢字", "😀", "a" * 300])
    elif leaf.kind == "enum":
        value = st.sampled_from(leaf.symbols)
    elif leaf.kind in ("int", "long"):
        low, high = INT_RANGES[leaf.kind]
        value = st.integers(low, high) | st.sampled_from([v for v in _EDGE_LONGS if low <= v <= high])
    elif leaf.kind == "boolean":
        value = st.booleans()
    elif leaf.kind == "timestamp":
        value = st.datetimes(datetime(1900, 1, 2), datetime(9998, 12, 30), timezones=st.just(UTC))
    else:
        value = st.dates(date(1900, 1, 1), date(9998, 12, 31))
    return st.none() | value if leaf.nullable else value


@st.composite
def _records(draw: st.DrawFn, plan: Plan) -> dict[str, Any]:
    record: dict[str, Any] = {}
    absent = {step.path for step in plan.records if draw(st.booleans())}
    for leaf in plan.leaves:
        node = record
        for part in leaf.path[:-1]:
            node = node.setdefault(part, {})
        node[leaf.path[-1]] = draw(_leaf_value(leaf))
    for path in absent:
        parent = record
        for part in path[:-1]:
            parent = parent[part]
        parent[path[-1]] = None
    return record


def _frame(plan: Plan, records: list[dict[str, Any]]) -> pl.DataFrame:
    """Records as the encoder's input columns (what `validate.check` hands over)."""
    columns: dict[str, pl.Series] = {}
    for leaf in plan.leaves:
        cells = []
        for record in records:
            value: Any = record
            for part in leaf.path:
                value = value.get(part) if isinstance(value, dict) else None
            cells.append(_column_value(leaf, value))
        dtype = {"string": pl.String, "boolean": pl.Boolean}.get(leaf.kind, pl.Int64)
        columns[leaf.name] = pl.Series(leaf.name, cells, dtype=dtype)
    for step in plan.records:
        present = [_node(record, step.path) is not None for record in records]
        columns[PRESENT + step.name] = pl.Series(PRESENT + step.name, present, dtype=pl.Boolean)
    return pl.DataFrame(columns)


def _node(record: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = record
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _column_value(leaf: Leaf, value: Any) -> Any:
    if value is None:
        return None
    if leaf.kind == "enum":
        return leaf.symbols.index(value)
    if leaf.kind == "timestamp":
        return micros(value)
    if leaf.kind == "date":
        return value.toordinal() - _DAY_ZERO
    return value


def _expected(version: SchemaVersion, records: list[dict[str, Any]]) -> list[bytes]:
    serializer = schemas.serializer()
    return [serializer.encode_with(version, record) for record in records]


@pytest.mark.parametrize(("subject", "version"), VERSIONS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_encoding_is_byte_identical_to_fastavro(subject: str, version: int, data: st.DataObject) -> None:
    schema_version = schemas.catalog().version(subject, version)
    plan = build_plan(schema_version.schema)
    records = data.draw(st.lists(_records(plan), min_size=1, max_size=30))
    header = SINGLE_OBJECT_MARKER + schema_version.fingerprint
    assert encode_frame(plan, _frame(plan, records), header) == _expected(schema_version, records)


@pytest.mark.parametrize(("subject", "version"), VERSIONS)
def test_every_enum_symbol_every_null_and_extreme_values_encode_identically(subject: str, version: int) -> None:
    schema_version = schemas.catalog().version(subject, version)
    plan = build_plan(schema_version.schema)
    extremes: dict[str, list[Any]] = {
        "string": ["", "ascii", "é漢字😀", '\x00\n"\\', "x" * 200],
        "int": [0, -1, 1, 2**31 - 1, -(2**31), 63, 64, -64, -65, 8191, 8192],
        "long": _EDGE_LONGS,
        "boolean": [True, False],
        "timestamp": [
            datetime(1970, 1, 1, tzinfo=UTC),
            datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            datetime(1900, 1, 2, tzinfo=UTC),
            datetime(9998, 12, 30, 23, 59, 59, 999999, tzinfo=UTC),
            datetime(2024, 2, 29, 12, 0, 0, 250000, tzinfo=UTC),
        ],
        "date": [date(1970, 1, 1), date(1969, 12, 31), date(1900, 1, 1), date(9998, 12, 31), date(2024, 2, 29)],
    }
    base = _first_of_each(plan, extremes)
    records = []
    for leaf in plan.leaves:
        values = list(leaf.symbols) if leaf.kind == "enum" else extremes[leaf.kind]
        for value in [*values, *([None] if leaf.nullable else [])]:
            record = _copy(base)
            _set(record, leaf.path, value)
            records.append(record)
    for step in plan.records:
        record = _copy(base)
        _set(record, step.path, None)
        records.append(record)
    header = SINGLE_OBJECT_MARKER + schema_version.fingerprint
    assert len(records) > 20
    assert encode_frame(plan, _frame(plan, records), header) == _expected(schema_version, records)


def _first_of_each(plan: Plan, extremes: dict[str, list[Any]]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for leaf in plan.leaves:
        _set(record, leaf.path, leaf.symbols[0] if leaf.kind == "enum" else extremes[leaf.kind][1])
    return record


def _set(record: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = record
    for part in path[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[path[-1]] = value


def _copy(record: dict[str, Any]) -> dict[str, Any]:
    return {key: _copy(value) if isinstance(value, dict) else value for key, value in record.items()}


def test_zigzag_varints_match_the_avro_spec() -> None:
    values = np.array(_EDGE_LONGS + list(range(-300, 300)), dtype=np.int64)
    piece = zigzag_varints(values)
    expected = []
    for value in values.tolist():
        buffer = io.BytesIO()
        schemaless_writer(buffer, parse_schema("long"), value)
        expected.append(buffer.getvalue())
    assert piece.data.tobytes() == b"".join(expected)
    assert piece.lengths.tolist() == [len(item) for item in expected]


def test_schema_features_outside_the_encoder_are_refused_so_the_loader_stays_row_wise() -> None:
    for avro_type in (["null", "string", "long"], {"type": "array", "items": "string"}, "double"):
        schema = {"type": "record", "name": "R", "fields": [{"name": "f", "type": avro_type}]}
        with pytest.raises(Unsupported):
            build_plan(schema)


def test_the_loader_plans_cover_every_family() -> None:
    for subject in schemas.catalog().subjects:
        assert plan_for(subject).leaves  # no family falls back to the row-wise encoder
