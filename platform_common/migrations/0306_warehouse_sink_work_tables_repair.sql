-- Warehouse sink (issue 5): development databases that applied an early draft of 0301 have
-- narrower staging.new_* work tables and no staging.snapshot_range. These tables hold nothing
-- between batches, so they are recreated from their final definition (a no-op in effect on
-- databases that applied the final 0301).
DROP TABLE IF EXISTS staging.new_subscription_event, staging.new_payment_event, staging.new_cost_event,
    staging.snapshot_range;
CREATE UNLOGGED TABLE staging.new_subscription_event (LIKE warehouse.subscription_event);
CREATE UNLOGGED TABLE staging.new_payment_event (LIKE warehouse.payment_event);
CREATE UNLOGGED TABLE staging.new_cost_event (LIKE warehouse.cost_event);
-- Per subscription, the days whose snapshot rows the batch rewrites (late changes from their
-- date on, and every open subscription over the days the horizon advanced).
CREATE UNLOGGED TABLE staging.snapshot_range (
    subscription_id text PRIMARY KEY,
    customer_id text NOT NULL,
    from_date date NOT NULL,
    to_date date NOT NULL
);
