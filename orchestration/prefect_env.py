"""Point Prefect at the Ledgerline Prefect server and keep its logging out of our JSON lines.

Flows run against the server `ledgerline services up` starts (`settings.prefect.api_url`);
tests wrap calls in `prefect_test_harness()` instead, which sets its own API URL, so
`prefect_api` leaves an already configured URL alone when asked to.

Every flow body runs inside `timed_flow`, which first makes sure the process logs JSON lines:
Prefect's runner executes scheduled runs in a fresh (spawned) subprocess that never went through
`ledgerline`'s entry point, where only Prefect's console handler (plain text, WARNING and up)
sits on the root logger.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Any

from platform_common.config import Settings, get_settings
from platform_common.logging import configure_logging

log = logging.getLogger(__name__)


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


def ensure_json_logging(level: str | None = None) -> bool:
    """JSON lines on stderr unless the process already has them (idempotent); True if it set
    them up now. Prefect's console handler comes off the root logger, or our lines would be
    printed a second time in its format; Prefect's own loggers keep their handlers."""
    root = logging.getLogger()
    if any(getattr(handler, "_ledgerline", False) for handler in root.handlers):
        return False
    configure_logging(level or get_settings().log_level)
    from prefect.logging.handlers import PrefectConsoleHandler

    for handler in list(root.handlers):
        if isinstance(handler, PrefectConsoleHandler):
            root.removeHandler(handler)
    return True


@contextlib.contextmanager
def timed_flow(name: str) -> Iterator[dict[str, Any]]:
    """The body of flow `name`: JSON logging ensured, wall time in `info["seconds"]` and logged.

    Durations are not a metric here: a flow run's process is not scraped. `orchestration serve`
    exports the flow runs' durations from the Prefect API instead (`orchestration.metrics`)."""
    ensure_json_logging()
    started = time.perf_counter()
    info: dict[str, Any] = {}
    try:
        yield info
    except BaseException:
        log.warning("flow failed", extra={"flow": name, "seconds": round(time.perf_counter() - started, 3)})
        raise
    info["seconds"] = time.perf_counter() - started
    log.info("flow finished", extra={"flow": name, "seconds": round(info["seconds"], 3)})
