"""Avro object container files holding `LakeRecord`s, and the manifest derived from one.

OCF rather than Parquet: the payload is opaque bytes plus a few scalar columns, so a columnar
layout buys little; OCF is appendable record by record in a stream, embeds its schema, can be
read block by block without a footer, and is the format the events are already in, so one
library (fastavro) reads both the envelope and, on replay, the original values. Each object
also carries its coordinates in the OCF header, so an object alone is enough to rebuild its
manifest. The sync marker is derived from the object's coordinates, so re-encoding the same
records gives byte-identical objects.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from typing import Any

from fastavro import reader as avro_reader
from fastavro import writer as avro_writer

from sinks.lake.batch import Batch
from sinks.lake.envelope import PARSED_LAKE_RECORD_SCHEMA, LakeRecord
from sinks.lake.layout import parse_key
from sinks.lake.manifest import Manifest, as_written, summarize

META_TOPIC = "ledgerline.topic"
META_PARTITION = "ledgerline.partition"
META_START = "ledgerline.start_offset"
META_END = "ledgerline.end_offset"
META_FAMILY = "ledgerline.family"
LAYOUT_VERSION = "1"


def sync_marker(topic: str, partition: int, start_offset: int) -> bytes:
    return hashlib.sha256(f"{topic}\x00{partition}\x00{start_offset}".encode()).digest()[:16]


def encode_batch(batch: Batch, codec: str) -> bytes:
    buffer = io.BytesIO()
    avro_writer(
        buffer,
        PARSED_LAKE_RECORD_SCHEMA,
        batch.records,
        codec=codec,
        sync_marker=sync_marker(batch.topic, batch.partition, batch.start_offset),
        metadata={
            "ledgerline.layout_version": LAYOUT_VERSION,
            META_TOPIC: batch.topic,
            META_PARTITION: str(batch.partition),
            META_FAMILY: batch.family,
            META_START: str(batch.start_offset),
            META_END: str(batch.last_offset),
        },
        validator=False,
    )
    return buffer.getvalue()


def build_manifest(batch: Batch, body: bytes, codec: str) -> Manifest:
    return summarize(
        batch.records,
        key=batch.key,
        topic=batch.topic,
        partition=batch.partition,
        family=batch.family,
        start_offset=batch.start_offset,
        body=body,
        codec=codec,
    )


def iter_avro_records(body: bytes) -> Iterator[dict[str, Any]]:
    for item in avro_reader(io.BytesIO(body)):
        if not isinstance(item, dict):
            raise ValueError("lake object holds a non-record item")
        yield item


def iter_lake_records(body: bytes) -> Iterator[LakeRecord]:
    for item in iter_avro_records(body):
        yield LakeRecord.from_avro(item)


def object_metadata(body: bytes) -> dict[str, str]:
    meta = avro_reader(io.BytesIO(body)).metadata
    return {str(key): str(value) for key, value in meta.items()}


def rebuild_manifest(key: str, body: bytes, on_record: Callable[[dict[str, Any]], None] | None = None) -> Manifest:
    """The manifest of an existing object, from its bytes and key only (crash recovery, verify)."""
    identity = parse_key(key)
    source = avro_reader(io.BytesIO(body))
    meta = source.metadata
    records = []
    for item in source:
        if not isinstance(item, dict):
            raise ValueError(f"{key}: lake object holds a non-record item")
        records.append(as_written(item))
        if on_record is not None:
            on_record(item)
    return summarize(
        records,
        key=key,
        topic=identity.topic,
        partition=identity.partition,
        family=identity.family,
        start_offset=identity.start_offset,
        body=body,
        codec=str(meta.get("avro.codec", "null")),
    )
