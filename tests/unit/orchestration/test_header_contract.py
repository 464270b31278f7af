"""Stages share header names, not code: the backfill writes them, the stream processor reads them."""

from __future__ import annotations

from orchestration import backfill
from stream_processors import quarantine


def test_backfill_headers_are_the_ones_the_stream_processor_reads() -> None:
    assert backfill.BACKFILL_HEADER == quarantine.BACKFILL_HEADER
    assert backfill.SOURCE_HEADER == quarantine.BACKFILL_SOURCE_HEADER
