"""The message headers the warehouse sink reads: the stream processor's `late` flag and the
`trace_id` that travels gateway -> Kafka -> processors -> sinks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from platform_common.logging import TRACE_HEADER

Headers = Sequence[tuple[str, str | bytes | None]] | Mapping[str, str | bytes | None] | None


def is_late(headers: Headers) -> bool:
    """The stream processor's `late: true` header (any case; bytes or str)."""
    return header_facts(headers)[0]


def header_facts(headers: Headers) -> tuple[bool, str | None]:
    """(late, trace_id) from a message's headers, read in one pass."""
    late, trace_id = False, None
    items = headers.items() if isinstance(headers, Mapping) else headers or ()
    for key, value in items:
        if value is None or key not in ("late", TRACE_HEADER):
            continue
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        if key == TRACE_HEADER:
            trace_id = trace_id or text.strip() or None
        elif text.strip().lower() in ("true", "1", "yes"):
            late = True
    return late, trace_id
