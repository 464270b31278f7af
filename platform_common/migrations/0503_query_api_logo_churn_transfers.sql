-- Query API (issue 7 follow-up): logo churn per segment counts a move as a transfer, not churn.
--
-- 0500's reporting.logo_churn_period counted a customer as churned from a segment (region, plan,
-- currency, or a combination) whenever they were active in it on the day before the period and
-- not on its last day, so a customer who moved to another plan or region was a churned logo of
-- the old segment, while the MRR bridge (0501) books the same move as a transfer. Now, per
-- period and segment, among customers active in the segment at opening (day before the period)
-- or at closing (its last day, or the data horizon in the last period):
--   churned          in the segment at opening, not at closing, and no active subscription
--                    anywhere at closing (the customer is gone)
--   transferred_out  in the segment at opening, not at closing, but active elsewhere at closing
--                    (moved to another plan/region/currency, or kept only their other segments)
--   gained           in the segment at closing, not at opening, and active nowhere at opening
--                    (a new or returning customer)
--   transferred_in   in the segment at closing, not at opening, but active elsewhere at opening
-- so every segment bridges (opening - churned - transferred_out + gained + transferred_in =
-- closing) and company-wide (no filter) the transfers are 0 and the counts are as before.
--
-- Nothing depends on the view (the API reads it; reporting.refresh_read_models() refreshes it by
-- name, CONCURRENTLY once populated, which the unique index below allows), so dropping and
-- recreating it is enough; the function stays as 0502 left it.

DROP MATERIALIZED VIEW IF EXISTS reporting.logo_churn_period;
CREATE MATERIALIZED VIEW reporting.logo_churn_period AS
WITH horizon AS (
    SELECT h.horizon_date, h.reporting_currency,
           (SELECT min(s.snapshot_date) FROM warehouse.subscriptions_snapshot s) AS first_date
    FROM warehouse.data_horizon h
    WHERE h.horizon_date IS NOT NULL
), period AS (
    SELECT k.period_kind, p::date AS period_start, (p - interval '1 day')::date AS opening_date,
           least((p + k.length - interval '1 day')::date, h.horizon_date) AS closing_date
    FROM horizon h
    CROSS JOIN (VALUES ('month', interval '1 month'), ('quarter', interval '3 months')) AS k(period_kind, length)
    CROSS JOIN LATERAL generate_series(date_trunc(k.period_kind, h.first_date::timestamp),
                                       h.horizon_date::timestamp, k.length) AS p
), seen AS (
    SELECT DISTINCT p.period_kind, p.period_start, s.snapshot_date = p.closing_date AS is_closing,
           s.customer_id, s.region_id, s.plan_id, s.currency
    FROM period p
    JOIN warehouse.subscriptions_snapshot s ON s.snapshot_date IN (p.opening_date, p.closing_date)
    WHERE s.is_active AND s.reporting_currency = (SELECT reporting_currency FROM horizon)
), seen_anywhere AS (
    -- Whether the customer is active in any segment at opening / at closing of the period.
    SELECT seen.*,
           bool_or(NOT is_closing) OVER customer_period AS anywhere_at_opening,
           bool_or(is_closing) OVER customer_period AS anywhere_at_closing
    FROM seen
    WINDOW customer_period AS (PARTITION BY period_kind, period_start, customer_id)
), per_customer AS (
    SELECT period_kind, period_start, customer_id, region_id, plan_id, currency,
           grouping(region_id) = 1 AS all_regions, grouping(plan_id) = 1 AS all_plans,
           grouping(currency) = 1 AS all_currencies,
           bool_or(NOT is_closing) AS at_opening, bool_or(is_closing) AS at_closing,
           bool_or(anywhere_at_opening) AS anywhere_at_opening, bool_or(anywhere_at_closing) AS anywhere_at_closing
    FROM seen_anywhere
    GROUP BY period_kind, period_start, customer_id, CUBE (region_id, plan_id, currency)
)
SELECT period_kind, period_start, region_id, plan_id, currency::char(3) AS currency,
       all_regions, all_plans, all_currencies,
       count(*) FILTER (WHERE at_opening)::bigint AS opening_customers,
       count(*) FILTER (WHERE at_closing)::bigint AS closing_customers,
       count(*) FILTER (WHERE at_opening AND NOT at_closing AND NOT anywhere_at_closing)::bigint AS churned_customers,
       count(*) FILTER (WHERE at_opening AND NOT at_closing AND anywhere_at_closing)::bigint
           AS transferred_out_customers,
       count(*) FILTER (WHERE at_closing AND NOT at_opening AND NOT anywhere_at_opening)::bigint AS gained_customers,
       count(*) FILTER (WHERE at_closing AND NOT at_opening AND anywhere_at_opening)::bigint
           AS transferred_in_customers
FROM per_customer
GROUP BY period_kind, period_start, region_id, plan_id, currency, all_regions, all_plans, all_currencies;
CREATE UNIQUE INDEX IF NOT EXISTS logo_churn_period_key ON reporting.logo_churn_period
    (period_kind, period_start, all_regions, all_plans, all_currencies, region_id, plan_id, currency)
    NULLS NOT DISTINCT;
GRANT SELECT ON reporting.logo_churn_period TO ledgerline_read;
