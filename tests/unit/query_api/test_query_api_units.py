"""Unit tests of the query API that need no services: public surface, parameter rules, exact
arithmetic, the response cache, the OpenAPI contract and the vendored browser assets."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.exceptions import RequestValidationError
from fastapi.testclient import TestClient

import query_api
from query_api.arith import div_round_half_even, ratio
from query_api.auth import Authenticator, StaticKeyVerifier
from query_api.cache import CachedResponse, ResponseCache, wants_fresh
from query_api.definitions import FORMULAS, METRIC_DEFINITIONS_VERSION
from query_api.params import MAX_SPAN_DAYS, DateRange, date_range, months_before, period_end, truncate

STATIC = Path(query_api.__file__).parent / "static"


def test_public_surface() -> None:
    assert query_api.__all__ == ["api_cli", "create_app", "refresh_read_models"]
    assert callable(query_api.create_app)
    assert callable(query_api.refresh_read_models)
    assert {command.name for command in query_api.api_cli.registered_commands} == {"serve", "refresh"}


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(81470, 8, 10184), (62390, 6, 10398), (5, 2, 2), (7, 2, 4), (-5, 2, -2), (0, 3, 0), (2414970, 31, 77902)],
)
def test_division_rounds_half_to_even(numerator: int, denominator: int, expected: int) -> None:
    assert div_round_half_even(numerator, denominator) == expected


def test_ratio_is_none_without_a_base() -> None:
    assert ratio(1, 0) is None
    assert ratio(2, 8) == 0.25
    assert ratio(1, 6) == 0.166667


@pytest.mark.parametrize(
    ("day", "granularity", "start", "end"),
    [
        (date(2026, 2, 18), "day", date(2026, 2, 18), date(2026, 2, 18)),
        (date(2026, 2, 18), "week", date(2026, 2, 16), date(2026, 2, 22)),
        (date(2026, 2, 18), "month", date(2026, 2, 1), date(2026, 2, 28)),
        (date(2024, 2, 18), "month", date(2024, 2, 1), date(2024, 2, 29)),
        (date(2026, 11, 18), "quarter", date(2026, 10, 1), date(2026, 12, 31)),
    ],
)
def test_periods(day: date, granularity: str, start: date, end: date) -> None:
    assert truncate(day, granularity) == start
    assert period_end(start, granularity) == end


def test_default_range_is_twelve_months_to_the_horizon() -> None:
    assert DateRange(None, None).resolve(date(2026, 3, 31)) == (date(2025, 4, 1), date(2026, 3, 31))
    assert DateRange(date(2026, 1, 5), None).resolve(date(2026, 3, 31)) == (date(2026, 1, 5), date(2026, 3, 31))
    assert months_before(date(2026, 1, 31), 1) == date(2025, 12, 1)
    with pytest.raises(RequestValidationError):
        DateRange(date(2026, 5, 1), None).resolve(date(2026, 3, 31))


@pytest.mark.parametrize(
    ("start", "end"),
    [(date(2026, 3, 1), date(2026, 2, 1)), (date(1969, 12, 31), None), (None, date(2200, 1, 1)),
     (date(1970, 1, 1), date(2199, 12, 31))],
)  # fmt: skip
def test_invalid_ranges_are_refused(start: date | None, end: date | None) -> None:
    with pytest.raises(RequestValidationError):
        date_range(start, end)


@pytest.mark.parametrize(
    ("given", "field"),
    [(DateRange(date(1970, 1, 1), None), "start"),  # end defaults to data_as_of: 56 years
     (DateRange(date(2006, 3, 15), None), "start")],  # one day over the cap
)  # fmt: skip
def test_the_span_cap_holds_when_one_side_is_a_default(given: DateRange, field: str) -> None:
    with pytest.raises(RequestValidationError) as refused:
        given.resolve(date(2026, 3, 31))
    [problem] = refused.value.errors()
    assert problem["loc"] == ("query", field)
    assert f"at most {MAX_SPAN_DAYS} days" in problem["msg"]
    assert "end defaults to data_as_of" in problem["msg"]


def test_the_span_cap_allows_exactly_its_length_and_names_the_given_side() -> None:
    horizon = date(2026, 3, 31)
    start = date.fromordinal(horizon.toordinal() - MAX_SPAN_DAYS)
    assert DateRange(start, None).resolve(horizon) == (start, horizon)
    assert DateRange(None, date(2199, 12, 31)).resolve(horizon) == (date(2199, 1, 1), date(2199, 12, 31))
    with pytest.raises(RequestValidationError) as refused:  # a forecast-style default start, end given
        DateRange(None, date(2199, 12, 31)).checked(date(2026, 1, 1), date(2199, 12, 31), "start defaults to X")
    assert refused.value.errors()[0]["loc"] == ("query", "end")
    with pytest.raises(RequestValidationError) as refused:
        DateRange(start, None).resolve(date(2026, 4, 1), end_default="today")
    assert "end defaults to today" in refused.value.errors()[0]["msg"]


def test_authenticator_accepts_only_configured_keys() -> None:
    authenticator = Authenticator([StaticKeyVerifier(["right"])])
    assert authenticator.is_valid("right")
    assert not authenticator.is_valid("wrong")
    assert not authenticator.is_valid("")
    assert not authenticator.is_valid(None)
    assert not authenticator.is_valid("right" * 200)


def test_cache_keeps_only_responses_of_the_current_refresh() -> None:
    cache = ResponseCache(max_entries=2)
    response = CachedResponse("/v1/mrr", [], b"{}")
    cache.put(b"a", 1, response)
    assert cache.get(b"a") is None, "nothing is cached before the refresh id is known"
    cache.observe_version(1)
    cache.put(b"a", 1, response)
    cache.put(b"b", 0, response)
    assert cache.get(b"a") == (response, False)
    assert cache.get(b"b") is None
    cache.put(b"c", 1, response)
    cache.put(b"d", 1, response)
    assert len(cache) == 2
    assert cache.get(b"a") is None, "the oldest entry goes first"
    assert cache.observe_version(2)
    assert (len(cache), cache.stale_count) == (0, 0), "refresh-ahead is off: a refresh empties the cache"


def _response(name: str) -> CachedResponse:
    return CachedResponse("/v1/mrr", [], name.encode(), {"type": "http", "path": f"/{name}"})


def test_refresh_ahead_serves_the_previous_refresh_until_recomputed() -> None:
    cache = ResponseCache(max_entries=10, rewarm_max_entries=2, rewarm_max_s=5)
    cache.rewarm_concurrency = 1
    cache.observe_version(1)
    for name in ("a", "b", "c"):
        cache.put(name.encode(), 1, _response(name))
    for key in (b"c", b"a", b"c"):  # c used twice, a once, b never
        assert cache.get(key) is not None
    recomputed: list[bytes] = []

    async def recompute(key: bytes, response: CachedResponse) -> None:
        assert cache.get(key) == (response, True), "still served from refresh 1 while it is recomputed"
        recomputed.append(key)
        cache.put(key, 2, CachedResponse(response.route, [], b"new " + response.body, response.request))

    cache.recompute = recompute
    assert cache.observe_version(2)
    assert cache.stale_count == 2, "only the 2 most used are kept for recomputing"
    assert cache.get(b"b") is None, "the least used is gone"
    assert cache.get(b"a") == (_response("a"), True)
    assert asyncio.run(cache.rewarm()) == 2
    assert recomputed == [b"c", b"a"], "most used first"
    found = cache.get(b"c")
    assert found is not None
    assert (found[0].body, found[1], cache.stale_count) == (b"new c", False, 0)


def test_refresh_ahead_stops_serving_stale_answers_after_its_deadline() -> None:
    cache = ResponseCache(max_entries=10, rewarm_max_entries=10, rewarm_max_s=0.05)
    cache.observe_version(1)
    names = [f"k{index}" for index in range(cache.rewarm_concurrency + 2)]
    for name in names:
        cache.put(name.encode(), 1, _response(name))

    async def slow(key: bytes, response: CachedResponse) -> None:
        await asyncio.sleep(0.06)  # each takes longer than the deadline

    cache.recompute = slow
    cache.observe_version(2)
    assert asyncio.run(cache.rewarm()) == cache.rewarm_concurrency, "one round, then the deadline"
    assert cache.stale_count == 0
    assert all(cache.get(name.encode()) is None for name in names)


# Every endpoint whose description is built from `definitions.FORMULAS` (`describe(...)`) and the
# formulas it must state.
FORMULAS_BY_PATH = {
    "/v1/mrr": ("mrr", "arr", "mrr_movements"),
    "/v1/mrr/bridge": ("mrr_movements",),
    "/v1/subscriptions": ("active_subscriptions", "active_customers", "mrr", "arpa"),
    "/v1/churn": ("logo_churn_rate", "logo_movements", "gross_mrr_churn_rate", "net_mrr_churn_rate", "nrr", "grr",
                  "mrr_movements"),
    "/v1/revenue": ("revenue",),
    "/v1/gross-margin": ("recurring_revenue", "gross_margin"),
    "/v1/usage": ("usage",),
    "/v1/forecasts/vs-actual": ("forecast_variance",),
    "/v1/data-quality/freshness": ("freshness",),
    "/v1/data-quality/quarantine": ("quarantine",),
}  # fmt: skip


def test_openapi_states_every_formula_and_the_version() -> None:
    spec = query_api.create_app().openapi()
    for path, names in FORMULAS_BY_PATH.items():
        description = spec["paths"][path]["get"]["description"]
        for name in names:
            assert f"- **{name}**: {FORMULAS[name]}" in description, (path, name)
    stated = {path for path, item in spec["paths"].items() if "- **" in item.get("get", {}).get("description", "")}
    assert stated == set(FORMULAS_BY_PATH), "an endpoint describes formulas this test does not check"
    assert {name for names in FORMULAS_BY_PATH.values() for name in names} == set(FORMULAS), (
        "every formula is stated by some endpoint"
    )
    assert METRIC_DEFINITIONS_VERSION in spec["info"]["description"]
    assert "Cache-Control: no-cache" in spec["info"]["description"]
    point = spec["components"]["schemas"]["ChurnPoint"]
    for field in ("transferred_out_customers", "transferred_in_customers"):
        assert field in point["required"]
        assert "another segment" in point["properties"][field]["description"]
    assert spec["components"]["securitySchemes"]["APIKeyHeader"] == {
        "type": "apiKey", "in": "header", "name": "X-API-Key",
        "description": "The query API key (the configured bootstrap key for now).",
    }  # fmt: skip
    page_size = next(p for p in spec["paths"]["/v1/revenue"]["get"]["parameters"] if p["name"] == "page_size")
    assert page_size["schema"]["maximum"] == 500


@pytest.fixture(scope="module")
def offline_client() -> TestClient:
    """The app without its lifespan (no database): requests refused before any SQL still answer."""
    app = query_api.create_app()
    return TestClient(app, headers={"X-API-Key": app.state.settings.api.bootstrap_api_key.get_secret_value()})


def _v1_get_paths(spec: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(a concrete path, its declared query parameters) of every `/v1` GET in the OpenAPI."""
    found = []
    for template, item in spec["paths"].items():
        if template.startswith("/v1") and "get" in item:
            params = item["get"].get("parameters", [])
            path = template.replace("{dimension}", "region")
            found.append((path, sorted(param["name"] for param in params if param["in"] == "query")))
    return found


def test_every_v1_endpoint_refuses_unknown_query_parameters(offline_client: TestClient) -> None:
    paths = _v1_get_paths(offline_client.get("/openapi.json").json())
    assert len(paths) == 14
    for path, declared in paths:
        response = offline_client.get(path, params={"regoin": "emea", "page_size": "5"})
        assert response.status_code == 422, (path, response.text)
        problems = response.json()["detail"]
        unknown = ["regoin"] if "page_size" in declared else ["page_size", "regoin"]
        assert [problem["loc"] for problem in problems] == [["query", name] for name in unknown], path
        for problem in problems:
            assert problem["type"] == "extra_forbidden"
            listing = f"accepted: {', '.join(declared)}" if declared else "accepts no query parameters"
            assert listing in problem["msg"], (path, problem)
            assert f"unknown query parameter '{problem['loc'][1]}'" in problem["msg"]


def test_a_misspelled_filter_is_named_next_to_the_accepted_ones(offline_client: TestClient) -> None:
    response = offline_client.get("/v1/mrr", params={"regoin": "emea", "Start": "2026-01-01"})
    assert response.status_code == 422
    assert [(p["loc"], p["input"]) for p in response.json()["detail"]] == [
        (["query", "Start"], "2026-01-01"), (["query", "regoin"], "emea"),
    ]  # fmt: skip
    assert response.json()["detail"][1]["msg"] == (
        "unknown query parameter 'regoin' (accepted: currency, end, granularity, page, page_size, plan_id, "
        "region_id, start)"
    )
    assert offline_client.get("/v1/mrr", params={"regoin": "emea"}, headers={"X-API-Key": ""}).status_code == 401


@pytest.mark.parametrize(
    ("headers", "fresh"),
    [([], False), ([(b"cache-control", b"no-cache")], True), ([(b"cache-control", b"max-age=0, No-Cache")], True),
     ([(b"cache-control", b"no-store")], False), ([(b"pragma", b"no-cache")], False),
     ([(b"cache-control", b'no-cache="set-cookie"')], True)],
)  # fmt: skip
def test_cache_control_no_cache_asks_for_a_fresh_answer(headers: list[tuple[bytes, bytes]], fresh: bool) -> None:
    assert wants_fresh(headers) is fresh


def test_logo_churn_is_defined_by_activity_anywhere_and_the_version_says_so() -> None:
    """Definitions 2026-11-28.2: a customer who left a segment but is active elsewhere is a
    transfer, not churn (as the MRR bridge's transfer movement); the version is bumped with it."""
    assert METRIC_DEFINITIONS_VERSION == "2026-11-28.2"
    assert "active subscription anywhere" in FORMULAS["logo_churn_rate"]
    assert "transferred out, not churned" in FORMULAS["logo_churn_rate"]
    assert "opening - churned - transferred_out + gained + transferred_in = closing" in FORMULAS["logo_movements"]


def test_vendored_assets_match_their_record() -> None:
    record = json.loads((STATIC / "vendor" / "VENDORED.json").read_text())
    for package in record["packages"]:
        assert package["license"] == "Apache-2.0"
        for name, digest in package["files"].items():
            path = STATIC / "vendor" / name
            assert path.is_file(), name
            if len(digest) == 64:
                assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, name
    html = (STATIC / "dashboard.html").read_text()
    assert "/static/vendor/echarts/echarts.min.js" in html
    assert "http://" not in html, "nothing is loaded from another origin"
    assert "https://" not in html
    assert "<script>" not in html, "no inline script (the CSP allows only 'self')"
