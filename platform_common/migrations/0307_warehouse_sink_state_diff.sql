-- Warehouse sink (issue 5): a touched subscription's state is recomputed into a work table,
-- merged back in canonical form (adjacent intervals with equal state joined), and compared with
-- its previous intervals, so snapshots and revenue are rewritten only from the first day whose
-- state really changed (a payment that changes nothing rewrites nothing).
CREATE UNLOGGED TABLE IF NOT EXISTS staging.old_subscription_state (LIKE warehouse.subscription_state);
ALTER TABLE staging.old_subscription_state DROP CONSTRAINT IF EXISTS old_subscription_state_pkey;
ALTER TABLE staging.old_subscription_state ADD CONSTRAINT old_subscription_state_pkey
    PRIMARY KEY (subscription_id, valid_from);
CREATE UNLOGGED TABLE IF NOT EXISTS staging.subscription_state_work (LIKE warehouse.subscription_state);
ALTER TABLE staging.touched_subscription ADD COLUMN IF NOT EXISTS changed_from date;
