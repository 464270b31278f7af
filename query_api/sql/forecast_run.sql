-- One vintage: the given run, or the latest (by creation time) when run_id is NULL.
SELECT run_id, created_at, as_of_date, history_start_date, horizon_days, horizon_months, metrics,
       reporting_currency::text AS reporting_currency
FROM warehouse.forecast_run
WHERE %(run_id)s::uuid IS NULL OR run_id = %(run_id)s::uuid
ORDER BY created_at DESC, run_id DESC
LIMIT 1;
