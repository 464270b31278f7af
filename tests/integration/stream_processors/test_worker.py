"""One real worker (exactly-once) on its own topics, shared by every test of this module."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from platform_common.config import Settings, get_settings
from platform_common.topics import Family, clean_topic
from producers.sample_data import GenerationParams, GenerationResult, generate
from stream_processors import QuarantineReason, quarantine_cli
from stream_processors.triage import Filters, read_quarantine, replay
from tests.integration.stream_processors.helpers import (
    Worker,
    module_topics,
    outputs,
    produce,
    start_worker,
    wait_for,
)
from tests.unit.stream_processors.factory import (
    BASE,
    REFERENCE,
    cost,
    encode,
    encode_unchecked,
    generated_message,
    payment,
    subscription,
    usage,
)

pytestmark = pytest.mark.integration
# Generated history starts at BASE, so it never lands behind the watermarks earlier tests set
# (it runs last and moves them forward by two months).
GENERATION = GenerationParams(
    customers=25, months=2, start_date=date(2024, 3, 1), bad_record_share=0.08, late_share=0.03, seed=7
)


@dataclass
class Env:
    settings: Settings
    worker: Worker
    reference: Path
    generated: GenerationResult


@pytest.fixture(scope="module")
def env(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    generated = generate(GENERATION)
    tmp = tmp_path_factory.mktemp("stream-worker")
    reference = tmp / "reference.json"
    document = dict(generated.reference)
    document["plans"] = document["plans"] + REFERENCE["plans"]
    reference.write_text(json.dumps(document))
    with module_topics(stack, "sp-worker") as settings:
        worker = start_worker(
            settings,
            tmp,
            f"stream-it-{uuid.uuid4().hex[:6]}",
            reference_path=reference,
            subscription_grace_s=3,
            recheck_interval_s=0.5,
            reference_reload_s=0.5,
        )
        try:
            yield Env(settings, worker, reference, generated)
        finally:
            worker.stop()


def _uid() -> str:
    return uuid.uuid4().hex[:10]


def _clean_ids(env: Env, family: Family) -> list[str]:
    topic = clean_topic(family, env.settings.kafka.topic_prefix)
    return [o.headers["ledgerline-event-id"].decode() for o in outputs(env.settings) if o.topic == topic]


def _quarantined(env: Env) -> list[dict[str, Any]]:
    return [o.record for o in outputs(env.settings) if o.topic.endswith("quarantine")]


def _reason_cases() -> dict[QuarantineReason, list[tuple[Family, bytes, bytes]]]:
    def key(name: str) -> bytes:
        return f"cus-{name}".encode()

    future = datetime.now(UTC) + timedelta(hours=1)
    conflict = usage(customer_id="cus-conflict", event_id=f"conflict-{_uid()}")
    return {
        QuarantineReason.UNDECODABLE: [(Family.USAGE, key("undecodable"), b"not avro")],
        QuarantineReason.WRONG_FAMILY: [(Family.USAGE, key("wrong"), encode(Family.PAYMENT, payment()))],
        QuarantineReason.SCHEMA_VIOLATION: [
            (Family.USAGE, key("schema"), encode_unchecked(Family.USAGE, usage(), event_id="x" * 200))
        ],
        QuarantineReason.MISSING_FIELD: [
            (Family.USAGE, key("missing"), encode_unchecked(Family.USAGE, usage(), unit=""))
        ],
        QuarantineReason.OUT_OF_RANGE: [
            (Family.USAGE, key("range"), encode_unchecked(Family.USAGE, usage(), quantity=-1))
        ],
        QuarantineReason.INVALID_CURRENCY: [
            (Family.OPERATIONAL_COST, b"na/x", encode(Family.OPERATIONAL_COST, cost(currency="XYZ")))
        ],
        QuarantineReason.FUTURE_EVENT_TIME: [(Family.USAGE, key("future"), encode(Family.USAGE, usage(at=future)))],
        QuarantineReason.INVALID_PERIOD: [
            (Family.OPERATIONAL_COST, b"na/y", encode(Family.OPERATIONAL_COST, cost(period_end="2024-01-01")))
        ],
        QuarantineReason.UNKNOWN_PLAN: [
            (Family.SUBSCRIPTION, key("plan"), encode(Family.SUBSCRIPTION, subscription(plan_id="legacy-9-usd")))
        ],
        QuarantineReason.UNKNOWN_REGION: [(Family.USAGE, key("region"), encode(Family.USAGE, usage(region_id="mars")))],
        QuarantineReason.UNKNOWN_SUBSCRIPTION: [
            (Family.PAYMENT, key("orphan"), encode(Family.PAYMENT, payment(subscription_id=f"sub-{_uid()}")))
        ],
        QuarantineReason.INVALID_STATE_TRANSITION: [
            (Family.SUBSCRIPTION, key("state"), encode(Family.SUBSCRIPTION, subscription(subscription_id="sub-state"))),
            (
                Family.SUBSCRIPTION,
                key("state"),
                encode(
                    Family.SUBSCRIPTION,
                    subscription("canceled", subscription_id="sub-state", at=BASE + timedelta(hours=1)),
                ),
            ),
            (
                Family.SUBSCRIPTION,
                key("state"),
                encode(
                    Family.SUBSCRIPTION,
                    subscription("plan_changed", subscription_id="sub-state", at=BASE + timedelta(hours=2)),
                ),
            ),
        ],
        QuarantineReason.CONFLICTING_DUPLICATE: [
            (Family.USAGE, b"cus-conflict", encode(Family.USAGE, conflict)),
            (Family.USAGE, b"cus-conflict", encode(Family.USAGE, {**conflict, "quantity": 1})),
        ],
        QuarantineReason.TOO_LATE: [
            (Family.USAGE, key("late"), encode(Family.USAGE, usage(customer_id="cus-late"))),
            (
                Family.USAGE,
                key("late"),
                encode(Family.USAGE, usage(customer_id="cus-late", at=BASE - timedelta(days=40))),
            ),
        ],
    }


@pytest.fixture(scope="module")
def reason_records(env: Env) -> dict[str, dict[str, Any]]:
    cases = _reason_cases()
    for messages in cases.values():
        produce(env.settings, messages)
    wanted = {reason.value for reason in cases}
    found: dict[str, dict[str, Any]] = {}

    def collected() -> dict[str, dict[str, Any]] | None:
        found.update({record["reason"]: record for record in _quarantined(env)})
        return found if wanted <= set(found) else None

    try:
        return dict(wait_for(collected, timeout_s=90))
    except TimeoutError:
        metrics = {k: v for k, v in env.worker.metrics().items() if v and "payment" in k}
        pytest.fail(f"missing reasons {sorted(wanted - set(found))}; metrics {metrics}; log:\n{env.worker.tail()}")


@pytest.mark.parametrize(
    "reason", [reason for reason in QuarantineReason if reason is not QuarantineReason.PROCESSING_ERROR], ids=str
)
def test_reason_code_through_the_worker(reason_records: dict[str, dict[str, Any]], reason: QuarantineReason) -> None:
    record = reason_records[reason.value]
    assert record["format"] == "ledgerline.quarantine/v1"
    assert record["reasons"][0]["code"] == reason.value
    assert record["reasons"][0]["message"]
    assert record["source"]["topic"].endswith(".raw")
    assert record["source"]["offset"] >= 0
    assert record["payload"]["avro_b64"]
    assert (record["payload"]["json"] is None) == (reason is QuarantineReason.UNDECODABLE)
    assert record["first_seen_at"] <= record["quarantined_at"]


def test_exact_duplicate_dropped_and_late_event_flagged(env: Env) -> None:
    before = env.worker.metrics()
    event = usage(customer_id="cus-dup", event_id=f"dup-{_uid()}")
    late = usage(customer_id="cus-dup", event_id=f"late-{_uid()}", at=BASE - timedelta(days=10))
    messages = [(Family.USAGE, b"cus-dup", encode(Family.USAGE, e)) for e in (event, event, late)]
    produce(env.settings, messages)
    wait_for(lambda: {event["event_id"], late["event_id"]} <= set(_clean_ids(env, Family.USAGE)))
    after = wait_for(
        lambda: (
            (m := env.worker.metrics())['ledgerline_stream_duplicate_events_total{family="usage"}']
            > before['ledgerline_stream_duplicate_events_total{family="usage"}']
            and m
        )
    )
    assert _clean_ids(env, Family.USAGE).count(event["event_id"]) == 1
    headers = {
        o.headers["ledgerline-event-id"].decode(): o.headers
        for o in outputs(env.settings)
        if "ledgerline-event-id" in o.headers
    }
    assert headers[late["event_id"]]["late"] == b"true"
    assert headers[event["event_id"]]["late"] == b"false"
    late_metric = 'ledgerline_stream_late_events_total{family="usage"}'
    assert after[late_metric] >= before[late_metric] + 1


def test_parked_payment_is_released_when_its_subscription_arrives(env: Env) -> None:
    uid = _uid()
    ids: dict[str, Any] = {"subscription_id": f"sub-{uid}", "customer_id": f"cus-{uid}"}
    pay = payment(**ids, event_id=f"pay-{uid}")
    created = subscription(**ids, event_id=f"sub-created-{uid}")
    produce(env.settings, [(Family.PAYMENT, ids["customer_id"].encode(), encode(Family.PAYMENT, pay))])
    produce(env.settings, [(Family.SUBSCRIPTION, ids["customer_id"].encode(), encode(Family.SUBSCRIPTION, created))])
    wait_for(lambda: pay["event_id"] in _clean_ids(env, Family.PAYMENT))


def test_fixed_quarantined_record_replayed_ends_clean_exactly_once(env: Env) -> None:
    event = usage(customer_id="cus-fix", event_id=f"fix-{_uid()}")
    produce(env.settings, [(Family.USAGE, b"cus-fix", encode_unchecked(Family.USAGE, event, quantity=-7))])
    record = wait_for(lambda: next((r for r in _quarantined(env) if r["event_id"] == event["event_id"]), None))
    assert record["reason"] == "out_of_range"
    exported = next(iter(read_quarantine(env.settings, Filters(ids=frozenset({record["quarantine_id"]})))))
    exported["payload"]["json"]["quantity"] = 7  # the fix, as an operator would edit the export
    assert replay(env.settings, [exported]).replayed == [record["quarantine_id"]]
    wait_for(lambda: event["event_id"] in _clean_ids(env, Family.USAGE))
    duplicates = 'ledgerline_stream_duplicate_events_total{family="usage"}'
    before = env.worker.metrics()[duplicates]
    replay(env.settings, [exported])  # replaying twice must not count the event twice
    wait_for(lambda: env.worker.metrics()[duplicates] > before)
    assert _clean_ids(env, Family.USAGE).count(event["event_id"]) == 1
    clean = [o for o in outputs(env.settings) if o.headers.get("ledgerline-event-id") == event["event_id"].encode()]
    assert clean[0].headers["ledgerline-replay-of"] == record["quarantine_id"].encode()


def test_unchanged_replay_through_the_cli_after_reference_data_arrives(
    env: Env, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    plan = f"launch-{_uid()}-usd"
    event = subscription(plan_id=plan, subscription_id=f"sub-{_uid()}", customer_id="cus-launch")
    produce(env.settings, [(Family.SUBSCRIPTION, b"cus-launch", encode(Family.SUBSCRIPTION, event))])
    record = wait_for(lambda: next((r for r in _quarantined(env) if r["event_id"] == event["event_id"]), None))
    assert record["reason"] == "unknown_plan"

    monkeypatch.setenv("LEDGERLINE_KAFKA__TOPIC_PREFIX", env.settings.kafka.topic_prefix)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        listed = runner.invoke(quarantine_cli, ["list", "--reason", "unknown_plan", "--json"])
        assert listed.exit_code == 0, listed.output
        assert record["quarantine_id"] in listed.stdout
        shown = runner.invoke(quarantine_cli, ["show", record["quarantine_id"]])
        assert json.loads(shown.stdout)["event_id"] == event["event_id"]
        export = tmp_path / "unknown-plan.jsonl"
        assert runner.invoke(quarantine_cli, ["export", str(export), "--family", "subscription"]).exit_code == 0
        assert record["quarantine_id"] in export.read_text()

        document = json.loads(env.reference.read_text())
        document["plans"].append({"plan_id": plan, "currency": "USD"})
        env.reference.write_text(json.dumps(document))
        wait_for(lambda: env.worker.metrics().get("ledgerline_stream_seen_entries", 0) >= 0)  # worker alive
        import time

        time.sleep(2)  # > reference_reload_s + one housekeeping tick
        replayed = runner.invoke(quarantine_cli, ["replay", "--id", record["quarantine_id"]])
        assert replayed.exit_code == 0, replayed.output
    finally:
        get_settings.cache_clear()
    wait_for(lambda: event["event_id"] in _clean_ids(env, Family.SUBSCRIPTION))


def test_health_metrics_and_count_balance_with_generated_data(env: Env) -> None:
    status, body = env.worker.get("/health")
    assert status == 200
    assert json.loads(body)["status"] == "ok"
    before = env.worker.metrics()
    messages = [(family, *generated_message(family, event)) for family, event in env.generated.events()]
    produce(env.settings, messages)
    families = [family.value for family in Family]

    def delta(metrics: dict[str, float], name: str, family: str) -> float:
        labels = [key for key in metrics if key.startswith(f"ledgerline_stream_{name}") and f'family="{family}"' in key]
        return sum(metrics[key] for key in labels) - sum(before.get(key, 0.0) for key in labels)

    def settled() -> dict[str, float] | None:
        now = env.worker.metrics()
        raw = sum(delta(now, "raw_events_total", family) for family in families)
        parked = sum(delta(now, "parked_events_total", f) - delta(now, "released_events_total", f) for f in families)
        return now if raw >= len(messages) and parked <= 0 else None

    now = wait_for(settled, timeout_s=120)
    truth = env.generated.ground_truth["bad_records"]["by_kind"]
    expected_quarantined = truth["missing_field"] + truth["negative_amount"] + truth["unknown_plan"]
    expected_quarantined += truth["conflicting_duplicate"]
    totals = {
        name: sum(delta(now, name, family) for family in families)
        for name in ("raw_events_total", "clean_events_total", "quarantined_events_total", "duplicate_events_total")
    }
    assert totals["raw_events_total"] == len(messages)
    assert totals["duplicate_events_total"] == truth["exact_duplicate"]
    assert totals["quarantined_events_total"] == expected_quarantined
    assert totals["clean_events_total"] == len(messages) - expected_quarantined - truth["exact_duplicate"]
    for family in families:  # the balance holds per family, exposed as metrics
        raw = delta(now, "raw_events_total", family)
        rest = sum(
            delta(now, name, family)
            for name in ("clean_events_total", "quarantined_events_total", "duplicate_events_total")
        )
        assert raw == rest, family
