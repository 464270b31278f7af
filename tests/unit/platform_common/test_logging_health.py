from __future__ import annotations

import json
import logging

import pytest

from platform_common.health import run_checks
from platform_common.logging import JsonFormatter, trace_id_var


def test_json_log_line_carries_trace_id_and_extras() -> None:
    record = logging.LogRecord("sink", logging.INFO, __file__, 1, "batch written", None, None)
    record.rows = 42
    token = trace_id_var.set("trace-123")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        trace_id_var.reset(token)
    assert line["message"] == "batch written"
    assert line["trace_id"] == "trace-123"
    assert line["rows"] == 42
    assert line["ts"].endswith("+00:00")


def test_health_report_marks_failures_without_raising() -> None:
    def broken() -> None:
        raise ConnectionError("refused")

    report = run_checks([("kafka", lambda: None), ("postgres", broken)])
    assert not report.is_healthy
    body = report.as_dict()
    assert body["status"] == "degraded"
    checks = body["checks"]
    assert isinstance(checks, dict)
    assert checks["kafka"]["ok"] is True
    assert checks["postgres"]["ok"] is False
    assert "refused" in checks["postgres"]["detail"]


@pytest.mark.parametrize("healthy", [True, False])
def test_health_status_word(healthy: bool) -> None:
    def check() -> None:
        if not healthy:
            raise RuntimeError("down")

    assert run_checks([("x", check)]).as_dict()["status"] == ("ok" if healthy else "degraded")
