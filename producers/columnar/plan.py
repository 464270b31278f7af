"""An Avro record schema flattened into the leaves the columnar loader validates and encodes.

The columnar path works on one column per leaf field (`metadata.producer`, `discount.kind`),
so the schema is walked once into a flat list of `Leaf`s in Avro field order, which is also
the order their bytes appear in the binary encoding. Nested records are transparent (their
fields are simply encoded one after the other); a nullable record adds one union index before
its fields. Only what Ledgerline's contracts use is supported: anything else (arrays, maps,
unions of more than null and one type, records nested inside nullable records) raises
`Unsupported`, and the loader then keeps the row-wise path for that family.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from schemas.avro_to_pydantic import CONSTRAINTS_KEY, REQUIRED_WHEN_KEY

INT_RANGES = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


class Unsupported(ValueError):
    """A schema feature the columnar encoder does not handle; use the row-wise path."""


@dataclass(frozen=True)
class Leaf:
    """One primitive field. `kind`: string | enum | int | long | boolean | timestamp | date."""

    path: tuple[str, ...]
    kind: str
    nullable: bool = False
    null_index: int = 0  # union branch of null (when nullable); the value is the other one
    symbols: tuple[str, ...] = ()
    constraints: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    record: tuple[str, ...] | None = None  # the nullable record this leaf belongs to

    @property
    def name(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class NullableRecord:
    path: tuple[str, ...]
    null_index: int

    @property
    def name(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class RequiredWhenRule:
    """`field` (a leaf) must be non-null when `sibling` (a leaf) has one of `values`."""

    field: str
    sibling: str
    values: frozenset[str]


@dataclass
class Plan:
    """Leaves in encoding order; `steps` interleaves nullable-record union markers with them."""

    steps: list[Leaf | NullableRecord]
    rules: list[RequiredWhenRule]

    @property
    def leaves(self) -> list[Leaf]:
        return [step for step in self.steps if isinstance(step, Leaf)]

    @property
    def records(self) -> list[NullableRecord]:
        return [step for step in self.steps if isinstance(step, NullableRecord)]


def build_plan(schema: dict[str, Any], extra_top_constraints: dict[str, dict[str, Any]] | None = None) -> Plan:
    plan = Plan([], [])
    _walk(schema, (), None, plan, extra_top_constraints or {})
    return plan


@cache
def plan_for(subject: str, version: int | None = None) -> Plan:
    """The plan of a catalogue schema (latest by default), with the contract's extra rule that
    `schema_version` may not exceed the latest version."""
    import schemas

    catalog = schemas.catalog()
    latest = catalog.latest(subject)
    chosen = latest if version is None else catalog.version(subject, version)
    return build_plan(chosen.schema, {"schema_version": {"maximum": latest.version}})


def _walk(
    record: dict[str, Any],
    prefix: tuple[str, ...],
    owner: tuple[str, ...] | None,
    plan: Plan,
    extra: dict[str, dict[str, Any]],
) -> None:
    for avro_field in record["fields"]:
        path = (*prefix, avro_field["name"])
        avro, nullable, null_index = _unwrap(avro_field["type"], path)
        constraints = dict(avro_field.get(CONSTRAINTS_KEY, {}))
        if not prefix:
            constraints.update(extra.get(avro_field["name"], {}))
        for sibling, values in avro_field.get(REQUIRED_WHEN_KEY, {}).items():
            plan.rules.append(RequiredWhenRule(".".join(path), ".".join((*prefix, sibling)), frozenset(values)))
        if isinstance(avro, dict) and avro.get("type") == "record":
            if nullable:
                if owner is not None:
                    raise Unsupported(f"{'.'.join(path)}: nullable record inside a nullable record")
                plan.steps.append(NullableRecord(path, null_index))
                _walk(avro, path, path, plan, extra)
            else:
                _walk(avro, path, owner, plan, extra)
            continue
        kind, symbols = _kind(avro, path)
        plan.steps.append(Leaf(path, kind, nullable, null_index, symbols, constraints, owner))


def _unwrap(avro: Any, path: tuple[str, ...]) -> tuple[Any, bool, int]:
    if not isinstance(avro, list):
        return avro, False, 0
    if len(avro) != 2 or "null" not in avro:
        raise Unsupported(f"{'.'.join(path)}: only [null, T] unions are supported")
    null_index = avro.index("null")
    return avro[1 - null_index], True, null_index


def _kind(avro: Any, path: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    if isinstance(avro, str):
        avro = {"type": avro}
    if not isinstance(avro, dict):
        raise Unsupported(f"{'.'.join(path)}: unsupported type {avro!r}")
    base, logical = avro.get("type"), avro.get("logicalType")
    if base == "long" and logical == "timestamp-micros":
        return "timestamp", ()
    if base == "int" and logical == "date":
        return "date", ()
    if logical is not None:
        raise Unsupported(f"{'.'.join(path)}: logical type {logical!r}")
    if base == "enum":
        return "enum", tuple(avro["symbols"])
    if base in ("string", "int", "long", "boolean"):
        return str(base), ()
    raise Unsupported(f"{'.'.join(path)}: unsupported type {base!r}")
