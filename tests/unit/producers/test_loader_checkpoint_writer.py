"""The loader's checkpoint writer: the newest state handed over is on disk after close, and a
save that fails is reported instead of lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from producers.loader import checkpoint as checkpoints


def _identity(tmp_path: Path) -> checkpoints.Identity:
    source = tmp_path / "events.ndjson"
    source.write_bytes(b"{}\n")
    return checkpoints.Identity.of(source, "usage", "events.usage.raw", "127.0.0.1:1")


def test_close_leaves_the_newest_state_on_disk(tmp_path: Path) -> None:
    identity = _identity(tmp_path)
    path = tmp_path / "checkpoint"
    writer = checkpoints.CheckpointWriter(path)
    state = checkpoints.Checkpoint(identity)
    for position in range(1, 201):
        state.done_through = position
        state.read = position
        writer.submit(state)  # a copy: changing `state` afterwards must not change what is saved
    state.done_through = -1
    writer.close()
    saved = checkpoints.load(path, identity)
    assert saved is not None
    assert (saved.done_through, saved.read) == (200, 200)
    assert not path.with_name(path.name + ".tmp").exists()


def test_a_failed_save_is_raised_by_close(tmp_path: Path) -> None:
    writer = checkpoints.CheckpointWriter(tmp_path / "missing-directory" / "checkpoint")
    writer.submit(checkpoints.Checkpoint(_identity(tmp_path)))
    with pytest.raises(RuntimeError, match="could not save the checkpoint"):
        writer.close()
