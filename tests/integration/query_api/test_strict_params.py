"""The query contract a demanding client relies on, over the fixed scenario: a misspelled or
unknown query parameter is refused (never silently ignored), the span cap holds when one side of
the range is left at its default, and `Cache-Control: no-cache` computes an answer afresh."""

from __future__ import annotations

import re
import time

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.integration
Q1 = {"start": "2026-01-01", "end": "2026-03-31"}
BYPASSES = re.compile(r'^ledgerline_query_cache_total\{outcome="bypass"\} ([0-9.e+]+)$', re.M)


def test_a_misspelled_filter_is_refused_not_ignored(client: TestClient) -> None:
    """Ignored, `regoin=emea` answered the company-wide 81470 for January instead of emea's 46970."""
    emea = client.get("/v1/mrr", params={"region_id": "emea", **Q1})
    assert emea.status_code == 200
    assert emea.json()["items"][0]["mrr_minor"] == 46970
    typo = client.get("/v1/mrr", params={"regoin": "emea", **Q1})
    assert typo.status_code == 422, typo.text
    [problem] = typo.json()["detail"]
    assert problem["loc"] == ["query", "regoin"]
    assert "unknown query parameter 'regoin'" in problem["msg"]
    assert "region_id" in problem["msg"]


@pytest.mark.parametrize(
    ("path", "params"),
    [("/v1/revenue", {"group_by": "plan", "regions": "emea"}), ("/v1/costs", {"group_by": "category", "plan_id": "x"}),
     ("/v1/usage", {"currency": "original"}), ("/v1/forecasts/vs-actual", {"run": "latest"}),
     ("/v1/data-quality/freshness", {"start": "2026-01-01"}), ("/v1/definitions", {"version": "1"}),
     ("/v1/dimensions/plan", {"q": "growth"})],
)  # fmt: skip
def test_parameters_of_other_endpoints_are_refused(client: TestClient, path: str, params: dict[str, str]) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 422, (path, response.text)
    [unknown] = [name for name in params if name not in ("group_by",)]
    assert [problem["loc"] for problem in response.json()["detail"]] == [["query", unknown]]


def test_declared_parameters_repeated_or_together_are_accepted(client: TestClient) -> None:
    everything = {**Q1, "granularity": "quarter", "currency": "original", "region_id": "emea", "page": "1",
                  "page_size": "10", "group_by": ["plan", "region"], "plan_id": "growth-monthly-eur"}  # fmt: skip
    response = client.get("/v1/revenue", params=everything)
    assert response.status_code == 200, response.text
    assert response.json()["items"][0]["billed_minor"] == 21900


@pytest.mark.parametrize(
    ("path", "params", "field", "default"),
    [("/v1/mrr", {"start": "1970-01-01"}, "start", "end defaults to data_as_of"),
     ("/v1/churn", {"start": "2006-03-15"}, "start", "end defaults to data_as_of"),  # 7321 days to 2026-03-31
     ("/v1/revenue", {"start": "2000-01-01", "granularity": "day"}, "start", "end defaults to data_as_of"),
     ("/v1/data-quality/quarantine", {"start": "1970-01-01"}, "start", "end defaults to today"),
     ("/v1/forecasts/vs-actual", {"end": "2199-12-31"}, "end", "start defaults to 90 days"),
     ("/v1/forecasts/vs-actual", {"start": "1970-01-01", "freq": "month"}, "start", "end to its horizon")],
)  # fmt: skip
def test_the_span_cap_holds_with_one_side_given(
    client: TestClient, path: str, params: dict[str, str], field: str, default: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["query", field]
    assert "the range may span at most 7320 days" in problem["msg"]
    assert default in problem["msg"]


def test_the_span_cap_allows_its_full_length_with_one_side_given(client: TestClient) -> None:
    body = client.get("/v1/mrr", params={"start": "2006-03-16", "granularity": "quarter"}).json()
    assert body["window"] == {"start": "2006-03-16", "end": "2026-03-31"}
    assert len(body["items"]) == 81  # 2006 Q1 .. 2026 Q1


def _bypasses(client: TestClient) -> float:
    return sum(float(count) for count in BYPASSES.findall(client.get("/metrics").text))


def test_cache_control_no_cache_computes_the_answer_afresh(client: TestClient) -> None:
    path = "/v1/subscriptions?granularity=month&start=2026-01-01&end=2026-03-31"
    deadline = time.monotonic() + 5
    while "x-cache" not in (hit := client.get(path)).headers:  # the poller has to notice the refresh
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert hit.headers["x-cache"] == "hit"
    before = _bypasses(client)
    fresh = client.get(path, headers={"Cache-Control": "no-cache"})
    assert fresh.status_code == 200
    assert "x-cache" not in fresh.headers, "computed from the read models, not taken from the cache"
    assert fresh.headers["x-read-model-refresh"] == hit.headers["x-read-model-refresh"]
    assert fresh.json() == hit.json()
    assert _bypasses(client) == before + 1
    assert client.get(path).headers["x-cache"] == "hit", "the fresh answer is cached like any other"
