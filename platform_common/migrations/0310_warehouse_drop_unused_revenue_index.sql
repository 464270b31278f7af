-- Warehouse sink (issue 5): revenue_daily_region_date (region_id, revenue_date) served no shipped
-- query — the query API reads the reporting.* read models, the forecaster and the read-model
-- refresh scan by date (the primary key leads with revenue_date) — while every batch paid for
-- maintaining it on ~1.5 daily rows per event. Analysts who slice the raw fact by region can
-- create it again; nothing here depends on it.
DROP INDEX IF EXISTS warehouse.revenue_daily_region_date;
