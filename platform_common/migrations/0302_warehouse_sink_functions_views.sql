-- Warehouse sink (issue 5): integer money arithmetic, FX lookup, and the MRR movement views.
-- Everything is integer minor units or exact numeric; rounding is half-even, written once here.

-- round(x) to an integer, ties to even (banker's rounding). Exact for numeric input.
CREATE OR REPLACE FUNCTION warehouse.round_half_even(x numeric)
RETURNS bigint LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT (CASE WHEN x - floor(x) = 0.5 THEN floor(x) + abs(mod(floor(x), 2)) ELSE round(x) END)::bigint
$$;

-- numerator / denominator (denominator > 0) rounded to an integer, ties to even, for integer
-- inputs (the quotient's floor is exact for denominators below 10^16).
CREATE OR REPLACE FUNCTION warehouse.div_round_half_even(numerator numeric, denominator numeric)
RETURNS bigint LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT (floor(numerator / denominator)
            + CASE WHEN 2 * (numerator - floor(numerator / denominator) * denominator) > denominator
                     OR (2 * (numerator - floor(numerator / denominator) * denominator) = denominator
                         AND abs(mod(floor(numerator / denominator), 2)) = 1)
                   THEN 1 ELSE 0 END)::bigint
$$;

-- Normalised monthly recurring revenue of one subscription state (the generator's rule):
-- gross = unit price x quantity per billing period; discount per period: percent ->
-- round_half_even(gross x bp / 10000), amount -> min(amount, gross); MRR =
-- round_half_even((gross - discount) / months per period), months = count for monthly plans,
-- 12 x count for annual and multi-year plans.
CREATE OR REPLACE FUNCTION warehouse.monthly_recurring_minor(
    unit_price_minor bigint, quantity integer, billing_interval text, billing_interval_count integer,
    discount_kind text, discount_amount_minor bigint, discount_percent_basis_points integer,
    is_discounted boolean
) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT warehouse.div_round_half_even(
        unit_price_minor::numeric * quantity
          - CASE WHEN NOT is_discounted OR discount_kind IS NULL THEN 0
                 WHEN discount_kind = 'percent' THEN warehouse.div_round_half_even(
                     unit_price_minor::numeric * quantity * coalesce(discount_percent_basis_points, 0), 10000)
                 ELSE least(coalesce(discount_amount_minor, 0), unit_price_minor * quantity) END,
        CASE WHEN billing_interval = 'month' THEN billing_interval_count ELSE 12 * billing_interval_count END)
$$;

-- The rate converting one unit of `currency` into `reporting` on `day`: the latest rate with
-- effective_date <= day; 1 for the reporting currency itself; 0 when no rate is known (the
-- reporting amounts are then 0 and warehouse.fx_rate_missing lists the gap).
CREATE OR REPLACE FUNCTION warehouse.fx_rate_on(currency text, reporting text, day date)
RETURNS numeric LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN currency = reporting THEN 1::numeric ELSE coalesce((
        SELECT f.rate FROM warehouse.fx_rate f
        WHERE f.currency = fx_rate_on.currency AND f.reporting_currency = fx_rate_on.reporting
          AND f.effective_date <= fx_rate_on.day
        ORDER BY f.effective_date DESC LIMIT 1), 0) END
$$;

-- One row per currency with known rates (and the reporting currency) per day in [from, to]:
-- joined by the recompute so each fact row does a hash lookup instead of an index probe.
CREATE OR REPLACE FUNCTION warehouse.fx_rate_daily(reporting text, from_date date, to_date date)
RETURNS TABLE (currency char(3), rate_date date, rate numeric)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT c.currency::char(3), d::date, warehouse.fx_rate_on(c.currency, reporting, d::date)
    FROM (SELECT DISTINCT f.currency::text AS currency FROM warehouse.fx_rate f
          WHERE f.reporting_currency = reporting
          UNION SELECT reporting) c
    CROSS JOIN generate_series(from_date, to_date, interval '1 day') d
$$;

-- Views ------------------------------------------------------------------------------------------

-- Months the warehouse covers, with the dates whose snapshots open and close them: the last
-- day of the previous month, and the month's last day (or the data horizon in its last month).
CREATE OR REPLACE VIEW warehouse.mrr_month AS
SELECT m::date AS month_start_date,
       (m - interval '1 day')::date AS opening_date,
       least((m + interval '1 month' - interval '1 day')::date, h.horizon_date) AS closing_date
FROM warehouse.data_horizon h
CROSS JOIN LATERAL generate_series(
    date_trunc('month', (SELECT min(snapshot_date) FROM warehouse.subscriptions_snapshot))::date,
    h.horizon_date, interval '1 month') AS m
WHERE h.horizon_date IS NOT NULL;

-- Per subscription and month: how its MRR moved, in the segment (region, plan, currency) it
-- was in. Month-end based: opening = MRR at the previous month's last day, closing = MRR at
-- this month's last day. Signed amounts (mrr_change_minor = closing - opening per row):
--   new           0 -> >0, never had MRR before the month
--   reactivation  0 -> >0, had MRR before the month (after churn, pause, lapsed dunning)
--   expansion     more MRR in the same segment (also: MRR that moved in from another segment)
--   contraction   less MRR in the same segment (also: MRR that moved out to another segment)
--   churn         >0 -> 0 (canceled, paused, past-due beyond grace)
-- A change of plan, region or currency is two rows: contraction of the old segment by its
-- opening MRR and expansion of the new one by its closing MRR, so every segment bridges.
CREATE OR REPLACE VIEW warehouse.subscription_mrr_movement_monthly AS
WITH point AS (
    SELECT m.month_start_date, (s.snapshot_date = m.closing_date) AS is_closing, s.subscription_id,
           s.customer_id, s.region_id, s.plan_id, s.currency, s.mrr_minor, s.mrr_reporting_minor
    FROM warehouse.mrr_month m
    JOIN warehouse.subscriptions_snapshot s ON s.snapshot_date IN (m.opening_date, m.closing_date)
    WHERE s.is_active AND s.mrr_minor <> 0
), paired AS (
    SELECT coalesce(o.month_start_date, c.month_start_date) AS month_start_date,
           coalesce(o.subscription_id, c.subscription_id) AS subscription_id,
           coalesce(c.customer_id, o.customer_id) AS customer_id,
           o.region_id AS o_region, o.plan_id AS o_plan, o.currency AS o_currency,
           o.mrr_minor AS o_mrr, o.mrr_reporting_minor AS o_rep,
           c.region_id AS c_region, c.plan_id AS c_plan, c.currency AS c_currency,
           c.mrr_minor AS c_mrr, c.mrr_reporting_minor AS c_rep
    FROM (SELECT * FROM point WHERE NOT is_closing) o
    FULL JOIN (SELECT * FROM point WHERE is_closing) c
      ON c.month_start_date = o.month_start_date AND c.subscription_id = o.subscription_id
), classified AS (
    SELECT p.*,
           (o_mrr IS NOT NULL AND c_mrr IS NOT NULL AND o_region = c_region AND o_plan = c_plan
            AND o_currency = c_currency) AS same_segment,
           EXISTS (SELECT 1 FROM warehouse.subscription_state st
                   WHERE st.subscription_id = p.subscription_id AND st.valid_from < p.month_start_date
                     AND st.is_active AND st.mrr_minor <> 0) AS had_mrr_before
    FROM paired p
)
-- Opening side (churn, contraction, expansion in the same segment, or moved out).
SELECT month_start_date, subscription_id, customer_id, o_region AS region_id, o_plan AS plan_id,
       o_currency AS currency,
       CASE WHEN same_segment AND c_mrr > o_mrr THEN 'expansion'
            WHEN same_segment AND c_mrr < o_mrr THEN 'contraction'
            WHEN same_segment THEN 'unchanged'
            WHEN c_mrr IS NULL THEN 'churn'
            ELSE 'contraction' END AS movement_type,
       o_mrr AS opening_mrr_minor,
       CASE WHEN same_segment THEN c_mrr ELSE 0 END AS closing_mrr_minor,
       CASE WHEN same_segment THEN c_mrr ELSE 0 END - o_mrr AS mrr_change_minor,
       o_rep AS opening_mrr_reporting_minor,
       CASE WHEN same_segment THEN c_rep ELSE 0 END AS closing_mrr_reporting_minor
FROM classified WHERE o_mrr IS NOT NULL
UNION ALL
-- Closing side without an opening in the same segment (new, reactivation, moved in).
SELECT month_start_date, subscription_id, customer_id, c_region, c_plan, c_currency,
       CASE WHEN o_mrr IS NOT NULL THEN 'expansion'
            WHEN had_mrr_before THEN 'reactivation'
            ELSE 'new' END,
       0, c_mrr, c_mrr, 0, c_rep
FROM classified WHERE c_mrr IS NOT NULL AND NOT same_segment;

-- The MRR bridge per month and segment (region, plan, currency). Local-currency columns
-- satisfy opening + new + expansion + contraction + churned + reactivation = closing
-- (contraction and churned are <= 0). Reporting columns: opening/closing are the sums of the
-- snapshots' converted MRR at those dates; each movement is converted at the closing date's
-- rate (fx_rate); fx_effect_minor is what remains, so the reporting bridge
-- opening + movements + fx_effect = closing holds too.
CREATE OR REPLACE VIEW warehouse.mrr_movement_monthly AS
WITH agg AS (
    SELECT month_start_date, region_id, plan_id, currency,
           sum(opening_mrr_minor) AS opening, sum(closing_mrr_minor) AS closing,
           coalesce(sum(mrr_change_minor) FILTER (WHERE movement_type = 'new'), 0) AS new,
           coalesce(sum(mrr_change_minor) FILTER (WHERE movement_type = 'expansion'), 0) AS expansion,
           coalesce(sum(mrr_change_minor) FILTER (WHERE movement_type = 'contraction'), 0) AS contraction,
           coalesce(sum(mrr_change_minor) FILTER (WHERE movement_type = 'churn'), 0) AS churned,
           coalesce(sum(mrr_change_minor) FILTER (WHERE movement_type = 'reactivation'), 0) AS reactivation,
           sum(opening_mrr_reporting_minor) AS opening_rep, sum(closing_mrr_reporting_minor) AS closing_rep
    FROM warehouse.subscription_mrr_movement_monthly
    GROUP BY month_start_date, region_id, plan_id, currency
), converted AS (
    SELECT a.*, h.reporting_currency,
           warehouse.fx_rate_on(a.currency, h.reporting_currency, m.closing_date) AS rate
    FROM agg a
    JOIN warehouse.mrr_month m USING (month_start_date)
    CROSS JOIN warehouse.data_horizon h
), reported AS (
    SELECT c.*,
           warehouse.round_half_even(new * rate) AS new_rep,
           warehouse.round_half_even(expansion * rate) AS expansion_rep,
           warehouse.round_half_even(contraction * rate) AS contraction_rep,
           warehouse.round_half_even(churned * rate) AS churned_rep,
           warehouse.round_half_even(reactivation * rate) AS reactivation_rep
    FROM converted c
)
SELECT month_start_date, region_id, plan_id, currency::char(3) AS currency,
       opening::bigint AS opening_mrr_minor,
       new::bigint AS new_mrr_minor,
       expansion::bigint AS expansion_mrr_minor,
       contraction::bigint AS contraction_mrr_minor,
       churned::bigint AS churned_mrr_minor,
       reactivation::bigint AS reactivation_mrr_minor,
       (closing_rep - opening_rep - new_rep - expansion_rep - contraction_rep - churned_rep
        - reactivation_rep)::bigint AS fx_effect_minor,
       closing::bigint AS closing_mrr_minor,
       reporting_currency,
       rate::numeric(20, 10) AS fx_rate,
       opening_rep::bigint AS opening_mrr_reporting_minor,
       new_rep AS new_mrr_reporting_minor,
       expansion_rep AS expansion_mrr_reporting_minor,
       contraction_rep AS contraction_mrr_reporting_minor,
       churned_rep AS churned_mrr_reporting_minor,
       reactivation_rep AS reactivation_mrr_reporting_minor,
       closing_rep::bigint AS closing_mrr_reporting_minor
FROM reported;

-- Currencies and dates for which a fact used no FX rate (rate 0): load rates, then
-- `ledgerline sink warehouse refresh` (load-fx re-converts by itself).
CREATE OR REPLACE VIEW warehouse.fx_rate_missing AS
SELECT currency, reporting_currency, min(revenue_date) AS first_date, max(revenue_date) AS last_date
FROM warehouse.revenue_daily WHERE fx_rate = 0 GROUP BY currency, reporting_currency
UNION
SELECT currency, reporting_currency, min(cost_date), max(cost_date)
FROM warehouse.costs_daily WHERE fx_rate = 0 GROUP BY currency, reporting_currency
UNION
SELECT currency, reporting_currency, min(snapshot_date), max(snapshot_date)
FROM warehouse.subscriptions_snapshot WHERE fx_rate = 0 GROUP BY currency, reporting_currency;
