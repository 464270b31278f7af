"""The dashboard in headless Chromium: served by a real uvicorn (`api serve`) on a free port over a
fresh database holding the fixed scenario. For the default view, a region and date range, and a
plan, the page must ask the API for exactly those filters and every series of every chart must
be the API's numbers; every series with data must also be drawn (charts render as SVG, so the
drawn shapes are inspected). Screenshots are taken once every chart reports ECharts' `finished`,
with reduced motion emulated (the page then turns animation off).

Debian's Chromium is driven by Python Playwright through `executable_path` (Playwright's browser
downloads are never used). Without /usr/bin/chromium, `deploy/install_browser.sh` installs it; only
if the binary is still missing is the test skipped (with a warning naming the path). A browser
that is there but fails to launch fails the test.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

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
READY = "body[data-state='ready'][data-charts='rendered']"
PLAN = "starter-monthly-eur"
FRESHNESS = "/v1/data-quality/freshness"
DASH = " \N{EN DASH} "  # the page's date ranges
CHARTS = ("chart-mrr", "chart-subscriptions", "chart-revenue", "chart-forecast", "chart-churn", "chart-quarantine")
# For each series of a chart: is a shape painted in its colour inside the plot area, and not cut
# by its clip path (ECharts reveals lines through a growing clip while animating)? Legend icons
# share the colours but sit outside the grid; clip-path shapes and invisible shapes do not count.
PAINTED_JS = """id => {
  const chart = echarts.getInstanceByDom(document.getElementById(id));
  const svg = chart.getDom().querySelector("svg");
  if (!svg) return null;
  const context = document.createElement("canvas").getContext("2d");
  const normal = (color) => { context.fillStyle = "#000"; context.fillStyle = color; return context.fillStyle; };
  const origin = chart.getDom().getBoundingClientRect();
  const whole = (shape, box) => {  // false when an opacity-0 group hides it or a clip path cuts it
    let [left, top, right, bottom] = [box.left, box.top, box.right, box.bottom];
    for (let node = shape; node !== svg; node = node.parentElement) {
      if (Number(getComputedStyle(node).opacity) === 0) return false;
      const clipped = /url\\(["']?#([^"')]+)/.exec(node.getAttribute("clip-path") || "");
      if (!clipped) continue;
      const area = document.getElementById(clipped[1]).firstElementChild.getBBox();
      const matrix = node.getScreenCTM();
      const a = new DOMPoint(area.x, area.y).matrixTransform(matrix);
      const b = new DOMPoint(area.x + area.width, area.y + area.height).matrixTransform(matrix);
      [left, top] = [Math.max(left, Math.min(a.x, b.x)), Math.max(top, Math.min(a.y, b.y))];
      [right, bottom] = [Math.min(right, Math.max(a.x, b.x)), Math.min(bottom, Math.max(a.y, b.y))];
    }
    return right - left >= box.width - 2 && bottom - top >= box.height - 2;
  };
  const painted = new Set();
  for (const shape of svg.querySelectorAll("path, rect, circle, ellipse, polygon, polyline, line")) {
    if (shape.closest("defs, clipPath")) continue;
    const box = shape.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    const center = [box.x + box.width / 2 - origin.x, box.y + box.height / 2 - origin.y];
    if (!chart.containPixel({ gridIndex: 0 }, center) || !whole(shape, box)) continue;
    const style = getComputedStyle(shape);
    if (style.fill !== "none" && Number(style.fillOpacity) > 0) painted.add(normal(style.fill));
    if (style.stroke !== "none" && Number(style.strokeOpacity) > 0) painted.add(normal(style.stroke));
  }
  return chart.getOption().series.map((series, index) => {
    const colors = [chart.getVisual({ seriesIndex: index }, "color"), (series.areaStyle || {}).color];
    return colors.filter((color) => typeof color === "string").some((color) => painted.has(normal(color)));
  });
}"""


def _chromium() -> str:
    """The browser binary. Only a missing binary skips (loudly); a broken one fails."""
    if not os.path.exists(CHROMIUM):
        result = subprocess.run(["bash", str(ROOT / "deploy" / "install_browser.sh")], capture_output=True, text=True)
        if not os.path.exists(CHROMIUM):
            output = (result.stderr or result.stdout).strip()[-500:]
            reason = (
                f"NO BROWSER: {CHROMIUM} does not exist and deploy/install_browser.sh could not install it "
                f"(exit {result.returncode}): {output}"
            )
            warnings.warn(reason, stacklevel=2)
            pytest.skip(reason)
    assert os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} exists but is not executable"
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


def _api(base: str, key: str, path: str, params: dict[str, str]) -> dict[str, Any]:
    paging = {} if path == FRESHNESS else {"page_size": "500"}  # the only endpoint without pages
    response = httpx.get(f"{base}{path}", params={**params, **paging}, headers={"X-API-Key": key}, timeout=10)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    assert body.get("total_items", 0) <= 500, "one page holds the whole answer"
    return body


def _expected_requests(dates: dict[str, str], segment: dict[str, str]) -> dict[str, dict[str, str]]:
    """The query (paging aside) the page must send to each endpoint for these filters."""
    filters = {**dates, **segment}
    return {
        "/v1/mrr": {**filters, "granularity": "month"},
        "/v1/subscriptions": {**filters, "granularity": "month"},
        "/v1/revenue": {**filters, "granularity": "month", "group_by": "region"},
        "/v1/forecasts/vs-actual": {**filters, "metric": "mrr", "freq": "day"},
        "/v1/churn": {**filters, "granularity": "month"},
        FRESHNESS: {},  # live state: takes no dates (the page says so)
        "/v1/data-quality/quarantine": dict(dates),
    }


def _check_requests(urls: list[str], expected: dict[str, dict[str, str]]) -> None:
    sent: dict[str, list[dict[str, str]]] = {}
    for url in urls:
        parts = urlsplit(url)
        if parts.path.startswith("/v1/") and not parts.path.startswith("/v1/dimensions/"):
            query = {name: value for name, value in parse_qsl(parts.query) if name not in ("page", "page_size")}
            sent.setdefault(parts.path, []).append(query)
    assert sorted(sent) == sorted(expected), "the page queries every panel's endpoint, and only those"
    for path, queries in sent.items():
        assert queries == [expected[path]] * len(queries), path


def _option(page: Any, chart_id: str) -> dict[str, Any]:
    found: dict[str, Any] = page.evaluate(
        "id => echarts.getInstanceByDom(document.getElementById(id)).getOption()", chart_id
    )
    return found


def _series(option: dict[str, Any]) -> dict[str, list[Any]]:
    """Every series the chart shows, by name."""
    named = {series["name"]: series["data"] for series in option["series"]}
    assert len(named) == len(option["series"]), "series names are distinct"
    return named


def _number(value: str | None) -> float | None:
    return None if value is None else float(value)


def _shows_data(series: dict[str, Any]) -> bool:
    """Whether the series must be visible: a line needs two neighbouring values, a bar a non-zero one; a
    series drawn transparent on purpose (the invisible base an interval band stacks on) never is."""
    if (series.get("lineStyle") or {}).get("opacity") == 0 and (series.get("areaStyle") or {}).get("opacity") == 0:
        return False
    data = series["data"]
    if series["type"] == "bar":
        return any(value not in (None, 0) for value in data)
    return any(left is not None and right is not None for left, right in itertools.pairwise(data))


def _check_drawn(page: Any, *, animated: bool) -> None:
    for chart_id in CHARTS:
        option = _option(page, chart_id)
        assert option["animation"] is animated, f"{chart_id}: animation follows prefers-reduced-motion"
        painted = page.evaluate(PAINTED_JS, chart_id)
        assert painted is not None, f"{chart_id} renders as SVG"
        for series, drawn in zip(option["series"], painted, strict=True):
            if _shows_data(series):
                assert drawn, f"{chart_id}: series {series['name']!r} has data but nothing is drawn for it"


def _check_charts(page: Any, base: str, key: str, queries: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Every series of every chart against the API answering the page's own queries; returns the answers."""
    answers = {path: _api(base, key, path, params) for path, params in queries.items()}

    mrr = answers["/v1/mrr"]
    chart = _option(page, "chart-mrr")
    assert chart["xAxis"][0]["data"] == [item["period_start"] for item in mrr["items"]]
    movement = {
        "New": "new_mrr_minor",
        "Expansion": "expansion_mrr_minor",
        "Reactivation": "reactivation_mrr_minor",
        "Contraction": "contraction_mrr_minor",
        "Churned": "churned_mrr_minor",
        "Transfer": "transfer_mrr_minor",
        "FX effect": "fx_effect_minor",
    }
    assert _series(chart) == {
        "MRR": [item["mrr_minor"] for item in mrr["items"]],
        **{name: [item["movements"][field] for item in mrr["items"]] for name, field in movement.items()},
    }
    assert (page.input_value("#start"), page.input_value("#end")) == (
        queries["/v1/mrr"].get("start", mrr["window"]["start"]),
        queries["/v1/mrr"].get("end", mrr["window"]["end"]),
    ), "the date fields show the chosen dates, or the default window"

    subscriptions = answers["/v1/subscriptions"]
    chart = _option(page, "chart-subscriptions")
    assert chart["xAxis"][0]["data"] == [item["period_start"] for item in subscriptions["items"]]
    assert _series(chart) == {
        "Active subscriptions": [item["active_subscriptions"] for item in subscriptions["items"]],
        "Active customers": [item["active_customers"] for item in subscriptions["items"]],
    }

    revenue = answers["/v1/revenue"]
    chart = _option(page, "chart-revenue")
    periods = sorted({item["period_start"] for item in revenue["items"]})
    billed = {(item["region_id"], item["period_start"]): item["billed_minor"] for item in revenue["items"]}
    assert len(billed) == len(revenue["items"])
    assert chart["xAxis"][0]["data"] == periods
    assert _series(chart) == {
        region: [billed.get((region, period), 0) for period in periods]
        for region in sorted({item["region_id"] for item in revenue["items"]})
    }

    forecast = answers["/v1/forecasts/vs-actual"]
    items = forecast["items"]
    chart = _option(page, "chart-forecast")

    def width(low: str, high: str) -> list[float | None]:
        return [
            None if item[low] is None or item[high] is None else float(item[high]) - float(item[low]) for item in items
        ]

    assert chart["xAxis"][0]["data"] == [item["ds"] for item in items]
    assert _series(chart) == {
        "95% base": [_number(item["lo_95"]) for item in items],
        "95% interval": width("lo_95", "hi_95"),
        "80% base": [_number(item["lo_80"]) for item in items],
        "80% interval": width("lo_80", "hi_80"),
        "Actual": [item["actual"] for item in items],
        "Forecast": [_number(item["point"]) for item in items],
    }
    status = page.locator("#forecast-status").inner_text()
    assert f"Vintage as of {forecast['vintage']['as_of_date']}" in status
    if forecast["series"] is None:
        assert not items
        assert "has no forecast for" in status
    else:
        assert f"{forecast['window']['start']}{DASH}{forecast['window']['end']}" in status

    churn = answers["/v1/churn"]
    chart = _option(page, "chart-churn")
    assert chart["xAxis"][0]["data"] == [item["period_start"] for item in churn["items"]]
    fields = ("logo_churn_rate", "gross_mrr_churn_rate", "net_mrr_churn_rate", "nrr", "grr")
    assert _series(chart) == {field: [item[field] for item in churn["items"]] for field in fields}

    freshness = answers[FRESHNESS]
    rows = page.locator("#freshness tbody tr")
    shown = [
        [rows.nth(index).locator("td").nth(cell).inner_text() for cell in (0, 1, 3)] for index in range(rows.count())
    ]
    assert shown == [[f["family"], f["latest_event_time"] or "—", f["status"]] for f in freshness["families"]]
    assert "the date filter does not apply" in page.locator("#freshness-note").inner_text()

    quarantine = answers["/v1/data-quality/quarantine"]
    assert quarantine["available"]
    window = quarantine["window"]
    assert page.locator("#quarantine-status").inner_text() == (
        f"{quarantine['total_events']} quarantined events (quarantined {window['start']}{DASH}{window['end']})"
    )
    chart = _option(page, "chart-quarantine")
    assert chart["xAxis"][0]["data"] == [f"{item['family']}/{item['reason']}" for item in quarantine["items"]]
    assert _series(chart) == {
        "Quarantined events": [item["event_count"] for item in quarantine["items"]],
        "Quarantine records": [item["record_count"] for item in quarantine["items"]],
    }
    return answers


def _apply(page: Any, requested: list[str], submit: str) -> list[str]:
    """Submit (sign in or apply filters), wait until every chart has rendered; the URLs it fetched."""
    mark = len(requested)
    page.click(submit)
    page.wait_for_selector(READY, timeout=20_000)
    return requested[mark:]


def _screenshot(page: Any, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / name), full_page=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(tmp_path / name, ARTIFACTS / name)


def test_dashboard_charts_show_the_api_numbers(served: str, fresh_database: Settings, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    key = fresh_database.api.bootstrap_api_key.get_secret_value()
    requested: list[str] = []
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1900}, reduced_motion="reduce")
            page.on("request", lambda request: requested.append(request.url))
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{served}/dashboard")
            page.wait_for_selector("body[data-state='signed-out']")
            assert key not in page.content(), "no secret in the page"

            page.fill("#api-key", "not-the-key")
            page.click("#sign-in")
            page.wait_for_selector("body[data-state='error']")
            assert "refused" in page.locator("#message").inner_text()

            # Default view: no filter sent; each panel shows its API default window.
            page.fill("#api-key", key)
            queries = _expected_requests({}, {})
            _check_requests(_apply(page, requested, "#sign-in"), queries)
            total = _check_charts(page, served, key, queries)
            assert total["/v1/data-quality/quarantine"]["items"], "the scenario has quarantine records"
            assert any(item["point"] is not None for item in total["/v1/forecasts/vs-actual"]["items"])
            _check_drawn(page, animated=False)
            assert page.evaluate("sessionStorage.getItem('ledgerline.apiKey')") == key
            _screenshot(page, tmp_path, "dashboard.png")

            # A region and a date range: every panel that takes dates gets them, the forecast included.
            page.select_option("#region", "emea")
            page.fill("#start", "2026-02-01")
            page.fill("#end", "2026-03-31")
            queries = _expected_requests({"start": "2026-02-01", "end": "2026-03-31"}, {"region_id": "emea"})
            _check_requests(_apply(page, requested, "#apply"), queries)
            emea = _check_charts(page, served, key, queries)
            forecast = emea["/v1/forecasts/vs-actual"]
            assert forecast["window"] == {"start": "2026-02-01", "end": "2026-03-31"}
            assert forecast["series"]["region_id"] == "emea"
            assert any(item["point"] is not None for item in forecast["items"]), "emea has points in range"
            assert emea["/v1/data-quality/quarantine"]["items"] == [], "nothing was quarantined in Feb-Mar 2026"
            _check_drawn(page, animated=False)
            _screenshot(page, tmp_path, "dashboard-emea.png")

            # A plan, the region and dates cleared: defaults again, for that plan only.
            page.select_option("#region", "")
            page.select_option("#plan", PLAN)
            page.fill("#start", "")
            page.fill("#end", "")
            queries = _expected_requests({}, {"plan_id": PLAN})
            _check_requests(_apply(page, requested, "#apply"), queries)
            plan = _check_charts(page, served, key, queries)
            assert plan["/v1/mrr"]["items"]
            assert plan["/v1/mrr"]["items"] != total["/v1/mrr"]["items"], "the plan filter changes the numbers"
            assert plan["/v1/revenue"]["items"], "the plan has billings"
            assert plan["/v1/forecasts/vs-actual"]["series"] is None, "the scenario forecasts no plan"
            assert PLAN in page.locator("#forecast-status").inner_text()
            assert plan["/v1/data-quality/quarantine"]["items"]
            _check_drawn(page, animated=False)
            _screenshot(page, tmp_path, "dashboard-plan.png")

            # Without reduced motion the charts animate, and `finished` still waits for the end.
            page.emulate_media(reduced_motion="no-preference")
            _check_requests(_apply(page, requested, "#apply"), queries)
            _check_charts(page, served, key, queries)
            _check_drawn(page, animated=True)
        finally:
            browser.close()
    assert errors == []
    assert requested
    assert all(url.startswith(served) for url in requested), "nothing is fetched off-origin"
