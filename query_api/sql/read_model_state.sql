-- Which refresh of the read models this transaction sees (no row before the first refresh).
SELECT refresh_id, refreshed_at, horizon_date, reporting_currency::text AS reporting_currency
FROM reporting.read_model_refresh;
