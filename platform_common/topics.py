"""The Kafka topics that connect the stages: names, partition counts, retention, cleanup policy.

Stages talk only through these topics and the warehouse, so this catalogue is their contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Family(StrEnum):
    SUBSCRIPTION = "subscription"
    PAYMENT = "payment"
    USAGE = "usage"
    OPERATIONAL_COST = "operational_cost"


DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    retention_ms: int
    cleanup_policy: str = "delete"
    extra_config: dict[str, str] = field(default_factory=dict)

    def config(self) -> dict[str, str]:
        return {
            "retention.ms": str(self.retention_ms),
            "cleanup.policy": self.cleanup_policy,
            **self.extra_config,
        }


def raw_topic(family: Family | str, prefix: str = "") -> str:
    return f"{prefix}events.{Family(family).value}.raw"


def clean_topic(family: Family | str, prefix: str = "") -> str:
    return f"{prefix}events.{Family(family).value}.clean"


def quarantine_topic(prefix: str = "") -> str:
    return f"{prefix}quarantine"


def forecasts_topic(prefix: str = "") -> str:
    return f"{prefix}forecasts"


def standard_topics(prefix: str = "", partitions: int = 6) -> list[TopicSpec]:
    """Raw topics keep 30 days so backfills can replay them; the lake keeps everything forever."""
    specs: list[TopicSpec] = []
    for family in Family:
        specs.append(TopicSpec(raw_topic(family, prefix), partitions, 30 * DAY_MS))
        specs.append(TopicSpec(clean_topic(family, prefix), partitions, 30 * DAY_MS))
    specs.append(TopicSpec(quarantine_topic(prefix), partitions, 90 * DAY_MS))
    specs.append(TopicSpec(forecasts_topic(prefix), 1, 365 * DAY_MS))
    return specs
