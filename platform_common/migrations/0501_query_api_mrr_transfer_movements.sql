-- Query API (issue 7): MRR movements netted per subscription, with a `transfer` movement.
--
-- warehouse.subscription_mrr_movement_monthly (0302) books a change of plan, region or currency
-- as contraction of the old segment by its opening MRR plus expansion of the new one by its
-- closing MRR, so company-wide expansion and contraction (and the gross churn metrics) are
-- inflated by every move. The query API's read model books such a move as:
--   old segment  transfer  -opening
--   new segment  transfer  +opening (in the new currency: opening x rate(old) / rate(new) at the
--                          month's closing date, half-even; when either rate is unknown the whole
--                          closing MRR is transfer and there is no net movement)
--   new segment  expansion or contraction of closing - transferred opening
-- so every segment still bridges (opening + new + expansion + contraction + churned +
-- reactivation + transfer = closing), company-wide transfers net to zero (same currency), and
-- only the net change of a move is expansion or contraction.
--
-- The warehouse views stay as they are (they are the warehouse sink's contract, checked by
-- `ledgerline reconcile`); this migration only adds a view in `reporting` and rebuilds
-- reporting.mrr_movement_monthly from it. Reporting-currency movements are converted per
-- subscription at the closing date's rate (so a same-currency transfer nets to exactly zero in
-- reporting currency as well); fx_effect is what remains of closing - opening.

CREATE OR REPLACE VIEW reporting.subscription_mrr_movement_monthly AS
WITH point AS (
    SELECT m.month_start_date, (s.snapshot_date = m.closing_date) AS is_closing, s.subscription_id,
           s.customer_id, s.region_id, s.plan_id, s.currency::text AS currency, s.mrr_minor, s.mrr_reporting_minor
    FROM warehouse.mrr_month m
    JOIN warehouse.subscriptions_snapshot s ON s.snapshot_date IN (m.opening_date, m.closing_date)
    WHERE s.is_active AND s.mrr_minor <> 0
), rate AS (
    -- The closing date's rate of every currency with rates (and the reporting currency).
    SELECT m.month_start_date, c.currency, warehouse.fx_rate_on(c.currency, h.reporting_currency, m.closing_date) AS rate
    FROM warehouse.mrr_month m
    CROSS JOIN warehouse.data_horizon h
    CROSS JOIN (SELECT f.currency::text AS currency FROM warehouse.fx_rate f
                JOIN warehouse.data_horizon d ON f.reporting_currency = d.reporting_currency
                UNION SELECT d.reporting_currency::text FROM warehouse.data_horizon d) c
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
           coalesce(ro.rate, 0) AS o_rate, coalesce(rc.rate, 0) AS c_rate,
           (o_mrr IS NOT NULL AND c_mrr IS NOT NULL AND o_region = c_region AND o_plan = c_plan
            AND o_currency = c_currency) AS same_segment,
           (o_mrr IS NOT NULL AND c_mrr IS NOT NULL
            AND (o_region <> c_region OR o_plan <> c_plan OR o_currency <> c_currency)) AS moved
    FROM paired p
    LEFT JOIN rate ro ON ro.month_start_date = p.month_start_date AND ro.currency = p.o_currency
    LEFT JOIN rate rc ON rc.month_start_date = p.month_start_date AND rc.currency = p.c_currency
), moved_in AS (
    -- The opening MRR a moved subscription brings into its new segment, in that segment's currency.
    SELECT k.*,
           CASE WHEN o_currency = c_currency THEN o_mrr
                WHEN o_rate > 0 AND c_rate > 0 THEN warehouse.round_half_even(o_mrr * o_rate / c_rate)
                ELSE c_mrr END AS transferred
    FROM classified k
    WHERE moved
), movement AS (
    -- Opening side: same-segment change, churn, or transfer out.
    SELECT month_start_date, subscription_id, customer_id, o_region AS region_id, o_plan AS plan_id,
           o_currency AS currency,
           CASE WHEN same_segment AND c_mrr > o_mrr THEN 'expansion'
                WHEN same_segment AND c_mrr < o_mrr THEN 'contraction'
                WHEN same_segment THEN 'unchanged'
                WHEN c_mrr IS NULL THEN 'churn'
                ELSE 'transfer' END AS movement_type,
           o_mrr AS opening_mrr_minor,
           CASE WHEN same_segment THEN c_mrr ELSE 0 END AS closing_mrr_minor,
           CASE WHEN same_segment THEN c_mrr ELSE 0 END - o_mrr AS mrr_change_minor,
           o_rate AS rate,
           o_rep AS opening_mrr_reporting_minor,
           CASE WHEN same_segment THEN c_rep ELSE 0 END AS closing_mrr_reporting_minor
    FROM classified WHERE o_mrr IS NOT NULL
    UNION ALL
    -- Closing side without an opening anywhere: new or reactivation.
    SELECT month_start_date, subscription_id, customer_id, c_region, c_plan, c_currency,
           CASE WHEN EXISTS (SELECT 1 FROM warehouse.subscription_state st
                             WHERE st.subscription_id = k.subscription_id AND st.valid_from < k.month_start_date
                               AND st.is_active AND st.mrr_minor <> 0)
                THEN 'reactivation' ELSE 'new' END,
           0, c_mrr, c_mrr, c_rate, 0, c_rep
    FROM classified k WHERE o_mrr IS NULL
    UNION ALL
    -- Moved in: the transferred opening ...
    SELECT month_start_date, subscription_id, customer_id, c_region, c_plan, c_currency, 'transfer',
           0, transferred, transferred, c_rate, 0, 0
    FROM moved_in
    UNION ALL
    -- ... and the net change in the new segment (carries the closing reporting MRR).
    SELECT month_start_date, subscription_id, customer_id, c_region, c_plan, c_currency,
           CASE WHEN c_mrr > transferred THEN 'expansion' WHEN c_mrr < transferred THEN 'contraction'
                ELSE 'unchanged' END,
           0, c_mrr - transferred, c_mrr - transferred, c_rate, 0, c_rep
    FROM moved_in
)
SELECT month_start_date, subscription_id, customer_id, region_id, plan_id, currency, movement_type,
       opening_mrr_minor, closing_mrr_minor, mrr_change_minor,
       opening_mrr_reporting_minor, closing_mrr_reporting_minor,
       warehouse.round_half_even(mrr_change_minor * rate) AS mrr_change_reporting_minor
FROM movement;

-- The MRR bridge per month and segment, now with transfer (replaces 0500's copy of the
-- warehouse view; the refresh function refreshes it by name).
DROP MATERIALIZED VIEW IF EXISTS reporting.mrr_movement_monthly;
CREATE MATERIALIZED VIEW reporting.mrr_movement_monthly AS
WITH agg AS (
    SELECT month_start_date, region_id, plan_id, currency,
           sum(opening_mrr_minor) AS opening, sum(closing_mrr_minor) AS closing,
           sum(opening_mrr_reporting_minor) AS opening_rep, sum(closing_mrr_reporting_minor) AS closing_rep,
           coalesce(sum(mrr_change_minor) FILTER (WHERE movement_type = 'new'), 0) AS new,
           coalesce(sum(mrr_change_minor) FILTER (WHERE movement_type = 'expansion'), 0) AS expansion,
           coalesce(sum(mrr_change_minor) FILTER (WHERE movement_type = 'contraction'), 0) AS contraction,
           coalesce(sum(mrr_change_minor) FILTER (WHERE movement_type = 'churn'), 0) AS churned,
           coalesce(sum(mrr_change_minor) FILTER (WHERE movement_type = 'reactivation'), 0) AS reactivation,
           coalesce(sum(mrr_change_minor) FILTER (WHERE movement_type = 'transfer'), 0) AS transfer,
           coalesce(sum(mrr_change_reporting_minor) FILTER (WHERE movement_type = 'new'), 0) AS new_rep,
           coalesce(sum(mrr_change_reporting_minor) FILTER (WHERE movement_type = 'expansion'), 0) AS expansion_rep,
           coalesce(sum(mrr_change_reporting_minor) FILTER (WHERE movement_type = 'contraction'), 0)
               AS contraction_rep,
           coalesce(sum(mrr_change_reporting_minor) FILTER (WHERE movement_type = 'churn'), 0) AS churned_rep,
           coalesce(sum(mrr_change_reporting_minor) FILTER (WHERE movement_type = 'reactivation'), 0)
               AS reactivation_rep,
           coalesce(sum(mrr_change_reporting_minor) FILTER (WHERE movement_type = 'transfer'), 0) AS transfer_rep
    FROM reporting.subscription_mrr_movement_monthly
    GROUP BY month_start_date, region_id, plan_id, currency
)
SELECT month_start_date, region_id, plan_id, currency::char(3) AS currency,
       opening::bigint AS opening_mrr_minor,
       new::bigint AS new_mrr_minor,
       expansion::bigint AS expansion_mrr_minor,
       contraction::bigint AS contraction_mrr_minor,
       churned::bigint AS churned_mrr_minor,
       reactivation::bigint AS reactivation_mrr_minor,
       transfer::bigint AS transfer_mrr_minor,
       (closing_rep - opening_rep - new_rep - expansion_rep - contraction_rep - churned_rep - reactivation_rep
        - transfer_rep)::bigint AS fx_effect_minor,
       closing::bigint AS closing_mrr_minor,
       opening_rep::bigint AS opening_mrr_reporting_minor,
       new_rep::bigint AS new_mrr_reporting_minor,
       expansion_rep::bigint AS expansion_mrr_reporting_minor,
       contraction_rep::bigint AS contraction_mrr_reporting_minor,
       churned_rep::bigint AS churned_mrr_reporting_minor,
       reactivation_rep::bigint AS reactivation_mrr_reporting_minor,
       transfer_rep::bigint AS transfer_mrr_reporting_minor,
       closing_rep::bigint AS closing_mrr_reporting_minor
FROM agg;
CREATE UNIQUE INDEX IF NOT EXISTS mrr_movement_monthly_key
    ON reporting.mrr_movement_monthly (month_start_date, region_id, plan_id, currency);
GRANT SELECT ON reporting.mrr_movement_monthly TO ledgerline_read;
