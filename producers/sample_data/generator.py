"""`generate(params)`: a deterministic SaaS history as events, reference data and ground truth.

The run simulates compact drafts (integers, tuples, small dicts) and only renders full JSON
events while they are iterated, so a demo-size history (~1M events) fits in a few hundred MB
and the same `GenerationResult` can be streamed to Kafka and written to several file formats.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import schemas
from platform_common.topics import Family
from producers.sample_data.costs import generate_costs, month_key
from producers.sample_data.customers import acquire
from producers.sample_data.factory import EventFactory
from producers.sample_data.ground_truth import (
    EXPECTED_HANDLING,
    RULES,
    event_counts,
    money_totals,
    month_end_stats,
)
from producers.sample_data.injection import InjectionPlan, apply_fault, plan_stream
from producers.sample_data.lifecycle import Draft, Lifecycle
from producers.sample_data.money import Segment
from producers.sample_data.params import GenerationParams
from producers.sample_data.reference import PriceBook
from producers.sample_data.timeutil import date_text, month_ends
from producers.sample_data.usage import generate_usage

ProgressFn = Callable[[str, int, int], None]
"""progress(phase, done, total): called as work advances, e.g. to drive a progress bar."""

FORMAT_VERSION = 1


@dataclass(frozen=True)
class GenerationResult:
    params: GenerationParams
    reference: dict[str, Any]
    ground_truth: dict[str, Any]
    _good: list[Draft] = field(repr=False)
    _plan: InjectionPlan = field(repr=False)
    _factory: EventFactory = field(repr=False)
    _required_fields: dict[Family, list[str]] = field(repr=False)

    def __len__(self) -> int:
        """Number of messages in the stream (good + bad)."""
        return len(self._plan.stream)

    def events(self) -> Iterator[tuple[Family, dict[str, Any]]]:
        """Every message in send order as (family, JSON-ready event); fresh dicts each time."""
        good, factory = self._good, self._factory
        for _, _, index, kind, variant, seq in self._plan.stream:
            draft = good[index]
            event = factory.build(seq, draft)
            if kind is not None:
                apply_fault(event, draft[1], kind, variant, self._required_fields[draft[1]])
            yield draft[1], event

    def __iter__(self) -> Iterator[tuple[Family, dict[str, Any]]]:
        return self.events()


def generate(params: GenerationParams | None = None, progress: ProgressFn | None = None) -> GenerationResult:
    params = params or GenerationParams()
    report = progress or _no_progress
    book = PriceBook()
    end = params.end_date
    customers = acquire(params.seed, params.customers, params.start_date, params.months, book)
    drafts: list[Draft] = []
    segments: dict[int, list[Segment]] = {}
    for customer in customers:
        lifecycle = Lifecycle(customer, params.seed, end, book)
        lifecycle.run()
        drafts.extend(lifecycle.drafts)
        segments[customer.index] = lifecycle.segments
        if customer.index % 500 == 0:
            report("customers", customer.index, len(customers))
    report("customers", len(customers), len(customers))
    report("usage", 0, 1)
    calls = generate_usage(params.seed, customers, segments, end, params.usage_every_n_days, drafts)
    report("usage", 1, 1)
    days = month_ends(params.start_date, params.months)
    stats = month_end_stats(customers, segments, days)
    active = {(region, month_key(stat.day)): count for stat in stats for region, count in stat.active_by_region.items()}
    payments = [draft for draft in drafts if draft[1] is Family.PAYMENT]
    drafts.extend(generate_costs(params.seed, params.start_date, params.months, payments, calls, active))
    report("ordering", 0, 1)
    drafts.sort(key=_event_micros)  # stable: ties keep simulation order
    plan = plan_stream(drafts, params)
    report("ordering", 1, 1)
    catalog = schemas.catalog()
    versions = {family: catalog.latest(family.value).version for family in Family}
    factory = EventFactory(params.seed, customers, versions)
    required = {
        family: [
            item["name"]
            for item in catalog.latest(family.value).schema["fields"]
            if "default" not in item and item["name"] != "event_id"
        ]
        for family in Family
    }
    truth = {
        "generator": {"name": "ledgerline-sample-data", "format_version": FORMAT_VERSION, "params": params.to_json()},
        "window": {"start_date": date_text(params.start_date), "end_date_exclusive": date_text(end)},
        "counts": {**event_counts(drafts), **_sent_counts(drafts, plan)},
        "bad_records": _bad_summary(drafts, plan, factory, params),
        "late_events": _late_summary(drafts, plan, factory, params),
        "money": money_totals(drafts),
        "month_ends": [stat.to_json() for stat in stats],
        "rules": RULES,
    }
    return GenerationResult(params, book.to_json(), truth, drafts, plan, factory, required)


def _event_micros(draft: Draft) -> int:
    return draft[0]


def _no_progress(phase: str, done: int, total: int) -> None:
    """Default progress callback: silent."""


def _sent_counts(good: list[Draft], plan: InjectionPlan) -> dict[str, Any]:
    sent = Counter(good[entry[2]][1].value for entry in plan.stream)
    return {"sent_total": len(plan.stream), "sent_by_family": {family.value: sent[family.value] for family in Family}}


def _bad_summary(
    good: list[Draft], plan: InjectionPlan, factory: EventFactory, params: GenerationParams
) -> dict[str, Any]:
    by_kind = {kind.value: len(entries) for kind, entries in plan.bad.items()}
    return {
        "share": params.bad_record_share,
        "total": sum(by_kind.values()),
        "by_kind": by_kind,
        "requested_by_kind": {kind.value: count for kind, count in plan.requested.items()},
        "by_kind_family": {
            kind.value: dict(sorted(Counter(good[entry[2]][1].value for entry in entries).items()))
            for kind, entries in plan.bad.items()
        },
        "event_ids_by_kind": {
            kind.value: [factory.event_id(entry[5]) for entry in entries] for kind, entries in plan.bad.items()
        },
        "expected_handling": {kind.value: EXPECTED_HANDLING[kind.value] for kind in plan.bad},
    }


def _late_summary(
    good: list[Draft], plan: InjectionPlan, factory: EventFactory, params: GenerationParams
) -> dict[str, Any]:
    return {
        "share": params.late_share,
        "count": len(plan.late),
        "by_family": dict(sorted(Counter(good[index][1].value for index in plan.late).items())),
        "delay_days": [params.late_min_days, params.late_max_days],
        "included_in_totals": True,
        "event_ids": [factory.event_id(index) for index in plan.late],
    }
