"""The metric definitions every response is computed with, and their version.

The text here is what the OpenAPI descriptions and `GET /v1/definitions` show, so the formula a
client reads is the formula the SQL implements. Change a definition -> bump the version.
"""

from __future__ import annotations

from typing import Final

METRIC_DEFINITIONS_VERSION: Final = "2026-11-28.2"

PERIODS: Final = (
    "Periods are calendar days, ISO weeks (Monday to Sunday), calendar months or calendar quarters, "
    "in UTC. A period is returned when its first day lies in [start truncated to the period, end]; "
    "its values always cover the whole period, up to the data horizon (`data_as_of`). Default range: "
    "the 12 months ending with the month of `data_as_of`."
)
CURRENCY: Final = (
    "`currency=reporting` (default): amounts converted to the reporting currency by the warehouse "
    "(each fact at its day's rate). `currency=original`: amounts in the currency they were billed in, "
    "one item per currency (amounts in different currencies are never added)."
)

FORMULAS: Final[dict[str, str]] = {
    "mrr": "MRR on day D = sum of mrr_minor of subscriptions whose snapshot on D is_active (active, "
    "or past due within the grace period). Stock metrics take the value on the period's last day "
    "(or the data horizon in the current period).",
    "arr": "ARR = 12 x MRR.",
    "mrr_movements": "Monthly, per subscription and segment (region, plan, currency; "
    "reporting.mrr_movement_monthly): new (0 -> >0, never had MRR), reactivation (0 -> >0, had MRR before), "
    "expansion (> 0, higher), contraction (> 0, lower), churned (>0 -> 0), transfer (the subscription changed "
    "plan, region or currency: -opening MRR in the old segment, +opening MRR in the new one, converted at the "
    "closing date's rates when the currency changed; the move's net change, closing - transferred opening, is "
    "expansion or contraction of the new segment). Contraction and churned are <= 0. Company-wide (no region or "
    "plan filter) transfers sum to 0 within a currency, so a move shows only as its net expansion or contraction. "
    "Reporting-currency movements are converted per subscription at the closing date's rate. A quarter's "
    "movements are the sums of its months'. Bridge: opening + new + expansion + contraction + churned + "
    "reactivation + transfer + fx_effect = closing (fx_effect is 0 in original currency).",
    "active_subscriptions": "Subscriptions whose snapshot on the day is_active.",
    "active_customers": "Customers with at least one is_active subscription on the day (in the filtered "
    "region/plan/currency).",
    "arpa": "ARPA = round_half_even(MRR / active customers); null when there are no active customers.",
    "logo_churn_rate": "churned customers / opening customers, where opening customers are active in the "
    "segment (the region/plan/currency filter) on the day before the period and churned customers are "
    "opening customers with no active subscription anywhere (in any segment) on its last day (or the data "
    "horizon); a customer who left the segment but is active elsewhere (moved plan, region or currency) "
    "is transferred out, not churned. Null when there are no opening customers.",
    "logo_movements": "Per period and segment (reporting.logo_churn_period), of the customers active in the "
    "segment on the day before the period (opening) or on its last day (closing): churned = at opening, "
    "not at closing, active nowhere at closing; transferred_out = at opening, not at closing, active in "
    "another segment at closing; gained = at closing, not at opening, active nowhere at opening (new or "
    "returning); transferred_in = at closing, not at opening, active in another segment at opening. "
    "opening - churned - transferred_out + gained + transferred_in = closing. Without a region or plan "
    "filter in reporting currency both transfers are 0; in original currency a change of currency is a "
    "transfer between the currencies' items.",
    "gross_mrr_churn_rate": "(|churned MRR| + |contraction MRR|) / opening MRR; null when opening MRR is 0. "
    "Transfers are not churn: none of the churn rates, NRR or GRR uses the transfer movement.",
    "net_mrr_churn_rate": "(|churned MRR| + |contraction MRR| - expansion MRR) / opening MRR; may be "
    "negative; null when opening MRR is 0. New and reactivation MRR are not part of the opening base.",
    "nrr": "NRR = (opening MRR + expansion MRR - |contraction MRR| - |churned MRR|) / opening MRR "
    "= 1 - net MRR churn rate.",
    "grr": "GRR = (opening MRR - |contraction MRR| - |churned MRR|) / opening MRR = 1 - gross MRR churn rate.",
    "revenue": "billed = invoices on their service period's first day; collected = invoice_paid, refunded "
    "and chargeback amounts on the day of the event; net_collected = collected - refunded - chargeback. "
    "Flow metrics are sums over the period's days.",
    "recurring_revenue": "Recognised recurring revenue = round_half_even(sum over the period's days of "
    "MRR(day) / days in that day's month): a month at constant MRR recognises exactly its MRR.",
    "gross_margin": "gross profit = recurring revenue - cost of revenue (costs of the cost-of-revenue "
    "categories); gross margin = gross profit / recurring revenue; null when revenue is 0.",
    "usage": "quantity, billable_quantity and event_count summed over the period's days.",
    "forecast_variance": "variance = actual - forecast point; variance_pct = 100 x variance / |point| "
    "(null when the point is 0); inside_80/95: lo <= actual <= hi. Actuals use the forecaster's "
    "definitions: mrr = sum of revenue_daily.mrr_reporting_minor, active_subscriptions = count of "
    "is_active snapshots, billed = sum of billed_reporting_minor; monthly values are month-end (stocks) "
    "or month sums (flows) of complete months.",
    "freshness": "Per event family: the newest event_time and load time in the warehouse; lag = now - "
    "newest event_time.",
    "quarantine": "Quarantined events counted by family and primary reason, by the UTC day they were quarantined "
    "(warehouse.quarantine_event). An event counts once per family and reason: distinct coalesce(event_id, "
    "quarantine_id), so a backfill re-publishing the same bad raw record does not double count it; records "
    "whose bytes did not decode (no event_id) count one each.",
}


def describe(*names: str) -> str:
    """Markdown bullet list of the named formulas, for endpoint descriptions."""
    return "\n".join(f"- **{name}**: {FORMULAS[name]}" for name in names)
