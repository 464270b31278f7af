-- Warehouse sink (issue 5): the per-batch (customer, day) work set is built with SELECT DISTINCT
-- and only ever scanned (its joins probe the fact and event tables' indexes), so it needs no
-- primary key to maintain on every batch.
ALTER TABLE staging.touched_customer_day DROP CONSTRAINT IF EXISTS touched_customer_day_pkey;

-- Usage facts aggregate straight from staging.stg_usage_event (see sinks/warehouse/sql), so the
-- copy of the inserted usage rows is gone.
DROP TABLE IF EXISTS staging.new_usage_event;
