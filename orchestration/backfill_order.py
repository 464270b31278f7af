"""The order a multi-family backfill re-publishes in: subscriptions first, then the rest.

Payments, usage and plan-dependent events need their subscription known to the stream
processor. Re-published in plain topic order (payments sort before subscriptions), a payment
waits parked for a subscription that is still queued behind it, and after its grace window is
decided without it (measured: an all-family lake backfill sent 15 of 82 payments to
quarantine). So the subscription partitions go first and, when a stream processor is
consuming, the backfill waits until it has committed every subscription event before sending
the others, as the demo's loader does. With no processor consuming there is nothing to wait
for: the events stay on the raw topics, subscriptions first, for when one starts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from confluent_kafka import ConsumerGroupState

from orchestration.backfill import Checkpoint
from orchestration.drain import groups, wait_topic_processed
from platform_common.config import Settings
from platform_common.kafka import make_admin
from platform_common.topics import Family

log = logging.getLogger(__name__)
SUBSCRIPTIONS_PROCESSED_TIMEOUT_S = 600.0


def dependency_order(checkpoints: Iterable[Checkpoint], families: dict[str, Family]) -> list[Checkpoint]:
    """Subscription partitions first; otherwise the stored plan's order (a stable sort)."""
    return sorted(checkpoints, key=lambda checkpoint: families[checkpoint.topic] is not Family.SUBSCRIPTION)


def needs_wait(checkpoint: Checkpoint, previous: Checkpoint | None, families: dict[str, Family]) -> bool:
    """True at the first non-subscription partition that follows subscription partitions."""
    return (
        previous is not None
        and families[previous.topic] is Family.SUBSCRIPTION
        and families[checkpoint.topic] is not Family.SUBSCRIPTION
    )


def wait_for_subscriptions(settings: Settings, timeout_s: float = SUBSCRIPTIONS_PROCESSED_TIMEOUT_S) -> None:
    group = groups(settings).processor
    if not _is_consuming(settings, group):
        log.warning(
            "no stream processor is consuming; the other families follow the subscriptions without waiting",
            extra={"group": group},
        )
        return
    waited = wait_topic_processed(settings, Family.SUBSCRIPTION, timeout_s=timeout_s)
    log.info("the stream processor has taken every subscription event", extra={"waited_s": round(waited, 1)})


def _is_consuming(settings: Settings, group: str) -> bool:
    admin = make_admin(settings)
    description = admin.describe_consumer_groups([group], request_timeout=10)[group].result(timeout=15)
    return bool(description.members) and description.state is not ConsumerGroupState.DEAD
