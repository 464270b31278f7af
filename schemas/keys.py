"""Kafka message keys for the raw event topics.

Kafka only orders messages within a partition, and the partition is chosen from the key. The
key therefore decides which events are guaranteed to be applied in order:

* subscription, payment and usage are keyed by `customer_id`. A customer's subscription state
  machine (created -> trial -> active -> paused -> canceled ...) must be replayed in order, and
  its payments and usage are interpreted against that state (a payment for a period, usage
  while active). Keying all three by customer sends a customer's events of each family to the
  same partition number, so co-partitioned stream joins need no repartitioning, while
  customers still spread evenly over partitions.
* operational_cost is keyed by `"{region_id}/{category}"`: costs have no customer, are
  aggregated per region and category, and one such series must not be reordered (a
  correction must land after the cost it corrects). There are few distinct keys, which is fine
  for a low-volume family.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from platform_common.topics import Family

_CUSTOMER_KEYED = frozenset({Family.SUBSCRIPTION, Family.PAYMENT, Family.USAGE})


def partition_key(family: Family | str, record: Mapping[str, Any]) -> bytes:
    """UTF-8 key bytes for `record` of `family`; works on JSON dicts and Avro records alike.

    Raises `KeyError` when the key field is missing and `ValueError` when it is empty, because
    a silently empty key would pile unrelated customers onto one partition.
    """
    resolved = Family(family)
    if resolved in _CUSTOMER_KEYED:
        key = _text(record, "customer_id")
    else:
        key = f"{_text(record, 'region_id')}/{_text(record, 'category')}"
    return key.encode("utf-8")


def _text(record: Mapping[str, Any], field: str) -> str:
    value = record[field]
    if not isinstance(value, str) or not value:
        raise ValueError(f"partition key field {field!r} must be a non-empty string, got {value!r}")
    return value
