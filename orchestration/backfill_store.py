"""Backfill state in Postgres: the run, its frozen plan and its per-partition checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from psycopg.types.json import Jsonb

from orchestration.backfill import BackfillRequest, Checkpoint
from platform_common.config import Settings
from platform_common.postgres import Role, connect, read_sql

SQL = Path(__file__).parent / "sql"


def advance(
    settings: Settings, run_id: str, checkpoint: Checkpoint, next_offset: int, published: int, skipped: int
) -> None:
    with connect(Role.WRITER, settings) as conn:
        conn.execute(
            read_sql(SQL / "backfill_checkpoint_advance.sql"),
            {
                "run_id": run_id,
                "topic": checkpoint.topic,
                "partition": checkpoint.partition,
                "next_offset": next_offset,
                "published": published,
                "skipped": skipped,
            },
        )


def store_plan(
    settings: Settings, request: BackfillRequest, plans: list[Checkpoint], restart: bool
) -> list[Checkpoint]:
    """Record the run and its plan (first time only); returns the stored checkpoints."""
    run_id = request.run_id(settings)
    with connect(Role.WRITER, settings) as conn:
        conn.execute(
            read_sql(SQL / "backfill_run_upsert.sql"),
            {
                "run_id": run_id,
                "source": request.source,
                "families": [f.value for f in request.all_families],
                "range_start": request.start,
                "range_end": request.end,
                "parameters": Jsonb(request.to_json()),
            },
        )
        if restart:
            conn.execute(read_sql(SQL / "backfill_reset.sql"), {"run_id": run_id})
        for plan in plans:
            conn.execute(
                read_sql(SQL / "backfill_checkpoint_plan.sql"),
                {
                    "run_id": run_id,
                    "topic": plan.topic,
                    "partition": plan.partition,
                    "start_offset": plan.start_offset,
                    "end_offset": plan.end_offset,
                },
            )
    return load_checkpoints(settings, run_id)


def load_checkpoints(settings: Settings, run_id: str) -> list[Checkpoint]:
    with connect(Role.WRITER, settings) as conn:
        rows = conn.execute(read_sql(SQL / "backfill_checkpoints.sql"), {"run_id": run_id}).fetchall()
    return [Checkpoint(str(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5]), int(r[6])) for r in rows]


def set_status(settings: Settings, run_id: str, status: str) -> None:
    with connect(Role.WRITER, settings) as conn:
        conn.execute(read_sql(SQL / "backfill_run_status.sql"), {"run_id": run_id, "status": status})


def list_runs(settings: Settings, run_id: str | None = None) -> list[dict[str, Any]]:
    with connect(Role.WRITER, settings) as conn:
        cursor = conn.execute(read_sql(SQL / "backfill_runs.sql"), {"run_id": run_id})
        names = [column.name for column in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
