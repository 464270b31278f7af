"""Checks of the MRR bridge (`warehouse.mrr_movement_monthly`), shared by the warehouse tests.

`assert_view_bridge` checks the view against itself: each row's opening + movements = closing,
and each segment's opening = its previous closing. Both hold by construction for any view that
sums the same per-subscription rows into opening, movements and closing, so a view that lost a
subscription, read the wrong day or mis-sized a movement together with its closing still passes.

`bridge_breaks` has teeth: it computes every month's closing MRR per segment independently,
straight from `warehouse.subscriptions_snapshot` (`CLOSING_SQL`), and requires the view's
movements to carry the previous month's independent closing to this month's, for every month
and segment, to the minor unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from warehouse_sink_helpers import query

from platform_common.config import Settings

MOVEMENTS = ("new", "expansion", "contraction", "churned", "reactivation")
Segment = tuple[str, str, str]  # (region_id, plan_id, currency): the view's segment

# Closing MRR per month and segment, by the view's documented rule but computed without it: the
# sum over subscriptions active on the month's last day (on the data horizon in the horizon's
# month), in the segment each one is in on that day. (Rows with 0 MRR, which the view leaves
# out, add nothing to a sum.)
CLOSING_SQL = """
SELECT date_trunc('month', s.snapshot_date)::date AS month_start_date,
       s.region_id, s.plan_id, s.currency,
       sum(s.mrr_minor)::bigint AS closing_mrr_minor,
       sum(s.mrr_reporting_minor)::bigint AS closing_mrr_reporting_minor
FROM warehouse.subscriptions_snapshot s
CROSS JOIN warehouse.data_horizon h
WHERE s.is_active
  AND s.snapshot_date <= h.horizon_date
  AND (s.snapshot_date = (date_trunc('month', s.snapshot_date) + interval '1 month - 1 day')::date
       OR s.snapshot_date = h.horizon_date)
GROUP BY 1, 2, 3, 4
"""


@dataclass(frozen=True)
class Break:
    """Previous independent closing + the view's movements != this independent closing."""

    month: date
    segment: Segment
    currency: str  # "local" or "reporting"
    opening: int
    moved: int
    closing: int

    @property
    def gap(self) -> int:
        return self.closing - self.opening - self.moved


def view_rows(settings: Settings) -> list[dict[str, Any]]:
    rows = query(settings, "SELECT * FROM warehouse.mrr_movement_monthly ORDER BY 1, 2, 3, 4")
    names = [
        r[0]
        for r in query(
            settings,
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'warehouse'"
            " AND table_name = 'mrr_movement_monthly' ORDER BY ordinal_position",
        )
    ]
    return [dict(zip(names, row, strict=True)) for row in rows]


def assert_view_bridge(settings: Settings, months: int) -> None:
    """The view's own identities (see the module docstring: these cannot catch much)."""
    rows = view_rows(settings)
    assert rows
    closing_of: dict[tuple[Any, ...], int] = {}
    closing_rep_of: dict[tuple[Any, ...], int] = {}
    kinds: set[str] = set()
    for r in rows:
        local = r["opening_mrr_minor"] + sum(r[f"{m}_mrr_minor"] for m in MOVEMENTS)
        assert local == r["closing_mrr_minor"], r
        reported = r["opening_mrr_reporting_minor"] + sum(r[f"{m}_mrr_reporting_minor"] for m in MOVEMENTS)
        assert reported + r["fx_effect_minor"] == r["closing_mrr_reporting_minor"], r
        assert r["contraction_mrr_minor"] <= 0 <= r["expansion_mrr_minor"]
        assert r["churned_mrr_minor"] <= 0 <= r["new_mrr_minor"]
        kinds |= {m for m in MOVEMENTS if r[f"{m}_mrr_minor"]}
        segment = (r["region_id"], r["plan_id"], r["currency"])
        previous = closing_of.get(segment, 0)
        assert r["opening_mrr_minor"] == previous, r
        assert r["opening_mrr_reporting_minor"] == closing_rep_of.get(segment, 0), r
        closing_of[segment] = r["closing_mrr_minor"]
        closing_rep_of[segment] = r["closing_mrr_reporting_minor"]
    assert {"new", "churned", "expansion", "contraction"} <= kinds
    assert len({r["month_start_date"] for r in rows}) == months


def _months(first: date, last: date) -> list[date]:
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def bridge_breaks(settings: Settings) -> list[Break]:
    """Every (month, segment) where previous independent closing + the view's movements differ
    from this month's independent closing; empty when the bridge holds."""
    first, horizon = query(
        settings,
        "SELECT min(snapshot_date), (SELECT horizon_date FROM warehouse.data_horizon)"
        " FROM warehouse.subscriptions_snapshot",
    )[0]
    assert first is not None
    assert horizon is not None
    months = _months(first, horizon)
    closing: dict[tuple[date, Segment], tuple[int, int]] = {
        (month, (region, plan, currency)): (int(local), int(reported))
        for month, region, plan, currency, local, reported in query(settings, CLOSING_SQL)
    }
    view = {(r["month_start_date"], (r["region_id"], r["plan_id"], r["currency"])): r for r in view_rows(settings)}
    assert {month for month, _ in view} <= set(months), "the view has months outside the snapshots' range"
    breaks: list[Break] = []
    for index, month in enumerate(months):
        previous = months[index - 1] if index else None
        segments = {s for (m, s) in closing if m in (month, previous)} | {s for (m, s) in view if m == month}
        for segment in sorted(segments):
            opening_local, opening_rep = closing.get((previous, segment), (0, 0)) if previous else (0, 0)
            closing_local, closing_rep = closing.get((month, segment), (0, 0))
            row = view.get((month, segment))  # no row: nothing moved in this segment
            moved = sum(int(row[f"{m}_mrr_minor"]) for m in MOVEMENTS) if row else 0
            if opening_local + moved != closing_local:
                breaks.append(Break(month, segment, "local", opening_local, moved, closing_local))
            # Reporting currency: fx_effect_minor is defined as the remainder (closing - opening -
            # converted movements), so this identity cannot catch a wrong movement; it only
            # checks that the view's reporting opening and closing are the snapshots' sums.
            # The local-currency identity above has no remainder term: it is the one with teeth.
            moved_rep = (
                sum(int(row[f"{m}_mrr_reporting_minor"]) for m in MOVEMENTS) + int(row["fx_effect_minor"]) if row else 0
            )
            if opening_rep + moved_rep != closing_rep:
                breaks.append(Break(month, segment, "reporting", opening_rep, moved_rep, closing_rep))
    return breaks


def assert_bridge_from_snapshots(settings: Settings) -> None:
    breaks = bridge_breaks(settings)
    assert not breaks, f"{len(breaks)} MRR bridge break(s), first: {breaks[:5]}"
