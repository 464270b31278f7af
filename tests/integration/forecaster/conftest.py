"""A database and topic prefix of the forecaster tests' own, with a small synthetic business.

Module-scoped: forecasting runs take seconds, so the runs are made once and several tests inspect
them. Vintages cannot be deleted (by design), so isolation is a scratch database dropped at the end.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date

import pytest

from forecaster import RunOptions, RunResult, run_forecast
from forecaster.synthetic import SyntheticSpec, insert
from platform_common.config import Settings
from platform_common.kafka import ensure_topics, make_admin
from platform_common.postgres import Role, connect
from platform_common.topics import DAY_MS, TopicSpec, forecasts_topic
from tests.conftest import NewDatabase

END = date(2025, 12, 31)
FIRST_AS_OF = date(2025, 11, 30)
# Small, fast runs: short daily history and horizons, one backtest window.
OPTIONS = RunOptions(horizon_days=14, horizon_months=3, history_days=500, daily_history_days=120, windows=1)


@pytest.fixture(scope="module")
def forecaster_stack(stack: Settings, new_database: NewDatabase) -> Iterator[Settings]:
    suffix = uuid.uuid4().hex[:10]
    name, prefix = f"ledgerline_test_forecaster_{suffix}", f"test-forecaster-{suffix}."
    with new_database(name) as database:
        isolated = database.model_copy(update={"kafka": database.kafka.model_copy(update={"topic_prefix": prefix})})
        try:
            ensure_topics([TopicSpec(forecasts_topic(prefix), 1, DAY_MS)], isolated)
            with connect(Role.WRITER, isolated) as conn:
                insert(
                    conn, SyntheticSpec(regions=1, plans=2, days=500, end=END, prefix="it", base_subscriptions=(5, 15))
                )
                # A region and plan launched five days before the end: too short to model.
                insert(
                    conn, SyntheticSpec(regions=1, plans=1, days=5, end=END, prefix="new", base_subscriptions=(3, 4))
                )
            yield isolated
        finally:
            admin = make_admin(stack)
            for future in admin.delete_topics([forecasts_topic(prefix)], operation_timeout=30).values():
                future.result(timeout=30)


@dataclass(frozen=True)
class Runs:
    settings: Settings
    first: RunResult  # as of 2025-11-30: December's actuals arrive after it
    second: RunResult  # as of the last day of facts, MRR only
    stages: list[str]  # progress reported by the first run


@pytest.fixture(scope="module")
def runs(forecaster_stack: Settings) -> Runs:
    stages: list[str] = []
    first = run_forecast(replace(OPTIONS, as_of=FIRST_AS_OF), settings=forecaster_stack, progress=stages.append)
    second = run_forecast(replace(OPTIONS, metrics=("mrr",)), settings=forecaster_stack)
    return Runs(forecaster_stack, first, second, stages)
