"""Plan and region names from reference data, for the plan and region dimensions.

Events carry only ids, so without reference data a plan or region is named after its id. With
`reference_path` set, names come from that file: the `reference.json` the sample-data generator
writes (`{"plans": [{"plan_id", "name", ...}], "regions": [{"region_id", "name", ...}]}`), read
here as data (the stream processors read the same file for their own checks). The file is read
again when it changes, and every batch applies the names it holds to the rows it writes and to
rows already there, so a rename reaches the warehouse with the next batch (or `refresh`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psycopg.types.json import Jsonb

from platform_common.watched_file import WatchedFile

log = logging.getLogger(__name__)


class ReferenceFileError(ValueError):
    """A reference file that cannot be read; the message names the file."""


@dataclass(frozen=True)
class Names:
    plans: dict[str, str] = field(default_factory=dict)
    regions: dict[str, str] = field(default_factory=dict)

    def params(self) -> dict[str, Any]:
        """Statement parameters (jsonb objects id -> name) for dimensions.sql."""
        return {"plan_names": Jsonb(self.plans), "region_names": Jsonb(self.regions)}


def _names(items: Any, key: str) -> dict[str, str]:
    if not isinstance(items, list):
        return {}
    names = {}
    for item in items:
        name = item.get("name") if isinstance(item, dict) else None
        if isinstance(name, str) and name.strip() and isinstance(item.get(key), str):
            names[item[key]] = name.strip()
    return names


def read_names(path: Path) -> Names:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReferenceFileError(f"{path}: {error}") from None
    if not isinstance(document, dict):
        raise ReferenceFileError(f"{path}: expected a JSON object with plans and regions")
    return Names(_names(document.get("plans"), "plan_id"), _names(document.get("regions"), "region_id"))


class NameSource:
    """The names of `path` (none when unset), re-read when the file changes (see WatchedFile: a
    file that became unreadable keeps the last good names, so a half-written file never renames
    everything back to ids; one unreadable at start fails fast)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._file = None if path is None else WatchedFile(path, read_names)

    def current(self) -> Names:
        if self._file is None:
            return Names()
        if self._file.refresh():
            names = self._file.value
            log.info("reference names reloaded", extra={"plans": len(names.plans), "regions": len(names.regions)})
        return self._file.value
