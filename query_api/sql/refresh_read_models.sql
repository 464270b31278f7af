-- Rebuild every read model in one transaction (migration 0500); returns the new refresh stamp.
SELECT refresh_id, refreshed_at, horizon_date, reporting_currency::text, duration_ms
FROM reporting.refresh_read_models();
