from __future__ import annotations

import pytest

from platform_common.config import Settings
from platform_common.kafka import make_admin
from platform_common.postgres import Role, connect
from platform_common.topics import raw_topic

pytestmark = pytest.mark.integration


def test_isolated_stack_has_its_own_database_topics_and_bucket(isolated_stack: Settings, stack: Settings) -> None:
    assert isolated_stack.postgres.database != stack.postgres.database
    with connect(Role.WRITER, isolated_stack) as conn:
        row = conn.execute("SELECT count(*) FROM warehouse.time").fetchone()
    assert row is not None
    assert row[0] > 9000
    topics = make_admin(isolated_stack).list_topics(timeout=10).topics
    topic = raw_topic("subscription", isolated_stack.kafka.topic_prefix)
    assert topic in topics
    assert len(topics[topic].partitions) == isolated_stack.kafka.default_partitions
    assert isolated_stack.s3.lake_bucket != stack.s3.lake_bucket
