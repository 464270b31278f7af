"""The fixed scenario the query API's numbers are checked against, written as warehouse rows.

Q1 2026, reporting currency USD, EUR at 1.1 until February and 1.2 from 1 March; data horizon
2026-03-31. Subscription state is given as intervals [from, to) exactly as the warehouse sink
keeps them in `warehouse.subscription_state`; the daily snapshot fact is these intervals
expanded day by day (a canceled interval has a row on its first day only), and the MRR part of
`revenue_daily` is the snapshot MRR summed per customer and day, both as the sink builds them.
The movement view (`warehouse.mrr_movement_monthly`) derives from these rows by itself.

    sub  customer region plan                 ccy  story (MRR in minor units)
    S1   C1       na     growth-annual-usd    USD  annual plan 120000/year -> 10000 from Jan 1
    S2   C2       na     starter-monthly-usd  USD  2 seats x 2900 = 5800 from Jan 1;
                         growth-monthly-usd        mid-month upgrade Feb 15: 2 x 7900 = 15800
    S3   C3       emea   growth-monthly-eur   EUR  3 x 7300 = 21900; downgrade Feb 1 to
                         starter-monthly-eur       3 x 2700 = 8100
    S4   C4       emea   starter-monthly-eur  EUR  5 x 2700 = 13500; 4 seats Feb 10 (10800);
                                                   6 seats Mar 12 (16200)
    S5   C5       na     starter-monthly-usd  USD  2900; canceled Feb 20; reactivated Mar 5 (2900)
    S6   C6       na     growth-monthly-usd   USD  trial Jan 1-14 (not active), converts Jan 15: 7900
    S7   C7       na     growth-monthly-usd   USD  7900; paused Mar 10
    S8   C8       emea   growth-monthly-eur   EUR  7300; payment failed Feb 3, past due within the
                                                   7-day grace until Feb 10 (still active), beyond
                                                   grace from Feb 11 (not active, MRR 0)
    S9   C2       na     starter-monthly-usd  USD  second subscription of C2 from Mar 1: 2900

Quarantine records (`QUARANTINE`, written with the admin role as the warehouse sink would):
quarantined 1-3 days before the database clock, so the endpoint's default range (12 months ending
today) holds them whenever the tests run.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import psycopg

HORIZON = date(2026, 3, 31)
FIRST = date(2026, 1, 1)
REPORTING = "USD"
FX = [("EUR", date(2025, 12, 1), Decimal("1.1")), ("EUR", date(2026, 3, 1), Decimal("1.2"))]
REGIONS = [("na", "North America", "USD"), ("emea", "Europe, Middle East & Africa", "EUR")]
RUN_OLD = uuid.UUID("00000000-0000-0000-0000-00000000000a")
RUN_LATEST = uuid.UUID("00000000-0000-0000-0000-00000000000b")


@dataclass(frozen=True)
class State:
    subscription: str
    customer: str
    region: str
    plan: str
    currency: str
    start: date
    end: date | None
    status: str
    active: bool
    quantity: int
    mrr: int


def _d(month: int, day: int) -> date:
    return date(2026, month, day)


STATES = [
    State("S1", "C1", "na", "growth-annual-usd", "USD", _d(1, 1), None, "active", True, 1, 10000),
    State("S2", "C2", "na", "starter-monthly-usd", "USD", _d(1, 1), _d(2, 15), "active", True, 2, 5800),
    State("S2", "C2", "na", "growth-monthly-usd", "USD", _d(2, 15), None, "active", True, 2, 15800),
    State("S3", "C3", "emea", "growth-monthly-eur", "EUR", _d(1, 1), _d(2, 1), "active", True, 3, 21900),
    State("S3", "C3", "emea", "starter-monthly-eur", "EUR", _d(2, 1), None, "active", True, 3, 8100),
    State("S4", "C4", "emea", "starter-monthly-eur", "EUR", _d(1, 1), _d(2, 10), "active", True, 5, 13500),
    State("S4", "C4", "emea", "starter-monthly-eur", "EUR", _d(2, 10), _d(3, 12), "active", True, 4, 10800),
    State("S4", "C4", "emea", "starter-monthly-eur", "EUR", _d(3, 12), None, "active", True, 6, 16200),
    State("S5", "C5", "na", "starter-monthly-usd", "USD", _d(1, 1), _d(2, 20), "active", True, 1, 2900),
    State("S5", "C5", "na", "starter-monthly-usd", "USD", _d(2, 20), _d(3, 5), "canceled", False, 1, 0),
    State("S5", "C5", "na", "starter-monthly-usd", "USD", _d(3, 5), None, "active", True, 1, 2900),
    State("S6", "C6", "na", "growth-monthly-usd", "USD", _d(1, 1), _d(1, 15), "trialing", False, 1, 0),
    State("S6", "C6", "na", "growth-monthly-usd", "USD", _d(1, 15), None, "active", True, 1, 7900),
    State("S7", "C7", "na", "growth-monthly-usd", "USD", _d(1, 1), _d(3, 10), "active", True, 1, 7900),
    State("S7", "C7", "na", "growth-monthly-usd", "USD", _d(3, 10), None, "paused", False, 1, 0),
    State("S8", "C8", "emea", "growth-monthly-eur", "EUR", _d(1, 1), _d(2, 3), "active", True, 1, 7300),
    State("S8", "C8", "emea", "growth-monthly-eur", "EUR", _d(2, 3), _d(2, 11), "past_due", True, 1, 7300),
    State("S8", "C8", "emea", "growth-monthly-eur", "EUR", _d(2, 11), None, "past_due", False, 1, 0),
    State("S9", "C2", "na", "starter-monthly-usd", "USD", _d(3, 1), None, "active", True, 1, 2900),
]

# (day, customer, plan, region, currency, column, amount): billed on the service period's first
# day, collected / refunded / chargeback on the event's day.
MONEY = [
    (_d(1, 1), "C1", "growth-annual-usd", "na", "USD", "billed_minor", 120000),
    (_d(1, 2), "C1", "growth-annual-usd", "na", "USD", "collected_minor", 120000),
    (_d(1, 1), "C2", "starter-monthly-usd", "na", "USD", "billed_minor", 5800),
    (_d(1, 1), "C2", "starter-monthly-usd", "na", "USD", "collected_minor", 5800),
    (_d(1, 1), "C3", "growth-monthly-eur", "emea", "EUR", "billed_minor", 21900),
    (_d(1, 3), "C3", "growth-monthly-eur", "emea", "EUR", "collected_minor", 21900),
    (_d(2, 1), "C2", "starter-monthly-usd", "na", "USD", "billed_minor", 5800),
    (_d(2, 1), "C2", "starter-monthly-usd", "na", "USD", "collected_minor", 5800),
    (_d(2, 20), "C5", "starter-monthly-usd", "na", "USD", "refunded_minor", 1450),
    (_d(2, 5), "C8", "growth-monthly-eur", "emea", "EUR", "chargeback_minor", 7300),
    (_d(3, 1), "C4", "starter-monthly-eur", "emea", "EUR", "billed_minor", 10800),
    (_d(3, 1), "C4", "starter-monthly-eur", "emea", "EUR", "collected_minor", 10800),
]
MONEY_COLUMNS = ("billed_minor", "collected_minor", "refunded_minor", "chargeback_minor", "mrr_minor")

# (day, region, category, vendor, currency, amount)
COSTS = [
    (_d(1, 15), "na", "infrastructure", "aws", "USD", 30000),
    (_d(1, 20), "na", "third_party", "datadog", "USD", 5000),
    (_d(2, 10), "emea", "support", "helpdesk-bpo", "EUR", 10000),
    (_d(3, 5), "emea", "payment_processing", "stripe", "EUR", 2000),
]

# (day, customer, metric, unit, region, quantity, billable, events)
USAGE = [
    (_d(1, 10), "C1", "api_calls", "call", "na", 1000, 900, 10),
    (_d(1, 11), "C3", "api_calls", "call", "emea", 500, 500, 5),
    (_d(2, 2), "C1", "storage_gb", "gb", "na", 20, 20, 1),
]


def rate(currency: str, day: date) -> Decimal:
    if currency == REPORTING:
        return Decimal(1)
    return max((r for c, since, r in FX if c == currency and since <= day), default=Decimal(0))


def convert(amount: int, currency: str, day: date) -> int:
    return int((amount * rate(currency, day)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def snapshot_rows(states: list[State] | None = None) -> list[tuple[Any, ...]]:
    rows = []
    for s in STATES if states is None else states:
        last = s.start if s.status == "canceled" else (s.end - timedelta(days=1) if s.end else HORIZON)
        day = s.start
        while day <= last:
            converted = convert(s.mrr, s.currency, day)
            rows.append((day, s.subscription, s.customer, s.plan, s.region, s.status, s.active, s.quantity,
                         s.currency, s.mrr, REPORTING, rate(s.currency, day), converted))  # fmt: skip
            day += timedelta(days=1)
    return rows


def revenue_rows(snapshots: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """One row per (day, customer, plan, region, currency): snapshot MRR of active subscriptions
    plus the money events, converted per row at the day's rate."""
    facts: dict[tuple[Any, ...], dict[str, int]] = defaultdict(lambda: dict.fromkeys(MONEY_COLUMNS, 0))
    for day, _sub, customer, plan, region, _status, active, _qty, currency, mrr, *_ in snapshots:
        if active:
            facts[(day, customer, plan, region, currency)]["mrr_minor"] += mrr
    for day, customer, plan, region, currency, column, amount in MONEY:
        facts[(day, customer, plan, region, currency)][column] += amount
    rows = []
    for (day, customer, plan, region, currency), values in sorted(facts.items()):
        local = [values[column] for column in MONEY_COLUMNS]
        reported = [convert(value, currency, day) for value in local]
        rows.append((day, customer, plan, region, currency, *local, REPORTING, rate(currency, day), *reported))
    return rows


# (quarantine_id, family, reason, event_id, days before now): the payment record q-2 is q-1's raw
# record re-published by a backfill (same event, new offset): 3 records, 2 events.
QUARANTINE = [
    ("q-1", "payment", "negative_amount", "bad-pay-1", 3),
    ("q-2", "payment", "negative_amount", "bad-pay-1", 1),
    ("q-3", "payment", "negative_amount", "bad-pay-2", 2),
    ("q-4", "subscription", "unknown_plan", "bad-sub-1", 2),
    ("q-5", "unknown", "undecodable", None, 1),
]


def load_quarantine(conn: psycopg.Connection[Any]) -> None:
    """The quarantine records (any role that may insert into warehouse.quarantine_event)."""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO warehouse.quarantine_event (quarantine_id, family, reason, reason_codes, message, event_id, "
            "first_seen_at, quarantined_at, source_topic, source_partition, source_offset) "
            "SELECT %(id)s, %(family)s, %(reason)s, ARRAY[%(reason)s], 'scenario', %(event_id)s, at, at, "
            "'events.' || %(family)s || '.raw', 0, %(offset)s "
            "FROM (SELECT now() - %(days)s * interval '1 day' AS at) t",
            [{"id": qid, "family": family, "reason": reason, "event_id": event_id, "days": days, "offset": offset}
             for offset, (qid, family, reason, event_id, days) in enumerate(QUARANTINE)],
        )  # fmt: skip


def _envelope(event_id: str, event_type: str, at: datetime, topic: str) -> tuple[Any, ...]:
    return (event_id, event_type, at, at.date(), "test", 1, 1, "scenario", at, None, False, topic, 0, 1)


def load(conn: psycopg.Connection[Any]) -> None:
    """Write the scenario (writer role) into an empty warehouse."""
    conn.execute(
        "INSERT INTO warehouse.data_horizon (horizon_date, reporting_currency, updated_at) VALUES (%s, %s, %s)",
        (HORIZON, REPORTING, datetime(2026, 4, 1, 2, 0, tzinfo=UTC)),
    )
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO warehouse.fx_rate VALUES (%s, 'USD', %s, %s)", FX)
        cur.executemany("INSERT INTO warehouse.region (region_id, region_name, currency) VALUES (%s, %s, %s)", REGIONS)
        cur.executemany(
            "INSERT INTO warehouse.subscription_state (subscription_id, valid_from, valid_to, customer_id, plan_id, "
            "region_id, currency, status, is_active, quantity, unit_price_minor, billing_interval, "
            "billing_interval_count, is_discounted, mrr_minor) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0, 'month', 1, false, %s)",
            [(s.subscription, s.start, s.end, s.customer, s.plan, s.region, s.currency, s.status, s.active,
              s.quantity, s.mrr) for s in STATES],
        )  # fmt: skip
        snapshots = snapshot_rows()
        with cur.copy(
            "COPY warehouse.subscriptions_snapshot (snapshot_date, subscription_id, customer_id, plan_id, region_id, "
            "status, is_active, quantity, currency, mrr_minor, reporting_currency, fx_rate, mrr_reporting_minor) "
            "FROM STDIN"
        ) as copy:
            for row in snapshots:
                copy.write_row(row)
        with cur.copy(
            "COPY warehouse.revenue_daily (revenue_date, customer_id, plan_id, region_id, currency, billed_minor, "
            "collected_minor, refunded_minor, chargeback_minor, mrr_minor, reporting_currency, fx_rate, "
            "billed_reporting_minor, collected_reporting_minor, refunded_reporting_minor, chargeback_reporting_minor, "
            "mrr_reporting_minor) FROM STDIN"
        ) as copy:
            for row in revenue_rows(snapshots):
                copy.write_row(row)
        cur.executemany(
            "INSERT INTO warehouse.costs_daily (cost_date, region_id, category, vendor, currency, amount_minor, "
            "reporting_currency, fx_rate, amount_reporting_minor) VALUES (%s, %s, %s, %s, %s, %s, 'USD', %s, %s)",
            [(day, region, category, vendor, ccy, amount, rate(ccy, day), convert(amount, ccy, day))
             for day, region, category, vendor, ccy, amount in COSTS],
        )  # fmt: skip
        cur.executemany(
            "INSERT INTO warehouse.usage_daily (usage_date, customer_id, metric, unit, region_id, quantity, "
            "billable_quantity, event_count) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            USAGE,
        )
    _load_events(conn)
    _load_forecasts(conn)


SUBSCRIPTION_EVENT_AT = datetime(2026, 3, 31, 18, 30, tzinfo=UTC)
PAYMENT_EVENT_AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _load_events(conn: psycopg.Connection[Any]) -> None:
    """One subscription and one payment event and their freshness rows (usage and cost stay empty)."""
    conn.execute(
        "INSERT INTO warehouse.subscription_event (event_id, event_type, event_time, event_date, source, "
        "schema_version, writer_version, producer, received_at, trace_id, is_late, kafka_topic, kafka_partition, "
        "kafka_offset, subscription_id, customer_id, plan_id, billing_interval, billing_interval_count, quantity, "
        "unit_price_minor, currency, region_id, effective_on, loaded_at) VALUES "
        "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'S4', 'C4', 'starter-monthly-eur', 'month', 1, 6, "
        "2700, 'EUR', 'emea', '2026-03-12', %s)",
        (*_envelope("e-sub", "quantity_changed", SUBSCRIPTION_EVENT_AT, "events.subscription.clean"),
         SUBSCRIPTION_EVENT_AT + timedelta(minutes=5)),
    )  # fmt: skip
    conn.execute(
        "INSERT INTO warehouse.payment_event (event_id, event_type, event_time, event_date, source, schema_version, "
        "writer_version, producer, received_at, trace_id, is_late, kafka_topic, kafka_partition, kafka_offset, "
        "payment_id, invoice_id, subscription_id, customer_id, amount_minor, currency, service_period_start, "
        "service_period_end, region_id, loaded_at) VALUES "
        "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'P1', 'I1', 'S4', 'C4', 10800, 'EUR', '2026-03-01', "
        "'2026-03-31', 'emea', %s)",
        (*_envelope("e-pay", "invoice_paid", PAYMENT_EVENT_AT, "events.payment.clean"), PAYMENT_EVENT_AT),
    )
    # What the warehouse sink keeps beside such events in the same transaction (events.sql).
    conn.execute(
        "INSERT INTO warehouse.event_freshness (family, latest_event_time, loaded_at)"
        " VALUES (%s, %s, %s), (%s, %s, %s)",
        ("subscription", SUBSCRIPTION_EVENT_AT, SUBSCRIPTION_EVENT_AT + timedelta(minutes=5),
         "payment", PAYMENT_EVENT_AT, PAYMENT_EVENT_AT),
    )  # fmt: skip


# (run, series, freq, metric, unit, level, region, values: (ds, point, lo80, hi80, lo95, hi95))
FORECASTS = [
    (RUN_OLD, "mrr/total", "day", "mrr", "minor_units", "total", None,
     [(_d(2, 1), "1.00", "0.00", "2.00", "0.00", "3.00")]),
    (RUN_LATEST, "mrr/total", "day", "mrr", "minor_units", "total", None,
     [(_d(2, 1), "80000.00", "78000.00", "82000.00", "76000.00", "84000.00"),
      (_d(2, 2), "66000.00", "65000.00", "67000.00", "64000.00", "68000.00"),
      (_d(4, 1), "70000.00", "68000.00", "72000.00", "66000.00", "74000.00")]),
    (RUN_LATEST, "mrr/region=emea", "day", "mrr", "minor_units", "region", "emea",
     [(_d(2, 1), "30000.00", "29000.00", "31000.00", "28000.00", "32000.00")]),
    (RUN_LATEST, "active_subscriptions/total", "month", "active_subscriptions", "count", "total", None,
     [(_d(2, 1), "7.50", "6.00", "9.00", "5.00", "10.00"),
      (_d(3, 1), "8.00", "7.50", "8.50", "7.00", "9.00")]),
]  # fmt: skip


def _load_forecasts(conn: psycopg.Connection[Any]) -> None:
    for run_id, created, as_of in ((RUN_OLD, datetime(2026, 1, 15, tzinfo=UTC), _d(1, 14)),
                                   (RUN_LATEST, datetime(2026, 2, 1, tzinfo=UTC), _d(1, 31))):  # fmt: skip
        conn.execute(
            "INSERT INTO warehouse.forecast_run (run_id, created_at, as_of_date, history_start_date, horizon_days, "
            "horizon_months, levels, metrics, reporting_currency, series_count, fallback_count, reconciliation, "
            "parameters, library_versions, duration_seconds) VALUES (%s, %s, %s, '2026-01-01', 60, 2, '{80,95}', "
            "'{mrr,active_subscriptions}', 'USD', 3, 0, '{}', '{}', '{}', 1.5)",
            (run_id, created, as_of),
        )
    for run_id, series, freq, metric, unit, level, region, values in FORECASTS:
        conn.execute(
            "INSERT INTO warehouse.forecast_model (run_id, series_id, freq, metric, unit, hierarchy_level, region_id, "
            "plan_id, model, model_spec, training_start, training_end, n_obs, gaps_filled, reconciled, candidates) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, NULL, 'AutoETS', 'ETS(A,N,N)', '2026-01-01', '2026-01-31', 31, 0, "
            "false, %s)",
            (run_id, series, freq, metric, unit, level, region, json.dumps({"AutoETS": 0.5})),
        )
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO warehouse.forecast_value (run_id, series_id, freq, ds, point, lo_80, hi_80, lo_95, hi_95, "
                "model) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'AutoETS')",
                [(run_id, series, freq, *value) for value in values],
            )
