"""The columnar fast path of `prepare_chunk`: a whole chunk validated and encoded at once.

Rows the vectorised contract certainly accepts are stamped exactly like `prepare_event` does
(`metadata.received_at` overwritten with the chunk's arrival time, a missing
`metadata.trace_id` filled with the load's trace id, the `trace_id` header carrying the
event's id) and encoded in one pass; their keys are the contract's partition keys. Every
other row index is returned for the row-wise path, which produces the exact reject reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

import schemas
from platform_common.avro_codec import SINGLE_OBJECT_MARKER
from platform_common.logging import TRACE_HEADER
from platform_common.topics import Family
from producers import columnar
from producers.loader.readers import Chunk

Headers = list[tuple[str, str | bytes | None]]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_KEY_FIELDS = {
    Family.SUBSCRIPTION: ("customer_id",),
    Family.PAYMENT: ("customer_id",),
    Family.USAGE: ("customer_id",),
    Family.OPERATIONAL_COST: ("region_id", "category"),  # "<region_id>/<category>"
}
_RECEIVED_AT, _TRACE_ID = "metadata.received_at", "metadata.trace_id"


@dataclass
class FastRows:
    rows: npt.NDArray[np.int64]  # chunk indexes of the rows below, ascending
    values: list[bytes]
    keys: list[bytes]
    headers: list[Headers]


@dataclass(frozen=True)
class _Family:
    plan: columnar.Plan
    arrow: pa.Schema
    header: bytes


@cache
def _family(family: Family) -> _Family | None:
    """None when the family's schema has a feature the columnar encoder lacks."""
    try:
        plan = columnar.plan_for(family.value)
    except columnar.Unsupported:
        return None
    leaves = {leaf.name: leaf for leaf in plan.leaves}
    received, trace = leaves.get(_RECEIVED_AT), leaves.get(_TRACE_ID)
    if received is None or received.kind != "timestamp" or trace is None or trace.kind != "string":
        return None
    if any(name not in leaves or leaves[name].kind != "string" for name in _KEY_FIELDS[family]):
        return None
    latest = schemas.catalog().latest(family.value)
    return _Family(plan, columnar.arrow_schema(plan), SINGLE_OBJECT_MARKER + latest.fingerprint)


def micros(instant: datetime) -> int:
    """timestamp-micros of an aware datetime, computed the way fastavro does (exact integers)."""
    delta = instant - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def fast_rows(chunk: Chunk, family: Family, trace_id: str, received_at: datetime) -> FastRows | None:
    """The rows of `chunk` this path accepts, encoded; None when the whole chunk goes row-wise."""
    spec = _family(family)
    if spec is None:
        return None
    if chunk.lines is not None:
        lines = chunk.lines
        flat: columnar.Flat | None = columnar.ndjson(lines.blob, lines.starts, lines.ends, spec.plan, spec.arrow)
    else:
        assert chunk.frame is not None
        flat = columnar.tabular(chunk.frame, spec.plan, text=chunk.fmt == "csv")
    if flat is None:
        return None
    checked = columnar.check(flat, spec.plan)
    if checked is None:
        return None
    ok = checked.ok.to_numpy()
    values = checked.values
    own_trace = values.get_column(_TRACE_ID)
    if (own_trace == "").any():  # an empty trace id gets no header: rare, left to prepare_event
        keep = (own_trace != "").fill_null(True)
        values = values.filter(keep)
        ok = ok.copy()
        ok[np.flatnonzero(ok)[~keep.to_numpy()]] = False
        own_trace = values.get_column(_TRACE_ID)
    stamped = values.with_columns(
        pl.lit(micros(received_at), dtype=pl.Int64).alias(_RECEIVED_AT),
        pl.col(_TRACE_ID).fill_null(trace_id),
    )
    encoded = columnar.encode_frame(spec.plan, stamped, spec.header)
    return FastRows(flat.rows[ok], encoded, _keys(stamped, family), _headers(own_trace, trace_id))


def _keys(values: pl.DataFrame, family: Family) -> list[bytes]:
    fields = _KEY_FIELDS[family]
    key = pl.col(fields[0]) if len(fields) == 1 else pl.concat_str([pl.col(name) for name in fields], separator="/")
    keys: list[bytes] = values.select(key.cast(pl.Binary)).to_series().to_list()
    return keys


def _headers(own_trace: pl.Series, trace_id: str) -> list[Headers]:
    shared: Headers = [(TRACE_HEADER, trace_id.encode())]
    if own_trace.null_count() == len(own_trace):
        return [shared] * len(own_trace)
    return [shared if own is None else [(TRACE_HEADER, own.encode())] for own in own_trace.to_list()]
