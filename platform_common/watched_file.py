"""A value parsed from a file and parsed again when the file changes.

Stages read operator-maintained data files (the reference data of plans and regions) while they
run: publishing a new plan must not need a restart. One rule for all of them: a file unreadable
at start stops the process (a typo is found at once); a file that becomes unreadable later (half
written, briefly missing) keeps the last good value and is logged, never silently emptied.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
# What a parser raises for a file it cannot use (I/O, bad JSON, wrong shape).
PARSE_ERRORS = (OSError, ValueError, KeyError, TypeError)


class WatchedFile(Generic[T]):
    """`value` is `parse(path)`, re-parsed by `refresh()` when the file's mtime or size changed,
    looking at the file at most every `check_every_s` seconds (0: on every call)."""

    def __init__(self, path: Path, parse: Callable[[Path], T], check_every_s: float = 0.0) -> None:
        self.path = path
        self.parse = parse
        self.check_every_s = check_every_s
        self._stamp = self._stat()
        self.value: T = parse(path)  # raises: unreadable at start is an error
        self._checked_at = time.monotonic()

    def _stat(self) -> tuple[int, int] | None:
        try:
            info = self.path.stat()
        except OSError:
            return None
        return (info.st_mtime_ns, info.st_size)

    def refresh(self, force: bool = False) -> bool:
        """True when the value was parsed again."""
        now = time.monotonic()
        if not force and now - self._checked_at < self.check_every_s:
            return False
        self._checked_at = now
        stamp = self._stat()
        if stamp is None or stamp == self._stamp:
            return False
        try:
            value = self.parse(self.path)
        except PARSE_ERRORS as error:
            log.warning(
                "file unreadable; keeping the previous value", extra={"path": str(self.path), "error": repr(error)}
            )
            return False
        self.value, self._stamp = value, stamp
        log.info("file reloaded", extra={"path": str(self.path)})
        return True
