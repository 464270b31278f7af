"""`ledgerline setup` loads FX rates into a warehouse that has none (the shipped demo rates by
default), re-converting facts loaded without them; it never adds to or overwrites rates that are
already there. Demo-like generator data is loaded first, so the facts start out without rates
(the state a demo was in before setup loaded any)."""

from __future__ import annotations

import subprocess
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import pytest
from warehouse_sink_helpers import REPO, checksums, cli_env, drain, publish, query, sink_settings

from platform_common.config import Settings
from platform_common.postgres import Role, connect
from producers.sample_data import GenerationParams, generate
from sinks.warehouse import DEMO_FX_RATES, load_fx, read_fx_file
from sinks.warehouse.bootstrap import set_up_warehouse
from sinks.warehouse.maintenance import FxRate

pytestmark = pytest.mark.integration

PARAMS = GenerationParams(customers=40, months=4, seed=11)
RATES_SQL = "SELECT currency, reporting_currency, effective_date, rate FROM warehouse.fx_rate ORDER BY 1, 2, 3"


def _setup(settings: Settings) -> subprocess.CompletedProcess[str]:
    """The real `ledgerline setup`, pointed at this test's database, topics and bucket."""
    env = cli_env(settings, LEDGERLINE_S3__LAKE_BUCKET=settings.s3.lake_bucket)
    return subprocess.run(
        [str(Path(REPO, ".venv", "bin", "ledgerline")), "setup"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _rate_on(rates: list[FxRate], currency: str, day: date) -> Decimal:
    if currency == "USD":
        return Decimal(1)
    known = [r for r in rates if r.currency == currency and r.reporting_currency == "USD" and r.effective_date <= day]
    return max(known, key=lambda r: r.effective_date).rate if known else Decimal(0)


def _assert_converted_with(settings: Settings, rates: list[FxRate]) -> None:
    """Every snapshot and revenue row's reporting MRR is its MRR at the file's rate of its day."""
    rows = query(
        settings,
        "SELECT snapshot_date, currency, mrr_minor, fx_rate, mrr_reporting_minor FROM warehouse.subscriptions_snapshot"
        " UNION ALL"
        " SELECT revenue_date, currency, mrr_minor, fx_rate, mrr_reporting_minor FROM warehouse.revenue_daily",
    )
    assert rows
    for day, currency, mrr, fx_rate, reported in rows:
        rate = _rate_on(rates, currency, day)
        assert (fx_rate, reported) == (rate, int((mrr * rate).quantize(Decimal(1), ROUND_HALF_EVEN))), (day, currency)


def _state(settings: Settings) -> tuple[list[tuple[Any, ...]], dict[str, tuple[int, str]]]:
    return query(settings, RATES_SQL), checksums(settings, derived=True)


def test_setup_loads_demo_rates_once_and_never_over_loaded_rates(isolated_stack: Settings, tmp_path: Path) -> None:
    settings = isolated_stack
    publish(settings, generate(PARAMS).events())
    drain(settings)
    missing = {row[0] for row in query(settings, "SELECT currency FROM warehouse.fx_rate_missing")}
    assert missing == {"EUR", "GBP"}  # without rates: reporting amounts 0, MRR understated
    eur_reported = "SELECT sum(mrr_reporting_minor) FROM warehouse.subscriptions_snapshot WHERE currency = 'EUR'"
    assert query(settings, eur_reported)[0][0] == 0

    first = _setup(settings)
    assert first.returncode == 0, first.stderr
    assert "fx rates: loaded" in first.stdout
    demo = read_fx_file(DEMO_FX_RATES)
    assert query(settings, RATES_SQL) == sorted(
        (r.currency, r.reporting_currency, r.effective_date, r.rate) for r in demo
    )
    assert query(settings, "SELECT * FROM warehouse.fx_rate_missing") == []
    assert query(settings, eur_reported)[0][0] > 0
    _assert_converted_with(settings, demo)

    # Twice: nothing changes (the warehouse step in process from here on; the command is wired).
    loaded = _state(settings)
    second = set_up_warehouse(settings)
    assert (second.fx_rates, second.fx_rates_loaded, second.fx_rows_reconverted) == ("present", 0, 0)
    assert _state(settings) == loaded

    # An empty table in prod: the shipped demo rates are not loaded.
    with connect(Role.ADMIN, settings) as conn:
        conn.execute("TRUNCATE warehouse.fx_rate")
    prod = set_up_warehouse(settings.model_copy(update={"environment": "prod"}), sink_settings())
    assert (prod.fx_rates, prod.fx_rates_loaded) == ("skipped_demo_in_prod", 0)
    assert query(settings, RATES_SQL) == []

    # The setting names another file: that one is loaded (into the empty table), facts follow it.
    own = tmp_path / "rates.csv"
    own.write_text("currency,reporting_currency,effective_date,rate\nEUR,USD,2015-01-01,2\nGBP,USD,2015-01-01,1.5\n")
    report = set_up_warehouse(settings, sink_settings(fx_rates_file=own))
    assert (report.fx_rates, report.fx_rates_loaded) == ("loaded", 2)
    assert report.fx_rows_reconverted > 0
    _assert_converted_with(settings, read_fx_file(own))

    # An operator adds a rate; setup (demo file) leaves every rate and fact as it is.
    update = tmp_path / "update.csv"
    update.write_text("currency,reporting_currency,effective_date,rate\nEUR,USD,2023-03-01,3\n")
    load_fx(settings, update, sink_settings())
    operated = _state(settings)
    assert len(operated[0]) == 3
    assert set_up_warehouse(settings).fx_rates == "present"
    assert _state(settings) == operated
    _assert_converted_with(settings, [*read_fx_file(own), *read_fx_file(update)])
