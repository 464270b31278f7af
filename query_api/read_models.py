"""`refresh_read_models(conn)`: rebuild the query API's read models after a warehouse batch.

The pipeline calls it with a writer-role connection once the warehouse sink has committed; the
SQL function (migration 0500) refreshes every materialized view in one transaction, so the API
never mixes two refreshes, and readers keep the previous refresh until it commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import psycopg

REFRESH_SQL = Path(__file__).parent / "sql" / "refresh_read_models.sql"


@dataclass(frozen=True)
class RefreshResult:
    refresh_id: int
    refreshed_at: datetime
    horizon_date: date | None
    reporting_currency: str | None
    duration_ms: int


def refresh_read_models(conn: psycopg.Connection[Any]) -> RefreshResult:
    """Refresh in a transaction of its own (or a savepoint of the caller's open transaction,
    committed with it). Concurrent calls are serialised by an advisory lock in the function."""
    with conn.transaction():
        row = conn.execute(REFRESH_SQL.read_text(encoding="utf-8")).fetchone()
    if row is None:  # pragma: no cover - the function always returns its row
        raise RuntimeError("reporting.refresh_read_models() returned no row")
    refresh_id, refreshed_at, horizon_date, reporting_currency, duration_ms = row
    return RefreshResult(int(refresh_id), refreshed_at, horizon_date, reporting_currency, int(duration_ms))
