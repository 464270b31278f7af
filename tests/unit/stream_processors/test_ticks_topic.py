"""The worker creates the ticks topic itself, before joining its group, exactly as Faust would
declare it: a topic Faust creates while the group forms can be left out of the first assignment
(its partitions then stay unowned until some later rebalance, and parked messages wait for
ticks nobody reads). The ticks come back through the raw topics' batches, not Faust's
per-message path."""

from __future__ import annotations

from platform_common.config import Settings
from stream_processors.app import build_app


def _declared_ticks(settings: Settings) -> tuple[str, int, int, str]:
    stream_app = build_app(settings, settings.stream)
    internal = [agent.channel for agent in stream_app.app.agents.values() if getattr(agent.channel, "internal", False)]
    assert len(internal) == 1
    topic = internal[0]
    policy = "compact" if topic.compacting else "delete"
    return topic.get_topic_name(), topic.partitions, int(topic.retention * 1000), policy


def test_the_ticks_topic_created_up_front_is_the_one_faust_declares() -> None:
    settings = Settings()
    spec = build_app(settings, settings.stream).ticks_topic
    assert (spec.name, spec.partitions, spec.retention_ms, spec.cleanup_policy) == _declared_ticks(settings)


def test_the_ticks_topic_follows_the_topic_prefix_and_partition_count() -> None:
    settings = Settings()
    settings = settings.model_copy(
        update={"kafka": settings.kafka.model_copy(update={"topic_prefix": "tenant-a.", "default_partitions": 12})}
    )
    stream_app = build_app(settings, settings.stream)
    assert stream_app.ticks_topic.name.startswith("tenant-a.")
    assert stream_app.ticks_topic.partitions == 12


def test_ticks_are_handed_to_the_runtime_in_batches_with_the_raw_topics() -> None:
    settings = Settings()
    stream_app = build_app(settings, settings.stream)
    consumer_class = stream_app.app.transport.Consumer
    batched = consumer_class.batch_topics  # type: ignore[attr-defined]
    assert batched == {*stream_app.runtime.family_by_topic, stream_app.ticks_topic.name}
