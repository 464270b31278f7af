"""The processing core: one raw Kafka message in, exactly one accounted outcome out.

Plain Python with no Kafka or Faust in sight, so every rule and the count balance can be tested
directly; the Faust app (`stream_processors.app`) only feeds it messages and persists what it
returns. Per message, in order:

1. decode (undecodable -> quarantine, bytes kept) and check the topic's family;
2. contract value rules and business rules (`contract`, `rules`), all findings reported;
3. de-duplicate on (family, event_id): same fingerprint -> dropped and counted; another
   fingerprint -> `conflicting_duplicate`. Only events emitted clean are marked seen, so a
   quarantined event replayed after a fix passes exactly once. A seen entry remembers which
   message made it clean: meeting that same message again (reprocessing after a crash under
   at-least-once) re-emits it instead of dropping it, so nothing is lost;
4. subscription rules: payments and plan changes need a known subscription (else the message
   is parked and re-checked until the grace window passes, then `unknown_subscription`);
   transitions after a cancellation are `invalid_state_transition`;
5. event time against the family's watermark (max event time seen - allowed lateness): behind
   it -> clean with `late: true`; more than the correction horizon behind -> `too_late`.

For every family and partition `Counts` keeps raw == clean + quarantined + duplicate + parked,
exactly, also across crashes: the counts carry the next offset to count, so a message processed
again after a restart is re-emitted but not recounted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from platform_common.avro_codec import UndecodableEvent
from platform_common.logging import trace_id_in, traced
from platform_common.topics import Family
from stream_processors.codec import Decoded, EventCodec
from stream_processors.contract import ContractChecker
from stream_processors.reasons import Finding, QuarantineReason
from stream_processors.reference import ReferenceData
from stream_processors.rules import MICROS_PER_SECOND, check_rules, micros
from stream_processors.state import Counts, ParkedEvent, PartitionState, event_key
from stream_processors.subscriptions import needs_known_subscription, status_after, transition

log = logging.getLogger(__name__)
MICROS_PER_DAY = 86_400 * MICROS_PER_SECOND
FAMILY_INDEX = {family: index for index, family in enumerate(Family)}


@dataclass(frozen=True, slots=True)
class RawEvent:
    family: Family
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int
    headers: tuple[tuple[str, bytes], ...] = ()
    first_seen_us: int | None = None  # set when a parked message is re-checked


@dataclass(frozen=True)
class ProcessorConfig:
    clock_skew_us: int = 300 * MICROS_PER_SECOND
    allowed_lateness_us: int = 3600 * MICROS_PER_SECOND
    correction_horizon_us: int = 35 * MICROS_PER_DAY
    dedupe_retention_us: int = 7 * MICROS_PER_DAY
    subscription_grace_us: int = 600 * MICROS_PER_SECOND


@dataclass(slots=True)
class Outcome:
    """What happened to one message. `arrival` is False when a parked message is resolved."""

    kind: str  # "clean" | "quarantined" | "duplicate" | "parked"
    event: RawEvent
    first_seen_us: int
    decoded: Decoded | None = None
    late: bool = False
    findings: list[Finding] = field(default_factory=list)
    arrival: bool = True
    counted: bool = True  # False for a message re-delivered after it was already counted

    @property
    def reason(self) -> QuarantineReason | None:
        return self.findings[0].code if self.findings else None


class EventProcessor:
    def __init__(
        self,
        codec: EventCodec,
        contract: ContractChecker,
        config: ProcessorConfig | None = None,
        reference: ReferenceData | None = None,
    ) -> None:
        self.codec = codec
        self.contract = contract
        self.config = config or ProcessorConfig()
        self.reference = reference or ReferenceData.unchecked()
        self.partitions: dict[int, PartitionState] = {}

    def state(self, partition: int) -> PartitionState:
        state = self.partitions.get(partition)
        if state is None:
            state = self.partitions[partition] = PartitionState(self.config.dedupe_retention_us)
        return state

    def next_offset(self, family: Family, partition: int) -> int:
        """The raw offset after the last message of `family` counted on `partition` (durable)."""
        state = self.partitions.get(partition)
        return 0 if state is None else state.counts[family].next_offset

    def retain(self, partitions: set[int]) -> None:
        """Forget partitions this worker no longer owns (they are restored elsewhere)."""
        for partition in set(self.partitions) - partitions:
            del self.partitions[partition]

    def process(self, event: RawEvent, now_us: int) -> list[Outcome]:
        """Decide one message; may also resolve messages parked for a subscription it creates."""
        arrival = event.first_seen_us is None
        state = self.state(event.partition)
        counts = state.counts_for(event.family)
        # Counts are exact across crashes: a message at an offset already counted (reprocessed
        # after a restart or rebalance, at-least-once) is decided and emitted again, not recounted.
        counting = not arrival or event.offset >= counts.next_offset
        if arrival and counting:
            counts.raw += 1
            counts.next_offset = event.offset + 1
        try:
            outcomes = self._decide(event, state, now_us)
        except Exception as error:  # a processor bug must not lose the event: quarantine it
            with traced(trace_id_in(event.headers)):
                log.exception("processing error", extra={"topic": event.topic, "offset": event.offset})
            finding = Finding(QuarantineReason.PROCESSING_ERROR, repr(error)[:500])
            outcomes = [Outcome("quarantined", event, event.first_seen_us or now_us, findings=[finding])]
        first = outcomes[0]  # the rest are parked messages it released, counted by their own call
        first.arrival = arrival
        if not counting:
            first.counted = False
            return outcomes
        if not arrival and first.kind != "parked":
            counts.parked -= 1
        self._count(counts, first)
        return outcomes

    def expire_parked(self, partition: int, now_us: int) -> list[Outcome]:
        """Re-check parked messages whose grace window is over (by then: quarantine or release)."""
        state = self.state(partition)
        outcomes = []
        for parked in state.parked_events():
            if parked.first_seen_us + self.config.subscription_grace_us <= now_us:
                state.unpark(parked.parked_id)
                outcomes.extend(self.process(_raw(parked), now_us))
        return outcomes

    def _count(self, counts: Counts, outcome: Outcome) -> None:
        if outcome.kind == "clean":
            counts.clean += 1
            counts.late += outcome.late
        elif outcome.kind == "duplicate":
            counts.duplicate += 1
        elif outcome.kind == "parked":
            if outcome.arrival:
                counts.parked += 1
        else:
            reason = str(outcome.reason)
            counts.quarantined[reason] = counts.quarantined.get(reason, 0) + 1

    def _decide(self, event: RawEvent, state: PartitionState, now_us: int) -> list[Outcome]:
        first_seen = event.first_seen_us or now_us
        if event.value is None:
            finding = Finding(QuarantineReason.UNDECODABLE, "message has no value (tombstone)")
            return [Outcome("quarantined", event, first_seen, findings=[finding])]
        try:
            decoded = self.codec.decode(event.value)
        except UndecodableEvent as error:
            finding = Finding(QuarantineReason.UNDECODABLE, f"{error.reason}: {error}")
            return [Outcome("quarantined", event, first_seen, findings=[finding])]
        if decoded.subject != event.family:  # StrEnum: compares as its value
            message = f"a {decoded.subject} event on the {event.family.value} topic"
            finding = Finding(QuarantineReason.WRONG_FAMILY, message)
            return [Outcome("quarantined", event, first_seen, decoded, findings=[finding])]

        def quarantine(*findings: Finding) -> list[Outcome]:
            return [Outcome("quarantined", event, first_seen, decoded, findings=list(findings))]

        record = decoded.record
        event_us = micros(record["event_time"])
        findings = self.contract.check(decoded.subject, record)
        findings = check_rules(
            event.family, record, event_us, now_us, self.config.clock_skew_us, self.reference, findings
        )
        if findings:
            return quarantine(*findings)

        key = event_key(event.family, record["event_id"])
        source = (FAMILY_INDEX[event.family] << 56) | event.offset
        seen = state.seen.get(key, now_us)
        if seen is not None:
            if seen.fingerprint != decoded.fingerprint:
                message = (
                    f"event_id {record['event_id']!r} was already accepted with another payload "
                    f"(fingerprint {seen.fingerprint.hex()}, this one {decoded.fingerprint.hex()})"
                )
                return quarantine(Finding(QuarantineReason.CONFLICTING_DUPLICATE, message, "event_id"))
            if seen.source != source:
                return [Outcome("duplicate", event, first_seen, decoded)]
            # The very message that was emitted clean, met again after a crash: emit it again.

        if needs_known_subscription(event.family, record):
            known = record["subscription_id"] in state.subscriptions
            if not known:
                if first_seen + self.config.subscription_grace_us > now_us:
                    state.park(_parked(event, first_seen, record["subscription_id"]))
                    return [Outcome("parked", event, first_seen, decoded)]
                message = (
                    f"subscription {record['subscription_id']!r} still unknown "
                    f"{(now_us - first_seen) // MICROS_PER_SECOND} s after the event arrived"
                )
                return quarantine(Finding(QuarantineReason.UNKNOWN_SUBSCRIPTION, message, "subscription_id"))
        if event.family is Family.SUBSCRIPTION:
            current = state.subscriptions.get(record["subscription_id"])
            problem = transition(current, record["event_type"], event_us)
            if problem is not None:
                return quarantine(Finding(QuarantineReason.INVALID_STATE_TRANSITION, problem, "event_type"))

        late = False
        high = state.watermarks.get(event.family)
        if high is not None:
            watermark = high - self.config.allowed_lateness_us
            if event_us < watermark - self.config.correction_horizon_us:
                behind_days = (watermark - event_us) / MICROS_PER_DAY
                message = (
                    f"{behind_days:.1f} days behind the {event.family.value} watermark; the correction "
                    f"horizon is {self.config.correction_horizon_us / MICROS_PER_DAY:g} days"
                )
                return quarantine(Finding(QuarantineReason.TOO_LATE, message, "event_time"))
            late = event_us < watermark
        if high is None or event_us > high:
            state.set_watermark(event.family, event_us)
        state.seen.add(key, decoded.fingerprint, source, now_us)
        outcomes = [Outcome("clean", event, first_seen, decoded, late=late)]
        if event.family is Family.SUBSCRIPTION:
            outcomes.extend(self._apply_subscription(state, record, event_us, now_us))
        return outcomes

    def _apply_subscription(
        self, state: PartitionState, record: dict[str, Any], event_us: int, now_us: int
    ) -> list[Outcome]:
        subscription_id = record["subscription_id"]
        current = state.subscriptions.get(subscription_id)
        if current is None or event_us >= current[1]:
            status = status_after(record["event_type"], current[0] if current else None)
            state.set_subscription(subscription_id, status, event_us)
        released = []
        for parked_id in list(state.parked_by_subscription.get(subscription_id, [])):
            parked = state.unpark(parked_id)
            if parked is not None:
                released.extend(self.process(_raw(parked), now_us))
        return released


def _parked(event: RawEvent, first_seen_us: int, subscription_id: str) -> ParkedEvent:
    return ParkedEvent(
        event.family.value,
        event.topic,
        event.partition,
        event.offset,
        event.key,
        event.value or b"",
        event.timestamp_ms,
        event.headers,
        first_seen_us,
        subscription_id,
    )


def _raw(parked: ParkedEvent) -> RawEvent:
    return RawEvent(
        Family(parked.family),
        parked.topic,
        parked.partition,
        parked.offset,
        parked.key,
        parked.value,
        parked.timestamp_ms,
        parked.headers,
        first_seen_us=parked.first_seen_us,
    )
