from __future__ import annotations

import json
import logging

import pytest

from platform_common.health import run_checks
from platform_common.logging import JsonFormatter, trace_id_in, trace_id_var, trace_ids_field, traced


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


def test_traced_tags_lines_inside_the_block_only() -> None:
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "quarantined", None, None)
    with traced("trace-7"):
        inside = json.loads(JsonFormatter().format(record))
    outside = json.loads(JsonFormatter().format(record))
    assert inside["trace_id"] == "trace-7"
    assert "trace_id" not in outside


def test_trace_ids_field_is_distinct_ordered_and_capped() -> None:
    ids = [b"b", "a", None, "b", *[f"t{index}" for index in range(30)]]
    field = trace_ids_field(ids, cap=5)
    assert field == {"trace_ids": ["b", "a", "t0", "t1", "t2"], "trace_id_count": 32}


def test_trace_id_in_reads_the_trace_header_of_a_kafka_message() -> None:
    assert trace_id_in([("late", b"true"), ("trace_id", b"t-9")]) == "t-9"
    assert trace_id_in([("trace_id", "t-str")]) == "t-str"
    assert trace_id_in([("trace_id", None), ("trace_id", b"")]) is None
    assert trace_id_in(None) is None
