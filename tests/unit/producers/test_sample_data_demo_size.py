"""The demo data set stays quick to generate and within the agreed size."""

from __future__ import annotations

import time

import pytest

from producers.sample_data import GenerationParams, generate


@pytest.mark.slow
def test_demo_size_generation_is_fast_and_bounded() -> None:
    params = GenerationParams()
    assert (params.customers, params.months) == (5000, 24)
    started = time.perf_counter()
    result = generate(params)
    elapsed = time.perf_counter() - started
    counts = result.ground_truth["counts"]
    assert elapsed < 30, f"generation took {elapsed:.1f}s"
    assert 500_000 <= counts["sent_total"] <= 2_000_000
    assert min(counts["good_by_family"].values()) > 0
    assert result.ground_truth["month_ends"][-1]["active_subscriptions"] > 1000
