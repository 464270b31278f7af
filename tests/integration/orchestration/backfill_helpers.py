"""Helpers of the backfill tests: raw messages of our own, the copies a backfill published, and
warehouse checksums that can leave out where and when a row was loaded."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException, TopicPartition
from psycopg import sql

from orchestration import kafka_state
from orchestration.backfill import BACKFILL_HEADER, SOURCE_HEADER, as_header_list
from platform_common.config import Settings
from platform_common.kafka import make_consumer, make_producer
from platform_common.postgres import Role, connect
from platform_common.topics import Family, raw_topic

Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers

    def header(self, name: str) -> bytes | None:
        return next((value for key, value in self.headers if key == name), None)

    @property
    def original_headers(self) -> Headers:
        return tuple((k, v) for k, v in self.headers if k not in (BACKFILL_HEADER, SOURCE_HEADER))


def produce_raw(settings: Settings, family: Family, partition: int, count: int) -> list[Record]:
    """`count` opaque messages (distinct keys, values and a trace_id header) on one raw partition."""
    topic = raw_topic(family, settings.kafka.topic_prefix)
    producer = make_producer(settings)
    tag = uuid.uuid4().hex[:8]
    sent: list[tuple[bytes, bytes, Headers]] = []
    for index in range(count):
        key, value = f"{tag}-{partition}-{index}".encode(), f"payload {tag} {partition} {index}".encode()
        headers: Headers = (("trace_id", f"t-{tag}-{index}".encode()),)
        producer.produce(topic, value, key, partition=partition, headers=list(headers))
        sent.append((key, value, headers))
    assert producer.flush(30) == 0
    mine = [r for r in read_topic(settings, topic) if r.partition == partition and r.header(BACKFILL_HEADER) is None]
    by_key = {r.key: r for r in mine}
    return [by_key[key] for key, _, _ in sent]


def _watermarks(settings: Settings, topic: str) -> dict[tuple[str, int], tuple[int, int]]:
    """Watermarks, waiting out the moments after a topic's creation when a partition has no leader."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return kafka_state.watermarks(settings, [topic])
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def read_topic(settings: Settings, topic: str) -> list[Record]:
    """Every message of `topic` between the watermarks taken first, in partition and offset order."""
    marks = {key: value for key, value in _watermarks(settings, topic).items() if value[1] > value[0]}
    if not marks:
        return []
    consumer = make_consumer(f"test-read-{uuid.uuid4().hex[:8]}", settings, **{"enable.partition.eof": True})
    found: list[Record] = []
    try:
        consumer.assign([TopicPartition(t, p, low) for (t, p), (low, _) in marks.items()])
        open_partitions = {p for (_, p) in marks}
        while open_partitions:
            for message in consumer.consume(num_messages=5000, timeout=1.0):
                partition, offset = int(message.partition() or 0), int(message.offset() or 0)
                error = message.error()
                if error is not None:
                    assert error.code() == KafkaError._PARTITION_EOF, error
                    open_partitions.discard(partition)
                    continue
                if offset >= marks[(topic, partition)][1]:
                    open_partitions.discard(partition)
                    continue
                headers = tuple(
                    (name, value.encode() if isinstance(value, str) else bytes(value or b""))
                    for name, value in as_header_list(message.headers())
                )
                found.append(Record(topic, partition, offset, message.key(), message.value(), headers))
    finally:
        consumer.close()
    return sorted(found, key=lambda r: (r.partition, r.offset))


def copies(settings: Settings, families: Iterable[Family], run_id: str) -> dict[tuple[str, int, int], list[Record]]:
    """The messages backfill `run_id` published, by the topic/partition/offset of their original."""
    found: dict[tuple[str, int, int], list[Record]] = {}
    for family in families:
        for record in read_topic(settings, raw_topic(family, settings.kafka.topic_prefix)):
            if record.header(BACKFILL_HEADER) == run_id.encode():
                source = (record.header(SOURCE_HEADER) or b"").decode()
                topic, partition, offset = source.rsplit("/", 2)
                found.setdefault((topic, int(partition), int(offset)), []).append(record)
    return found


def stored_checkpoints(settings: Settings, run_id: str) -> list[tuple[Any, ...]]:
    with connect(Role.WRITER, settings) as conn:
        rows = conn.execute(
            "SELECT topic, partition, start_offset, end_offset, next_offset, published, skipped"
            " FROM platform.backfill_checkpoint WHERE run_id = %s ORDER BY topic, partition",
            (run_id,),
        ).fetchall()
    return [tuple(row) for row in rows]


def run_status(settings: Settings, run_id: str) -> tuple[str, int, int] | None:
    with connect(Role.WRITER, settings) as conn:
        row = conn.execute(
            "SELECT status, published, skipped FROM platform.backfill_run WHERE run_id = %s", (run_id,)
        ).fetchone()
    return None if row is None else (str(row[0]), int(row[1]), int(row[2]))


# Where and when a row was loaded, not what it says: the clean topic's offset of the copy that
# delivered it, the processor's decision times, the sinks' load stamps, and the SCD2 dimensions'
# surrogate keys (identity columns: a rebuild's TRUNCATE does not restart them).
PROVENANCE = frozenset(
    {
        "loaded_at",
        "updated_at",
        "computed_at",
        "kafka_topic",
        "kafka_partition",
        "kafka_offset",
        "first_seen_at",
        "quarantined_at",
        "customer_key",
        "plan_key",
    }
)


def warehouse_checksums(settings: Settings, excluded: frozenset[str] = frozenset()) -> dict[str, str]:
    """`count:md5` of every warehouse table's rows (columns in `excluded` left out), ordered."""
    sums = {}
    with connect(Role.WRITER, settings) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = 'warehouse' AND table_type = 'BASE TABLE' ORDER BY 1"
        ).fetchall()
        for (table,) in tables:
            columns = [
                str(row[0])
                for row in conn.execute(
                    "SELECT column_name FROM information_schema.columns"
                    " WHERE table_schema = 'warehouse' AND table_name = %s ORDER BY ordinal_position",
                    (table,),
                ).fetchall()
                if row[0] not in excluded
            ]
            row_text = sql.SQL("concat_ws('|', {})").format(sql.SQL(", ").join(map(sql.Identifier, columns)))
            query = sql.SQL("SELECT count(*), coalesce(md5(string_agg({row}, E'\\n' ORDER BY {row})), '') FROM {t}")
            count, digest = conn.execute(
                query.format(row=row_text, t=sql.Identifier("warehouse", table))
            ).fetchone() or (0, "")
            sums[str(table)] = f"{count}:{digest}"
    return sums
