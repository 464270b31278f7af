"""The sink's SQL lives in `sql/*.sql`; each file is a list of named, parameterised statements.

A statement starts at a line `-- name: <label>`; the label names it in metrics and logs. Its
row count is the rows it changed, or, for a statement that does its work in data-modifying CTEs
and returns one column `row_count`, that value. Files are read once per process.
"""

from __future__ import annotations

import re
import time
from functools import cache
from pathlib import Path
from typing import Any

import psycopg

SQL_DIR = Path(__file__).resolve().parent / "sql"
TIMINGS: dict[str, float] = {}
"""Cumulative seconds per statement label in this process (for profiling and the benchmark)."""
_NAME = re.compile(r"^-- name: ([a-z_]+)\s*$", re.MULTILINE)


@cache
def statements(file_name: str) -> tuple[tuple[str, str], ...]:
    """[(label, sql), ...] of `sql/<file_name>` in file order."""
    text = (SQL_DIR / file_name).read_text(encoding="utf-8")
    parts = _NAME.split(text)
    # parts = [preamble, label1, body1, label2, body2, ...]
    return tuple((parts[index], parts[index + 1].strip()) for index in range(1, len(parts), 2))


def run_file(conn: psycopg.Connection[Any], file_name: str, params: dict[str, Any]) -> dict[str, int]:
    """Execute every statement of a file in order; returns the row count per label."""
    counts: dict[str, int] = {}
    for label, query in statements(file_name):
        started = time.perf_counter()
        cursor = conn.execute(query, params, prepare=False)
        if cursor.description is not None and [column.name for column in cursor.description] == ["row_count"]:
            row = cursor.fetchone()  # a statement whose work happens in data-modifying CTEs
            counts[label] = int(row[0]) if row and row[0] is not None else 0
        else:
            counts[label] = max(cursor.rowcount, 0)
        TIMINGS[label] = TIMINGS.get(label, 0.0) + time.perf_counter() - started
    return counts
