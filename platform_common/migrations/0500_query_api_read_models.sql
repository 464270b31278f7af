-- Query API (issue 7): read models. Pre-aggregated copies of the warehouse facts and views, so
-- every dashboard query touches a few thousand rows instead of the daily facts. They live in
-- their own schema `reporting` (owned by the query API; nothing else writes here) and are
-- refreshed together, in one transaction, by reporting.refresh_read_models() — the function the
-- pipeline calls after each warehouse batch (`query_api.refresh_read_models(conn)`).
--
-- Every read model keeps only rows converted with the reporting currency now in force
-- (warehouse.data_horizon.reporting_currency), so reporting amounts are never mixed.

CREATE SCHEMA IF NOT EXISTS reporting;
GRANT USAGE ON SCHEMA reporting TO ledgerline_read, ledgerline_write;

-- Which refresh the read models hold: the query API caches responses per refresh_id and
-- reports horizon_date as `data_as_of`.
CREATE TABLE IF NOT EXISTS reporting.read_model_refresh (
    is_singleton boolean PRIMARY KEY DEFAULT true CHECK (is_singleton),
    refresh_id bigint NOT NULL,
    refreshed_at timestamptz NOT NULL,
    horizon_date date,
    reporting_currency char(3),
    duration_ms bigint NOT NULL
);

-- Subscriptions and MRR per day and segment (region, plan, original currency).
CREATE MATERIALIZED VIEW IF NOT EXISTS reporting.mrr_daily AS
SELECT s.snapshot_date, s.region_id, s.plan_id, s.currency::char(3) AS currency,
       count(*) FILTER (WHERE s.is_active)::bigint AS active_subscriptions,
       count(*) FILTER (WHERE s.status = 'trialing')::bigint AS trialing_subscriptions,
       count(*) FILTER (WHERE s.status = 'past_due')::bigint AS past_due_subscriptions,
       count(*) FILTER (WHERE s.status = 'paused')::bigint AS paused_subscriptions,
       coalesce(sum(s.mrr_minor) FILTER (WHERE s.is_active), 0)::bigint AS mrr_minor,
       coalesce(sum(s.mrr_reporting_minor) FILTER (WHERE s.is_active), 0)::bigint AS mrr_reporting_minor
FROM warehouse.subscriptions_snapshot s
WHERE s.status <> 'canceled'
  AND s.reporting_currency = (SELECT h.reporting_currency FROM warehouse.data_horizon h)
GROUP BY s.snapshot_date, s.region_id, s.plan_id, s.currency;
CREATE UNIQUE INDEX IF NOT EXISTS mrr_daily_key ON reporting.mrr_daily (snapshot_date, region_id, plan_id, currency);

-- Active customers (at least one is_active subscription) per day. Distinct counts do not add
-- up across segments, so every combination of "one region / all", "one plan / all" and "one
-- currency / all" is stored (CUBE); the all_* flags say which.
CREATE MATERIALIZED VIEW IF NOT EXISTS reporting.customers_daily AS
SELECT s.snapshot_date, s.region_id, s.plan_id, s.currency::char(3) AS currency,
       grouping(s.region_id) = 1 AS all_regions,
       grouping(s.plan_id) = 1 AS all_plans,
       grouping(s.currency) = 1 AS all_currencies,
       count(DISTINCT s.customer_id)::bigint AS active_customers
FROM warehouse.subscriptions_snapshot s
WHERE s.is_active
  AND s.reporting_currency = (SELECT h.reporting_currency FROM warehouse.data_horizon h)
GROUP BY s.snapshot_date, CUBE (s.region_id, s.plan_id, s.currency);
CREATE UNIQUE INDEX IF NOT EXISTS customers_daily_key ON reporting.customers_daily
    (snapshot_date, all_regions, all_plans, all_currencies, region_id, plan_id, currency) NULLS NOT DISTINCT;

-- The warehouse's MRR bridge (0302), materialised as is.
CREATE MATERIALIZED VIEW IF NOT EXISTS reporting.mrr_movement_monthly AS
SELECT month_start_date, region_id, plan_id, currency::char(3) AS currency,
       opening_mrr_minor, new_mrr_minor, expansion_mrr_minor, contraction_mrr_minor, churned_mrr_minor,
       reactivation_mrr_minor, fx_effect_minor, closing_mrr_minor,
       opening_mrr_reporting_minor, new_mrr_reporting_minor, expansion_mrr_reporting_minor,
       contraction_mrr_reporting_minor, churned_mrr_reporting_minor, reactivation_mrr_reporting_minor,
       closing_mrr_reporting_minor
FROM warehouse.mrr_movement_monthly;
CREATE UNIQUE INDEX IF NOT EXISTS mrr_movement_monthly_key
    ON reporting.mrr_movement_monthly (month_start_date, region_id, plan_id, currency);

-- Logo churn per month and per quarter: customers active (at least one is_active
-- subscription in the segment) on the day before the period (opening) and on its last day, or
-- the data horizon in the last period (closing). churned = at opening and not at closing.
CREATE MATERIALIZED VIEW IF NOT EXISTS reporting.logo_churn_period AS
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
), per_customer AS (
    SELECT period_kind, period_start, customer_id, region_id, plan_id, currency,
           grouping(region_id) = 1 AS all_regions, grouping(plan_id) = 1 AS all_plans,
           grouping(currency) = 1 AS all_currencies,
           bool_or(NOT is_closing) AS at_opening, bool_or(is_closing) AS at_closing
    FROM seen
    GROUP BY period_kind, period_start, customer_id, CUBE (region_id, plan_id, currency)
)
SELECT period_kind, period_start, region_id, plan_id, currency::char(3) AS currency,
       all_regions, all_plans, all_currencies,
       count(*) FILTER (WHERE at_opening)::bigint AS opening_customers,
       count(*) FILTER (WHERE at_closing)::bigint AS closing_customers,
       count(*) FILTER (WHERE at_opening AND NOT at_closing)::bigint AS churned_customers,
       count(*) FILTER (WHERE at_closing AND NOT at_opening)::bigint AS gained_customers
FROM per_customer
GROUP BY period_kind, period_start, region_id, plan_id, currency, all_regions, all_plans, all_currencies;
CREATE UNIQUE INDEX IF NOT EXISTS logo_churn_period_key ON reporting.logo_churn_period
    (period_kind, period_start, all_regions, all_plans, all_currencies, region_id, plan_id, currency)
    NULLS NOT DISTINCT;

-- Revenue per day and segment. mrr_reporting_minor is the forecaster's "mrr" actual (the sum
-- of revenue_daily, rounded per customer and day).
CREATE MATERIALIZED VIEW IF NOT EXISTS reporting.revenue_daily AS
SELECT r.revenue_date, r.region_id, r.plan_id, r.currency::char(3) AS currency,
       sum(r.billed_minor)::bigint AS billed_minor,
       sum(r.collected_minor)::bigint AS collected_minor,
       sum(r.refunded_minor)::bigint AS refunded_minor,
       sum(r.chargeback_minor)::bigint AS chargeback_minor,
       sum(r.billed_reporting_minor)::bigint AS billed_reporting_minor,
       sum(r.collected_reporting_minor)::bigint AS collected_reporting_minor,
       sum(r.refunded_reporting_minor)::bigint AS refunded_reporting_minor,
       sum(r.chargeback_reporting_minor)::bigint AS chargeback_reporting_minor,
       sum(r.mrr_reporting_minor)::bigint AS mrr_reporting_minor
FROM warehouse.revenue_daily r
WHERE r.reporting_currency = (SELECT h.reporting_currency FROM warehouse.data_horizon h)
GROUP BY r.revenue_date, r.region_id, r.plan_id, r.currency;
CREATE UNIQUE INDEX IF NOT EXISTS revenue_daily_key ON reporting.revenue_daily (revenue_date, region_id, plan_id, currency);

CREATE MATERIALIZED VIEW IF NOT EXISTS reporting.costs_daily AS
SELECT c.cost_date, c.region_id, c.category, c.currency::char(3) AS currency,
       sum(c.amount_minor)::bigint AS amount_minor,
       sum(c.amount_reporting_minor)::bigint AS amount_reporting_minor
FROM warehouse.costs_daily c
WHERE c.reporting_currency = (SELECT h.reporting_currency FROM warehouse.data_horizon h)
GROUP BY c.cost_date, c.region_id, c.category, c.currency;
CREATE UNIQUE INDEX IF NOT EXISTS costs_daily_key ON reporting.costs_daily (cost_date, region_id, category, currency);

CREATE MATERIALIZED VIEW IF NOT EXISTS reporting.usage_daily AS
SELECT u.usage_date, u.region_id, u.metric, u.unit,
       sum(u.quantity)::bigint AS quantity,
       sum(u.billable_quantity)::bigint AS billable_quantity,
       sum(u.event_count)::bigint AS event_count,
       count(*)::bigint AS customer_days
FROM warehouse.usage_daily u
GROUP BY u.usage_date, u.region_id, u.metric, u.unit;
CREATE UNIQUE INDEX IF NOT EXISTS usage_daily_key ON reporting.usage_daily (usage_date, region_id, metric, unit);

-- Values the dashboard offers as filters: regions and plans (with names where the dimensions
-- have them), usage metrics and cost categories.
CREATE MATERIALIZED VIEW IF NOT EXISTS reporting.dimension_value AS
SELECT 'region'::text AS dimension, v.value_id, max(r.region_name) AS value_name
FROM (SELECT region_id AS value_id FROM warehouse.region
      UNION SELECT region_id FROM reporting.mrr_daily
      UNION SELECT region_id FROM reporting.revenue_daily) v
LEFT JOIN warehouse.region r ON r.region_id = v.value_id
GROUP BY v.value_id
UNION ALL
SELECT 'plan', v.value_id, max(p.plan_name)
FROM (SELECT plan_id AS value_id FROM warehouse.plan
      UNION SELECT plan_id FROM reporting.mrr_daily
      UNION SELECT plan_id FROM reporting.revenue_daily) v
LEFT JOIN warehouse.plan p ON p.plan_id = v.value_id AND p.is_current
GROUP BY v.value_id
UNION ALL
SELECT DISTINCT 'metric', metric, NULL::text FROM reporting.usage_daily
UNION ALL
SELECT DISTINCT 'category', category, NULL::text FROM reporting.costs_daily;
CREATE UNIQUE INDEX IF NOT EXISTS dimension_value_key ON reporting.dimension_value (dimension, value_id);

-- FX gaps (warehouse.fx_rate_missing scans the daily facts, too slow to ask per request).
CREATE MATERIALIZED VIEW IF NOT EXISTS reporting.fx_gap AS
SELECT currency::char(3) AS currency, reporting_currency::char(3) AS reporting_currency,
       min(first_date) AS first_date, max(last_date) AS last_date
FROM warehouse.fx_rate_missing
GROUP BY currency, reporting_currency;
CREATE UNIQUE INDEX IF NOT EXISTS fx_gap_key ON reporting.fx_gap (currency, reporting_currency);

GRANT SELECT ON reporting.read_model_refresh, reporting.mrr_daily, reporting.customers_daily,
    reporting.mrr_movement_monthly, reporting.logo_churn_period, reporting.revenue_daily, reporting.costs_daily,
    reporting.usage_daily, reporting.dimension_value, reporting.fx_gap TO ledgerline_read;

-- Refresh every read model in dependency order, in the caller's transaction (readers keep
-- seeing the previous refresh until it commits: CONCURRENTLY once a view is populated).
-- SECURITY DEFINER because only a materialized view's owner may refresh it; EXECUTE is granted
-- to the writer role that runs the pipeline.
CREATE OR REPLACE FUNCTION reporting.refresh_read_models()
RETURNS TABLE (refresh_id bigint, refreshed_at timestamptz, horizon_date date, reporting_currency char(3),
               duration_ms bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    started timestamptz := clock_timestamp();
    view_name text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('ledgerline.reporting.refresh_read_models'));
    FOREACH view_name IN ARRAY ARRAY['mrr_daily', 'customers_daily', 'mrr_movement_monthly', 'logo_churn_period',
                                     'revenue_daily', 'costs_daily', 'usage_daily', 'dimension_value',
                                     'fx_gap'] LOOP
        IF (SELECT m.ispopulated FROM pg_matviews m
            WHERE m.schemaname = 'reporting' AND m.matviewname = view_name) THEN
            EXECUTE format('REFRESH MATERIALIZED VIEW CONCURRENTLY reporting.%I', view_name);
        ELSE
            EXECUTE format('REFRESH MATERIALIZED VIEW reporting.%I', view_name);
        END IF;
    END LOOP;
    INSERT INTO reporting.read_model_refresh AS r (is_singleton, refresh_id, refreshed_at, horizon_date,
                                                   reporting_currency, duration_ms)
    SELECT true, 1, now(), h.horizon_date, h.reporting_currency,
           (extract(epoch FROM clock_timestamp() - started) * 1000)::bigint
    FROM (SELECT NULL::date AS horizon_date, NULL::char(3) AS reporting_currency
          WHERE NOT EXISTS (SELECT 1 FROM warehouse.data_horizon)
          UNION ALL
          SELECT d.horizon_date, d.reporting_currency FROM warehouse.data_horizon d) h
    ON CONFLICT (is_singleton) DO UPDATE
    SET refresh_id = r.refresh_id + 1, refreshed_at = excluded.refreshed_at, horizon_date = excluded.horizon_date,
        reporting_currency = excluded.reporting_currency, duration_ms = excluded.duration_ms;
    RETURN QUERY SELECT r.refresh_id, r.refreshed_at, r.horizon_date, r.reporting_currency, r.duration_ms
                 FROM reporting.read_model_refresh r;
END
$$;
REVOKE ALL ON FUNCTION reporting.refresh_read_models() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION reporting.refresh_read_models() TO ledgerline_write;
