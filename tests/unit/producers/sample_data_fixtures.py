"""Small generated data sets shared by the sample-data tests (built once per session)."""

from __future__ import annotations

from functools import cache
from typing import Any

from platform_common.topics import Family
from producers.sample_data import GenerationParams, GenerationResult, generate
from tests.unit.producers.sample_data_replay import good_events

SMALL = GenerationParams(
    customers=250, months=14, seed=11, bad_record_share=0.04, late_share=0.03, usage_every_n_days=2
)


@cache
def small_result() -> GenerationResult:
    return generate(SMALL)


@cache
def small_events() -> tuple[tuple[Family, dict[str, Any]], ...]:
    return tuple(small_result().events())


@cache
def small_good_events() -> tuple[tuple[Family, dict[str, Any]], ...]:
    return tuple(good_events(small_events(), small_result().ground_truth))
