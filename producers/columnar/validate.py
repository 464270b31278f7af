"""The family contract as polars expressions over a whole batch.

`fast_rows` answers, per row, "does the row-wise contract certainly accept this row, and with
exactly these values?". It only says yes for values whose meaning is unambiguous: an integer
within the field's range, a string within its length and pattern, a known enum symbol, a
timestamp in the plain `YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+HH:MM)` form, a `YYYY-MM-DD` date,
and so on. Everything else, whether invalid or merely unusual (a timestamp in another ISO
form, a CSV integer with a leading `+`), is answered "ask the row-wise path", which then
accepts or rejects it with its usual reasons. Failures and oddities are rare, so nearly every
row is validated here, and the row-wise contract remains the one definition of validity.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from producers.columnar.frames import PRESENT, Flat
from producers.columnar.plan import INT_RANGES, Leaf, Plan

_TIMESTAMP = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_TEXT_INTEGER = r"^[0-9]{1,18}$"  # plain digits; signs, spaces and huge numbers go row-wise
_INTEGER_TYPES = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32)
_PART = "__part__."  # prefix of the first pass's helper columns
# Instants from 1900 to 9998 (UTC): far from the edges where datetime arithmetic overflows.
_MIN_MICROS = -2_208_988_800_000_000
_MAX_MICROS = 253_370_764_800_000_000
_MIN_DAYS, _MAX_DAYS = -25_567, 2_932_531  # 1900-01-01 .. 9998-12-31


@dataclass
class Checked:
    """`ok` per row of the flat frame; `values` (rows where ok) in the encoder's types:
    Int64 for numbers, enum indexes, timestamp micros and date days; String; Boolean."""

    ok: pl.Series
    values: pl.DataFrame


def check(flat: Flat, plan: Plan) -> Checked | None:
    """None when a column has a type the fast path does not take (row-wise for the chunk)."""
    frame = flat.frame
    schema = frame.schema
    # An all-null column (metadata.received_at, usually) is checked as such: parsing nothing
    # as timestamps still costs a tenth of a microsecond per row.
    dtypes = tuple(
        pl.Null() if frame.height and frame.get_column(leaf.name).null_count() == frame.height else schema[leaf.name]
        for leaf in plan.leaves
    )
    key = (id(plan), dtypes, flat.text)
    if key not in _CACHE:
        _CACHE[key] = _expressions(plan, dtypes, flat.text)
    expressions = _CACHE[key]
    if expressions is None:
        return None
    prelude, final = expressions
    checked = (frame.with_columns(prelude) if prelude else frame).select(final)
    ok_column = checked.get_column("__ok__")
    values = checked.drop("__ok__")
    return Checked(ok_column, values if ok_column.all() else values.filter(ok_column))


# Building ~100 expressions costs about a millisecond, as much as evaluating them on a batch,
# so they are built once per plan and column types. Plans are cached for the process's life.
_Expressions = tuple[list[pl.Expr], list[pl.Expr]]
_CACHE: dict[tuple[int, tuple[pl.DataType, ...], bool], _Expressions | None] = {}


def _expressions(plan: Plan, dtypes: tuple[pl.DataType, ...], text: bool) -> _Expressions | None:
    """Two passes for `check`: helper columns (timestamp parts), then `__ok__`, the typed leaf
    values and the presence columns. None when some column type is not handled."""
    prelude: list[pl.Expr] = []
    valid: list[pl.Expr] = []
    values: list[pl.Expr] = []
    for leaf, dtype in zip(plan.leaves, dtypes, strict=True):
        typed = _typed(leaf, dtype, text, prelude)
        if typed is None:
            return None
        value, good = typed
        column = pl.col(leaf.name)
        ok = pl.when(column.is_null()).then(pl.lit(leaf.nullable)).otherwise(good.fill_null(False))
        if leaf.record is not None:
            present = pl.col(PRESENT + ".".join(leaf.record))
            ok = ~present | ok
        valid.append(ok)
        values.append(value.alias(leaf.name))
    for rule in plan.rules:
        sibling, field = pl.col(rule.sibling), pl.col(rule.field)
        violated = sibling.is_in(sorted(rule.values)).fill_null(False) & field.is_null()
        owner = next(leaf.record for leaf in plan.leaves if leaf.name == rule.field)
        if owner is not None:
            violated = violated & pl.col(PRESENT + ".".join(owner))
        valid.append(~violated)
    presence = [pl.col(PRESENT + record.name) for record in plan.records]
    return prelude, [pl.all_horizontal(valid).alias("__ok__"), *values, *presence]


def _typed(leaf: Leaf, dtype: pl.DataType, text: bool, prelude: list[pl.Expr]) -> tuple[pl.Expr, pl.Expr] | None:
    """(value expression, "value is certainly valid" expression) for a leaf, given its column type."""
    column = pl.col(leaf.name)
    if dtype == pl.Null:  # an all-null column: the null rows are valid where the leaf is nullable
        nothing = {"string": pl.String, "boolean": pl.Boolean}.get(leaf.kind, pl.Int64)
        return pl.lit(None, dtype=nothing), pl.lit(False)
    if leaf.kind in ("int", "long"):
        value: pl.Expr
        if text and dtype == pl.String:
            value = pl.when(column.str.contains(_TEXT_INTEGER)).then(column.str.to_integer(strict=False))
        elif dtype in _INTEGER_TYPES:
            value = column.cast(pl.Int64)
        else:
            return None
        low, high = INT_RANGES[leaf.kind]
        low = max(low, leaf.constraints.get("minimum", low))
        high = min(high, leaf.constraints.get("maximum", high))
        return value, value.is_between(low, high)
    if leaf.kind == "boolean":
        if text and dtype == pl.String:
            lowered = column.str.to_lowercase()
            return lowered == "true", lowered.is_in(["true", "false"])
        return (column, column.is_not_null()) if dtype == pl.Boolean else None
    if leaf.kind == "timestamp":
        if dtype == pl.String:
            return _timestamp_text(column, leaf.name, prelude)
        if dtype == pl.Datetime("us", "UTC"):
            micros = column.dt.epoch("us")
            return micros, micros.is_between(_MIN_MICROS, _MAX_MICROS)
        return None
    if leaf.kind == "date":
        if dtype == pl.String:
            parsed = pl.when(column.str.contains(_DATE)).then(column.str.to_date("%Y-%m-%d", strict=False))
            days = parsed.cast(pl.Int64)
            return days, days.is_between(_MIN_DAYS, _MAX_DAYS)
        if dtype == pl.Date:
            days = column.cast(pl.Int64)
            return days, days.is_between(_MIN_DAYS, _MAX_DAYS)
        return None
    if dtype != pl.String:
        return None
    if leaf.kind == "enum":
        index = column.replace_strict(list(leaf.symbols), list(range(len(leaf.symbols))), default=None)
        index = index.cast(pl.Int64)
        return index, index.is_not_null()
    return column, _string_ok(column, leaf)


def _string_ok(column: pl.Expr, leaf: Leaf) -> pl.Expr:
    ok = pl.lit(True)
    constraints = leaf.constraints
    # Lengths in bytes where that is conclusive: a string of at least one byte has at least one
    # character, and one of at most N bytes at most N characters. A long non-ASCII string
    # within the character limit fails the byte test and is simply left to the row-wise path.
    minimum, maximum = constraints.get("minLength"), constraints.get("maxLength")
    if minimum is not None:
        length = column.str.len_bytes() if minimum <= 1 else column.str.len_chars()
        ok = ok & (length >= minimum)
    if maximum is not None:
        ok = ok & (column.str.len_bytes() <= maximum)
    if "pattern" in constraints:
        ok = ok & column.str.contains(constraints["pattern"])
    return ok


def _timestamp_text(column: pl.Expr, name: str, prelude: list[pl.Expr]) -> tuple[pl.Expr, pl.Expr]:
    """The regex pins the layout, so fixed slices find the parts: YYYY-MM-DDTHH:MM:SS at 0..19,
    then an optional .fraction, then Z (1 byte) or +HH:MM (6 bytes). The parts are computed
    once, as columns of a first pass (`prelude`), and combined in the second."""

    def number(start: int, length: int) -> pl.Expr:
        return column.str.slice(start, length).cast(pl.Int64, strict=False)

    zulu = column.str.ends_with("Z")
    fraction_size = (column.str.len_bytes().cast(pl.Int64) - pl.when(zulu).then(1).otherwise(6) - 20).clip(0)
    parts = {
        "shaped": column.str.contains(_TIMESTAMP),
        "days": column.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False).cast(pl.Int64),
        "hour": number(11, 2),
        "minute": number(14, 2),
        "second": number(17, 2),
        "fraction": pl.when(fraction_size > 0)
        .then(column.str.slice(20, fraction_size).str.pad_end(6, "0").cast(pl.Int64, strict=False))
        .otherwise(0),
        "zone_hours": pl.when(zulu).then(0).otherwise(number(-5, 2)),
        "zone_minutes": pl.when(zulu).then(0).otherwise(number(-2, 2)),
        "zone_sign": pl.when(column.str.slice(-6, 1) == "-").then(-1).otherwise(1),
    }
    prelude.extend(expr.alias(f"{_PART}{name}.{part}") for part, expr in parts.items())
    shaped, days, hour, minute, second, fraction, zone_hours, zone_minutes, zone_sign = (
        pl.col(f"{_PART}{name}.{part}") for part in parts
    )
    offset_seconds = zone_sign * (zone_hours * 3600 + zone_minutes * 60)
    seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds
    micros = pl.when(shaped).then(seconds * 1_000_000 + fraction)
    good = (
        shaped
        & days.is_between(_MIN_DAYS, _MAX_DAYS)
        & (hour <= 23)
        & (minute <= 59)
        & (second <= 59)
        & (zone_hours <= 23)
        & (zone_minutes <= 59)
        & micros.is_between(_MIN_MICROS, _MAX_MICROS)
    )
    return micros, good
