"""Unit tests of the query API that need no services: public surface, parameter rules, exact
arithmetic, the response cache, the OpenAPI contract and the vendored browser assets."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import date
from pathlib import Path

import pytest
from fastapi.exceptions import RequestValidationError

import query_api
from query_api.arith import div_round_half_even, ratio
from query_api.auth import Authenticator, StaticKeyVerifier
from query_api.cache import CachedResponse, ResponseCache
from query_api.definitions import FORMULAS, METRIC_DEFINITIONS_VERSION
from query_api.params import DateRange, date_range, months_before, period_end, truncate

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


def test_openapi_states_every_formula_and_the_version() -> None:
    spec = query_api.create_app().openapi()
    churn = spec["paths"]["/v1/churn"]["get"]["description"]
    for name in ("logo_churn_rate", "logo_movements", "gross_mrr_churn_rate", "net_mrr_churn_rate", "nrr", "grr"):
        assert FORMULAS[name] in churn
    assert METRIC_DEFINITIONS_VERSION in spec["info"]["description"]
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
