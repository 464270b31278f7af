"""Turns drafts into the JSON events a producer sends: envelope, ids, canonical text.

Event ids are a keyed bijection of the event's sequence number (an odd multiplier modulo
2^122, laid out as a version-4 UUID), so they look random, differ per seed, are reproducible,
and are unique by construction rather than by luck: a collision would be indistinguishable
from an injected duplicate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from platform_common.topics import Family
from producers.sample_data.customers import Customer
from producers.sample_data.lifecycle import Draft
from producers.sample_data.timeutil import format_micros, ordinal_text
from producers.sample_data.usage import METRICS

PRODUCER = "ledgerline-sample-data"
SOURCES = {
    Family.SUBSCRIPTION: "billing",
    Family.PAYMENT: "payments",
    Family.USAGE: "product-telemetry",
    Family.OPERATIONAL_COST: "finance-erp",
}
_BITS_122 = (1 << 122) - 1
_BITS_128 = (1 << 128) - 1
_TRACED = frozenset({Family.SUBSCRIPTION, Family.PAYMENT})


class EventFactory:
    def __init__(self, seed: int, customers: list[Customer], schema_versions: Mapping[Family, int]) -> None:
        digest = hashlib.sha256(f"ledgerline-sample-data:{seed}".encode()).digest()
        self._id_multiplier = int.from_bytes(digest[:16], "big") & _BITS_122 | 1
        self._id_offset = int.from_bytes(digest[16:], "big") & _BITS_122
        self._trace_multiplier = int.from_bytes(digest[8:24], "big") | 1
        self._customers = customers
        self._versions = dict(schema_versions)

    def event_id(self, seq: int) -> str:
        value = (seq * self._id_multiplier + self._id_offset) & _BITS_122
        full = ((value >> 74) << 80) | (0x4 << 76) | (((value >> 62) & 0xFFF) << 64) | (0b10 << 62)
        text = f"{full | (value & ((1 << 62) - 1)):032x}"
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"

    def build(self, seq: int, draft: Draft) -> dict[str, Any]:
        micros, family, event_type, body = draft
        trace_id = f"{(seq * self._trace_multiplier) & _BITS_128:032x}" if family in _TRACED else None
        event: dict[str, Any] = {
            "event_id": self.event_id(seq),
            "event_type": event_type,
            "event_time": format_micros(micros),
            "source": SOURCES[family],
            "schema_version": self._versions[family],
            "metadata": {"received_at": None, "producer": PRODUCER, "trace_id": trace_id},
        }
        if family is Family.USAGE:
            customer_index, metric, quantity, ordinal, is_billable = body
            customer = self._customers[customer_index]
            name, unit = METRICS[metric]
            event["customer_id"] = customer.customer_id
            event["subscription_id"] = customer.subscription_id
            event["metric"] = name
            event["quantity"] = quantity
            event["unit"] = unit
            event["usage_date"] = ordinal_text(ordinal)
            event["region_id"] = customer.region.region_id
            event["is_billable"] = is_billable
        else:
            event.update(body)
            if event.get("discount") is not None:
                event["discount"] = dict(event["discount"])  # never share nested dicts
        return event
