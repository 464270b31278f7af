"""The warehouse job against real Postgres and Kafka: vintages, immutability, record, variance."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from confluent_kafka import TopicPartition
from prometheus_client import REGISTRY
from typer.testing import CliRunner

from forecaster import compute_variance, forecast_cli
from forecaster.job import STEPS
from platform_common.config import Settings, get_settings
from platform_common.kafka import make_consumer
from platform_common.postgres import Role, connect
from platform_common.topics import forecasts_topic
from tests.integration.forecaster.conftest import FIRST_AS_OF, OPTIONS, Runs

pytestmark = pytest.mark.integration
VINTAGE_TABLES = ("forecast_run", "forecast_model", "forecast_value")


def fetch(settings: Settings, query: str, *params: object, role: Role = Role.WRITER) -> list[tuple[Any, ...]]:
    with connect(role, settings) as conn:
        return conn.execute(query, params).fetchall()


def test_run_stores_a_vintage_with_models_values_and_fallback_reasons(runs: Runs) -> None:
    run = runs.second
    [(series_count, fallbacks, as_of, versions)] = fetch(
        runs.settings,
        "SELECT series_count, fallback_count, as_of_date, library_versions FROM warehouse.forecast_run "
        "WHERE run_id = %s",
        run.run_id,
    )
    assert as_of == date(2025, 12, 31)
    assert "statsforecast" in versions
    models = fetch(
        runs.settings,
        "SELECT series_id, freq, model, fallback_reason, mase, coverage_95 FROM warehouse.forecast_model "
        "WHERE run_id = %s",
        run.run_id,
    )
    assert len(models) == series_count == run.record["series_count"]
    reasons = {(sid, freq): reason for sid, freq, _m, reason, _x, _c in models}
    # The five-day-old region and plan: too short, forecast anyway, the reason recorded.
    for sid in ("mrr/region=new-region-0", "mrr/plan=new-plan-0", "mrr/region=new-region-0/plan=new-plan-0"):
        assert reasons[(sid, "day")] == "too_short"
    assert fallbacks == sum(1 for reason in reasons.values() if reason) >= 3
    modelled = [row for row in models if row[3] is None]
    assert modelled
    assert all(row[4] is not None and row[5] is not None for row in modelled)
    assert {row[2] for row in modelled} <= {"AutoARIMA", "AutoETS", "AutoTheta", "SeasonalNaive"}
    counts = dict(
        fetch(
            runs.settings,
            "SELECT freq, count(*) FROM warehouse.forecast_value WHERE run_id = %s GROUP BY freq",
            run.run_id,
        )
    )
    daily = sum(1 for _sid, freq in reasons if freq == "day")
    monthly = sum(1 for _sid, freq in reasons if freq == "month")
    assert counts == {"day": daily * OPTIONS.horizon_days, "month": monthly * OPTIONS.horizon_months}


def test_progress_and_prometheus_metrics(runs: Runs) -> None:
    assert len(runs.stages) == STEPS
    assert runs.stages[0] == "read"
    assert runs.stages[-1] == "publish"
    assert (REGISTRY.get_sample_value("ledgerline_forecast_run_duration_seconds_count") or 0) >= 2
    assert (REGISTRY.get_sample_value("ledgerline_forecast_fallbacks_total", {"reason": "too_short"}) or 0) >= 3
    daily = sum(1 for row in runs.second.models.iter_rows(named=True) if row["freq"] == "day")
    assert REGISTRY.get_sample_value("ledgerline_forecast_series", {"freq": "day"}) == daily


def test_forecast_values_are_numeric_never_float(runs: Runs) -> None:
    types = fetch(
        runs.settings,
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'warehouse' AND table_name LIKE 'forecast%%'",
    )
    assert not [row for row in types if row[2] in ("real", "double precision", "money")]
    value_types = {col: kind for table, col, kind in types if table == "forecast_value"}
    assert {value_types[c] for c in ("point", "lo_80", "hi_80", "lo_95", "hi_95")} == {"numeric"}
    [(point,)] = fetch(
        runs.settings,
        "SELECT point FROM warehouse.forecast_value WHERE run_id = %s AND series_id = 'mrr/total' LIMIT 1",
        runs.second.run_id,
    )
    assert isinstance(point, Decimal)
    assert point > 0


def test_a_second_run_is_a_new_vintage_and_old_vintages_cannot_change(runs: Runs) -> None:
    first, second = runs.first.run_id, runs.second.run_id
    assert first != second
    checksum = "SELECT md5(string_agg(series_id || ds || point, ',' ORDER BY series_id, freq, ds)) "
    checksum += "FROM warehouse.forecast_value WHERE run_id = %s"
    before = fetch(runs.settings, checksum, first)
    assert before[0][0] is not None  # the first vintage is there
    for statement in (
        "UPDATE warehouse.forecast_value SET point = point + 1 WHERE run_id = %s",
        "DELETE FROM warehouse.forecast_value WHERE run_id = %s",
        "UPDATE warehouse.forecast_model SET model = 'x' WHERE run_id = %s",
        "DELETE FROM warehouse.forecast_run WHERE run_id = %s",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege), connect(Role.WRITER, runs.settings) as conn:
            conn.execute(statement, (first,))
        # Even the owner (admin) is refused by the triggers.
        with (
            pytest.raises(psycopg.errors.RestrictViolation, match="immutable"),
            connect(Role.ADMIN, runs.settings) as conn,
        ):
            conn.execute(statement, (first,))
    for table in VINTAGE_TABLES:
        with pytest.raises(psycopg.errors.RestrictViolation), connect(Role.ADMIN, runs.settings) as conn:
            conn.execute(f"TRUNCATE warehouse.{table} CASCADE")
    assert fetch(runs.settings, checksum, first) == before


def test_reader_role_reads_the_forecast_tables(runs: Runs) -> None:
    for table in (*VINTAGE_TABLES, "forecast_variance"):
        rows = fetch(runs.settings, f"SELECT count(*) FROM warehouse.{table}", role=Role.READER)
        assert rows[0][0] is not None


def test_run_record_reaches_the_forecasts_topic(runs: Runs) -> None:
    topic = forecasts_topic(runs.settings.kafka.topic_prefix)
    consumer = make_consumer(f"test-forecaster-{runs.second.run_id}", runs.settings)
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        found: dict[str, dict[str, Any]] = {}
        for _ in range(40):
            message = consumer.poll(0.5)
            if message is None or message.error():
                if len(found) == 2:
                    break
                continue
            key, value = message.key(), message.value()
            assert key is not None
            assert value is not None
            found[key.decode()] = json.loads(value)
    finally:
        consumer.close()
    for run in (runs.first, runs.second):
        record = found[str(run.run_id)]
        assert record == json.loads(json.dumps(run.record, default=str))
        assert record["series_count"] == run.record["series_count"]
        assert set(record["monthly_totals"]) == set(run.record["metrics"])
        assert record["monthly_totals"]["mrr"]


def test_variance_is_exact_and_idempotent(runs: Runs) -> None:
    run_id = runs.first.run_id
    written = compute_variance(run_id, settings=runs.settings)
    series = fetch(
        runs.settings, "SELECT freq, count(*) FROM warehouse.forecast_model WHERE run_id = %s GROUP BY freq", run_id
    )
    per_freq = dict(series)
    # December actuals exist: 14 forecast days of every daily series, December for monthly ones.
    assert written == per_freq["day"] * OPTIONS.horizon_days + per_freq["month"] * 1
    table = "SELECT * FROM warehouse.forecast_variance WHERE run_id = %s ORDER BY series_id, freq, ds"
    first_pass = [row[:-1] for row in fetch(runs.settings, table, run_id)]
    assert compute_variance(run_id, settings=runs.settings) == written
    assert [row[:-1] for row in fetch(runs.settings, table, run_id)] == first_pass
    # "all": the second vintage starts after the last actual day, so it adds no rows.
    assert compute_variance(settings=runs.settings) == written
    assert [row[:-1] for row in fetch(runs.settings, table, run_id)] == first_pass

    day = FIRST_AS_OF + timedelta(days=2)
    [(actual,)] = fetch(
        runs.settings, "SELECT sum(mrr_reporting_minor) FROM warehouse.revenue_daily WHERE revenue_date = %s", day
    )
    [(point, lo95, hi95)] = fetch(
        runs.settings,
        "SELECT point, lo_95, hi_95 FROM warehouse.forecast_value "
        "WHERE run_id = %s AND series_id = 'mrr/total' AND freq = 'day' AND ds = %s",
        run_id,
        day,
    )
    [(stored_actual, variance, pct, inside95, direction, mtd_actual, mtd_forecast)] = fetch(
        runs.settings,
        "SELECT actual, variance, variance_pct, inside_95, favourability, mtd_actual, mtd_forecast "
        "FROM warehouse.forecast_variance WHERE run_id = %s AND series_id = 'mrr/total' AND freq = 'day' AND ds = %s",
        run_id,
        day,
    )
    assert isinstance(point, Decimal)
    assert isinstance(actual, Decimal)
    assert stored_actual == actual
    assert variance == actual - point
    assert pct == (variance * 100 / abs(point)).quantize(Decimal("0.0001"))
    assert inside95 == (lo95 <= actual <= hi95)
    assert direction == ("favourable" if actual > point else "unfavourable" if actual < point else "on_forecast")
    [(three_days_actual, three_days_forecast)] = fetch(
        runs.settings,
        "SELECT (SELECT sum(mrr_reporting_minor) FROM warehouse.revenue_daily WHERE revenue_date BETWEEN %s AND %s), "
        "(SELECT sum(point) FROM warehouse.forecast_value WHERE run_id = %s AND series_id = 'mrr/total' "
        " AND freq = 'day' AND ds BETWEEN %s AND %s)",
        FIRST_AS_OF + timedelta(days=1),
        day,
        run_id,
        FIRST_AS_OF + timedelta(days=1),
        day,
    )
    assert (mtd_actual, mtd_forecast) == (three_days_actual, three_days_forecast)


def test_cli_dry_run_writes_nothing(runs: Runs, monkeypatch: pytest.MonkeyPatch) -> None:
    count = "SELECT count(*) FROM warehouse.forecast_run"
    before = fetch(runs.settings, count)
    monkeypatch.setenv("LEDGERLINE_POSTGRES__DATABASE", runs.settings.postgres.database)
    monkeypatch.setenv("LEDGERLINE_KAFKA__TOPIC_PREFIX", runs.settings.kafka.topic_prefix)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            forecast_cli,
            ["run", "--dry-run", "--quiet", "--horizon-days", "7", "--horizon-months", "2", "--windows", "1",
             "--history-days", "100", "--daily-history-days", "60", "--metric", "mrr"],
        )  # fmt: skip
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "no (dry run)" in result.stdout
    assert fetch(runs.settings, count) == before
