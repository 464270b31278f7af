"""Backfills change nothing when run twice; reconcile agrees on a healthy pipeline and finds a
deleted warehouse row and a deleted lake object. Real Kafka, Postgres, MinIO and processes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from orchestration.backfill import BACKFILL_HEADER, BackfillRequest
from orchestration.backfill_flow import run_backfill
from orchestration.reconcile_flow import run_reconcile
from platform_common.config import Settings
from platform_common.postgres import Role, connect
from platform_common.s3 import client_kwargs
from platform_common.topics import Family

from .backfill_helpers import warehouse_checksums as checksums_without
from .conftest import Pipeline

pytestmark = pytest.mark.timeout(900)
CHECKSUM_EXCLUDED = frozenset({"loaded_at", "updated_at", "computed_at"})


def warehouse_checksums(settings: Settings) -> dict[str, str]:
    """md5 over every warehouse table's rows (load timestamps excluded), ordered."""
    return checksums_without(settings, CHECKSUM_EXCLUDED)


def test_backfill_twice_changes_nothing(pipeline: Pipeline) -> None:
    """Into the live processor a backfill has no visible effect by design (every copy's event id
    was already accepted: dropped as a duplicate), so this shows "harmless", not "idempotent";
    test_backfill_recovery.py has a backfill that changes the warehouse, and then runs it again."""
    settings = pipeline.settings
    before = warehouse_checksums(settings)
    assert int(before["payment_event"].split(":")[0]) > 0
    start = datetime.now(UTC) - timedelta(hours=2)
    request = BackfillRequest((Family.SUBSCRIPTION, Family.PAYMENT), "kafka", start, None)

    first = run_backfill(settings, request)
    assert not first.already_complete
    assert first.published > 0
    assert first.skipped == 0
    pipeline.wait_drained()
    after_first = warehouse_checksums(settings)
    assert after_first == before

    again = run_backfill(settings, request)  # same request: the stored plan is complete
    assert again.already_complete
    assert again.run_id == first.run_id

    restarted = run_backfill(settings, request, restart=True)  # forced: sent again, still no change
    assert restarted.published == first.published
    pipeline.wait_drained()
    assert warehouse_checksums(settings) == before

    lake = run_backfill(settings, BackfillRequest((Family.PAYMENT,), "lake", start, None))
    assert lake.published > 0
    pipeline.wait_drained()
    assert warehouse_checksums(settings) == before

    with connect(Role.WRITER, settings) as conn:
        status = conn.execute(
            "SELECT status, published FROM platform.backfill_run WHERE run_id = %s", (first.run_id,)
        ).fetchone()
    assert status is not None
    assert status[0] == "complete"
    assert status[1] == first.published


def test_backfill_skips_its_own_copies(pipeline: Pipeline) -> None:
    """A Kafka range that contains earlier backfill copies re-sends only the originals."""
    settings = pipeline.settings
    request = BackfillRequest((Family.PAYMENT,), "kafka", datetime.now(UTC) - timedelta(hours=2), None)
    report = run_backfill(settings, request)
    assert report.skipped > 0  # the copies published by the previous test
    assert BACKFILL_HEADER == "ledgerline-backfill"
    pipeline.wait_drained()


def test_reconcile_agrees_then_finds_a_deleted_row_and_a_deleted_lake_object(pipeline: Pipeline) -> None:
    settings = pipeline.settings
    report = run_reconcile(settings, processor_metrics=pipeline.metrics_urls)
    assert report.ok, report.mismatches
    totals = report.totals()
    assert totals["payment"]["raw"] == totals["payment"]["lake"]
    assert totals["payment"]["raw"] == (
        totals["payment"]["clean"] + totals["payment"].get("quarantined", 0) + totals["payment"].get("dropped", 0)
    )
    assert any(check.name == "mrr_bridge" and check.ok for check in report.checks)
    balances = [c for c in report.checks if c.name.startswith("balance:")]  # durable counts, not /metrics
    assert len(balances) == len(Family)
    assert all(c.status == "ok" and "balanced" in c.detail for c in balances), [c.detail for c in balances]

    with connect(Role.WRITER, settings) as conn:
        row = conn.execute("DELETE FROM warehouse.payment_event WHERE event_id = (SELECT min(event_id)"
                           " FROM warehouse.payment_event) RETURNING event_id").fetchone()  # fmt: skip
    assert row is not None
    deleted_event = row[0]
    report = run_reconcile(settings, processor_metrics=pipeline.metrics_urls)
    assert not report.ok
    check = next(c for c in report.checks if c.name == "warehouse_rows:payment")
    assert not check.ok
    assert deleted_event in check.data["missing_examples"]
    assert any(row.family == "payment" and row.counts["warehouse_missing"] == 1 for row in report.rows)

    assert any(c.name == "warehouse_quarantine" and c.ok and "0 missing" in c.detail for c in report.checks)
    with connect(Role.WRITER, settings) as conn:
        row = conn.execute("DELETE FROM warehouse.quarantine_event WHERE quarantine_id = (SELECT min(quarantine_id)"
                           " FROM warehouse.quarantine_event) RETURNING quarantine_id").fetchone()  # fmt: skip
    assert row is not None, "the small history has bad records, so the warehouse holds quarantine rows"
    report = run_reconcile(settings, processor_metrics=pipeline.metrics_urls)
    check = next(c for c in report.checks if c.name == "warehouse_quarantine")
    assert not check.ok
    assert check.data["missing_examples"] == [row[0]]

    s3 = boto3.session.Session().client("s3", **client_kwargs(settings))
    keys = [
        item["Key"]
        for item in s3.list_objects_v2(Bucket=settings.s3.lake_bucket, Prefix="family=usage/").get("Contents", [])
        if item["Key"].endswith(".avro")
    ]
    assert keys
    s3.delete_object(Bucket=settings.s3.lake_bucket, Key=keys[0])
    report = run_reconcile(settings, [Family.USAGE], processor_metrics=pipeline.metrics_urls)
    assert not report.ok
    assert any(row.family == "usage" and row.counts["lake_missing"] > 0 for row in report.rows)
    assert any(c.name == "lake_objects:usage" and not c.ok and "orphan_manifest" in c.detail for c in report.checks)
