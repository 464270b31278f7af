"""Hot-path Avro decoding, re-encoding and payload fingerprints for the stream processor.

Semantics are those of `schemas.serializer()` (single-object encoding, any known writer
version read into the subject's latest version, the same `UndecodableEvent` reasons; a unit
test pins the equivalence), except that bytes trailing a complete record are refused as
`corrupt_body` instead of ignored: they would ride along unnoticed into the clean topic.

It exists because the shared codec hands fastavro schemas parsed with `_write_hint=False`,
which makes fastavro re-parse the schema on every call (~3-4x slower per event); this module
keeps fastavro's own parsed form. If the shared codec caches hinted schemas, this class can
delegate to it.

Payload fingerprint (the de-duplication identity of an event's content): BLAKE2b-64 over the
binary Avro body written with the *latest* schema, leaving out the top-level fields
`schema_version` and `metadata` (platform bookkeeping: received_at, producer, trace_id). So
a re-send through another gateway, a retry with a new trace id, or the same fact written by a
v1 producer all fingerprint alike, while any change to a business field does not.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from hashlib import blake2b
from typing import Any

from fastavro import parse_schema, schemaless_reader, schemaless_writer

from platform_common.avro_codec import HEADER_LENGTH, SINGLE_OBJECT_MARKER, SchemaCatalog, UndecodableEvent

EXCLUDED_FROM_FINGERPRINT = ("schema_version", "metadata")

_Skip = Callable[[bytes, int], int]


@dataclass(frozen=True, slots=True)
class Decoded:
    subject: str
    writer_version: int
    record: dict[str, Any]
    latest_bytes: bytes  # the event in single-object encoding with the subject's latest schema
    fingerprint: bytes  # 8 bytes, see module docstring


@dataclass(frozen=True)
class _Version:
    subject: str
    version: int
    parsed: Any  # fastavro's hinted parse: no re-parse per call


class _Latest:
    def __init__(self, subject: str, version: int, schema: dict[str, Any], header: bytes) -> None:
        self.subject = subject
        self.version = version
        self.parsed = parse_schema(schema)
        self.header = header
        self.excluded = _excluded_ranges(schema)


class EventCodec:
    """Decode any known version into the latest one, with its latest-schema bytes and fingerprint."""

    def __init__(self, catalog: SchemaCatalog) -> None:
        self._writers: dict[bytes, _Version] = {}
        self._latest: dict[str, _Latest] = {}
        for subject in catalog.subjects:
            for version in catalog.versions(subject):
                self._writers[version.fingerprint] = _Version(subject, version.version, parse_schema(version.schema))
            latest = catalog.latest(subject)
            header = SINGLE_OBJECT_MARKER + latest.fingerprint
            self._latest[subject] = _Latest(subject, latest.version, latest.schema, header)

    def decode(self, data: bytes) -> Decoded:
        if len(data) < HEADER_LENGTH or data[:2] != SINGLE_OBJECT_MARKER:
            raise UndecodableEvent("bad_header", "missing Avro single-object marker 0xC3 0x01")
        writer = self._writers.get(data[2:HEADER_LENGTH])
        if writer is None:
            raise UndecodableEvent("unknown_schema", f"no schema with fingerprint {data[2:HEADER_LENGTH].hex()}")
        latest = self._latest[writer.subject]
        same = writer.version == latest.version
        buffer = io.BytesIO(data[HEADER_LENGTH:])
        try:
            record = schemaless_reader(buffer, writer.parsed, None if same else latest.parsed)
        except Exception as error:
            raise UndecodableEvent("corrupt_body", f"Avro body does not decode: {error!r}") from error
        if not isinstance(record, dict):
            raise UndecodableEvent("corrupt_body", "Avro body is not a record")
        if buffer.tell() != len(data) - HEADER_LENGTH:
            raise UndecodableEvent("corrupt_body", "Avro body has trailing bytes after the record")
        latest_bytes = data if same else self.encode(writer.subject, record)
        return Decoded(writer.subject, writer.version, record, latest_bytes, self._fingerprint(latest, latest_bytes))

    def encode(self, subject: str, record: Mapping[str, Any]) -> bytes:
        latest = self._latest[subject]
        buffer = io.BytesIO()
        buffer.write(latest.header)
        schemaless_writer(buffer, latest.parsed, dict(record))
        return buffer.getvalue()

    def fingerprint(self, subject: str, record: Mapping[str, Any]) -> bytes:
        """Fingerprint of a record (slow path for tests and tools; decode() computes it for free)."""
        return self._fingerprint(self._latest[subject], self.encode(subject, record))

    def _fingerprint(self, latest: _Latest, data: bytes) -> bytes:
        digest = blake2b(digest_size=8)
        position = HEADER_LENGTH
        for start_skip, end_skip in latest.excluded(data, HEADER_LENGTH):
            digest.update(data[position:start_skip])
            position = end_skip
        digest.update(data[position:])
        return digest.digest()


_Ranges = Callable[[bytes, int], list[tuple[int, int]]]
# The envelope every family's contract starts with: a hand-unrolled parser for it is ~4x faster
# than the generic one below (a unit test checks the two agree).
STANDARD_PREFIX = [
    ("event_id", "string"),
    ("event_type", "enum"),
    ("event_time", "long"),
    ("source", "string"),
    ("schema_version", "int"),
    ("metadata", "record"),
]
STANDARD_METADATA: list[tuple[str, Any]] = [
    ("received_at", ("null", "long")),
    ("producer", "string"),
    ("trace_id", ("null", "string")),
]


def _excluded_ranges(schema: dict[str, Any]) -> _Ranges:
    """A function giving the byte ranges of the excluded top-level fields inside a body."""
    if _has_standard_prefix(schema):
        return _standard_ranges
    return _generic_ranges(schema)


def _kind(avro: Any) -> Any:
    if isinstance(avro, list):
        return tuple(_kind(branch) for branch in avro)
    return avro if isinstance(avro, str) else str(avro.get("type"))


def _has_standard_prefix(schema: dict[str, Any]) -> bool:
    fields = schema["fields"][: len(STANDARD_PREFIX)]
    if [(field["name"], _kind(field["type"])) for field in fields] != STANDARD_PREFIX:
        return False
    metadata = fields[-1]["type"]["fields"]
    return [(field["name"], _kind(field["type"])) for field in metadata] == STANDARD_METADATA


def _skip_string(data: bytes, position: int) -> int:
    byte = data[position]
    if byte < 0x80:
        return position + 1 + (byte >> 1)
    size, position = _read_long(data, position)
    return position + size


def _skip_varint(data: bytes, position: int) -> int:
    while data[position] & 0x80:
        position += 1
    return position + 1


def _standard_ranges(data: bytes, position: int) -> list[tuple[int, int]]:
    position = _skip_string(data, position)  # event_id
    position = _skip_varint(data, position)  # event_type
    position = _skip_varint(data, position)  # event_time
    position = _skip_string(data, position)  # source
    start = position
    position = _skip_varint(data, position)  # schema_version
    position += 1  # metadata.received_at: union branch (0 null, 2 long after zig-zag)
    if data[position - 1] == 2:
        position = _skip_varint(data, position)
    position = _skip_string(data, position)  # metadata.producer
    position += 1  # metadata.trace_id: union branch
    if data[position - 1] == 2:
        position = _skip_string(data, position)
    return [(start, position)]


def _generic_ranges(schema: dict[str, Any]) -> _Ranges:
    fields = schema["fields"]
    names = [field["name"] for field in fields]
    last = max(names.index(name) for name in EXCLUDED_FROM_FINGERPRINT if name in names)
    skips = [_skipper(field["type"], {}) for field in fields[: last + 1]]
    excluded = [name in EXCLUDED_FROM_FINGERPRINT for name in names[: last + 1]]

    def ranges(data: bytes, position: int) -> list[tuple[int, int]]:
        found = []
        for skip, is_excluded in zip(skips, excluded, strict=True):
            end = skip(data, position)
            if is_excluded:
                found.append((position, end))
            position = end
        return found

    return ranges


def _varint_end(data: bytes, position: int) -> int:
    while data[position] & 0x80:
        position += 1
    return position + 1


def _read_long(data: bytes, position: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return (result >> 1) ^ -(result & 1), position
        shift += 7


def _skip_sized(data: bytes, position: int) -> int:
    size, position = _read_long(data, position)
    return position + size


def _skipper(avro: Any, named: dict[str, _Skip]) -> _Skip:
    """A function returning where a value of type `avro` ends, given where it starts."""
    if isinstance(avro, list):
        branches = [_skipper(branch, named) for branch in avro]

        def skip_union(data: bytes, position: int) -> int:
            index, position = _read_long(data, position)
            return branches[index](data, position)

        return skip_union
    if isinstance(avro, str) and avro in named:
        return named[avro]
    kind = avro if isinstance(avro, str) else avro["type"]
    if kind == "enum":
        _name(avro, named, _varint_end)
    if kind == "null":
        return lambda data, position: position
    if kind == "boolean":
        return lambda data, position: position + 1
    if kind in ("int", "long", "enum"):
        return _varint_end
    if kind in ("string", "bytes"):
        return _skip_sized
    if kind in ("float", "double"):
        width = 4 if kind == "float" else 8
        return lambda data, position: position + width
    if kind == "fixed":
        size = int(avro["size"])
        return _name(avro, named, lambda data, position: position + size)
    if kind == "record":
        parts: list[_Skip] = []
        _name(avro, named, lambda data, position: skip_record(data, position))  # recursive types
        parts.extend(_skipper(field["type"], named) for field in avro["fields"])

        def skip_record(data: bytes, position: int) -> int:
            for part in parts:
                position = part(data, position)
            return position

        return _name(avro, named, skip_record)
    raise TypeError(f"fingerprint layout does not support Avro {kind!r} before metadata")


def _name(avro: dict[str, Any], named: dict[str, _Skip], skip: _Skip) -> _Skip:
    named[avro["name"]] = skip
    if "namespace" in avro:
        named[f"{avro['namespace']}.{avro['name']}"] = skip
    return skip
