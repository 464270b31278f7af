-- Warehouse sink (issue 5): revenue is recomputed per customer over one contiguous span of days
-- (expanded from the state intervals, no per-day work set to join), and each batch looks FX up
-- in a small per-batch table of daily rates instead of sorting its fact rows to merge-join them.
CREATE UNLOGGED TABLE IF NOT EXISTS staging.touched_customer_span (
    customer_id text PRIMARY KEY,
    low date NOT NULL,
    high date NOT NULL
);
CREATE UNLOGGED TABLE IF NOT EXISTS staging.fx_day (
    currency char(3) NOT NULL,
    rate_date date NOT NULL,
    rate numeric(20, 10) NOT NULL,
    PRIMARY KEY (currency, rate_date)
);
DROP TABLE IF EXISTS staging.touched_customer_day;
