-- Batch merge: staging -> event tables (idempotent by event_id). `-- name:` starts each statement.
-- staging.stg_* have the event tables' columns in the same order, minus the derived ones
-- (migration 0301 creates them with LIKE), so `s.*` lines up with the target's leading columns.
-- What the statements insert lands in staging.new_* (usage excepted): only those rows recompute anything.

-- name: subscription_event
WITH inserted AS (
    INSERT INTO warehouse.subscription_event
    SELECT s.*,
           -- The date the event takes effect: effective_date for the transitions that carry one.
           CASE WHEN s.event_type IN ('canceled', 'paused', 'plan_changed')
                THEN coalesce(s.effective_date, s.event_date) ELSE s.event_date END,
           -- The status it sets; plan_changed keeps the previous one.
           CASE s.event_type
               WHEN 'created' THEN CASE WHEN s.trial_end_date > s.event_date THEN 'trialing' ELSE 'active' END
               WHEN 'trial_started' THEN 'trialing'
               WHEN 'paused' THEN 'paused'
               WHEN 'canceled' THEN 'canceled'
               WHEN 'plan_changed' THEN NULL
               ELSE 'active' END
    FROM staging.stg_subscription_event s
    ON CONFLICT (event_id) DO NOTHING
    RETURNING *)
INSERT INTO staging.new_subscription_event SELECT * FROM inserted;

-- name: payment_event
WITH inserted AS (
    INSERT INTO warehouse.payment_event SELECT s.* FROM staging.stg_payment_event s
    ON CONFLICT (event_id) DO NOTHING
    RETURNING *)
INSERT INTO staging.new_payment_event SELECT * FROM inserted;

-- name: usage_event
-- Usage is nine events in ten, so its new rows are not copied again: usage_daily works from the
-- batch itself (see usage_costs.sql for why that is exact).
INSERT INTO warehouse.usage_event SELECT s.* FROM staging.stg_usage_event s
ON CONFLICT (event_id) DO NOTHING;

-- name: cost_event
WITH inserted AS (
    INSERT INTO warehouse.cost_event SELECT s.* FROM staging.stg_cost_event s
    ON CONFLICT (event_id) DO NOTHING
    RETURNING *)
INSERT INTO staging.new_cost_event SELECT * FROM inserted;
