"""Replay from the lake: generator data through the live path (batch loader -> raw topics ->
stream processor -> clean topics -> warehouse sink, with the lake sink archiving the raw and
quarantine topics), then the warehouse rebuilt from the lake alone gives identical facts.

The rebuild follows the documented procedure for history Kafka no longer holds:
`ledgerline sink warehouse rebuild --from latest` (`reset_for_rebuild(..., "latest")`: empty
the warehouse, skip what the clean topics already hold), a stream processor under a new
`LEDGERLINE_STREAM__APP_ID` (a fresh consumer group and fresh de-duplication / watermark state:
the live run's state would drop every replayed event as a duplicate, or as too late), and
`ledgerline backfill run --source lake` re-publishing the archived raw records to the raw
topics, family by family in the loader's order (subscriptions first, as the live load did).
The raw topics' records are deleted before the replay (what retention does), so every fact of
the rebuild can only have come from the lake.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import TopicPartition
from warehouse_sink_helpers import FACT_TABLES, checksums, query

from orchestration import drain, kafka_state, processes
from orchestration.backfill import BackfillRequest
from orchestration.backfill_flow import run_backfill
from orchestration.demo_data import LOAD_ORDER, DemoParams, SendReport, load_files, prepare
from orchestration.processes import PipelinePorts, ProcessSpec
from orchestration.scratch import free_port
from platform_common.config import Settings
from platform_common.kafka import make_admin
from platform_common.topics import Family, raw_topic
from sinks.lake import LakeReader
from sinks.lake.envelope import QUARANTINE_FAMILY
from sinks.warehouse import DEMO_FX_RATES, load_fx, reset_for_rebuild

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

# Small, but with every fact table, quarantined records (unknown plans, conflicting
# duplicates), exact duplicates and late deliveries.
PARAMS = DemoParams(customers=40, months=5, seed=11, bad_share=0.02, late_share=0.02, gateway_months=0)
STAGES = ("stream-0", "lake-sink", "warehouse-sink")
MOVEMENTS = "SELECT * FROM warehouse.mrr_movement_monthly ORDER BY month_start_date, region_id, plan_id, currency"

_say = print  # the orchestration helpers' progress lines: pytest shows them when the test fails


def _specs(settings: Settings, reference: Path) -> list[ProcessSpec]:
    ports = PipelinePorts(free_port(), free_port(), free_port(), free_port())
    every = processes.pipeline_specs(settings, ports, reference, lake_batch_seconds=1.0)
    return [spec for spec in every if spec.name in STAGES]


def _wait_drained(settings: Settings, specs: list[ProcessSpec]) -> None:
    urls = [spec.metrics_url for spec in specs if spec.name.startswith("stream-")]
    drain.wait_drained(settings, urls, timeout_s=120, say=_say, interval_s=0.5)


def _delete_raw_records(settings: Settings) -> int:
    """Delete every record of the raw topics, as retention would; returns how many went."""
    topics = [raw_topic(family, settings.kafka.topic_prefix) for family in Family]
    marks = kafka_state.watermarks(settings, topics)
    doomed = [TopicPartition(topic, partition, high) for (topic, partition), (low, high) in marks.items() if high > low]
    admin = make_admin(settings)  # kept referenced until every future has its answer
    for future in admin.delete_records(doomed, operation_timeout=30).values():
        future.result(timeout=30)
    after = kafka_state.watermarks(settings, topics)
    assert all(low == high for low, high in after.values()), after
    return sum(high - low for low, high in marks.values())


@pytest.fixture
def pipeline_settings(isolated_stack: Settings, tmp_path: Path) -> Iterator[Settings]:
    """The isolated stack, with pid files and logs of the pipeline's processes under tmp_path;
    whatever was started is stopped at the end (by pid file, see orchestration.processes)."""
    settings = isolated_stack.model_copy(
        update={"services": isolated_stack.services.model_copy(update={"data_dir": tmp_path / "pipeline"})}
    )
    try:
        yield settings
    finally:
        processes.stop_pipeline(settings)


def test_rebuild_from_the_lake_gives_identical_facts(pipeline_settings: Settings, tmp_path: Path) -> None:
    settings = pipeline_settings
    data = prepare(PARAMS, tmp_path, _say)
    sink = settings.warehouse_sink.model_copy(update={"reference_path": data.reference_path})
    load_fx(settings, DEMO_FX_RATES, sink)

    # Live path.
    specs = _specs(settings, data.reference_path)
    processes.start_pipeline(settings, specs, _say, timeout_s=90)
    load_files(settings, data, SendReport(), _say)
    _wait_drained(settings, specs)
    live = checksums(settings, derived=True)
    live_movements = query(settings, MOVEMENTS)
    assert all(count > 0 for count, _ in live.values()), live
    assert live_movements
    reader = LakeReader(settings)
    for family in [*(f.value for f in Family), QUARANTINE_FAMILY]:
        assert any(key.endswith(".avro") for key in reader.list_keys(f"family={family}/")), family
    processes.stop_pipeline(settings)

    # Kafka loses the raw history; the warehouse is emptied and rebuilt from the lake alone.
    deleted = _delete_raw_records(settings)
    assert deleted > 0
    rebuild = settings.model_copy(
        update={"stream": settings.stream.model_copy(update={"app_id": "ledgerline-stream-lake-rebuild"})}
    )
    reset_for_rebuild(rebuild, sink, "latest")
    for table in FACT_TABLES:
        assert query(rebuild, f"SELECT count(*) FROM warehouse.{table}") == [(0,)], table

    specs = _specs(rebuild, data.reference_path)
    processes.start_pipeline(rebuild, specs, _say, timeout_s=90)
    # One backfill of every family: it re-publishes subscriptions first and waits for the
    # processor to take them before the rest (orchestration.backfill_order). In name order,
    # payments would wait parked for subscriptions still queued behind them and be quarantined
    # as too late once released (22 payments of this history were lost that way).
    report = run_backfill(rebuild, BackfillRequest(tuple(LOAD_ORDER), "lake"))
    published = report.published
    for family in LOAD_ORDER:
        drain.wait_topic_processed(rebuild, family, timeout_s=120)
    assert published == deleted  # every raw record came back from the lake, once
    _wait_drained(rebuild, specs)

    assert checksums(rebuild, derived=True) == live
    assert query(rebuild, MOVEMENTS) == live_movements
