"""Prometheus metrics of the lake sink (served by `platform_common.metrics.serve_metrics`), and
the periodic progress log line that carries the same numbers."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from confluent_kafka import Consumer, TopicPartition
from prometheus_client import Counter, Gauge, Histogram

if TYPE_CHECKING:
    from sinks.lake.batch import PartitionBuffer
    from sinks.lake.sink import SinkStats

log = logging.getLogger("sinks.lake.sink")

OBJECTS_WRITTEN = Counter("ledgerline_lake_objects_written_total", "Lake objects created.", ["family"])
OBJECTS_SKIPPED = Counter(
    "ledgerline_lake_objects_existing_total",
    "Batches whose object already existed (written before a crash or by a fenced replica).",
    ["family"],
)
BYTES_WRITTEN = Counter("ledgerline_lake_bytes_written_total", "Bytes of lake objects created.", ["family"])
RECORDS_WRITTEN = Counter("ledgerline_lake_records_total", "Records archived in created objects.", ["topic"])
UNDECODABLE = Counter(
    "ledgerline_lake_undecodable_records_total", "Archived records whose value did not decode.", ["topic"]
)
BATCH_SECONDS = Histogram(
    "ledgerline_lake_batch_seconds",
    "Encode + conditional PUT of object and manifest, per batch.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
BATCH_AGE_SECONDS = Histogram(
    "ledgerline_lake_batch_age_seconds",
    "From a batch's first record arriving to its offsets being committed.",
    buckets=(0.1, 0.5, 1, 5, 15, 30, 60, 120, 300),
)
CONSUMER_LAG = Gauge("ledgerline_lake_consumer_lag", "High watermark minus committed offset.", ["topic", "partition"])
BUFFERED_BYTES = Gauge(
    "ledgerline_lake_buffered_bytes",
    "Estimated memory of records consumed but not yet in the lake (value bytes + ~1 KiB each); "
    "consuming pauses above max_buffered_bytes.",
)


def report_progress(consumer: Consumer, stats: SinkStats, buffers: Mapping[tuple[str, int], PartitionBuffer]) -> None:
    """Lag = high watermark - committed offset: what is in Kafka but not yet durable in the lake.
    Logged with the totals at the same cadence, so a stuck partition shows in the logs too."""
    total_lag = 0
    for (topic, partition), committed in stats.committed.items():
        _low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
        if high is not None and high >= 0:
            lag = max(0, high - committed)
            total_lag += lag
            CONSUMER_LAG.labels(topic, str(partition)).set(lag)
    log.info(
        "lake sink progress",
        extra={
            "records_consumed": stats.records_consumed,
            "objects_written": stats.objects_written,
            "objects_existing": stats.objects_existing,
            "partitions": len(buffers),
            "lag": total_lag,
        },
    )
    if log.isEnabledFor(logging.DEBUG):
        for (topic, partition), buffer in sorted(buffers.items()):
            log.debug(
                "lake partition state",
                extra={
                    "topic": topic,
                    "partition": partition,
                    "position": buffer.position,
                    "committed": stats.committed.get((topic, partition)),
                    "open_records": len(buffer.open.records) if buffer.open else 0,
                    "sealed_batches": len(buffer.sealed),
                    "in_flight": buffer.in_flight,
                },
            )
