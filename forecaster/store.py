"""Postgres writes and reads of vintages and variance; the SQL lives in `sql/` beside this file.

A vintage is written in one transaction (header insert, then COPY of model and value rows), so a
reader never sees half a run. The tables refuse UPDATE and DELETE, so nothing here can overwrite
an earlier vintage even by mistake.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import polars as pl
import psycopg
from psycopg.types.json import Jsonb

SQL_DIR = Path(__file__).parent / "sql"


def _sql(name: str) -> str:
    return (SQL_DIR / name).read_text(encoding="utf-8")


def _copy(conn: psycopg.Connection[Any], statement: str, rows: Iterable[Sequence[Any]]) -> int:
    count = 0
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def write_vintage(
    conn: psycopg.Connection[Any],
    run: dict[str, Any],
    model_rows: list[tuple[Any, ...]],
    value_rows: list[tuple[Any, ...]],
) -> None:
    """Insert one vintage atomically (the caller's connection must not be in autocommit)."""
    header = {
        **run,
        "reconciliation": Jsonb(run["reconciliation"]),
        "parameters": Jsonb(run["parameters"]),
        "library_versions": Jsonb(run["library_versions"]),
    }
    with conn.transaction():
        conn.execute(_sql("insert_forecast_run.sql"), header)
        _copy(conn, _sql("copy_forecast_model.sql"), model_rows)
        _copy(conn, _sql("copy_forecast_value.sql"), value_rows)


FORECAST_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "run_id": pl.String, "series_id": pl.String, "freq": pl.String, "ds": pl.Date,
    "point": pl.Decimal(20, 2), "lo_80": pl.Decimal(20, 2), "hi_80": pl.Decimal(20, 2),
    "lo_95": pl.Decimal(20, 2), "hi_95": pl.Decimal(20, 2), "metric": pl.String,
    "hierarchy_level": pl.String, "region_id": pl.String, "plan_id": pl.String,
}  # fmt: skip


def read_forecasts(conn: psycopg.Connection[Any], run_ids: list[UUID] | None, until: date) -> pl.DataFrame:
    rows = conn.execute(_sql("read_forecast_values.sql"), {"run_ids": run_ids, "until": until}).fetchall()
    converted = [(str(row[0]), *row[1:]) for row in rows]
    return pl.DataFrame(converted, schema=FORECAST_SCHEMA, orient="row")


def replace_variance(conn: psycopg.Connection[Any], run_ids: list[UUID] | None, rows: list[tuple[Any, ...]]) -> int:
    """Delete and re-insert the variance of the given runs (all runs when None) in one transaction."""
    with conn.transaction():
        conn.execute(_sql("lock_forecast_variance.sql"))
        conn.execute(_sql("delete_forecast_variance.sql"), {"run_ids": run_ids})
        return _copy(conn, _sql("copy_forecast_variance.sql"), rows)
