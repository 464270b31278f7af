"""Avro encoding of events behind one serializer interface.

Default wire format is Avro single-object encoding (spec 1.8+): the two marker bytes 0xC3 0x01,
the 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema's canonical form, then the
binary body. A reader resolves the writer schema from the fingerprint and decodes into the
*current* schema of the same subject, which is how backward-compatible evolution is honoured.
The Confluent registry wire format (magic 0x00 + 4-byte schema id) can be added as a second
`EventSerializer` without touching callers.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.schema import fingerprint, to_parsing_canonical_form

SINGLE_OBJECT_MARKER = b"\xc3\x01"
HEADER_LENGTH = 10
_VERSION_FILE = re.compile(r"^v(\d+)\.avsc$")


class UndecodableEvent(ValueError):
    """Bytes that cannot be turned into a record; `reason` is machine-readable."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class SchemaVersion:
    subject: str
    version: int
    schema: dict[str, Any]
    parsed: Any
    fingerprint: bytes


@dataclass(frozen=True)
class DecodedEvent:
    subject: str
    writer_version: int
    record: dict[str, Any]


class SchemaCatalog:
    """All versions of every subject, from a directory laid out as `<subject>/v<N>.avsc`."""

    def __init__(self, versions: list[SchemaVersion]) -> None:
        self._by_fingerprint = {version.fingerprint: version for version in versions}
        self._latest: dict[str, SchemaVersion] = {}
        self._by_subject: dict[str, dict[int, SchemaVersion]] = {}
        for version in sorted(versions, key=lambda item: item.version):
            self._latest[version.subject] = version
            self._by_subject.setdefault(version.subject, {})[version.version] = version

    @classmethod
    def from_directory(cls, root: Path) -> SchemaCatalog:
        versions = []
        for subject_dir in sorted(path for path in root.iterdir() if path.is_dir()):
            for schema_file in sorted(subject_dir.glob("v*.avsc")):
                match = _VERSION_FILE.match(schema_file.name)
                if not match:
                    continue
                schema = json.loads(schema_file.read_text(encoding="utf-8"))
                versions.append(make_schema_version(subject_dir.name, int(match.group(1)), schema))
        return cls(versions)

    @property
    def subjects(self) -> list[str]:
        return sorted(self._latest)

    def latest(self, subject: str) -> SchemaVersion:
        try:
            return self._latest[subject]
        except KeyError:
            raise KeyError(f"unknown schema subject {subject!r}") from None

    def version(self, subject: str, version: int) -> SchemaVersion:
        return self._by_subject[subject][version]

    def versions(self, subject: str) -> list[SchemaVersion]:
        return [self._by_subject[subject][key] for key in sorted(self._by_subject[subject])]

    def by_fingerprint(self, value: bytes) -> SchemaVersion | None:
        return self._by_fingerprint.get(value)


def make_schema_version(subject: str, version: int, schema: dict[str, Any]) -> SchemaVersion:
    # The fingerprint is taken over the canonical form of a plain parse; the schema used for
    # reading and writing keeps fastavro's parse hint, without which fastavro re-parses the
    # schema on every call (about 3x slower per event).
    canonical = to_parsing_canonical_form(parse_schema(schema, _write_hint=False))
    parsed = parse_schema(schema)
    digest = bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))
    return SchemaVersion(subject, version, schema, parsed, digest)


class EventSerializer(Protocol):
    def encode(self, subject: str, record: Mapping[str, Any]) -> bytes: ...

    def decode(self, data: bytes) -> DecodedEvent: ...


class SingleObjectSerializer:
    """Writes with the latest version of a subject; reads any known version into the latest."""

    def __init__(self, catalog: SchemaCatalog) -> None:
        self.catalog = catalog

    def encode(self, subject: str, record: Mapping[str, Any]) -> bytes:
        return self.encode_with(self.catalog.latest(subject), record)

    def encode_with(self, version: SchemaVersion, record: Mapping[str, Any]) -> bytes:
        buffer = io.BytesIO()
        buffer.write(SINGLE_OBJECT_MARKER)
        # fastavro already returns the fingerprint in the little-endian order the header uses.
        buffer.write(version.fingerprint)
        schemaless_writer(buffer, version.parsed, dict(record))
        return buffer.getvalue()

    def decode(self, data: bytes) -> DecodedEvent:
        if len(data) < HEADER_LENGTH or data[:2] != SINGLE_OBJECT_MARKER:
            raise UndecodableEvent("bad_header", "missing Avro single-object marker 0xC3 0x01")
        writer = self.catalog.by_fingerprint(data[2:HEADER_LENGTH])
        if writer is None:
            raise UndecodableEvent("unknown_schema", f"no schema with fingerprint {data[2:HEADER_LENGTH].hex()}")
        reader = self.catalog.latest(writer.subject)
        try:
            record = schemaless_reader(io.BytesIO(data[HEADER_LENGTH:]), writer.parsed, reader.parsed)
        except Exception as error:
            raise UndecodableEvent("corrupt_body", f"Avro body does not decode: {error!r}") from error
        if not isinstance(record, dict):
            raise UndecodableEvent("corrupt_body", "Avro body is not a record")
        return DecodedEvent(writer.subject, writer.version, record)
