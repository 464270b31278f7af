"""Resume points of the batch loader.

`FILE.ledgerline-checkpoint` (JSON, next to the file unless `--checkpoint` says otherwise)
records the position up to which every record is settled: acknowledged by Kafka or written to
the rejects file. A re-run skips those records, so an interrupted load re-sends at most the
batches that were in flight; those duplicates are harmless because consumers de-duplicate on
event_id. The checkpoint is bound to the file (path, size, mtime) and the target (topic,
cluster): a changed file or another target is refused rather than silently resumed.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SUFFIX = ".ledgerline-checkpoint"


class CheckpointMismatch(RuntimeError):
    """The checkpoint belongs to another file version or target."""


@dataclass(frozen=True)
class Identity:
    source: str
    size: int
    mtime_ns: int
    family: str
    topic: str
    bootstrap_servers: str

    @classmethod
    def of(cls, path: Path, family: str, topic: str, bootstrap_servers: str) -> Identity:
        stat = path.stat()
        return cls(str(path.resolve()), stat.st_size, stat.st_mtime_ns, family, topic, bootstrap_servers)


@dataclass
class Checkpoint:
    identity: Identity
    done_through: int = 0  # every record at or before this position is settled
    read: int = 0
    produced: int = 0
    rejected: int = 0
    rejects_bytes: int = 0  # rejects file length matching done_through
    complete: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def default_path(source: Path) -> Path:
    return source.with_name(source.name + SUFFIX)


def load(path: Path, identity: Identity) -> Checkpoint | None:
    """The saved checkpoint for `identity`, None if there is none; raises on a mismatch."""
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    saved = Identity(**data.pop("identity"))
    if saved != identity:
        differs = [name for name in asdict(identity) if getattr(saved, name) != getattr(identity, name)]
        raise CheckpointMismatch(
            f"{path} was written for a different {', '.join(differs)}; use --restart to load from the start"
        )
    return Checkpoint(saved, **data)


def save(path: Path, checkpoint: Checkpoint) -> None:
    """Atomic replace, fsynced: a crash leaves the old or the new checkpoint, never half of one."""
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump(asdict(checkpoint), handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
