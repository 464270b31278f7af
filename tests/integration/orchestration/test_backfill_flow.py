"""The backfill as Prefect runs it, resumption and offset ranges, on real Kafka and Postgres.

No pipeline here: the raw messages are opaque bytes of our own (a backfill never decodes), and
what a backfill did is read back from the raw topic (each copy names its original in
`ledgerline-backfill-source`) and from its stored checkpoints. Flows run in-process against
Prefect's test server; one runs the way Prefect's runner runs a scheduled run (`python -m
prefect.engine` in a new process) to check its log lines.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import orchestration.backfill as backfill_module
import orchestration.backfill_flow as backfill_flow_module
from orchestration.backfill import BACKFILL_HEADER, BackfillRequest, OffsetRange
from orchestration.backfill_flow import backfill_flow, progress_hook, run_backfill
from orchestration.env import settings_env
from orchestration.metrics import BackfillProgress, FlowRuns
from orchestration.serve import deployment_names
from platform_common.config import Settings
from platform_common.topics import Family, raw_topic

from .backfill_helpers import Record, copies, produce_raw, read_topic, run_status, stored_checkpoints

pytestmark = pytest.mark.timeout(600)
ROOT = Path(__file__).resolve().parents[3]
CHUNK = 10


@pytest.fixture
def backfill_stack(fresh_database: Settings, isolated_topics: Settings) -> Settings:
    """A database and topic prefix of this test's own."""
    return fresh_database.model_copy(update={"kafka": isolated_topics.kafka})


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> int:
    """Chunks of 10 messages, so a few dozen messages make several checkpoints."""
    monkeypatch.setattr(backfill_module, "CHUNK", CHUNK)
    return CHUNK


def _window(records: list[Record]) -> tuple[datetime, datetime]:
    """A time range around messages just produced (their Kafka timestamps are now)."""
    assert records
    return datetime.now(UTC) - timedelta(minutes=5), datetime.now(UTC) + timedelta(seconds=1)


def _assert_exactly_one_copy_each(
    settings: Settings, originals: list[Record], run_id: str, families: tuple[Family, ...]
) -> None:
    """Every original re-published once, byte for byte (key, value, its own headers), on its
    partition, and nothing else published by this run."""
    found = copies(settings, families, run_id)
    assert set(found) == {(r.topic, r.partition, r.offset) for r in originals}
    for original in originals:
        (copy,) = found[(original.topic, original.partition, original.offset)]
        assert (copy.topic, copy.partition, copy.key, copy.value) == (
            original.topic,
            original.partition,
            original.key,
            original.value,
        )
        assert copy.original_headers == original.headers


def _task_runs(flow_run_id: Any) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        return list(client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))))


def _samples(collector: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in collector.collect()
        for sample in family.samples
    }


def test_backfill_flow_republishes_the_range_once_and_a_second_run_sends_nothing(
    prefect_server: str, backfill_stack: Settings, small_chunks: int
) -> None:
    settings = backfill_stack
    originals = produce_raw(settings, Family.PAYMENT, 0, 25) + produce_raw(settings, Family.PAYMENT, 3, 12)
    start, end = _window(originals)

    state = backfill_flow(["payment"], "kafka", start, end, settings=settings, return_state=True)
    assert state.is_completed(), state
    result = state.result()
    assert not result["already_complete"]
    assert (result["published"], result["skipped"]) == (37, 0)
    _assert_exactly_one_copy_each(settings, originals, result["run_id"], (Family.PAYMENT,))
    assert run_status(settings, result["run_id"]) == ("complete", 37, 0)
    tasks = sorted(run.name.rsplit("-", 1)[0] for run in _task_runs(state.state_details.flow_run_id))
    assert tasks == ["backfill-partition", "backfill-partition", "backfill-plan"]  # only partitions with work

    # What `orchestration serve` exports, from the stored checkpoints (not from this process).
    samples = _samples(BackfillProgress(settings))
    labels = (("family", "payment"), ("outcome", "published"), ("source", "kafka"))
    assert samples[("ledgerline_backfill_messages_total", labels)] == 37
    assert samples[("ledgerline_backfill_remaining_messages", (("family", "payment"), ("source", "kafka")))] == 0
    assert samples[("ledgerline_backfill_runs", (("status", "complete"),))] == 1

    topic = raw_topic(Family.PAYMENT, settings.kafka.topic_prefix)
    before = len(read_topic(settings, topic))
    again = backfill_flow(["payment"], "kafka", start, end, settings=settings, return_state=True)
    assert again.is_completed()
    assert again.result()["already_complete"]
    assert again.result()["run_id"] == result["run_id"]
    assert len(read_topic(settings, topic)) == before  # nothing sent


def test_backfill_flow_retries_a_failed_partition_from_its_stored_checkpoint(
    prefect_server: str, backfill_stack: Settings, small_chunks: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kafka fails once mid-partition, after the first chunk was acknowledged and checkpointed:
    Prefect retries the partition task, which resumes after that chunk, and every message ends
    up re-published exactly once."""
    settings = backfill_stack
    originals = produce_raw(settings, Family.USAGE, 1, 30)
    start, end = _window(originals)
    real_read = backfill_module.read_kafka
    reads: list[tuple[int, int]] = []  # (next_offset, end_offset) each attempt started from

    def flaky_read(settings_: Settings, run_id: str, checkpoint: Any) -> Iterator[Any]:
        reads.append((checkpoint.next_offset, checkpoint.end_offset))
        for handed, message in enumerate(real_read(settings_, run_id, checkpoint)):
            if len(reads) == 1 and handed == CHUNK + 5:
                raise ConnectionError("transient: the broker went away mid-partition")
            yield message

    monkeypatch.setattr(backfill_flow_module, "read_kafka", flaky_read)
    first = originals[0].offset
    state = backfill_flow(["usage"], "kafka", start, end, settings=settings, return_state=True)
    assert state.is_completed(), state
    result = state.result()
    assert reads == [(first, first + 30), (first + CHUNK, first + 30)]  # the retry skipped the done chunk
    (partition_run,) = [r for r in _task_runs(state.state_details.flow_run_id) if r.name.startswith("backfill-part")]
    assert partition_run.run_count == 2
    assert partition_run.state is not None
    assert partition_run.state.is_completed()
    assert result["published"] == 30
    _assert_exactly_one_copy_each(settings, originals, result["run_id"], (Family.USAGE,))
    assert run_status(settings, result["run_id"]) == ("complete", 30, 0)


class Interrupted(RuntimeError):
    pass


def test_an_interrupted_backfill_resumes_where_it_stopped_and_ends_like_an_uninterrupted_one(
    backfill_stack: Settings, small_chunks: int
) -> None:
    """Interrupted after its first acknowledged chunk, the same backfill asked for again reads only
    what is left; it ends with the same copies and checkpoints as an uninterrupted backfill of
    the same messages (given as offset ranges, so it is another run)."""
    settings = backfill_stack
    originals = produce_raw(settings, Family.PAYMENT, 2, 27) + produce_raw(settings, Family.PAYMENT, 5, 8)
    start, end = _window(originals)
    request = BackfillRequest((Family.PAYMENT,), "kafka", start, end)
    run_id = request.run_id(settings)

    def stop_after_first_chunk(stage: str, done: int, total: int) -> None:
        if stage != "plan" and done >= CHUNK:
            raise Interrupted(f"{stage}: stopped after {done} of {total}")

    with progress_hook(stop_after_first_chunk), pytest.raises(Interrupted):
        run_backfill(settings, request)
    assert run_status(settings, run_id) == ("failed", CHUNK, 0)
    p2, p5 = originals[0].offset, originals[27].offset
    topic = raw_topic(Family.PAYMENT, settings.kafka.topic_prefix)
    assert [c for c in stored_checkpoints(settings, run_id) if c[2] < c[3]] == [
        (topic, 2, p2, p2 + 27, p2 + CHUNK, CHUNK, 0),  # one chunk done and recorded
        (topic, 5, p5, p5 + 8, p5, 0, 0),  # not started
    ]
    assert len(copies(settings, (Family.PAYMENT,), run_id)) == CHUNK

    handled: dict[str, int] = {}
    with progress_hook(lambda stage, done, total: handled.__setitem__(stage, done)):
        resumed = run_backfill(settings, request)  # the same parameters: the same run
    assert resumed.run_id == run_id
    assert not resumed.already_complete
    assert handled == {"plan": 0, f"{topic}/2": 27 - CHUNK, f"{topic}/5": 8}  # the done chunk was not read again
    assert (resumed.published, resumed.skipped) == (35, 0)
    _assert_exactly_one_copy_each(settings, originals, run_id, (Family.PAYMENT,))
    assert run_status(settings, run_id) == ("complete", 35, 0)

    offsets = tuple(OffsetRange(Family.PAYMENT, p, first, first + n) for p, first, n in ((2, p2, 27), (5, p5, 8)))
    uninterrupted = run_backfill(settings, BackfillRequest((), "kafka", offsets=offsets))
    assert uninterrupted.run_id != run_id
    _assert_exactly_one_copy_each(settings, originals, uninterrupted.run_id, (Family.PAYMENT,))

    def progress(rid: str) -> list[tuple[Any, ...]]:
        return [c for c in stored_checkpoints(settings, rid) if c[2] < c[3]]

    assert progress(uninterrupted.run_id) == progress(run_id)


def test_offset_ranges_republish_exactly_the_named_messages(backfill_stack: Settings) -> None:
    settings = backfill_stack
    payments = produce_raw(settings, Family.PAYMENT, 1, 20)
    usage = produce_raw(settings, Family.USAGE, 4, 10)
    p1, u4 = payments[0].offset, usage[0].offset
    offsets = (
        OffsetRange(Family.PAYMENT, 1, p1 + 5, p1 + 15),  # [5, 15) of 20
        OffsetRange(Family.USAGE, 4, u4, u4 + 3),
    )
    request = BackfillRequest((), "kafka", offsets=offsets)  # families come from the ranges
    assert request.all_families == (Family.PAYMENT, Family.USAGE)

    report = run_backfill(settings, request)
    assert (report.published, report.skipped) == (13, 0)
    assert [(c.topic, c.partition, c.start_offset, c.end_offset, c.next_offset) for c in report.partitions] == [
        (raw_topic(Family.PAYMENT, settings.kafka.topic_prefix), 1, p1 + 5, p1 + 15, p1 + 15),
        (raw_topic(Family.USAGE, settings.kafka.topic_prefix), 4, u4, u4 + 3, u4 + 3),
    ]
    _assert_exactly_one_copy_each(settings, payments[5:15] + usage[:3], report.run_id, (Family.PAYMENT, Family.USAGE))

    again = run_backfill(settings, request)
    assert again.already_complete
    assert (again.run_id, again.published) == (report.run_id, 13)

    # A range over copies re-sends none of them: the payment partition now ends with 10 copies.
    topic = raw_topic(Family.PAYMENT, settings.kafka.topic_prefix)
    tail = [r for r in read_topic(settings, topic) if r.partition == 1][-10:]
    assert all(r.header(BACKFILL_HEADER) for r in tail)
    over_copies = run_backfill(
        settings, BackfillRequest((), "kafka", offsets=(OffsetRange(Family.PAYMENT, 1, p1 + 18, tail[-1].offset + 1),))
    )
    assert (over_copies.published, over_copies.skipped) == (2, 10)
    _assert_exactly_one_copy_each(settings, payments[18:], over_copies.run_id, (Family.PAYMENT,))


def test_the_latest_flow_runs_of_this_stacks_deployments_are_exported(
    prefect_server: str, backfill_stack: Settings
) -> None:
    """`ledgerline_flow_last_run_duration_seconds` from the Prefect API: runs of this stack's
    deployments count; in-process runs (no deployment) and other stacks' deployments do not."""
    from prefect.client.orchestration import get_client
    from prefect.states import Completed, Failed, Running

    settings = backfill_stack
    mine = deployment_names(settings)[2]  # on-demand-<stack>
    other = mine + "-another-stack"

    def finished_run(deployment: str, final: Any, seconds: float) -> None:
        runner_deployment: Any = backfill_flow.to_deployment(name=deployment)  # sync here (no event loop)
        deployment_id = runner_deployment.apply()
        with get_client(sync_client=True) as client:
            run = client.create_flow_run_from_deployment(deployment_id, parameters={"families": ["payment"]})
            client.set_flow_run_state(run.id, Running(), force=True)
            time.sleep(seconds)
            client.set_flow_run_state(run.id, final, force=True)

    finished_run(mine, Failed(), 0.2)
    finished_run(mine, Completed(), 1.5)
    finished_run(other, Completed(), 0.1)
    collector = FlowRuns(settings, [backfill_flow.name], deployment_names(settings), keep_configured_api=True)
    latest = {(flow, state): (seconds, end) for flow, state, seconds, end in collector.latest_runs()}
    assert set(latest) == {("ledgerline-backfill", "COMPLETED"), ("ledgerline-backfill", "FAILED")}
    assert 1.5 <= latest[("ledgerline-backfill", "COMPLETED")][0] < 30
    assert 0.2 <= latest[("ledgerline-backfill", "FAILED")][0] < 30
    assert abs(latest[("ledgerline-backfill", "COMPLETED")][1] - time.time()) < 120
    samples = _samples(collector)
    assert (
        "ledgerline_flow_last_run_duration_seconds",
        (("flow", "ledgerline-backfill"), ("state", "COMPLETED")),
    ) in samples


def test_a_scheduled_flow_run_in_prefects_engine_subprocess_logs_json_lines(
    prefect_server: str, backfill_stack: Settings
) -> None:
    """Run a deployment's flow run the way `orchestration serve` has Prefect's runner run it:
    `python -m prefect.engine` in a new process that never went through `ledgerline`'s entry
    point (settings from LEDGERLINE_* variables, as the runner's children inherit them). It
    completes, and our log lines come out as JSON."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    settings = backfill_stack
    originals = produce_raw(settings, Family.PAYMENT, 0, 3)
    first = originals[0].offset
    runner_deployment: Any = backfill_flow.to_deployment(name=f"engine-{uuid.uuid4().hex[:8]}")
    deployment_id = runner_deployment.apply()
    with get_client(sync_client=True) as client:
        run = client.create_flow_run_from_deployment(
            deployment_id, parameters={"families": [], "offsets": [f"payment:0:{first}-{first + 3}"]}
        )
    env = {
        **os.environ,
        **settings_env(settings),
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PREFECT__FLOW_RUN_ID": str(run.id),
    }
    done = subprocess.run(
        [sys.executable, "-m", "prefect.engine"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(run.id).state
    assert state is not None
    assert state.is_completed(), done.stderr[-3000:]
    assert done.returncode == 0
    run_id = BackfillRequest((), "kafka", offsets=(OffsetRange(Family.PAYMENT, 0, first, first + 3),)).run_id(settings)
    assert run_status(settings, run_id) == ("complete", 3, 0)

    lines = done.stderr.splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    plain = [line for line in lines if not line.startswith("{")]
    # Plain text only from Prefect before the flow body starts; nothing of ours.
    assert not [line for line in plain if "backfill" in line.lower() and "flow run" not in line.lower()], plain
    finished = [r for r in records if r["message"] == "backfill finished"]
    assert [(r["level"], r["run_id"], r["published"]) for r in finished] == [("info", run_id, 3)]
    assert finished[0]["logger"].endswith("backfill_flow")  # the engine imports the entrypoint by path
    assert any(r["message"] == "flow finished" and r["flow"] == "backfill" for r in records)
