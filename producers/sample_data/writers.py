"""Files for the batch loader: per-family NDJSON, CSV and Parquet, plus reference and truth.

Layout under `out_dir`: `reference.json`, `ground_truth.json`, `<format>/<family>.<ext>`.
Columns and their order come from the latest Avro schema, so the files follow the contract
and never a hand-kept list. Each file holds its family's messages in send order, bad records
included (a missing field is an absent key in NDJSON and an empty cell / null elsewhere).

* NDJSON: one canonical JSON event per line (exactly what the gateway would receive).
* CSV: nested records flattened to dotted columns (`discount.kind`, `metadata.producer`); an
  empty cell is null; booleans are `true`/`false`. A null `discount` has every
  `discount.*` cell empty (`discount.kind` is required inside a discount).
* Parquet: typed columns (Int64 money, Datetime[us, UTC], Date, Struct for nested records), so
  `DataFrame.to_dicts()` yields records `schemas.validate_event` accepts directly.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

import polars as pl

import schemas
from platform_common.topics import Family
from producers.sample_data.generator import GenerationResult, ProgressFn

FORMATS = ("ndjson", "csv", "parquet")
_PARQUET_CHUNK_ROWS = 100_000
Converter = Callable[[Any], Any]


def write_files(
    result: GenerationResult,
    out_dir: Path,
    formats: Iterable[str] = ("ndjson",),
    progress: ProgressFn | None = None,
) -> list[Path]:
    """Write the chosen formats in one pass over the events; returns the files written."""
    chosen = list(dict.fromkeys(formats))
    unknown = sorted(set(chosen) - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown format(s) {unknown}; choose from {list(FORMATS)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [
        _write_json(out_dir / "reference.json", result.reference),
        _write_json(out_dir / "ground_truth.json", result.ground_truth),
    ]
    shapes = {family: schemas.catalog().latest(family.value).schema for family in Family}
    with ExitStack() as stack:
        ndjson: dict[Family, IO[str]] = {}
        csv_writers: dict[Family, Any] = {}
        parquet: dict[Family, _ParquetSink] = {}
        for family in Family:
            if "ndjson" in chosen:
                ndjson[family] = stack.enter_context(_open(out_dir / "ndjson" / f"{family.value}.ndjson"))
            if "csv" in chosen:
                handle = stack.enter_context(_open(out_dir / "csv" / f"{family.value}.csv"))
                columns = flat_columns(shapes[family])
                csv_writers[family] = (csv.writer(handle, lineterminator="\n"), columns)
                csv_writers[family][0].writerow([name for name, _ in columns])
            if "parquet" in chosen:
                parquet[family] = _ParquetSink(shapes[family])
        total = len(result)
        for number, (family, event) in enumerate(result.events()):
            if family in ndjson:
                ndjson[family].write(json.dumps(event, separators=(",", ":")) + "\n")
            if family in csv_writers:
                writer, columns = csv_writers[family]
                writer.writerow([_csv_cell(event, path) for _, path in columns])
            if family in parquet:
                parquet[family].add(event)
            if progress is not None and number % 50_000 == 0:
                progress("writing", number, total)
    for family, sink in parquet.items():
        path = out_dir / "parquet" / f"{family.value}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        sink.frame().write_parquet(path, compression="zstd", statistics=True)
    if progress is not None:
        progress("writing", total, total)
    for fmt, extension in (("ndjson", "ndjson"), ("csv", "csv"), ("parquet", "parquet")):
        if fmt in chosen:
            written += [out_dir / fmt / f"{family.value}.{extension}" for family in Family]
    return written


def flat_columns(schema: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, tuple[str, ...]]]:
    """(dotted column name, path) for every leaf field, nested records flattened in order."""
    columns: list[tuple[str, tuple[str, ...]]] = []
    for field in schema["fields"]:
        path = (*prefix, field["name"])
        record = _record_branch(field["type"])
        if record is None:
            columns.append((".".join(path), path))
        else:
            columns.extend(flat_columns(record, path))
    return columns


def _record_branch(avro: Any) -> dict[str, Any] | None:
    branches = avro if isinstance(avro, list) else [avro]
    for branch in branches:
        if isinstance(branch, dict) and branch.get("type") == "record":
            return branch
    return None


def _csv_cell(event: dict[str, Any], path: tuple[str, ...]) -> str:
    value: Any = event
    for part in path:
        if not isinstance(value, dict):
            return ""
        value = value.get(part)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _ParquetSink:
    """Collects one family's rows column-wise, converting to typed chunks as it goes."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self._fields = [(field["name"], *_typed(field["type"])) for field in schema["fields"]]
        self._polars_schema = {name: dtype for name, dtype, _ in self._fields}
        self._columns: dict[str, list[Any]] = {name: [] for name, _, _ in self._fields}
        self._chunks: list[pl.DataFrame] = []

    def add(self, event: dict[str, Any]) -> None:
        for name, _, convert in self._fields:
            self._columns[name].append(convert(event.get(name)))
        if len(self._columns[self._fields[0][0]]) >= _PARQUET_CHUNK_ROWS:
            self._flush()

    def frame(self) -> pl.DataFrame:
        self._flush()
        if not self._chunks:
            return pl.DataFrame(schema=self._polars_schema)
        return pl.concat(self._chunks, rechunk=True)

    def _flush(self) -> None:
        if self._columns[self._fields[0][0]]:
            self._chunks.append(pl.DataFrame(self._columns, schema=self._polars_schema))
            self._columns = {name: [] for name in self._columns}


def _typed(avro: Any) -> tuple[Any, Converter]:
    """Polars dtype and JSON-value converter for an Avro type (nullability is implicit)."""
    if isinstance(avro, list):
        return _typed(next(branch for branch in avro if branch != "null"))
    if isinstance(avro, str):
        avro = {"type": avro}
    kind, logical = avro["type"], avro.get("logicalType")
    if logical == "timestamp-micros":
        return pl.Datetime("us", "UTC"), _optional(datetime.fromisoformat)
    if logical == "date":
        return pl.Date, _optional(date.fromisoformat)
    if kind == "record":
        fields = [(field["name"], *_typed(field["type"])) for field in avro["fields"]]

        def convert_record(value: Any) -> Any:
            if not isinstance(value, dict):
                return None
            return {name: convert(value.get(name)) for name, _, convert in fields}

        return pl.Struct({name: dtype for name, dtype, _ in fields}), convert_record
    dtypes = {"int": pl.Int32, "long": pl.Int64, "boolean": pl.Boolean, "string": pl.String, "enum": pl.String}
    return dtypes[kind], _identity


def _identity(value: Any) -> Any:
    return value


def _optional(parse: Callable[[str], Any]) -> Converter:
    def convert(value: Any) -> Any:
        return None if value is None else parse(value)

    return convert


def _open(path: Path) -> IO[str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("w", encoding="utf-8", newline="")


def _write_json(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path
