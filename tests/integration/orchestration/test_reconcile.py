"""Reconcile passes on a healthy pipeline and fails where it must: a broken MRR bridge, a count
balance broken by raw messages retention deleted before the processor read them, a warehouse row
lost after retention deleted its clean message; outputs retention deleted are counted from the
warehouse or the lake, and only a term no store can account for is "unverified". The flow run
ends Failed under Prefect, the CLI exits 1, and /metrics reports the latest verdict.

Real Kafka, Postgres, MinIO and pipeline processes: one pipeline for the module, used in order;
each test puts back what it changed (deleted topic records stay deleted), except the last (the
stream worker's lost raw messages).
Cheap on purpose: a reconcile run is scoped to the family a test is about, the CLI and the flow
run only where their own behaviour is asserted, and the MRR cases ask the bridge checks directly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from confluent_kafka import TopicPartition
from psycopg import sql

from deploy.local_stack.process import read_pid, stop_group
from orchestration import drain, kafka_state, processes
from orchestration.env import settings_env
from orchestration.reconcile import EVENT_TABLES, mrr_bridge_checks
from orchestration.reconcile_flow import ReconcileReport, reconcile_flow, run_reconcile
from orchestration.reconcile_store import ReconcileResults, latest_result
from orchestration.scan import SOURCE_HEADER, header_value, scan_quarantine
from platform_common.config import Settings
from platform_common.kafka import make_admin, make_consumer, make_producer
from platform_common.postgres import Role, connect
from platform_common.s3 import client_kwargs
from platform_common.stream_counts import read_processor_counts
from platform_common.topics import Family, clean_topic, quarantine_topic, raw_topic

from .conftest import Pipeline

pytestmark = pytest.mark.timeout(600)
LEDGERLINE = Path(sys.executable).parent / "ledgerline"


CliResult = tuple[int, dict[str, Any], str]


def start_cli(settings: Settings, *args: str, prefect_url: str | None = None) -> Callable[[], CliResult]:
    """Start `ledgerline reconcile ... --json` against `settings` in the background (a run is
    read-only, so several may overlap); the function returned waits for it: exit code, JSON
    report, stderr."""
    env = {**os.environ, **settings_env(settings)}
    command = [str(LEDGERLINE), "reconcile", "--json", *args]
    if prefect_url is None:
        command.append("--no-prefect")
    else:
        env["LEDGERLINE_PREFECT__API_URL"] = prefect_url
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def result() -> CliResult:
        try:
            stdout, stderr = process.communicate(timeout=300)
        finally:
            process.kill()  # a no-op once it has exited
        reports = [line for line in stdout.splitlines() if line.startswith("{")]
        return process.returncode, json.loads(reports[-1]) if reports else {}, stderr[-3000:]

    return result


def cli(settings: Settings, *args: str, prefect_url: str | None = None) -> CliResult:
    return start_cli(settings, *args, prefect_url=prefect_url)()


def stored_runs(settings: Settings, count: int) -> set[tuple[bool, bool, int, int]]:
    """(allow_unverified, ok, mismatches, unverified) of this stack's latest `count` stored runs."""
    with connect(Role.WRITER, settings) as conn:
        rows = conn.execute(
            "SELECT allow_unverified, ok, mismatches, unverified FROM platform.reconcile_run"
            " WHERE topic_prefix = %s ORDER BY run_id DESC LIMIT %s",
            (settings.kafka.topic_prefix, count),
        ).fetchall()
    return {(bool(a), bool(b), int(c), int(d)) for a, b, c, d in rows}


def check(report: ReconcileReport | dict[str, Any], name: str) -> dict[str, Any]:
    data = report.as_dict() if isinstance(report, ReconcileReport) else report
    return next(item for item in data["checks"] if item["name"] == name)


def gauges(settings: Settings) -> dict[str, float]:
    return {
        family.name: sample.value
        for family in ReconcileResults(settings).collect()
        for sample in family.samples
        if not sample.labels
    }


def test_healthy_pipeline_balances_and_passes_as_flow_and_cli(pipeline: Pipeline, prefect_server: str) -> None:
    settings = pipeline.settings
    as_flow = start_cli(settings, "--family", "payment", prefect_url=prefect_server)  # meanwhile: CLI -> flow
    report = run_reconcile(settings)
    assert report.ok, report.failures
    durable = read_processor_counts(settings)
    for family in Family:
        balance = check(report, f"balance:{family.value}")
        assert balance["status"] == "ok", balance
        totals = balance["totals"]
        assert totals["received"] > 0
        assert totals["received"] == totals["processor_raw"]
        counted = [c for c in durable.counts.values() if c.family == family.value]
        assert totals["duplicates"] == sum(c.duplicate for c in counted)  # from the durable record
        assert totals["clean"] + totals["quarantined"] + totals["duplicates"] + totals["parked"] == totals["received"]
        assert balance["pending"] == 0
        assert balance["archived"] == {}  # nothing trimmed yet: every term from the topics
    assert sum(check(report, f"balance:{f.value}")["totals"]["quarantined"] for f in Family) > 0
    code, data, stderr = as_flow()  # the flow run completed, so the CLI exits 0
    assert code == 0, stderr
    assert data["ok"] is True
    assert check(data, "balance:payment")["status"] == "ok"

    stored = latest_result(settings)  # either run's: both passed
    assert stored is not None
    assert (stored["ok"], stored["mismatches"], stored["unverified"]) == (True, 0, 0)
    assert gauges(settings) == {
        "ledgerline_reconcile_mismatches": 0.0,
        "ledgerline_reconcile_unverified": 0.0,
        "ledgerline_reconcile_ok": 1.0,
        "ledgerline_reconcile_last_run_timestamp_seconds": pytest.approx(stored["finished_at"].timestamp()),
    }


@contextmanager
def _bridge(settings: Settings, corrupted: Callable[[list[str]], str]) -> Iterator[None]:
    """Swap warehouse.mrr_movement_monthly for a SELECT over the real view (renamed to
    mrr_movement_monthly_good) built by `corrupted` from its columns: a wrongly derived movement,
    as a bad migration of the movement views would produce."""
    with connect(Role.ADMIN, settings) as conn:
        columns = [
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'warehouse'"
                " AND table_name = 'mrr_movement_monthly' ORDER BY ordinal_position"
            ).fetchall()
        ]
        conn.execute("ALTER VIEW warehouse.mrr_movement_monthly RENAME TO mrr_movement_monthly_good")
        conn.execute(sql.SQL("CREATE VIEW warehouse.mrr_movement_monthly AS {}").format(sql.SQL(corrupted(columns))))
    try:
        yield
    finally:
        with connect(Role.ADMIN, settings) as conn:
            conn.execute("DROP VIEW IF EXISTS warehouse.mrr_movement_monthly")
            conn.execute("ALTER VIEW warehouse.mrr_movement_monthly_good RENAME TO mrr_movement_monthly")


def test_broken_mrr_bridge_is_reported_and_fails(pipeline: Pipeline, prefect_server: str) -> None:
    settings = pipeline.settings
    with connect(Role.WRITER, settings) as conn:
        first = conn.execute(
            "SELECT month_start_date, region_id, plan_id, currency FROM warehouse.mrr_movement_monthly"
            " WHERE new_mrr_minor > 0 ORDER BY 1, 2, 3, 4 LIMIT 1"
        ).fetchone()
    assert first is not None, "three months of history have new MRR"
    key = "(month_start_date, region_id, plan_id, currency) = ({})".format(", ".join(f"'{value}'" for value in first))

    def one_too_high(columns: list[str]) -> str:  # one segment's new MRR booked 1.00 too high
        selected = ", ".join(
            f"new_mrr_minor + CASE WHEN {key} THEN 100 ELSE 0 END AS new_mrr_minor" if c == "new_mrr_minor" else c
            for c in columns
        )
        return f"SELECT {selected} FROM warehouse.mrr_movement_monthly_good"

    with _bridge(settings, one_too_high):  # opening + movements no longer reach closing
        bridge, continuity = mrr_bridge_checks(settings)
        assert (bridge.name, bridge.status) == ("mrr_bridge", "mismatch")
        assert len(bridge.data["breaks"]) == 1
        assert bridge.data["breaks"][0][:4] == [str(value) for value in first]
        assert bridge.data["breaks"][0][-1] == "100"  # the difference, in minor units
        assert (continuity.name, continuity.status) == ("mrr_continuity", "ok")

        state = reconcile_flow([Family.SUBSCRIPTION.value], settings=settings, return_state=True)
        assert state.is_failed(), state
        assert "mrr_bridge" in str(state.message)
        stored = latest_result(settings)
        assert stored is not None
        assert (stored["ok"], stored["mismatches"]) == (False, 1)

    # One segment's row missing: the bridge's closing no longer equals the subscriptions snapshot.
    with _bridge(settings, lambda _: f"SELECT * FROM warehouse.mrr_movement_monthly_good WHERE NOT {key}"):
        assert [c.status for c in mrr_bridge_checks(settings)] == ["ok", "mismatch"]
        code, data, stderr = cli(settings, "--family", "subscription")
        assert code == 1, stderr
        assert data["ok"] is False
        assert [item.split(":")[0] for item in data["mismatches"]] == ["mrr_continuity"]
    assert all(c.ok for c in mrr_bridge_checks(settings))


def delete_records(settings: Settings, topic: str, partition: int, before: int) -> None:
    """What retention does: the partition's messages below `before` are gone."""
    admin = make_admin(settings)  # kept referenced until the futures resolve
    for future in admin.delete_records([TopicPartition(topic, partition, before)]).values():
        future.result(timeout=60)


def _trim_target(settings: Settings) -> tuple[Family, int]:
    """(family, partition) whose raw partition has quarantine records and a clean partition with
    messages to keep and to delete: the one with the most quarantine records (not payment, the last
    test's family)."""
    prefix = settings.kafka.topic_prefix
    topic = quarantine_topic(prefix)
    candidates: dict[tuple[Family, int], int] = {}
    marks = kafka_state.watermarks(settings, [topic, *(clean_topic(f, prefix) for f in Family)])
    for item in scan_quarantine(settings, topic, marks):
        family = next((f for f in Family if raw_topic(f, prefix) == item.source_topic), None)
        low, high = marks[(clean_topic(family, prefix), item.source_partition)] if family else (0, 0)
        if family is not None and family is not Family.PAYMENT and high - low >= 4:
            candidates[(family, item.source_partition)] = candidates.get((family, item.source_partition), 0) + 1
    assert candidates, "the sample history quarantines records of a family whose clean partition has messages"
    return max(candidates, key=lambda item: candidates[item])


@contextmanager
def _warehouse_offset(settings: Settings, topic: str, partition: int, offset: int) -> Iterator[None]:
    """The warehouse sink's stored offset of (topic, partition) set to `offset` for a while, as if it
    had loaded only that far (it only writes it again with the next batch of that partition)."""
    consumer = drain.groups(settings).warehouse_consumer
    where = "WHERE consumer_name = %(consumer)s AND topic = %(topic)s AND partition = %(partition)s"
    names = {"consumer": consumer, "topic": topic, "partition": partition}
    with connect(Role.WRITER, settings) as conn:
        row = conn.execute(f"SELECT next_offset FROM platform.consumer_offset {where}", names).fetchone()
        assert row is not None
        conn.execute(
            f"UPDATE platform.consumer_offset SET next_offset = %(offset)s {where}", {**names, "offset": offset}
        )
    try:
        yield
    finally:
        with connect(Role.WRITER, settings) as conn:
            conn.execute(
                f"UPDATE platform.consumer_offset SET next_offset = %(offset)s {where}", {**names, "offset": row[0]}
            )


@contextmanager
def _lake_manifests_hidden(settings: Settings, topic: str, partition: int) -> Iterator[int]:
    """The lake's manifests of (topic, partition) moved away for a while (yields how many)."""
    from sinks.lake import LakeReader
    from sinks.lake.envelope import QUARANTINE_FAMILY
    from sinks.lake.layout import manifest_key

    bucket = settings.s3.lake_bucket
    s3: Any = boto3.session.Session().client("s3", **client_kwargs(settings))
    keys = [
        manifest_key(item.key)
        for item in LakeReader(settings).list_objects(QUARANTINE_FAMILY)
        if (item.topic, item.partition) == (topic, partition)
    ]
    saved = {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}
    for key in keys:
        s3.delete_object(Bucket=bucket, Key=key)
    try:
        yield len(keys)
    finally:
        for key, body in saved.items():
            s3.put_object(Bucket=bucket, Key=key, Body=body)


def test_outputs_deleted_by_retention_are_counted_from_the_warehouse_and_lake(pipeline: Pipeline) -> None:
    """Retention deletes the start of a clean partition and a whole quarantine partition: the
    balance stays verified and ok, its clean term counted from the warehouse's event rows, its
    quarantined term from the lake's quarantine archive or else warehouse.quarantine_event. A
    warehouse row lost after its clean message was deleted is a mismatch; only when no store
    holds the deleted quarantine records is the balance unverified (failing unless allowed)."""
    settings = pipeline.settings
    prefix = settings.kafka.topic_prefix
    family, partition = _trim_target(settings)
    name = f"balance:{family.value}"
    clean, quarantine = clean_topic(family, prefix), quarantine_topic(prefix)
    marks = kafka_state.watermarks(settings, [clean, quarantine])
    (clean_low, clean_high), (_, quarantine_high) = marks[(clean, partition)], marks[(quarantine, partition)]
    trim_to = (clean_low + clean_high) // 2
    delete_records(settings, clean, partition, trim_to)
    delete_records(settings, quarantine, partition, quarantine_high)

    report = run_reconcile(settings, [family])
    assert report.ok, report.failures
    balance = check(report, name)
    assert balance["status"] == "ok", balance
    assert balance["totals"]["received"] == balance["totals"]["processor_raw"]
    assert balance["totals"]["quarantined"] > 0
    assert balance["archived"] == {
        str(partition): [
            f"clean below {clean}/{partition}@{trim_to}: warehouse event rows (one per event)",
            f"quarantined below {quarantine}/{partition}@{quarantine_high}: the lake's archive of the quarantine topic",
        ]
    }
    terms = balance["totals"]

    table = sql.Identifier("warehouse", EVENT_TABLES[family])
    kept = sql.Identifier("warehouse", f"reconcile_test_{uuid.uuid4().hex[:8]}")
    with _lake_manifests_hidden(settings, quarantine, partition) as hidden:  # the lake lost them ...
        assert hidden > 0
        with connect(Role.ADMIN, settings) as conn:  # ... and the warehouse a row whose clean message is gone
            query = (
                "CREATE TABLE {kept} AS SELECT * FROM {table} WHERE kafka_topic = %s AND kafka_partition = %s"
                " AND kafka_offset < %s ORDER BY kafka_offset LIMIT 1"
            )
            conn.execute(sql.SQL(query).format(kept=kept, table=table), (clean, partition, trim_to))
            query = "DELETE FROM {table} WHERE event_id IN (SELECT event_id FROM {kept})"
            assert conn.execute(sql.SQL(query).format(table=table, kept=kept)).rowcount == 1
        try:
            report = run_reconcile(settings, [family])
        finally:
            with connect(Role.ADMIN, settings) as conn:
                conn.execute(sql.SQL("INSERT INTO {table} SELECT * FROM {kept}").format(table=table, kept=kept))
                conn.execute(sql.SQL("DROP TABLE {kept}").format(kept=kept))
        balance = check(report, name)
        assert balance["status"] == "mismatch", balance
        assert balance["differences"] == {str(partition): 1}  # one more received than accounted for
        assert balance["totals"] == {**terms, "clean": terms["clean"] - 1}  # quarantined: from the warehouse
        assert balance["archived"][str(partition)][1].endswith(
            ": warehouse.quarantine_event (raw source of each record)"
        )
        assert check(report, f"warehouse_rows:{family.value}")["status"] == "ok"  # only the balance sees it
        assert report.mismatches == [f"{name}: {balance['detail']}"]

        with _warehouse_offset(settings, quarantine, partition, 0):  # ... nor had the warehouse loaded them
            refused = start_cli(settings, "--family", family.value)
            allowed = start_cli(settings, "--family", family.value, "--allow-unverified")
            (code, data, stderr), (allowed_code, allowed_data, allowed_stderr) = refused(), allowed()
    assert code == 1, stderr
    balance = check(data, name)
    assert balance["status"] == "unverified", balance
    assert f"{quarantine}/{partition} trimmed below offset {quarantine_high}" in balance["detail"]
    assert "the lake's quarantine archive does not tile" in balance["detail"]
    assert "the warehouse sink loaded it up to offset 0" in balance["detail"]
    assert (data["ok"], data["mismatches"], len(data["unverified"])) == (False, [], 1)
    assert allowed_code == 0, allowed_stderr
    assert allowed_data["ok"] is True
    assert check(allowed_data, name)["status"] == "unverified"
    assert stored_runs(settings, 2) == {(False, False, 0, 1), (True, True, 0, 1)}
    assert gauges(settings)["ledgerline_reconcile_unverified"] == 1.0


def _raw_message_emitted_clean(settings: Settings, family: Family) -> tuple[int, Any]:
    """(partition, raw message) of the first message on `family`'s clean topic."""
    topic = clean_topic(family, settings.kafka.topic_prefix)
    marks = kafka_state.watermarks(settings, [topic])
    partition = next(p for (_, p), (low, high) in sorted(marks.items()) if high > low)
    consumer = make_consumer(f"test-reconcile-{uuid.uuid4().hex[:8]}", settings)
    try:
        consumer.assign([TopicPartition(topic, partition, marks[(topic, partition)][0])])
        message = consumer.consume(1, timeout=20)[0]
        source = header_value(message.headers(), SOURCE_HEADER)
        assert source is not None
        raw_name, raw_partition, raw_offset = source.decode().rsplit("/", 2)
        consumer.assign([TopicPartition(raw_name, int(raw_partition), int(raw_offset))])
        original = consumer.consume(1, timeout=20)[0]
        assert original.error() is None
        return int(raw_partition), original
    finally:
        consumer.close()


def _produce_copies(settings: Settings, original: Any, partition: int, count: int) -> None:
    producer = make_producer(settings)
    for _ in range(count):
        producer.produce(
            original.topic(), original.value(), original.key(), partition=partition, headers=original.headers()
        )
    assert producer.flush(30) == 0


def _wait(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_raw_messages_lost_before_processing_break_the_balance(pipeline: Pipeline, prefect_server: str) -> None:
    """The stream worker is down; retention deletes raw messages it never read (the lake sink did
    archive them). Its counts stay balanced by themselves, but received (topic + lake) exceeds
    clean + quarantined + duplicates + parked by exactly the lost messages. Last in the module:
    the loss stays."""
    settings = pipeline.settings
    family, lost = Family.PAYMENT, 3
    partition, original = _raw_message_emitted_clean(settings, family)
    topic = raw_topic(family, settings.kafka.topic_prefix)
    spec = next(spec for spec in pipeline.specs if spec.name == "stream-0")
    pid = read_pid(processes.run_dir(settings) / f"{processes.PID_PREFIX}{spec.name}.pid")
    assert pid is not None
    stop_group(pid, 30)
    try:
        end = kafka_state.watermarks(settings, [topic])[(topic, partition)][1]
        _produce_copies(settings, original, partition, lost)  # offsets end .. end + lost - 1
        lake_group = drain.groups(settings).lake
        _wait(
            lambda: (
                (kafka_state.committed(settings, lake_group, [(topic, partition)])[(topic, partition)] or 0)
                >= end + lost
            ),
            60,
            "the lake sink to archive the copies",
        )
        delete_records(settings, topic, partition, end + lost)
        _produce_copies(settings, original, partition, 1)  # the worker sees this one: a duplicate
    finally:
        new_pid, _ = processes.start_process(settings, spec, print)
        processes.wait_healthy(spec, new_pid, 180)

    def processed() -> bool:
        counts = read_processor_counts(settings).counts.get((family.value, partition))
        return counts is not None and counts.next_offset >= end + lost + 1

    _wait(processed, 120, "the worker to process past the deleted messages")

    as_flow = start_cli(settings, "--family", family.value, prefect_url=prefect_server)
    allowed = start_cli(settings, "--family", family.value, "--allow-unverified")
    (code, data, stderr), (allowed_code, allowed_data, allowed_stderr) = as_flow(), allowed()
    assert code == 1, stderr  # the flow run failed
    balance = check(data, f"balance:{family.value}")
    assert balance["status"] == "mismatch", balance
    assert balance["differences"] == {str(partition): lost}
    assert balance["totals"]["received"] == balance["totals"]["processor_raw"] + lost
    assert [item.split(":")[0] for item in data["mismatches"]] == ["balance"]
    assert data["mismatches"][0].startswith(f"balance:{family.value}: ")
    assert allowed_code == 1, allowed_stderr  # a mismatch is never excused
    assert check(allowed_data, f"balance:{family.value}")["status"] == "mismatch"
    stored = latest_result(settings)
    assert stored is not None
    assert (stored["ok"], stored["mismatches"]) == (False, 1)
    assert gauges(settings)["ledgerline_reconcile_mismatches"] == 1.0
    assert gauges(settings)["ledgerline_reconcile_ok"] == 0.0
