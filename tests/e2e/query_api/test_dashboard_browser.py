"""The dashboard in headless Chromium: served by a real uvicorn (`api serve`) on a free port over a
fresh database holding the fixed scenario; every chart must show the API's own numbers.

Debian's Chromium is driven by Python Playwright through `executable_path` (Playwright's browser
downloads are never used). Without Chromium, `deploy/install_browser.sh` installs it; if that is
impossible the test is skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from platform_common.config import Settings
from tests.integration.query_api.conftest import load_scenario

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / ".local" / "artifacts"


def _chromium() -> str:
    if not os.access(CHROMIUM, os.X_OK):
        result = subprocess.run(["bash", str(ROOT / "deploy" / "install_browser.sh")], capture_output=True, text=True)
        if result.returncode != 0 or not os.access(CHROMIUM, os.X_OK):
            reason = f"Chromium unavailable and not installable: {(result.stderr or result.stdout).strip()[-500:]}"
            print(reason)
            pytest.skip(reason)
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(fresh_database: Settings, tmp_path: Path) -> Iterator[str]:
    """`api serve` (uvicorn, 2 workers) over the scenario database; yields the base URL."""
    load_scenario(fresh_database)
    port = _free_port()
    env = {**os.environ, "LEDGERLINE_POSTGRES__DATABASE": fresh_database.postgres.database}
    log = (tmp_path / "api.log").open("wb")
    command = [sys.executable, "-c", "from query_api import api_cli; api_cli()", "serve", "--port", str(port)]
    server = subprocess.Popen([*command, "--workers", "2"], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, (tmp_path / "api.log").read_text()
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the query API did not become healthy"
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _api(base: str, key: str, path: str, **params: Any) -> dict[str, Any]:
    response = httpx.get(f"{base}{path}", params={**params, "page_size": 500}, headers={"X-API-Key": key}, timeout=10)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def _series(option: dict[str, Any], name: str) -> list[Any]:
    return next(series["data"] for series in option["series"] if series["name"] == name)


def _number(value: str | None) -> float | None:
    return None if value is None else float(value)


def _check_charts(page: Any, base: str, key: str, **filters: str) -> None:
    def option(chart_id: str) -> dict[str, Any]:
        found: dict[str, Any] = page.evaluate(
            "id => echarts.getInstanceByDom(document.getElementById(id)).getOption()", chart_id
        )
        return found

    mrr = _api(base, key, "/v1/mrr", granularity="month", **filters)
    assert mrr["items"], "the scenario has MRR"
    chart = option("chart-mrr")
    assert chart["xAxis"][0]["data"] == [item["period_start"] for item in mrr["items"]]
    assert _series(chart, "MRR") == [item["mrr_minor"] for item in mrr["items"]]
    assert _series(chart, "Churned") == [item["movements"]["churned_mrr_minor"] for item in mrr["items"]]
    assert _series(chart, "FX effect") == [item["movements"]["fx_effect_minor"] for item in mrr["items"]]
    assert _series(chart, "Transfer") == [item["movements"]["transfer_mrr_minor"] for item in mrr["items"]]

    subscriptions = _api(base, key, "/v1/subscriptions", granularity="month", **filters)
    chart = option("chart-subscriptions")
    assert _series(chart, "Active subscriptions") == [i["active_subscriptions"] for i in subscriptions["items"]]
    assert _series(chart, "Active customers") == [i["active_customers"] for i in subscriptions["items"]]

    revenue = _api(base, key, "/v1/revenue", granularity="month", group_by="region", **filters)
    chart = option("chart-revenue")
    periods = sorted({item["period_start"] for item in revenue["items"]})
    assert chart["xAxis"][0]["data"] == periods
    for item in revenue["items"]:
        assert _series(chart, item["region_id"])[periods.index(item["period_start"])] == item["billed_minor"]

    segment = {name: value for name, value in filters.items() if name in ("region_id", "plan_id")}
    forecast = _api(base, key, "/v1/forecasts/vs-actual", metric="mrr", freq="day", **segment)
    chart = option("chart-forecast")
    assert chart["xAxis"][0]["data"] == [item["ds"] for item in forecast["items"]]
    assert _series(chart, "Actual") == [item["actual"] for item in forecast["items"]]
    assert _series(chart, "Forecast") == [_number(item["point"]) for item in forecast["items"]]
    assert _series(chart, "95% base") == [_number(item["lo_95"]) for item in forecast["items"]]
    widths = [
        None if item["hi_80"] is None else float(item["hi_80"]) - float(item["lo_80"]) for item in forecast["items"]
    ]
    assert _series(chart, "80% interval") == pytest.approx(widths)
    assert any(item["point"] is not None for item in forecast["items"]), "the vintage's points are drawn"

    churn = _api(base, key, "/v1/churn", granularity="month", **filters)
    chart = option("chart-churn")
    for field in ("logo_churn_rate", "gross_mrr_churn_rate", "nrr", "grr"):
        assert _series(chart, field) == [item[field] for item in churn["items"]]

    freshness = _api(base, key, "/v1/data-quality/freshness")
    rows = page.locator("#freshness tbody tr")
    assert rows.count() == len(freshness["families"])
    statuses = [rows.nth(index).locator("td").nth(3).inner_text() for index in range(rows.count())]
    assert statuses == [family["status"] for family in freshness["families"]]
    quarantine = _api(base, key, "/v1/data-quality/quarantine")
    assert quarantine["available"]
    assert quarantine["items"], "the scenario has quarantine records"
    assert f"{quarantine['total_events']} quarantined events" in page.locator("#quarantine-status").inner_text()
    chart = option("chart-quarantine")
    assert chart["xAxis"][0]["data"] == [f"{item['family']}/{item['reason']}" for item in quarantine["items"]]
    assert _series(chart, "Quarantined events") == [item["event_count"] for item in quarantine["items"]]
    assert _series(chart, "Quarantine records") == [item["record_count"] for item in quarantine["items"]]


def test_dashboard_charts_show_the_api_numbers(served: str, fresh_database: Settings, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    key = fresh_database.api.bootstrap_api_key.get_secret_value()
    requested: list[str] = []
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1900})
            page.on("request", lambda request: requested.append(request.url))
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{served}/dashboard")
            page.wait_for_selector("body[data-state='signed-out']")
            assert key not in page.content(), "no secret in the page"

            page.fill("#api-key", "not-the-key")
            page.click("#sign-in")
            page.wait_for_selector("body[data-state='error']")
            assert "refused" in page.locator("#message").inner_text()

            page.fill("#api-key", key)
            page.click("#sign-in")
            page.wait_for_selector("body[data-state='ready']", timeout=20_000)
            _check_charts(page, served, key)
            assert page.evaluate("sessionStorage.getItem('ledgerline.apiKey')") == key
            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(tmp_path / "dashboard.png", ARTIFACTS / "dashboard.png")

            page.select_option("#region", "emea")
            page.fill("#start", "2026-01-01")
            page.click("#apply")
            page.wait_for_selector("body[data-state='ready']", timeout=20_000)
            _check_charts(page, served, key, start="2026-01-01", end=page.input_value("#end"), region_id="emea")
            page.screenshot(path=str(tmp_path / "dashboard-emea.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert requested
    assert all(url.startswith(served) for url in requested), "nothing is fetched off-origin"
