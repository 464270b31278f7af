"""Schema guarantees of the warehouse sink's migrations."""

from __future__ import annotations

import pytest
from warehouse_sink_helpers import query

from platform_common.config import Settings

pytestmark = pytest.mark.integration


def test_warehouse_sink_schema_guarantees(fresh_database: Settings) -> None:
    """One database for three checks (a fresh database costs seconds)."""
    _no_float_real_double_or_money_column(fresh_database)
    _staging_tables_line_up_with_the_event_tables(fresh_database)
    _mrr_movement_view_columns(fresh_database)


def _no_float_real_double_or_money_column(fresh_database: Settings) -> None:
    rows = query(
        fresh_database,
        "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema IN ('warehouse', 'staging', 'platform')"
        " AND data_type IN ('real', 'double precision', 'money')",
    )
    assert rows == []
    # Every amount column is an integer of minor units.
    amounts = query(
        fresh_database,
        "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema IN ('warehouse', 'staging', 'platform') AND column_name LIKE '%%\\_minor'"
        " AND data_type <> 'bigint'",
    )
    assert amounts == []
    assert (
        query(
            fresh_database,
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'warehouse'"
            " AND column_name LIKE '%%\\_minor'",
        )[0][0]
        > 20
    )


def _staging_tables_line_up_with_the_event_tables(fresh_database: Settings) -> None:
    """merge uses `INSERT ... SELECT s.*`, so column order and types must match."""

    def shape(schema: str, table: str) -> list[tuple[str, str]]:
        return [
            (str(name), str(kind))
            for name, kind in query(
                fresh_database,
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
                (schema, table),
            )
        ]

    for family in ("subscription", "payment", "usage", "cost"):
        staged = shape("staging", f"stg_{family}_event")
        target = shape("warehouse", f"{family}_event")
        assert staged == target[: len(staged)], family
        derived = {name for name, _ in target[len(staged) :]}
        assert derived <= {"effective_on", "status_after", "loaded_at"}, family


def _mrr_movement_view_columns(fresh_database: Settings) -> None:
    columns = [
        name
        for (name,) in query(
            fresh_database,
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'warehouse'"
            " AND table_name = 'mrr_movement_monthly' ORDER BY ordinal_position",
        )
    ]
    assert columns == [
        "month_start_date",
        "region_id",
        "plan_id",
        "currency",
        "opening_mrr_minor",
        "new_mrr_minor",
        "expansion_mrr_minor",
        "contraction_mrr_minor",
        "churned_mrr_minor",
        "reactivation_mrr_minor",
        "fx_effect_minor",
        "closing_mrr_minor",
        "reporting_currency",
        "fx_rate",
        "opening_mrr_reporting_minor",
        "new_mrr_reporting_minor",
        "expansion_mrr_reporting_minor",
        "contraction_mrr_reporting_minor",
        "churned_mrr_reporting_minor",
        "reactivation_mrr_reporting_minor",
        "closing_mrr_reporting_minor",
    ]
