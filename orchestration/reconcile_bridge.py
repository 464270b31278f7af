"""Reconcile's MRR bridge checks: does the warehouse's monthly MRR bridge add up?

The bridge (`warehouse.mrr_movement_monthly`) is what the query API's MRR read models are built
from (`reporting.mrr_movement_monthly`), so a row whose opening + movements differ from its
closing, or a month whose closing is neither the next month's opening nor the subscriptions
snapshot, is a reporting error even when every event was loaded. The checks read only the
warehouse, so they are a function of the settings alone and need no topic scan.
"""

from __future__ import annotations

from pathlib import Path

from orchestration.reconcile_balance import Check
from platform_common.config import Settings
from platform_common.postgres import Role, connect, read_sql

SQL = Path(__file__).parent / "sql"


def mrr_bridge_checks(settings: Settings) -> list[Check]:
    with connect(Role.WRITER, settings) as conn:
        breaks = conn.execute(read_sql(SQL / "mrr_bridge_breaks.sql")).fetchall()
        continuity = conn.execute(read_sql(SQL / "mrr_bridge_continuity.sql")).fetchall()
        months = conn.execute(read_sql(SQL / "mrr_bridge_months.sql")).fetchone()
    month_count = int(months[0]) if months else 0
    return [
        Check(
            "mrr_bridge",
            not breaks,
            f"{month_count} months: opening + movements = closing" if not breaks else f"{len(breaks)} row(s) break",
            {"breaks": [[str(v) for v in row] for row in breaks]},
        ),
        Check(
            "mrr_continuity",
            not continuity,
            "closing = next opening = snapshot" if not continuity else f"{len(continuity)} month(s) differ",
            {"differences": [[str(v) for v in row] for row in continuity]},
        ),
    ]
