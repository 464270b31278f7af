-- Dimensions from the batch's new events: region (first sight), customer (SCD2 on region and
-- segment), plan (SCD2 on price and interval). An SCD2 key is rebuilt from all its events only
-- when a new observation disagrees with the version in force at its time. Names come from the
-- reference data (parameters plan_names, region_names: jsonb objects id -> name; empty without
-- reference data), else a plan or region is named by its id.

-- name: region
-- First sight: its reference name (else its id) and the currency it was first billed in.
INSERT INTO warehouse.region (region_id, region_name, currency)
SELECT DISTINCT ON (region_id) region_id, coalesce(%(region_names)s::jsonb ->> region_id, region_id), currency
FROM (SELECT region_id, currency, event_time, event_id FROM staging.new_subscription_event
      UNION ALL SELECT region_id, currency, event_time, event_id FROM staging.new_payment_event
      UNION ALL SELECT region_id, currency, event_time, event_id FROM staging.new_cost_event) r
ORDER BY region_id, event_time, event_id
ON CONFLICT (region_id) DO NOTHING;

-- name: region_rename
-- Reference names reach regions seen before the file named them (or renamed them).
UPDATE warehouse.region r SET region_name = n.value, updated_at = now()
FROM jsonb_each_text(%(region_names)s::jsonb) n
WHERE r.region_id = n.key AND r.region_name IS DISTINCT FROM n.value;

-- name: customer_changed
-- SCD2 customers to rebuild: new, or an observation that disagrees with the version in force
-- at its time (a late event can split a version). Agreeing observations change nothing.
INSERT INTO staging.touched_dimension_key (dimension, natural_id)
SELECT DISTINCT 'customer', n.customer_id
FROM staging.new_subscription_event n
WHERE NOT EXISTS (
    SELECT 1 FROM warehouse.customer c
    WHERE c.customer_id = n.customer_id AND c.valid_from <= n.event_time
      AND (c.valid_to IS NULL OR n.event_time < c.valid_to)
      AND c.region_id = n.region_id AND c.customer_segment IS NOT DISTINCT FROM n.customer_segment)
ON CONFLICT DO NOTHING;

-- name: plan_changed
INSERT INTO staging.touched_dimension_key (dimension, natural_id)
SELECT DISTINCT 'plan', n.plan_id
FROM staging.new_subscription_event n
WHERE NOT EXISTS (
    SELECT 1 FROM warehouse.plan p
    WHERE p.plan_id = n.plan_id AND p.valid_from <= n.event_time
      AND (p.valid_to IS NULL OR n.event_time < p.valid_to)
      AND p.billing_interval = n.billing_interval AND p.billing_interval_count = n.billing_interval_count
      AND p.unit_price_minor = n.unit_price_minor AND p.currency = n.currency)
ON CONFLICT DO NOTHING;

-- name: customer_delete
DELETE FROM warehouse.customer c USING staging.touched_dimension_key t
WHERE t.dimension = 'customer' AND c.customer_id = t.natural_id;

-- name: customer_insert
-- Versions = runs of equal (region, segment) over the customer's events in event-time order.
INSERT INTO warehouse.customer (customer_id, region_id, customer_segment, valid_from, valid_to, is_current)
SELECT customer_id, region_id, customer_segment, valid_from,
       lead(valid_from) OVER w, lead(valid_from) OVER w IS NULL
FROM (
    SELECT DISTINCT ON (customer_id, event_time) customer_id, region_id, customer_segment,
           event_time AS valid_from
    FROM (
        SELECT e.customer_id, e.region_id, e.customer_segment, e.event_time, e.event_id,
               lag(e.region_id) OVER p AS previous_region, lag(e.customer_segment) OVER p AS previous_segment,
               row_number() OVER p AS position
        FROM warehouse.subscription_event e
        JOIN staging.touched_dimension_key t ON t.dimension = 'customer' AND t.natural_id = e.customer_id
        WINDOW p AS (PARTITION BY e.customer_id ORDER BY e.event_time, e.event_id)
    ) observed
    WHERE position = 1 OR region_id IS DISTINCT FROM previous_region
       OR customer_segment IS DISTINCT FROM previous_segment
    ORDER BY customer_id, event_time, event_id DESC
) versions
WINDOW w AS (PARTITION BY customer_id ORDER BY valid_from);

-- name: plan_delete
DELETE FROM warehouse.plan p USING staging.touched_dimension_key t
WHERE t.dimension = 'plan' AND p.plan_id = t.natural_id;

-- name: plan_insert
-- Versions = runs of equal (interval, interval count, unit price, currency) in event-time order.
INSERT INTO warehouse.plan (plan_id, plan_name, billing_interval, billing_interval_count, unit_price_minor,
                            currency, valid_from, valid_to, is_current)
SELECT plan_id, coalesce(%(plan_names)s::jsonb ->> plan_id, plan_id), billing_interval, billing_interval_count,
       unit_price_minor, currency, valid_from, lead(valid_from) OVER w, lead(valid_from) OVER w IS NULL
FROM (
    SELECT DISTINCT ON (plan_id, event_time) plan_id, billing_interval, billing_interval_count,
           unit_price_minor, currency, event_time AS valid_from
    FROM (
        SELECT e.plan_id, e.billing_interval, e.billing_interval_count, e.unit_price_minor, e.currency,
               e.event_time, e.event_id,
               lag(ROW(e.billing_interval, e.billing_interval_count, e.unit_price_minor, e.currency)) OVER p
                   AS previous_terms,
               row_number() OVER p AS position
        FROM warehouse.subscription_event e
        JOIN staging.touched_dimension_key t ON t.dimension = 'plan' AND t.natural_id = e.plan_id
        WINDOW p AS (PARTITION BY e.plan_id ORDER BY e.event_time, e.event_id)
    ) observed
    WHERE position = 1
       OR ROW(billing_interval, billing_interval_count, unit_price_minor, currency) IS DISTINCT FROM previous_terms
    ORDER BY plan_id, event_time, event_id DESC
) versions
WINDOW w AS (PARTITION BY plan_id ORDER BY valid_from);

-- name: plan_rename
-- Every version of a plan carries its current reference name.
UPDATE warehouse.plan p SET plan_name = n.value
FROM jsonb_each_text(%(plan_names)s::jsonb) n
WHERE p.plan_id = n.key AND p.plan_name IS DISTINCT FROM n.value;
