"""Ledgerline event contracts: the single source of truth for every event family.

Avro schemas under `schemas/avro/<family>/v<N>.avsc` are the contract; everything else here
is derived from them: the JSON validation used by the gateway and batch loader, the JSON
Schema published in OpenAPI, the Avro serializer, and the Kafka partition keys.
"""

from __future__ import annotations

from platform_common.topics import Family
from schemas.json_contract import ContractViolation, event_json_schema, to_json, validate_event
from schemas.keys import partition_key
from schemas.registry import SCHEMA_ROOT, catalog, serializer

__all__ = [
    "SCHEMA_ROOT",
    "ContractViolation",
    "Family",
    "catalog",
    "event_json_schema",
    "partition_key",
    "serializer",
    "to_json",
    "validate_event",
]
