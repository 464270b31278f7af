"""The columnar loader path decides exactly like the row-wise contract.

For generated good and bad rows of every family, in NDJSON, CSV and Parquet, `prepare_chunk`
with the columnar path must produce the same messages (values, keys, headers, in the same
order) and the same rejects (line, event id, field, code, reason) as the row-wise path alone.
A second set of tests makes sure the comparison is not vacuous: well-formed rows really are
taken by the columnar path, not silently handed to the row-wise one.
"""

from __future__ import annotations

import copy
import csv
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from platform_common.topics import Family
from producers.columnar import plan_for
from producers.columnar.plan import Leaf
from producers.loader.fast import fast_rows
from producers.loader.prepare import Prepared, prepare_chunk, split
from producers.loader.readers import Chunk, Lines, read_chunks
from producers.sample_data import GenerationParams, generate, write_files
from producers.sample_data.writers import flat_columns

RECEIVED_AT = datetime(2026, 11, 28, 9, 30, 0, 123456, tzinfo=UTC)
TRACE = "0af7651916cd43dd8448eb211c80319c"
FAMILIES = list(Family)

TIMESTAMPS = [
    "2023-01-03T00:05:00Z",
    "2023-01-03T00:05:00.754300Z",
    "2023-01-03T00:05:00.7Z",
    "2023-01-03T00:05:00.000000Z",
    "2023-01-03T00:05:00.1234567Z",
    "2023-01-03T00:05:00+01:00",
    "2023-01-03T00:05:00.5-05:30",
    "2023-01-03T00:05:00+23:59",
    "2023-01-03T00:05:00-00:00",
    "2023-01-03T00:05:00+24:00",
    "2023-01-03 00:05:00Z",
    "2023-01-03T24:00:00Z",
    "2023-01-03T23:59:60Z",
    "2023-02-29T00:00:00Z",
    "2024-02-29T23:59:59.999999Z",
    "2023-01-03T00:05:00",
    "0001-01-01T00:00:00+01:00",  # outside datetime's range once converted to UTC
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00+00:00",
    "9999-12-31T23:59:59+00:00",
    "1899-12-31T23:59:59Z",
    "1900-01-01T00:00:00+00:01",
    "2023-01-03T00:05Z",
    "20230103T000500Z",
    "2023-01-03t00:05:00z",
    "2023-01-03T00:05:00Z\n",
]
DATES = ["2023-01-02", "2023-02-29", "2024-02-29", "2023-1-2", "20230102", "2023-W01-1", "0000-01-01", "0999-01-01"]
DATES += ["9999-12-31", "1899-12-31", "2023-01-02T00:00:00Z", "2023-01-02 "]
TEXTS = ["", "x", "ABC", "abc", "AB\n", "ABCD", " ABC", "é漢字😀", "\x00", "a" * 129, "a" * 128, "null", "true"]
NUMBERS = [0, -1, 1, 5, 10000, 10001, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 2**63 - 1, -(2**63)]
OTHERS: list[Any] = [None, 1.5, 1.0, -0.0, True, False, [], {}, [1], {"a": 1}]
CSV_TEXTS = ["", "12", "+5", "-3", "007", "1.5", "1e3", " 4", "4 ", "٣", "true", "TRUE", "False", "yes", "0x10"]
CSV_TEXTS += ["9223372036854775807", "9223372036854775808", "2147483648", "-0"]


@cache
def _events(family: Family) -> list[dict[str, Any]]:
    result = generate(GenerationParams(customers=30, months=4, bad_record_share=0.1))
    events = [event for each, event in result.events() if each is family]
    return events[:120]


def _palette(leaf: Leaf | None) -> list[Any]:
    values: list[Any] = [*TEXTS, *NUMBERS, *OTHERS, *TIMESTAMPS, *DATES]
    if leaf is not None:
        values += list(leaf.symbols) * 4
        values += {"timestamp": TIMESTAMPS, "date": DATES}.get(leaf.kind, [])
    return values


def _targets(family: Family) -> list[tuple[str, ...]]:
    plan = plan_for(family.value)
    paths = [leaf.path for leaf in plan.leaves] + [record.path for record in plan.records]
    return [*paths, ("metadata",), ("bogus",), ("metadata", "bogus")]


def _leaf(family: Family, path: tuple[str, ...]) -> Leaf | None:
    return next((leaf for leaf in plan_for(family.value).leaves if leaf.path == path), None)


@st.composite
def _mutations(draw: st.DrawFn, family: Family, text: bool = False) -> list[tuple[int, tuple[str, ...], Any]]:
    count = len(_events(family))
    targets = _targets(family)
    mutations = []
    for _ in range(draw(st.integers(0, 40))):
        row = draw(st.integers(0, count - 1))
        path = draw(st.sampled_from(targets))
        leaf = _leaf(family, path)
        palette = (
            CSV_TEXTS + TEXTS + TIMESTAMPS + DATES + list(leaf.symbols if leaf else []) if text else _palette(leaf)
        )
        mutations.append((row, path, draw(st.sampled_from([*palette, _DELETE]))))
    return mutations


_DELETE = object()


def _mutated(family: Family, mutations: list[tuple[int, tuple[str, ...], Any]]) -> list[dict[str, Any]]:
    events = copy.deepcopy(_events(family))
    for row, path, value in mutations:
        node: Any = events[row]
        for part in path[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        if value is _DELETE:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = copy.deepcopy(value)
    return events


def _assert_same(chunk: Chunk, family: Family) -> Prepared:
    columnar = prepare_chunk(chunk, family, "t", TRACE, received_at=RECEIVED_AT)
    row_wise = prepare_chunk(chunk, family, "t", TRACE, received_at=RECEIVED_AT, columnar=False)
    assert columnar.read == row_wise.read == chunk.size
    assert columnar.end == row_wise.end
    assert columnar.rejects == row_wise.rejects
    assert columnar.keys == row_wise.keys
    assert columnar.headers == row_wise.headers
    assert columnar.values == row_wise.values
    return columnar


def _ndjson_chunk(lines: list[bytes]) -> Chunk:
    numbered = list(enumerate(lines, start=1))
    return Chunk("ndjson", len(lines), lines=Lines.of(numbered))


_ODD_LINES = [
    b"{not json}\n",
    b"[1, 2]\n",
    b'"text"\n',
    b'{"event_id": "a"}{"event_id": "b"}\n',
    b'  {"event_id": "padded"}  \n',
    b"{\n",
    b"}\n",
    b'{"event_id": "\\ud800"}\n',
    b'{"event_id": "dup", "event_id": "dup2"}\n',
    b"\xef\xbb\xbf{}\n",
    b'{"event_id": "a"}\r{"event_id": "b"}\n',
    b'{"event_id": "a", "metadata": {"producer": "p"}\n',
]


@pytest.mark.parametrize("family", FAMILIES)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_ndjson_rows_get_the_same_messages_and_reject_reasons(family: Family, data: st.DataObject) -> None:
    events = _mutated(family, data.draw(_mutations(family)))
    lines = [orjson.dumps(event) + b"\n" for event in events]
    for odd in data.draw(st.lists(st.sampled_from(_ODD_LINES), max_size=4)):
        lines.insert(data.draw(st.integers(0, len(lines))), odd)
    if data.draw(st.booleans()):
        lines = [line.replace(b"\n", b"\r\n") for line in lines]
    if data.draw(st.booleans()):
        lines[-1] = lines[-1].rstrip(b"\r\n")  # the file's last line without a newline
    _assert_same(_ndjson_chunk(lines), family)


@pytest.mark.parametrize("family", FAMILIES)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_csv_rows_get_the_same_messages_and_reject_reasons(
    family: Family, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    events = _mutated(family, data.draw(_mutations(family, text=True)))
    plan = plan_for(family.value)
    columns = flat_columns(_schema(family))
    extra = data.draw(st.booleans()) and data.draw(st.integers(0, 4)) == 0
    path = tmp_path_factory.mktemp("csv") / f"{family.value}.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([name for name, _ in columns] + (["bogus"] if extra else []))
        for event in events:
            writer.writerow([_cell(event, parts) for _, parts in columns] + (["1"] if extra else []))
    assert plan.leaves
    for chunk in read_chunks(path, "csv", 0, 50):
        _assert_same(chunk, family)


@pytest.mark.parametrize("family", FAMILIES)
def test_parquet_rows_get_the_same_messages_and_reject_reasons(family: Family, tmp_path: Path) -> None:
    result = generate(GenerationParams(customers=30, months=4, bad_record_share=0.1))
    write_files(result, tmp_path, ["parquet"])
    for chunk in read_chunks(tmp_path / "parquet" / f"{family.value}.parquet", "parquet", 0, 200):
        _assert_same(chunk, family)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("fmt", ["ndjson", "csv", "parquet"])
def test_well_formed_rows_take_the_columnar_path(family: Family, fmt: str, tmp_path: Path) -> None:
    result = generate(GenerationParams(customers=30, months=4, bad_record_share=0.1))
    write_files(result, tmp_path, [fmt])
    path = tmp_path / fmt / f"{family.value}.{fmt}"
    taken = produced = rejected = 0
    for chunk in read_chunks(path, fmt, 0, 500):  # type: ignore[arg-type]
        fast = fast_rows(chunk, family, TRACE, RECEIVED_AT)
        assert fast is not None
        prepared = _assert_same(chunk, family)
        taken += len(fast.rows)
        produced += len(prepared.values)
        rejected += len(prepared.rejects)
    assert produced > 0
    if family is Family.PAYMENT:
        assert rejected > 0  # the generator injects its contract faults into payments
    assert taken == produced  # every accepted row was accepted by the columnar path


def test_own_trace_ids_and_received_at_are_stamped_like_the_gateway() -> None:
    family = Family.USAGE
    events = copy.deepcopy([event for event in _events(family) if _valid(family, event)][:4])
    events[0]["metadata"]["trace_id"] = "own-trace"
    events[1]["metadata"]["trace_id"] = ""
    events[2]["metadata"]["received_at"] = "2020-01-01T00:00:00Z"
    chunk = _ndjson_chunk([orjson.dumps(event) + b"\n" for event in events])
    prepared = _assert_same(chunk, family)
    assert prepared.headers[0] == [("trace_id", b"own-trace")]
    assert prepared.headers[1] == []
    assert prepared.headers[2] == prepared.headers[3] == [("trace_id", TRACE.encode())]


def _valid(family: Family, event: dict[str, Any]) -> bool:
    import schemas

    try:
        schemas.validate_event(family, event)
    except schemas.ContractViolation:
        return False
    return True


def _schema(family: Family) -> dict[str, Any]:
    import schemas

    return schemas.catalog().latest(family.value).schema


def _cell(event: dict[str, Any], path: tuple[str, ...]) -> str:
    value: Any = event
    for part in path:
        if not isinstance(value, dict):
            return ""
        value = value.get(part)
    if value is None or value is _DELETE:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def test_a_line_arrow_cannot_parse_only_sends_its_neighbourhood_row_wise() -> None:
    family = Family.PAYMENT
    good = [event for event in _events(family) if _valid(family, event)][:100]
    assert len(good) > 40
    lines = [orjson.dumps(event) + b"\n" for event in good]
    broken = copy.deepcopy(good[37])
    broken["amount_minor"] = "12"  # a string where a long belongs: Arrow refuses the whole parse
    lines[37] = orjson.dumps(broken) + b"\n"
    chunk = _ndjson_chunk(lines)
    fast = fast_rows(chunk, family, TRACE, RECEIVED_AT)
    assert fast is not None
    assert 37 not in fast.rows.tolist()
    assert len(fast.rows) >= len(lines) - 16  # halving stops at pieces of under 16 lines
    prepared = _assert_same(chunk, family)
    assert len(prepared.values) == len(lines) - 1
    assert b'"code":"not_an_integer"' in prepared.rejects[0]


@pytest.mark.parametrize("size", [1, 7, 50, 10_000])
def test_a_prepared_chunk_splits_into_batches_that_add_up(size: int) -> None:
    family = Family.PAYMENT
    lines = [orjson.dumps(event) + b"\n" for event in _events(family)]
    lines[3] = b"{broken\n"
    numbered = [(position, line) for position, line in enumerate(lines, start=10) if position % 5]  # gaps
    chunk = Chunk("ndjson", numbered[-1][0], lines=Lines.of(numbered))
    whole = prepare_chunk(chunk, family, "t", TRACE, received_at=RECEIVED_AT)
    assert whole.rejects
    batches = split(whole, chunk, size)
    assert len(batches) == -(-chunk.size // size)
    assert [batch.read for batch in batches[:-1]] == [size] * (len(batches) - 1)
    assert sum(batch.read for batch in batches) == chunk.size
    assert [value for batch in batches for value in batch.values] == whole.values
    assert [key for batch in batches for key in batch.keys] == whole.keys
    assert [reject for batch in batches for reject in batch.rejects] == whole.rejects
    start = numbered[0][0] - 1
    for batch in batches:
        assert batch.end == numbered[min(len(numbered), (batches.index(batch) + 1) * size) - 1][0]
        assert all(start < orjson.loads(reject)["line"] <= batch.end for reject in batch.rejects)
        start = batch.end
