"""The worker creates Faust's internal topics itself, before joining its group, exactly as Faust
would declare them: a topic Faust creates while the group forms can be left out of the first
assignment (its partitions then stay unowned until some later rebalance, and parked messages
wait for ticks nobody reads)."""

from __future__ import annotations

from platform_common.config import Settings
from stream_processors.app import build_app


def _faust_internal_topics(settings: Settings) -> dict[str, tuple[int, int, str]]:
    stream_app = build_app(settings, settings.stream)
    declared = [table.changelog_topic for table in stream_app.app.tables.values()]
    declared += [agent.channel for agent in stream_app.app.agents.values() if getattr(agent.channel, "internal", False)]
    found: dict[str, tuple[int, int, str]] = {}
    for topic in declared:
        retention_ms = -1 if topic.retention is None else int(topic.retention * 1000)
        policy = "compact" if topic.compacting else "delete"
        found[topic.get_topic_name()] = (topic.partitions, retention_ms, policy)
    return found


def test_every_internal_topic_faust_declares_is_created_up_front_with_the_same_shape() -> None:
    settings = Settings()
    stream_app = build_app(settings, settings.stream)
    ours = {spec.name: (spec.partitions, spec.retention_ms, spec.cleanup_policy) for spec in stream_app.internal_topics}
    faust = _faust_internal_topics(settings)
    assert len(faust) == 3  # ticks and the two changelogs
    assert ours == faust


def test_internal_topics_follow_the_topic_prefix_and_partition_count() -> None:
    settings = Settings()
    settings = settings.model_copy(
        update={"kafka": settings.kafka.model_copy(update={"topic_prefix": "tenant-a.", "default_partitions": 12})}
    )
    stream_app = build_app(settings, settings.stream)
    assert all(spec.name.startswith("tenant-a.") for spec in stream_app.internal_topics)
    assert {spec.partitions for spec in stream_app.internal_topics} == {12}
