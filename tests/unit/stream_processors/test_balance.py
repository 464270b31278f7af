"""Property: for any mix of good, bad, duplicate, late and orphaned events nothing is lost.

Every raw message ends as exactly one of clean / quarantined / duplicate (or is parked until its
grace window ends), per family and partition and in total, and the clean output holds each
accepted event_id exactly once.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from platform_common.topics import Family
from stream_processors.codec import EventCodec
from stream_processors.contract import ContractChecker
from stream_processors.core import EventProcessor, ProcessorConfig
from stream_processors.reference import ReferenceData
from tests.unit.stream_processors.factory import (
    BASE,
    NOW_US,
    REFERENCE,
    encode,
    encode_unchecked,
    payment,
    raw,
    subscription,
    usage,
)

KINDS = ("good", "good", "good", "duplicate", "conflict", "negative", "garbage", "unknown_plan", "late", "too_late")
OPS = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        st.sampled_from([Family.USAGE, Family.PAYMENT, Family.SUBSCRIPTION]),
        st.integers(0, 2),  # partition
        st.integers(0, 4),  # customer / subscription number
        st.integers(0, 10_000),  # picks an earlier event for duplicates and conflicts
    ),
    max_size=60,
)


def _event(family: Family, customer: int, serial: int, at_days: float) -> dict[str, Any]:
    at = BASE + timedelta(days=at_days, seconds=serial)
    ids: dict[str, Any] = {
        "subscription_id": f"sub-{customer}",
        "customer_id": f"cus-{customer}",
        "at": at,
        "event_id": f"e-{serial}",
    }
    if family is Family.SUBSCRIPTION:
        return subscription(**ids)
    if family is Family.PAYMENT:
        return payment(**ids)
    del ids["subscription_id"]
    return usage(**ids)


@settings(max_examples=150, deadline=None)
@given(ops=OPS)
def test_every_message_is_accounted_for_exactly_once(ops: list[tuple[str, Family, int, int, int]]) -> None:
    import schemas

    catalog = schemas.catalog()
    processor = EventProcessor(
        EventCodec(catalog), ContractChecker(catalog), ProcessorConfig(), ReferenceData.from_json(REFERENCE)
    )
    sent: list[tuple[Family, int, dict[str, Any]]] = []  # good events, for duplicates/conflicts
    offsets: Counter[tuple[Family, int]] = Counter()
    raw_count: Counter[Family] = Counter()
    final: Counter[str] = Counter()
    clean_ids: Counter[tuple[Family, str]] = Counter()

    def record(outcomes: list[Any]) -> None:
        for outcome in outcomes:
            if outcome.kind == "parked":
                continue
            final[outcome.kind] += 1
            if outcome.kind == "clean":
                clean_ids[(outcome.event.family, outcome.decoded.record["event_id"])] += 1

    for serial, (kind, family, partition, customer, pick) in enumerate(ops):
        if kind in ("duplicate", "conflict") and sent:
            family, partition, event = sent[pick % len(sent)]
            if kind == "conflict":
                event = {**event, "source": f"changed-{serial}"}
            value = encode(family, event)
        else:
            days = {"late": -5.0, "too_late": -50.0}.get(kind, serial / 100)
            event = _event(family, customer, serial, days)
            if kind == "negative" and family is Family.PAYMENT:
                value = encode_unchecked(family, event, amount_minor=-1)
            elif kind == "garbage":
                value = b"\xc3\x01garbage"
            elif kind == "unknown_plan" and family is Family.SUBSCRIPTION:
                value = encode(family, {**event, "plan_id": "legacy"})
            else:
                value = encode(family, event)
                sent.append((family, partition, event))
        offset = offsets[(family, partition)]
        offsets[(family, partition)] += 1
        raw_count[family] += 1
        record(processor.process(raw(family, value, offset, partition=partition, key=b"k"), NOW_US + serial))
        for state in processor.partitions.values():
            assert all(counts.balanced for counts in state.counts.values())

    after_grace = NOW_US + len(ops) + processor.config.subscription_grace_us
    for partition in list(processor.partitions):
        record(processor.expire_parked(partition, after_grace))

    assert sum(final.values()) == sum(raw_count.values())
    for family in Family:
        totals = [state.counts[family] for state in processor.partitions.values()]
        assert sum(counts.raw for counts in totals) == raw_count[family]
        assert sum(counts.parked for counts in totals) == 0
        assert sum(counts.clean + counts.duplicate + counts.quarantined_total for counts in totals) == raw_count[family]
    assert final["clean"] == sum(
        counts.clean for state in processor.partitions.values() for counts in state.counts.values()
    )
    assert all(times == 1 for times in clean_ids.values()), "an event_id reached the clean topic twice"
