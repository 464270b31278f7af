"""Reference data (price-book plans and sales regions) the processor checks ids against.

Loaded from the `reference.json` the sample-data generator writes (or any file of that shape:
`{"plans": [{"plan_id", "currency", ...}], "regions": [{"region_id", ...}]}`) and reloaded
when the file changes, so a quarantined event that named a then-unknown plan can be replayed
unchanged once the plan is published. Without a configured file, ids are not checked.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platform_common.watched_file import WatchedFile

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReferenceData:
    plans: dict[str, str] = field(default_factory=dict)  # plan_id -> currency ("" when unknown)
    regions: frozenset[str] = frozenset()
    checked: bool = True  # False: no reference data configured, ids are accepted as they are

    @classmethod
    def unchecked(cls) -> ReferenceData:
        return cls(checked=False)

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> ReferenceData:
        plans = {str(plan["plan_id"]): str(plan.get("currency") or "") for plan in document.get("plans", [])}
        regions = frozenset(str(region["region_id"]) for region in document.get("regions", []))
        return cls(plans, regions)

    @classmethod
    def from_file(cls, path: Path) -> ReferenceData:
        document = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(document, dict):
            raise ValueError(f"{path}: reference data must be a JSON object")
        return cls.from_json(document)


class ReferenceSource:
    """The current reference data, re-read from its file when it changes (see WatchedFile)."""

    def __init__(self, path: Path | None, reload_every_s: float = 10.0) -> None:
        self.path = path
        self._file = None if path is None else WatchedFile(path, ReferenceData.from_file, reload_every_s)
        if path is None:
            log.warning("no reference data configured: plan and region ids are not checked")

    @property
    def data(self) -> ReferenceData:
        return ReferenceData.unchecked() if self._file is None else self._file.value

    def maybe_reload(self, force: bool = False) -> bool:
        """Reload if the file changed; a file that became unreadable keeps the last good data."""
        if self._file is None or not self._file.refresh(force):
            return False
        log.info("reference data reloaded", extra={"plans": len(self.data.plans), "regions": len(self.data.regions)})
        return True
