"""Faust tables whose changelog restores the processor's per-partition state.

Faust owns what tables are for here: declaring the changelog topics, assigning their partitions
together with the raw topics' (same partition count -> same co-partitioned group), and replaying
them on start and after every rebalance before the agent gets a message. Instead of Faust's
dict of Python objects, each record is handed to a loader that rebuilds the compact structures
in `state` (a plain dict of every event id would not fit the 300 MB budget at 1M events).
Writes are appended by `output.PartitionWriter` in the same transaction as the batch's output.

On a rebalance Faust replays the whole changelog of *newly* assigned partitions (the in-memory
store has no offsets on disk), but only the tail of partitions the worker keeps, from where it
last read. So the state of revoked and newly assigned partitions is dropped (rebuilt from
scratch), while kept partitions keep theirs; re-applying the tail to them is idempotent (seen
entries are set again, every state record carries a full value, written in order).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import faust
from faust.types import TP, EventT

Loader = Callable[[int, bytes, bytes | None], None]
Rebalance = Callable[[set[TP], set[TP]], None]


class ChangelogTable(faust.Table[bytes, bytes]):
    """A table used only for its changelog: records go to `loader`, not to Faust's store."""

    def __init__(
        self,
        app: faust.App,
        *,
        name: str,
        loader: Loader,
        reset: Rebalance,
        retention_s: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(app, name=name, key_type=bytes, value_type=bytes, **kwargs)
        self._loader = loader
        self._reset = reset
        self._retention_s = retention_s

    def _new_changelog_topic(
        self,
        *,
        retention: Any = None,
        compacting: bool | None = None,
        deleting: bool | None = None,
    ) -> Any:
        if self._retention_s is None:
            return super()._new_changelog_topic(retention=retention, compacting=True, deleting=False)
        return super()._new_changelog_topic(retention=self._retention_s, compacting=False, deleting=True)

    def apply_changelog_batch(self, batch: Iterable[EventT[Any]]) -> None:
        loader = self._loader
        for event in batch:
            message = event.message
            loader(message.partition, message.key or b"", message.value)

    async def on_rebalance(
        self, assigned: set[TP], revoked: set[TP], newly_assigned: set[TP], generation_id: int = 0
    ) -> None:
        self._reset(assigned, newly_assigned)
        await super().on_rebalance(assigned, revoked, newly_assigned, generation_id)


def add_table(app: faust.App, table: ChangelogTable) -> ChangelogTable:
    app.tables.add(table)
    return table
