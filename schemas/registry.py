"""The shipped schema catalogue and serializer, built once per process.

Parsing and fingerprinting every `.avsc` costs milliseconds, and every gateway request, stream
processor and loader needs the same catalogue, so both objects are cached process-wide.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from platform_common.avro_codec import SchemaCatalog, SingleObjectSerializer

SCHEMA_ROOT: Path = Path(__file__).resolve().parent / "avro"
"""Directory laid out as `<subject>/v<N>.avsc`; the subject is the event family name."""


@lru_cache(maxsize=1)
def catalog() -> SchemaCatalog:
    """Every version of every family's Avro schema, loaded from `SCHEMA_ROOT`."""
    return SchemaCatalog.from_directory(SCHEMA_ROOT)


@lru_cache(maxsize=1)
def serializer() -> SingleObjectSerializer:
    """Single-object Avro serializer over `catalog()`: writes latest, reads any version."""
    return SingleObjectSerializer(catalog())
