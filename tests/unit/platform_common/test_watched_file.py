from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from platform_common.watched_file import WatchedFile


def _parse(path: Path) -> dict[str, int]:
    document = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise ValueError("expected an object")
    return document


def _write(path: Path, text: str, bump_ns: int) -> None:
    path.write_text(text, encoding="utf-8")
    stamp = path.stat().st_mtime_ns + bump_ns  # a different mtime even on a coarse clock
    os.utime(path, ns=(stamp, stamp))


def test_unreadable_at_start_raises(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="Expecting"):
        WatchedFile(path, _parse)


def test_changes_are_picked_up_and_a_broken_file_keeps_the_last_good_value(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text('{"a": 1}', encoding="utf-8")
    watched = WatchedFile(path, _parse)
    assert watched.value == {"a": 1}
    assert not watched.refresh()  # unchanged

    _write(path, '{"a": 2}', 10**9)
    assert watched.refresh()
    assert watched.value == {"a": 2}

    _write(path, '{"a": ', 2 * 10**9)  # half written
    assert not watched.refresh()
    assert watched.value == {"a": 2}

    path.unlink()  # briefly missing
    assert not watched.refresh()
    assert watched.value == {"a": 2}


def test_checks_are_throttled_unless_forced(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text('{"a": 1}', encoding="utf-8")
    watched = WatchedFile(path, _parse, check_every_s=3600)
    _write(path, '{"a": 3}', 10**9)
    assert not watched.refresh()
    assert watched.value == {"a": 1}
    assert watched.refresh(force=True)
    assert watched.value == {"a": 3}
