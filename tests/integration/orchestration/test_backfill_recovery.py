"""A backfill with a visible effect: the warehouse lost, Kafka's raw history gone, a lake backfill
brings the warehouse back to what the live run had; interrupted, it resumes where it stopped;
asked for again, it changes nothing.

Why this scenario: a backfill re-publishes raw events through the normal path, and the stream
processor drops every event id it already accepted (within `dedupe_retention_days`), so
re-sending into the live processor can never restore a row (the other module's
`test_backfill_twice_changes_nothing` shows that side). A backfill changes the warehouse when the
processor has not seen the events: here the documented recovery from the lake
(`sinks.warehouse.reset_for_rebuild(..., "latest")`: "a lake replay re-publishes history")
with a processor under a new app id (fresh consumer group, de-duplication and watermark state).
The raw topics' records are deleted first, as retention would, so every restored row can only
have come through the backfill. Subscriptions are replayed (and processed) before the other
families, as the live load sent them: payments need their subscription, and a payment parked
and released later is judged against another watermark than it was live.
"""

from __future__ import annotations

import pytest
from confluent_kafka import TopicPartition

import orchestration.backfill as backfill_module
from orchestration import drain, kafka_state, processes
from orchestration.backfill import BackfillRequest
from orchestration.backfill_flow import progress_hook, run_backfill
from orchestration.processes import PipelinePorts
from orchestration.scratch import free_port
from platform_common.config import Settings
from platform_common.kafka import make_admin
from platform_common.topics import Family, raw_topic
from sinks.warehouse import reset_for_rebuild

from .backfill_helpers import PROVENANCE, run_status, stored_checkpoints, warehouse_checksums
from .conftest import Pipeline

pytestmark = pytest.mark.timeout(900)
STAGES = ("stream-0", "lake-sink", "warehouse-sink")
EVENT_TABLES = ("subscription_event", "payment_event", "usage_event", "cost_event")
CHUNK = 5


class Interrupted(RuntimeError):
    pass


def _raw_marks(settings: Settings) -> dict[tuple[str, int], tuple[int, int]]:
    return kafka_state.watermarks(settings, [raw_topic(family, settings.kafka.topic_prefix) for family in Family])


def _delete_raw_records(settings: Settings) -> int:
    """Delete every record of the raw topics, as retention would; returns how many went."""
    marks = _raw_marks(settings)
    doomed = [TopicPartition(topic, partition, high) for (topic, partition), (low, high) in marks.items() if high > low]
    admin = make_admin(settings)  # kept referenced until the futures are done
    for future in admin.delete_records(doomed, operation_timeout=30).values():
        future.result(timeout=60)
    assert all(low == high for low, high in _raw_marks(settings).values())
    return sum(high - low for low, high in marks.values())


def _rows(sums: dict[str, str], table: str) -> int:
    return int(sums[table].split(":")[0])


def test_a_lake_backfill_restores_a_lost_warehouse_resumes_after_an_interruption_and_then_changes_nothing(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = pipeline.settings
    live = warehouse_checksums(settings, PROVENANCE)
    assert all(_rows(live, table) > 0 for table in EVENT_TABLES), live

    # The disaster: processor state and warehouse lost, Kafka's raw history past retention.
    processes.stop_pipeline(settings)
    originals = _delete_raw_records(settings)
    rebuilt = settings.model_copy(
        update={"stream": settings.stream.model_copy(update={"app_id": "ledgerline-stream-rebuilt"})}
    )
    reset_for_rebuild(rebuilt, start_from="latest")
    wrong = warehouse_checksums(rebuilt, PROVENANCE)
    assert all(_rows(wrong, table) == 0 for table in EVENT_TABLES)
    ports = PipelinePorts(free_port(), free_port(), free_port(), free_port())
    specs = [
        spec
        for spec in processes.pipeline_specs(rebuilt, ports, pipeline.data.reference_path, lake_batch_seconds=2.0)
        if spec.name in STAGES
    ]
    processes.start_pipeline(rebuilt, specs, print, timeout_s=120)
    urls = [spec.metrics_url for spec in specs if spec.name.startswith("stream-")]

    # Subscriptions first, interrupted after the first acknowledged chunk of a partition.
    subscriptions = BackfillRequest((Family.SUBSCRIPTION,), "lake")
    others = BackfillRequest((Family.PAYMENT, Family.USAGE, Family.OPERATIONAL_COST), "lake")
    run_id = subscriptions.run_id(rebuilt)
    before: dict[str, int] = {}

    def stop_after_a_chunk(stage: str, done: int, total: int) -> None:
        before[stage] = done
        if stage != "plan" and done >= CHUNK and done < total:
            raise Interrupted(f"{stage}: stopped after {done} of {total}")

    with monkeypatch.context() as small, progress_hook(stop_after_a_chunk):
        small.setattr(backfill_module, "CHUNK", CHUNK)
        with pytest.raises(Interrupted):
            run_backfill(rebuilt, subscriptions)
    done_before = sum(count for stage, count in before.items() if stage != "plan")
    status = run_status(rebuilt, run_id)
    assert status is not None
    assert status[0] == "failed"
    assert status[1] + status[2] == done_before  # what the checkpoints recorded is what was sent
    planned = sum(end - start for _, _, start, end, *_ in stored_checkpoints(rebuilt, run_id))
    assert 0 < done_before < planned
    drain.wait_drained(rebuilt, urls, 120, print, interval_s=1.0)
    partial = warehouse_checksums(rebuilt, PROVENANCE)
    assert 0 < _rows(partial, "subscription_event") < _rows(live, "subscription_event")

    handled: dict[str, int] = {}
    with progress_hook(lambda stage, done, total: handled.__setitem__(stage, done)):
        resumed = run_backfill(rebuilt, subscriptions)  # the same request: the same run, resumed
    assert resumed.run_id == run_id
    assert not resumed.already_complete
    assert sum(count for stage, count in handled.items() if stage != "plan") == planned - done_before
    assert all(c.next_offset == c.end_offset for c in resumed.partitions)
    drain.wait_topic_processed(rebuilt, Family.SUBSCRIPTION, timeout_s=120)

    rest = run_backfill(rebuilt, others)
    assert resumed.published + rest.published == originals  # every archived raw record, once
    assert resumed.skipped == rest.skipped == 0
    drain.wait_drained(rebuilt, urls, 300, print, interval_s=1.0)
    assert warehouse_checksums(rebuilt, PROVENANCE) == live  # wrong -> right

    # The same backfills again: complete, nothing sent, nothing changes.
    restored = warehouse_checksums(rebuilt)  # provenance included
    marks = _raw_marks(rebuilt)
    for request, first in ((subscriptions, resumed), (others, rest)):
        again = run_backfill(rebuilt, request)
        assert again.already_complete
        assert (again.run_id, again.published) == (first.run_id, first.published)
    assert _raw_marks(rebuilt) == marks
    drain.wait_drained(rebuilt, urls, 120, print, interval_s=1.0)
    assert warehouse_checksums(rebuilt) == restored

    # Forced (--restart): everything re-sent; the processor has seen every event now.
    forced = run_backfill(rebuilt, others, restart=True)
    assert forced.published == rest.published
    assert forced.skipped > 0  # the lake now also holds the first pass's copies, skipped
    drain.wait_drained(rebuilt, urls, 300, print, interval_s=1.0)
    assert warehouse_checksums(rebuilt) == restored
