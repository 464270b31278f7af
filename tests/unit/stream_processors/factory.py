"""Small, valid events of every family, and ways to break them, for the stream-processor tests.

`encode` goes through the contract like every producer; `encode_unchecked` writes Avro that
breaks the contract's value rules (negative amounts, empty required strings...), which a
producer writing Avro straight to Kafka can do and the processor must catch.
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import schemas
from platform_common.topics import Family, raw_topic
from stream_processors.core import RawEvent
from stream_processors.rules import micros

BASE = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
NOW_US = micros(BASE + timedelta(days=1))  # "now" of the unit tests: BASE events are a day old
REFERENCE: dict[str, Any] = {
    "plans": [
        {"plan_id": "growth-monthly-usd", "currency": "USD"},
        {"plan_id": "growth-monthly-eur", "currency": "EUR"},
        {"plan_id": "starter-monthly-usd", "currency": "USD"},
    ],
    "regions": [{"region_id": "na", "currency": "USD"}, {"region_id": "emea", "currency": "EUR"}],
}


def stamp(at: datetime) -> str:
    return schemas.json_contract.format_timestamp(at)


def _common(event_type: str, at: datetime, event_id: str | None) -> dict[str, Any]:
    return {
        "event_id": event_id or str(uuid.uuid4()),
        "event_type": event_type,
        "event_time": stamp(at),
        "source": "tests",
        "schema_version": 2,
        "metadata": {"producer": "pytest", "received_at": None, "trace_id": None},
    }


def subscription(
    event_type: str = "created",
    *,
    subscription_id: str = "sub-1",
    customer_id: str = "cus-1",
    at: datetime = BASE,
    event_id: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    event = {
        **_common(event_type, at, event_id),
        "subscription_id": subscription_id,
        "customer_id": customer_id,
        "plan_id": "growth-monthly-usd",
        "billing_interval": "month",
        "billing_interval_count": 1,
        "quantity": 3,
        "unit_price_minor": 7900,
        "currency": "USD",
        "discount": None,
        "region_id": "na",
        "change_kind": None,
        "effective_date": None,
        "cancel_reason": None,
        "trial_end_date": None,
        "customer_segment": "smb",
        "sales_channel": "self_serve",
    }
    if event_type == "plan_changed":
        event.update(change_kind="quantity_change", effective_date="2024-04-01")
    if event_type in ("canceled", "paused"):
        event["effective_date"] = "2024-04-01"
    if event_type == "canceled":
        event["cancel_reason"] = "too_expensive"
    if event_type == "trial_started":
        event["trial_end_date"] = "2024-03-15"
    event.update(overrides)
    return event


def payment(
    event_type: str = "invoice_paid",
    *,
    subscription_id: str = "sub-1",
    customer_id: str = "cus-1",
    at: datetime = BASE,
    event_id: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    event = {
        **_common(event_type, at, event_id),
        "payment_id": f"pay-{uuid.uuid4().hex[:8]}",
        "invoice_id": "inv-1",
        "subscription_id": subscription_id,
        "customer_id": customer_id,
        "amount_minor": 23700,
        "currency": "USD",
        "service_period_start": "2024-03-01",
        "service_period_end": "2024-03-31",
        "region_id": "na",
        "failure_reason": "card_expired" if event_type == "payment_failed" else None,
        "payment_method": "card",
    }
    event.update(overrides)
    return event


def usage(
    *, customer_id: str = "cus-1", at: datetime = BASE, event_id: str | None = None, **overrides: Any
) -> dict[str, Any]:
    event = {
        **_common("usage_recorded", at, event_id),
        "customer_id": customer_id,
        "subscription_id": "sub-1",
        "metric": "api_calls",
        "quantity": 120,
        "unit": "calls",
        "usage_date": (at - timedelta(days=1)).date().isoformat(),
        "region_id": "na",
        "is_billable": True,
    }
    event.update(overrides)
    return event


def cost(*, at: datetime = BASE, event_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    event = {
        **_common("cost_incurred", at, event_id),
        "category": "infrastructure",
        "vendor": "aws",
        "region_id": "na",
        "amount_minor": 125000,
        "currency": "USD",
        "period_start": "2024-02-01",
        "period_end": "2024-02-29",
        "cost_center": "cogs-hosting",
    }
    event.update(overrides)
    return event


BUILDERS = {
    Family.SUBSCRIPTION: subscription,
    Family.PAYMENT: payment,
    Family.USAGE: usage,
    Family.OPERATIONAL_COST: cost,
}


def encode(family: Family, event: dict[str, Any]) -> bytes:
    return schemas.serializer().encode(family.value, schemas.validate_event(family, event))


def encode_unchecked(family: Family, event: dict[str, Any], **fields: Any) -> bytes:
    """Avro for `event` with `fields` overridden after validation (dotted names reach nested)."""
    record = copy.deepcopy(schemas.validate_event(family, event))
    for name, value in fields.items():
        node = record
        *parents, leaf = name.split(".")
        for parent in parents:
            node = node[parent]
        node[leaf] = value
    return schemas.serializer().encode(family.value, record)


def key_of(family: Family, event: dict[str, Any]) -> bytes:
    return schemas.partition_key(family, event)


def raw(
    family: Family,
    value: bytes | None,
    offset: int,
    *,
    partition: int = 0,
    key: bytes | None = b"cus-1",
    headers: tuple[tuple[str, bytes], ...] = (),
) -> RawEvent:
    return RawEvent(family, raw_topic(family), partition, offset, key, value, 0, headers)


def generated_message(family: Family, event: dict[str, Any]) -> tuple[bytes, bytes]:
    """(key, Avro value) for a sample-data generator event, bad ones included.

    The generator's bad records break the JSON contract; a producer writing Avro straight to
    Kafka can still send their equivalents: a negative amount as is, a missing string as "", and
    a missing non-string field only as bytes that do not decode.
    """
    key = str(event.get("customer_id") or event.get("region_id") or "unknown").encode()
    if family is Family.OPERATIONAL_COST and "region_id" in event and "category" in event:
        key = schemas.partition_key(family, event)
    try:
        return key, encode(family, event)
    except schemas.ContractViolation:
        pass
    fields = {item["name"]: item for item in schemas.catalog().latest(family.value).schema["fields"]}
    patched = dict(event)
    overrides: dict[str, Any] = {}
    truncate = False
    for name, item in fields.items():
        if name not in patched and "default" not in item:
            patched[name] = _placeholder(family, name)
            if item["type"] == "string":
                overrides[name] = ""
            else:
                truncate = True
    if isinstance(patched.get("amount_minor"), int) and patched["amount_minor"] < 0:
        overrides["amount_minor"] = patched["amount_minor"]
        patched["amount_minor"] = 0
    value = encode_unchecked(family, patched, **overrides) if not truncate else encode(family, patched)[:-3]
    return key, value


def _placeholder(family: Family, name: str) -> Any:
    template = BUILDERS[family]()
    return template[name]
