"""The event contract's value rules, compiled once into plain checks over decoded Avro records.

Avro decoding already guarantees types and presence; what remains of the contract are the
namespaced annotations `ledgerline.constraints` (minimum, maximum, pattern, minLength,
maxLength) and `ledgerline.required_when`, plus "schema_version <= latest version". They are
the same annotations `schemas.validate_event` enforces (a property test keeps both in step);
checking them directly on the record avoids a JSON round trip and a pydantic model per event,
which would cost several times the whole per-event budget of the processor.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from platform_common.avro_codec import SchemaCatalog
from stream_processors.reasons import Finding, QuarantineReason

CONSTRAINTS_KEY = "ledgerline.constraints"
REQUIRED_WHEN_KEY = "ledgerline.required_when"
_Check = Callable[[dict[str, Any], list[Finding]], None]


class ContractChecker:
    """`check(subject, record)` lists every broken value rule of the subject's latest contract."""

    def __init__(self, catalog: SchemaCatalog) -> None:
        self._checks: dict[str, list[_Check]] = {}
        for subject in catalog.subjects:
            latest = catalog.latest(subject)
            extra = {"schema_version": {"maximum": latest.version}}
            self._checks[subject] = _record_checks(latest.schema, "", extra)

    def check(self, subject: str, record: dict[str, Any]) -> list[Finding]:
        findings: list[Finding] = []
        for check in self._checks[subject]:
            check(record, findings)
        return findings


def _record_checks(schema: dict[str, Any], prefix: str, extra: dict[str, dict[str, Any]]) -> list[_Check]:
    checks: list[_Check] = []
    for field in schema["fields"]:
        name = field["name"]
        path = f"{prefix}{name}"
        constraints = {**field.get(CONSTRAINTS_KEY, {}), **extra.get(name, {})}
        checks.extend(_value_checks(name, path, constraints))
        for sibling, values in field.get(REQUIRED_WHEN_KEY, {}).items():
            checks.append(_required_when(name, path, sibling, frozenset(values)))
        nested = _nested_record(field["type"])
        if nested is not None:
            inner = _record_checks(nested, f"{path}.", {})
            if inner:
                checks.append(_nested(name, inner))
    return checks


def _nested_record(avro: Any) -> dict[str, Any] | None:
    branches = avro if isinstance(avro, list) else [avro]
    for branch in branches:
        if isinstance(branch, dict) and branch.get("type") == "record":
            return branch
    return None


def _nested(name: str, inner: list[_Check]) -> _Check:
    def check(record: dict[str, Any], findings: list[Finding]) -> None:
        value = record.get(name)
        if isinstance(value, dict):
            for rule in inner:
                rule(value, findings)

    return check


def _required_when(name: str, path: str, sibling: str, values: frozenset[str]) -> _Check:
    def check(record: dict[str, Any], findings: list[Finding]) -> None:
        if record.get(name) is None and record.get(sibling) in values:
            message = f"required when {sibling} is {record[sibling]!r}"
            findings.append(Finding(QuarantineReason.MISSING_FIELD, message, path))

    return check


def _value_checks(name: str, path: str, constraints: dict[str, Any]) -> list[_Check]:
    checks: list[_Check] = []
    if "minimum" in constraints or "maximum" in constraints:
        checks.append(_bounds(name, path, constraints.get("minimum"), constraints.get("maximum")))
    if "minLength" in constraints or "maxLength" in constraints:
        checks.append(_lengths(name, path, constraints.get("minLength"), constraints.get("maxLength")))
    if "pattern" in constraints:
        checks.append(_pattern(name, path, constraints["pattern"]))
    return checks


def _bounds(name: str, path: str, low: int | None, high: int | None) -> _Check:
    code = QuarantineReason.SCHEMA_VIOLATION if name == "schema_version" else QuarantineReason.OUT_OF_RANGE

    def check(record: dict[str, Any], findings: list[Finding]) -> None:
        value = record.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            if low is not None and value < low:
                findings.append(Finding(code, f"must be >= {low}, got {value}", path))
            elif high is not None and value > high:
                findings.append(Finding(code, f"must be <= {high}, got {value}", path))

    return check


def _lengths(name: str, path: str, low: int | None, high: int | None) -> _Check:
    def check(record: dict[str, Any], findings: list[Finding]) -> None:
        value = record.get(name)
        if isinstance(value, str):
            if low is not None and len(value) < low:
                if value:
                    message = f"shorter than {low} characters"
                    findings.append(Finding(QuarantineReason.SCHEMA_VIOLATION, message, path))
                else:
                    findings.append(Finding(QuarantineReason.MISSING_FIELD, "required value is empty", path))
            elif high is not None and len(value) > high:
                message = f"longer than {high} characters"
                findings.append(Finding(QuarantineReason.SCHEMA_VIOLATION, message, path))

    return check


def _pattern(name: str, path: str, pattern: str) -> _Check:
    search = re.compile(pattern).search
    code = QuarantineReason.INVALID_CURRENCY if name == "currency" else QuarantineReason.SCHEMA_VIOLATION

    def check(record: dict[str, Any], findings: list[Finding]) -> None:
        value = record.get(name)
        if isinstance(value, str) and search(value) is None:
            if value:
                findings.append(Finding(code, f"{value!r} does not match {pattern}", path))
            else:
                findings.append(Finding(QuarantineReason.MISSING_FIELD, "required value is empty", path))

    return check
