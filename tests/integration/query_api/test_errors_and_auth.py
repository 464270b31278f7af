"""Authentication, and every error path: bad input answers 4xx with a clear message, never 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.integration
DATA_PATHS = [
    "/v1/mrr", "/v1/mrr/bridge", "/v1/subscriptions", "/v1/churn", "/v1/revenue", "/v1/costs", "/v1/gross-margin",
    "/v1/usage", "/v1/forecasts/vintages", "/v1/forecasts/vs-actual", "/v1/data-quality/freshness",
    "/v1/data-quality/quarantine", "/v1/dimensions/region", "/v1/definitions",
]  # fmt: skip


@pytest.mark.parametrize("path", DATA_PATHS)
def test_data_routes_need_a_valid_api_key(anonymous: TestClient, path: str) -> None:
    missing = anonymous.get(path)
    assert missing.status_code == 401
    assert "X-API-Key" in missing.json()["detail"]
    wrong = anonymous.get(path, headers={"X-API-Key": "not-the-key"})
    assert (wrong.status_code, wrong.json()["detail"]) == (401, "invalid API key")
    assert anonymous.get(path, headers={"X-API-Key": ""}).status_code == 401


def test_operational_pages_are_open(anonymous: TestClient) -> None:
    health = anonymous.get("/health")
    assert health.status_code == 200
    assert health.json()["checks"]["postgres"]["ok"] is True
    assert "ledgerline_query_requests_total" in anonymous.get("/metrics").text
    docs = anonymous.get("/docs")
    assert docs.status_code == 200
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    assert anonymous.get("/openapi.json").json()["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"
    page = anonymous.get("/dashboard")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "ledgerline-dev-api-key" not in page.text
    assert anonymous.get("/static/vendor/echarts/echarts.min.js").status_code == 200


@pytest.mark.parametrize(
    ("path", "params", "field", "fragment"),
    [
        ("/v1/mrr", {"start": "2026-02-30"}, "start", "valid date"),
        ("/v1/mrr", {"start": "yesterday"}, "start", "valid date"),
        ("/v1/mrr", {"start": "2026-03-01", "end": "2026-02-01"}, "end", "before start"),
        ("/v1/mrr", {"start": "0001-01-01"}, "start", "between 1970-01-01 and 2199-12-31"),
        ("/v1/mrr", {"end": "9999-12-31"}, "end", "between"),
        ("/v1/mrr", {"start": "1970-01-01", "end": "2199-12-31"}, "end", "at most"),
        ("/v1/mrr", {"start": "2100-01-01"}, "start", "after end"),
        ("/v1/mrr", {"granularity": "fortnight"}, "granularity", "'day', 'week', 'month' or 'quarter'"),
        ("/v1/churn", {"granularity": "day"}, "granularity", "'month' or 'quarter'"),
        ("/v1/mrr", {"currency": "EUR"}, "currency", "'reporting' or 'original'"),
        ("/v1/revenue", {"page_size": "501"}, "page_size", "less than or equal to 500"),
        ("/v1/revenue", {"page_size": "0"}, "page_size", "greater than or equal to 1"),
        ("/v1/revenue", {"page": "0"}, "page", "greater than or equal to 1"),
        ("/v1/revenue", {"page": "abc"}, "page", "valid integer"),
        ("/v1/revenue", {"group_by": "customer"}, "group_by", "'region' or 'plan'"),
        ("/v1/mrr", {"region_id": "eu\x00rope"}, "region_id", "pattern"),
        ("/v1/mrr", {"plan_id": "x" * 101}, "plan_id", "pattern"),
        ("/v1/usage", {"metric": "'; DROP TABLE x; --"}, "metric", "pattern"),
        ("/v1/forecasts/vs-actual", {"run_id": "not-a-uuid"}, "run_id", "UUID"),
        ("/v1/forecasts/vs-actual", {"metric": "revenue"}, "metric", "'mrr'"),
        ("/v1/data-quality/quarantine", {"family": "weather"}, "family", "'subscription'"),
        ("/v1/dimensions/customer", {}, "dimension", "'region'"),
    ],
)
def test_bad_filters_answer_422_naming_the_parameter(
    client: TestClient, path: str, params: dict[str, str], field: str, fragment: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 422, response.text
    [problem] = [item for item in response.json()["detail"] if field in item["loc"]]
    assert fragment in problem["msg"]


def test_unknown_values_give_empty_results_not_errors(client: TestClient) -> None:
    for path in ("/v1/mrr", "/v1/subscriptions", "/v1/churn", "/v1/revenue", "/v1/gross-margin"):
        for params in ({"region_id": "mars"}, {"plan_id": "no-such-plan"}):
            if path == "/v1/gross-margin" and "plan_id" in params:
                continue
            response = client.get(path, params=params)
            assert response.status_code == 200, (path, response.text)
            assert (response.json()["items"], response.json()["total_items"]) == ([], 0), path
    assert client.get("/v1/usage", params={"metric": "teleports"}).json()["items"] == []
    assert client.get("/v1/costs", params={"category": "yachts"}).json()["items"] == []
    # Before the warehouse starts MRR is zero; after its horizon there is nothing yet.
    early = client.get("/v1/mrr", params={"start": "1990-01-01", "end": "1990-12-31"}).json()["items"]
    assert len(early) == 12
    assert {item["mrr_minor"] for item in early} == {0}
    assert client.get("/v1/mrr", params={"start": "2150-01-01", "end": "2150-12-31"}).json()["items"] == []
    assert client.get("/v1/revenue", params={"start": "2150-01-01", "end": "2150-12-31"}).json()["items"] == []


def test_unknown_vintage_is_404(client: TestClient) -> None:
    response = client.get("/v1/forecasts/vs-actual", params={"run_id": "12345678-1234-5678-1234-567812345678"})
    assert response.status_code == 404
    assert "no forecast vintage" in response.json()["detail"]


def test_pagination_pages_and_totals(client: TestClient) -> None:
    params = {"granularity": "day", "start": "2026-01-01", "end": "2026-03-31", "page_size": "40"}
    pages = [client.get("/v1/mrr", params={**params, "page": str(page)}).json() for page in (1, 2, 3, 4)]
    assert [len(page["items"]) for page in pages] == [40, 40, 10, 0]
    assert {page["total_items"] for page in pages} == {90}, "the total is known on every page, even past the end"
    days = [item["period_start"] for page in pages for item in page["items"]]
    assert days == sorted(set(days))
    assert days[0] == "2026-01-01"
    assert days[-1] == "2026-03-31"


def test_defaults_cover_the_year_to_the_data_horizon(client: TestClient) -> None:
    body = client.get("/v1/mrr").json()
    assert body["window"] == {"start": "2025-04-01", "end": "2026-03-31"}
    assert (body["granularity"], body["currency_mode"], body["reporting_currency"]) == ("month", "reporting", "USD")
    # Periods before the first snapshot carry zero MRR; the last three are the scenario's.
    assert [item["mrr_minor"] for item in body["items"]][-3:] == [81470, 62390, 68660]
