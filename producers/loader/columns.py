"""Flat file rows -> the nested JSON events the contract validates.

CSV and Parquet columns are flattened with dotted names (`discount.kind`, `metadata.producer`).
The Avro schema of the family says how to rebuild each row:

* CSV cells are text, so int/long and boolean leaves are converted (`"1999"` -> 1999,
  `"true"` -> True). Anything that does not convert exactly is passed on unchanged, so the
  contract rejects it with its usual reason and field path (no silent coercion, no floats).
* An empty cell (a null in Parquet) of a nullable field is null; of a required field it is
  left out, so the error says "missing" rather than "not a string".
* A nullable record (`discount`) whose columns are all empty is null.
* Columns the schema does not know are passed through and rejected as unknown fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import schemas
from platform_common.topics import Family

_INTEGER = re.compile(r"^[+-]?\d+$")


@dataclass(frozen=True, slots=True)
class Leaf:
    parts: tuple[str, ...]
    kind: str  # "int" | "bool" | "text"
    nullable: bool


def _unwrap(avro: Any) -> tuple[Any, bool]:
    if isinstance(avro, list):
        branches = [branch for branch in avro if branch != "null"]
        return (branches[0] if len(branches) == 1 else avro), "null" in avro
    return avro, False


class RowShaper:
    """Per family: dotted column -> leaf, and the nullable records to collapse."""

    def __init__(self, family: Family) -> None:
        self.family = family
        self.leaves: dict[str, Leaf] = {}
        self.nullable_records: list[tuple[str, ...]] = []
        self._walk(schemas.catalog().latest(family.value).schema, ())
        self.nullable_records.sort(key=len, reverse=True)  # innermost first
        self.required = [leaf for leaf in self.leaves.values() if not leaf.nullable]

    def _walk(self, record: dict[str, Any], prefix: tuple[str, ...]) -> None:
        for field in record["fields"]:
            avro, nullable = _unwrap(field["type"])
            parts = (*prefix, field["name"])
            if isinstance(avro, dict) and avro.get("type") == "record":
                if nullable:
                    self.nullable_records.append(parts)
                self._walk(avro, parts)
                continue
            base = avro.get("type") if isinstance(avro, dict) else avro
            kind = "int" if base in ("int", "long") and not _is_logical(avro) else "text"
            kind = "bool" if base == "boolean" else kind
            self.leaves[".".join(parts)] = Leaf(parts, kind, nullable)

    def shape(self, row: dict[str, Any], from_text: bool) -> dict[str, Any]:
        """Rebuild the nested event from one row (`from_text`: CSV cells are strings)."""
        event: dict[str, Any] = {}
        for column, value in row.items():
            leaf = self.leaves.get(column)
            if leaf is None:
                parts = tuple(column.split("."))
            else:
                parts = leaf.parts
                if from_text and isinstance(value, str):
                    value = _from_text(value, leaf.kind)
            node = event
            for part in parts[:-1]:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = node[part] = {}
                node = child
            node[parts[-1]] = value
        for path in self.nullable_records:
            parent = _node(event, path[:-1])
            if parent is not None and path[-1] in parent and _all_null(parent[path[-1]]):
                parent[path[-1]] = None
        for leaf in self.required:
            parent = _node(event, leaf.parts[:-1])
            if parent is not None and parent.get(leaf.parts[-1], 0) is None:
                del parent[leaf.parts[-1]]
        return event

    def is_flat(self, row: dict[str, Any]) -> bool:
        return any("." in column for column in row)


def _is_logical(avro: Any) -> bool:
    return isinstance(avro, dict) and "logicalType" in avro


def _from_text(value: str, kind: str) -> Any:
    if kind == "int" and _INTEGER.match(value):
        return int(value)
    if kind == "bool" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _node(event: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any] | None:
    node: Any = event
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def _all_null(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_all_null(item) for item in value.values())
    return value is None


@cache
def shaper(family: Family) -> RowShaper:
    return RowShaper(family)
