-- Warehouse sink (issue 5): a customer may have several disjoint touched ranges in one batch
-- (its rewritten snapshot days and, apart from them, the days of late payments), so a range is
-- keyed by its first day; one contiguous span per customer made every late payment recompute
-- all the days between it and the horizon.
ALTER TABLE staging.touched_customer_span DROP CONSTRAINT IF EXISTS touched_customer_span_pkey;
ALTER TABLE staging.touched_customer_span ADD CONSTRAINT touched_customer_span_pkey PRIMARY KEY (customer_id, low);
