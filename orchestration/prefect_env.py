"""Point Prefect at the Ledgerline Prefect server and keep its logging out of our JSON lines.

Flows run against the server `ledgerline services up` starts (`settings.prefect.api_url`);
tests wrap calls in `prefect_test_harness()` instead, which sets its own API URL, so
`prefect_api` leaves an already configured URL alone when asked to.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import Histogram

from platform_common.config import Settings

FLOW_SECONDS = Histogram(
    "ledgerline_flow_run_duration_seconds",
    "Wall time of one orchestration flow run, by flow and outcome.",
    ["flow", "outcome"],
    buckets=(1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)


@contextlib.contextmanager
def prefect_api(settings: Settings, keep_existing: bool = False) -> Iterator[None]:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if keep_existing and PREFECT_API_URL.value():
        yield
        return
    with temporary_settings(updates={PREFECT_API_URL: settings.prefect.api_url}):
        yield


def quiet_prefect() -> None:
    """Prefect's console handler prints every task state; our progress lines say enough."""
    for name in ("prefect", "prefect.flow_runs", "prefect.task_runs", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)


@contextlib.contextmanager
def timed_flow(name: str) -> Iterator[dict[str, Any]]:
    """Observe the flow's duration (success or failure) in FLOW_SECONDS."""
    started = time.perf_counter()
    info: dict[str, Any] = {}
    try:
        yield info
    except BaseException:
        FLOW_SECONDS.labels(name, "failed").observe(time.perf_counter() - started)
        raise
    FLOW_SECONDS.labels(name, "succeeded").observe(time.perf_counter() - started)
    info["seconds"] = time.perf_counter() - started
