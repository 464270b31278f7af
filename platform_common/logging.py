"""Structured JSON logs on stderr, one object per line, with the trace id when there is one.

A `contextvars` trace id lets the gateway, processors and sinks tag every line they log while
handling an event, so one request can be followed across processes through Kafka headers.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

# The Kafka header every stage reads and writes: the gateway (or producer helper, or loader)
# stamps it, the stream processor copies it onto clean records, the sinks keep it.
TRACE_HEADER = "trace_id"

trace_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace_id", default=None)

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        trace_id = trace_id_var.get()
        if trace_id:
            payload["trace_id"] = trace_id
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Idempotent: calling it twice leaves one handler."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_ledgerline", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._ledgerline = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("kafka", "aiokafka", "botocore", "urllib3", "httpx", "yoyo"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


@contextlib.contextmanager
def traced(trace_id: str | None) -> Iterator[None]:
    """Tag every line logged inside the block with one event's trace id (from its Kafka header),
    so a quarantine, conflict or error line can be joined to the gateway request that sent it."""
    token = trace_id_var.set(trace_id)
    try:
        yield
    finally:
        trace_id_var.reset(token)


def trace_ids_field(trace_ids: Iterable[str | bytes | None], cap: int = 20) -> dict[str, Any]:
    """Log fields naming the trace ids a batch carried: the distinct ids (first `cap`, in arrival
    order) and how many there were. Batch lines stay bounded while any request can still be
    found in the processor's and sinks' logs by its trace id."""
    distinct: dict[str, None] = {}
    for trace_id in trace_ids:
        if trace_id:
            distinct[trace_id.decode() if isinstance(trace_id, bytes) else trace_id] = None
    return {"trace_ids": list(distinct)[:cap], "trace_id_count": len(distinct)}


def trace_id_in(headers: Iterable[tuple[str, bytes | str | None]] | None) -> str | None:
    """The `trace_id` header of a Kafka message (confluent-kafka's list of pairs), if any."""
    for name, value in headers or ():
        if name == TRACE_HEADER and value:
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return None
