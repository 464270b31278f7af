"""Warehouse sink pieces that need no services: settings, rows, batches, headers, FX files, SQL files."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

import sinks.warehouse
from platform_common.config import Settings
from platform_common.topics import Family
from sinks.warehouse import DEMO_FX_RATES, MrrRules, WarehouseSinkSettings, read_fx_file, warehouse_settings
from sinks.warehouse.headers import is_late
from sinks.warehouse.maintenance import FxFileError
from sinks.warehouse.rows import PAYLOAD, Batch, Position, columns, to_row
from sinks.warehouse.sqlfiles import SQL_DIR, statements
from sinks.warehouse.store import RECOMPUTE_FILES


def test_public_surface_is_pinned() -> None:
    assert sorted(sinks.warehouse.__all__) == [
        "DEMO_FX_RATES",
        "MrrRules",
        "RunReport",
        "SinkAlreadyRunning",
        "WarehouseSetupReport",
        "WarehouseSink",
        "WarehouseSinkSettings",
        "load_fx",
        "read_fx_file",
        "rebuild",
        "refresh",
        "reset_for_rebuild",
        "set_up_warehouse",
        "warehouse_settings",
        "warehouse_sink_cli",
    ]
    for name in sinks.warehouse.__all__:
        assert getattr(sinks.warehouse, name) is not None


def test_settings_defaults_and_validation() -> None:
    sink = WarehouseSinkSettings()
    assert sink.reporting_currency == "USD"
    assert sink.mrr == MrrRules(past_due_grace_days=14, apply_discounts=True, trials_count_as_active=False)
    assert sink.fx_rates_file == DEMO_FX_RATES
    assert DEMO_FX_RATES.exists()
    with pytest.raises(ValidationError):
        WarehouseSinkSettings(reporting_currency="usd")
    with pytest.raises(ValidationError):
        MrrRules(past_due_grace_days=-1)


def test_settings_read_the_future_env_names_until_wired(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGERLINE_WAREHOUSE_SINK__REPORTING_CURRENCY", "EUR")
    monkeypatch.setenv("LEDGERLINE_WAREHOUSE_SINK__MRR__PAST_DUE_GRACE_DAYS", "7")
    sink = warehouse_settings(Settings())
    assert sink.reporting_currency == "EUR"
    assert sink.mrr.past_due_grace_days == 7


def _usage_record(event_id: str = "e-1") -> dict[str, object]:
    return {
        "event_id": event_id,
        "event_type": "usage_recorded",
        "event_time": datetime(2024, 3, 1, 23, 30, tzinfo=UTC),
        "source": "t",
        "schema_version": 2,
        "metadata": {"received_at": None, "producer": "p", "trace_id": "tr"},
        "customer_id": "c",
        "subscription_id": "s",
        "metric": "api_calls",
        "quantity": 5,
        "unit": "calls",
        "usage_date": date(2024, 3, 1),
        "region_id": "na",
        "is_billable": True,
    }


def test_rows_follow_the_copy_columns() -> None:
    position = Position("events.usage.clean", 2, 41)
    row = to_row(Family.USAGE, _usage_record(), 2, position, True)
    assert len(row) == len(columns(Family.USAGE))
    named = dict(zip(columns(Family.USAGE), row, strict=True))
    assert named["event_date"] == date(2024, 3, 1)
    assert named["is_late"] is True
    assert (named["kafka_topic"], named["kafka_partition"], named["kafka_offset"]) == ("events.usage.clean", 2, 41)
    assert named["trace_id"] == "tr"
    assert all(len(PAYLOAD[family]) > 0 for family in Family)


def test_subscription_discount_is_flattened() -> None:
    record = {
        **_usage_record(),
        "event_type": "created",
        "plan_id": "p",
        "billing_interval": "year",
        "billing_interval_count": 1,
        "unit_price_minor": 100,
        "currency": "USD",
        "discount": {"kind": "percent", "amount_minor": None, "percent_basis_points": 1500, "duration_months": 3},
    }
    named = dict(
        zip(
            columns(Family.SUBSCRIPTION),
            to_row(Family.SUBSCRIPTION, record, 2, Position("t", 0, 0), False),
            strict=True,
        )
    )
    assert (named["discount_kind"], named["discount_percent_basis_points"], named["discount_duration_months"]) == (
        "percent",
        1500,
        3,
    )


def test_batch_dedupes_first_seen_wins_and_tracks_offsets() -> None:
    batch = Batch()
    first = Position("events.usage.clean", 0, 10)
    again = Position("events.usage.clean", 1, 3)
    batch.add(Family.USAGE, to_row(Family.USAGE, _usage_record(), 2, first, False), first)
    batch.add(Family.USAGE, to_row(Family.USAGE, {**_usage_record(), "quantity": 9}, 2, again, False), again)
    batch.skip(Position("events.usage.clean", 0, 11))
    assert batch.row_count == 1
    assert batch.duplicates == 1
    assert batch.messages == 3
    assert batch.rows[Family.USAGE][0][columns(Family.USAGE).index("quantity")] == 5
    assert batch.next_offsets == {("events.usage.clean", 0): 12, ("events.usage.clean", 1): 4}
    batch.drop_partitions({("events.usage.clean", 0)})
    assert batch.row_count == 0
    assert batch.next_offsets == {("events.usage.clean", 1): 4}


@pytest.mark.parametrize(
    ("headers", "late"),
    [
        ([("late", b"true")], True),
        ([("late", b"TRUE ")], True),
        ({"late": "1"}, True),
        ([("late", b"false")], False),
        ([("trace_id", b"x")], False),
        (None, False),
    ],
)
def test_late_header(headers: object, late: bool) -> None:
    assert is_late(headers) is late  # type: ignore[arg-type]


def test_fx_file_parsing(tmp_path: Path) -> None:
    demo = read_fx_file(DEMO_FX_RATES)
    assert {(rate.currency, rate.reporting_currency) for rate in demo} >= {("EUR", "USD"), ("GBP", "USD")}
    assert all(isinstance(rate.rate, Decimal) and rate.rate > 0 for rate in demo)
    bad = tmp_path / "bad.csv"
    bad.write_text("currency,reporting_currency,effective_date,rate\nEUR,USD,2024-13-01,1.1\n", encoding="utf-8")
    with pytest.raises(FxFileError, match=":2:"):
        read_fx_file(bad)
    bad.write_text("currency,rate\nEUR,1.1\n", encoding="utf-8")
    with pytest.raises(FxFileError, match="header"):
        read_fx_file(bad)
    bad.write_text("currency,reporting_currency,effective_date,rate\nEUR,USD,2024-01-01,0\n", encoding="utf-8")
    with pytest.raises(FxFileError, match="positive"):
        read_fx_file(bad)


def test_sql_files_are_named_statements_without_stray_placeholders() -> None:
    for path in sorted(SQL_DIR.glob("*.sql")):
        parsed = statements(path.name)
        assert parsed, path.name
        labels = [label for label, _ in parsed]
        assert len(labels) == len(set(labels)), path.name
        for label, query in parsed:
            stripped = query.replace("%(", "")
            assert "%" not in stripped, f"{path.name}:{label} has a bare % (psycopg placeholder syntax)"
    assert {path.name for path in SQL_DIR.glob("*.sql")} >= set(RECOMPUTE_FILES)


def test_cli_lists_its_commands() -> None:
    result = CliRunner().invoke(sinks.warehouse.warehouse_sink_cli, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "rebuild", "load-fx", "refresh"):
        assert command in result.output
