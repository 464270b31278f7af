-- Query API (issue 7): revenue per calendar month and segment, the right grain for the monthly
-- and quarterly revenue charts (revenue by region is one of the two endpoints with a latency
-- target). reporting.revenue_daily has a row per day, region, plan and currency; a 24-month
-- revenue-by-region query summed ~18,000 of them per request on the 10M-event benchmark
-- warehouse, this reads ~600. Days and weeks still read revenue_daily. Built from revenue_daily
-- (refreshed right after it), so both always agree.
CREATE MATERIALIZED VIEW IF NOT EXISTS reporting.revenue_monthly AS
SELECT date_trunc('month', r.revenue_date)::date AS month_start_date, r.region_id, r.plan_id, r.currency,
       sum(r.billed_minor)::bigint AS billed_minor,
       sum(r.collected_minor)::bigint AS collected_minor,
       sum(r.refunded_minor)::bigint AS refunded_minor,
       sum(r.chargeback_minor)::bigint AS chargeback_minor,
       sum(r.billed_reporting_minor)::bigint AS billed_reporting_minor,
       sum(r.collected_reporting_minor)::bigint AS collected_reporting_minor,
       sum(r.refunded_reporting_minor)::bigint AS refunded_reporting_minor,
       sum(r.chargeback_reporting_minor)::bigint AS chargeback_reporting_minor
FROM reporting.revenue_daily r
GROUP BY 1, r.region_id, r.plan_id, r.currency;
CREATE UNIQUE INDEX IF NOT EXISTS revenue_monthly_key
    ON reporting.revenue_monthly (month_start_date, region_id, plan_id, currency);
GRANT SELECT ON reporting.revenue_monthly TO ledgerline_read;

-- 0500's function with revenue_monthly in the list (after revenue_daily, which it reads).
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
                                     'revenue_daily', 'revenue_monthly', 'costs_daily', 'usage_daily',
                                     'dimension_value', 'fx_gap'] LOOP
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
