-- Every vintage, newest first.
SELECT run_id, created_at, as_of_date, history_start_date, horizon_days, horizon_months, metrics,
       reporting_currency::text AS reporting_currency, series_count, fallback_count,
       count(*) OVER () AS total_items
FROM warehouse.forecast_run
ORDER BY created_at DESC, run_id DESC
LIMIT %(limit)s OFFSET %(offset)s;
