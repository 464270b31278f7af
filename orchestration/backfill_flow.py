"""The backfill flow (Prefect) and its runner: plan, then one task per source partition.

`run_backfill` does the work without Prefect (the CLI's `--no-prefect`, tests); `backfill_flow`
wraps the same steps as Prefect tasks, so each partition shows up, retries and reports on its
own. Progress: the stored checkpoints (advanced after every acknowledged chunk; `orchestration
serve` exports them as `ledgerline_backfill_*` metrics, see `orchestration.metrics`), Prefect's
run logs, and an optional in-process callback (set with `progress_hook`) that the CLI turns into
a progress bar.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NONE

from orchestration.backfill import (
    BackfillReport,
    BackfillRequest,
    Checkpoint,
    OffsetRange,
    Source,
    family_of_topic,
    plan_kafka,
    read_kafka,
    republish,
)
from orchestration.backfill_order import dependency_order, needs_wait, wait_for_subscriptions
from orchestration.backfill_store import load_checkpoints, set_status, store_plan
from orchestration.prefect_env import timed_flow
from platform_common.config import Settings, get_settings
from platform_common.topics import Family, raw_topic

log = logging.getLogger(__name__)
_hooks: list[Callable[[str, int, int], None]] = []
_hooks_lock = threading.Lock()


@contextmanager
def progress_hook(callback: Callable[[str, int, int], None]) -> Iterator[None]:
    """callback(stage, done, total) while the block runs (same process, any thread)."""
    with _hooks_lock:
        _hooks.append(callback)
    try:
        yield
    finally:
        with _hooks_lock:
            _hooks.remove(callback)


def _notify(stage: str, done: int, total: int) -> None:
    for callback in list(_hooks):
        callback(stage, done, total)


def parse_offsets(values: list[str]) -> tuple[OffsetRange, ...]:
    """`family:partition:start-end` (end exclusive), e.g. `payment:3:100-250`."""
    ranges = []
    for value in values:
        try:
            family, partition, span = value.split(":")
            start, end = span.split("-")
            ranges.append(OffsetRange(Family(family), int(partition), int(start), int(end)))
        except ValueError:
            raise ValueError(f"offsets must look like family:partition:start-end, not {value!r}") from None
    return tuple(ranges)


def build_request(
    families: list[str], source: str, start: datetime | None, end: datetime | None, offsets: list[str]
) -> BackfillRequest:
    if source not in ("kafka", "lake"):
        raise ValueError("source must be kafka or lake")
    chosen: Source = "kafka" if source == "kafka" else "lake"
    return BackfillRequest(tuple(Family(f) for f in families), chosen, start, end, parse_offsets(offsets))


Plan = tuple[list[Checkpoint], dict[str, Family]]


def make_plan(settings: Settings, request: BackfillRequest, restart: bool) -> Plan:
    """The stored plan (made and stored on the first run), and each source topic's family."""
    if request.source == "lake":
        from orchestration.backfill_lake import plan_lake

        plans, families = plan_lake(settings, request)
    else:
        plans = plan_kafka(settings, request)
        families = {plan.topic: family for plan in plans if (family := family_of_topic(settings, plan.topic))}
    return store_plan(settings, request, plans, restart), families


def backfill_partition(
    settings: Settings, request: BackfillRequest, checkpoint: Checkpoint, family: Family, dry_run: bool = False
) -> Checkpoint:
    run_id = request.run_id(settings)
    if request.source == "lake":
        from orchestration.backfill_lake import read_lake

        messages = read_lake(settings, request, family, checkpoint)
    else:
        messages = read_kafka(settings, run_id, checkpoint)
    done = [0]
    total = checkpoint.remaining

    def progress(count: int) -> None:
        done[0] += count
        _notify(f"{checkpoint.topic}/{checkpoint.partition}", done[0], total)

    target = raw_topic(family, settings.kafka.topic_prefix)
    return republish(settings, run_id, checkpoint, messages, target, progress, dry_run)


def run_backfill(
    settings: Settings, request: BackfillRequest, restart: bool = False, dry_run: bool = False
) -> BackfillReport:
    """The whole backfill in this process, partition after partition. Interrupted, it is marked
    failed; asked for again, it resumes from the stored checkpoints."""
    checkpoints, families = make_plan(settings, request, restart)
    report = _start(settings, request, checkpoints, dry_run)
    if report.already_complete:
        return report
    _run_partitions(settings, request, report, (checkpoints, families), dry_run, backfill_partition)
    return _finish(settings, request, report, dry_run)


PartitionRunner = Callable[[Settings, BackfillRequest, Checkpoint, Family, bool], object]


def _run_partitions(
    settings: Settings,
    request: BackfillRequest,
    report: BackfillReport,
    plan: Plan,
    dry_run: bool,
    run_partition: PartitionRunner,
) -> None:
    """Every partition with something left, in dependency order (`backfill_order`); an
    interrupted run is marked failed, so asking again resumes it."""
    checkpoints, families = plan
    try:
        previous = None
        for checkpoint in dependency_order(checkpoints, families):
            if not dry_run and needs_wait(checkpoint, previous, families):
                wait_for_subscriptions(settings)
            if checkpoint.remaining:
                run_partition(settings, request, checkpoint, families[checkpoint.topic], dry_run)
            previous = checkpoint
    except BaseException:
        if not dry_run:
            set_status(settings, report.run_id, "failed")
        raise


def _start(
    settings: Settings, request: BackfillRequest, checkpoints: list[Checkpoint], dry_run: bool
) -> BackfillReport:
    run_id = request.run_id(settings)
    complete = all(checkpoint.remaining == 0 for checkpoint in checkpoints)
    report = BackfillReport(run_id, request.source, already_complete=complete, partitions=checkpoints)
    if complete:  # totals of the earlier run(s); nothing is sent now
        report.published = sum(c.published for c in checkpoints)
        report.skipped = sum(c.skipped for c in checkpoints)
        if not dry_run:
            set_status(settings, run_id, "complete")
        log.info("backfill already complete", extra={"run_id": run_id})
    elif not dry_run:
        set_status(settings, run_id, "running")
    _notify("plan", 0, sum(c.remaining for c in checkpoints))
    return report


def _finish(settings: Settings, request: BackfillRequest, report: BackfillReport, dry_run: bool) -> BackfillReport:
    if not dry_run:
        set_status(settings, report.run_id, "complete")
        report.partitions = load_checkpoints(settings, report.run_id)
    report.published = sum(c.published for c in report.partitions)
    report.skipped = sum(c.skipped for c in report.partitions)
    log.info("backfill finished", extra={"run_id": report.run_id, "published": report.published})
    return report


@task(name="backfill-plan", cache_policy=NONE, retries=2, retry_delay_seconds=5)
def plan_task(settings: Settings, request: BackfillRequest, restart: bool) -> Plan:
    return make_plan(settings, request, restart)


@task(name="backfill-partition", cache_policy=NONE, retries=3, retry_delay_seconds=[5, 20, 60])
def partition_task(
    settings: Settings, request: BackfillRequest, checkpoint: Checkpoint, family: Family, dry_run: bool
) -> Checkpoint:
    # A retry resumes from the stored checkpoint, not from the in-memory one.
    stored = {(c.topic, c.partition): c for c in load_checkpoints(settings, request.run_id(settings))}
    current = checkpoint if dry_run else stored.get((checkpoint.topic, checkpoint.partition), checkpoint)
    return backfill_partition(settings, request, current, family, dry_run)


@flow(name="ledgerline-backfill")
def backfill_flow(
    families: list[str],
    source: str = "kafka",
    start: datetime | None = None,
    end: datetime | None = None,
    offsets: list[str] | None = None,
    restart: bool = False,
    dry_run: bool = False,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Re-publish raw events of `families` from Kafka or the lake; idempotent and resumable."""
    resolved = settings or get_settings()
    request = build_request(families, source, start, end, offsets or [])
    with timed_flow("backfill"):
        plan = plan_task(resolved, request, restart)
        report = _start(resolved, request, plan[0], dry_run)
        if not report.already_complete:
            _run_partitions(resolved, request, report, plan, dry_run, partition_task)
            report = _finish(resolved, request, report, dry_run)
    return report.as_dict()
