"""A uniform health report: every dependency check is named, timed and never raises."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

HealthCheck = tuple[str, Callable[[], None]]


@dataclass(frozen=True)
class CheckResult:
    name: str
    is_healthy: bool
    duration_ms: float
    detail: str = ""


@dataclass(frozen=True)
class HealthReport:
    results: list[CheckResult] = field(default_factory=list)

    @property
    def is_healthy(self) -> bool:
        return all(result.is_healthy for result in self.results)

    def as_dict(self) -> dict[str, object]:
        return {
            "status": "ok" if self.is_healthy else "degraded",
            "checks": {
                result.name: {
                    "ok": result.is_healthy,
                    "duration_ms": round(result.duration_ms, 2),
                    **({"detail": result.detail} if result.detail else {}),
                }
                for result in self.results
            },
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict())


def run_checks(checks: list[HealthCheck]) -> HealthReport:
    results = []
    for name, check in checks:
        started = time.perf_counter()
        try:
            check()
        except Exception as error:  # noqa: BLE001 - a failing dependency is data here
            results.append(CheckResult(name, False, (time.perf_counter() - started) * 1000, repr(error)))
        else:
            results.append(CheckResult(name, True, (time.perf_counter() - started) * 1000))
    return HealthReport(results)
