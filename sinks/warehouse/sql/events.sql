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
-- batch itself (see usage_costs.sql for why that is exact). Only their event_time comes back,
-- for the family's freshness row. Returns row_count: the events inserted.
-- In event_id order: the primary key's leaf pages are then visited in order rather than at
-- random (measured on 1M events: ~9 s instead of ~10 s for this statement, sort included).
WITH inserted AS (
    INSERT INTO warehouse.usage_event SELECT s.* FROM staging.stg_usage_event s ORDER BY s.event_id
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_time
), newest AS (
    SELECT max(event_time) AS latest_event_time, count(*) AS inserted_count FROM inserted
), freshness AS (
    INSERT INTO warehouse.event_freshness AS f (family, latest_event_time, loaded_at)
    SELECT 'usage', n.latest_event_time, now() FROM newest n WHERE n.inserted_count > 0
    ON CONFLICT (family) DO UPDATE
    SET latest_event_time = greatest(f.latest_event_time, excluded.latest_event_time),
        loaded_at = greatest(f.loaded_at, excluded.loaded_at)
)
SELECT inserted_count AS row_count FROM newest;

-- name: cost_event
WITH inserted AS (
    INSERT INTO warehouse.cost_event SELECT s.* FROM staging.stg_cost_event s
    ON CONFLICT (event_id) DO NOTHING
    RETURNING *)
INSERT INTO staging.new_cost_event SELECT * FROM inserted;

-- name: event_freshness
-- The newest event_time and load time per family, from the events this batch inserted (a
-- duplicate moves neither): what /data-quality/freshness reads instead of scanning the event
-- tables. Usage keeps its row in the usage_event statement above.
INSERT INTO warehouse.event_freshness AS f (family, latest_event_time, loaded_at)
SELECT family, max(event_time), max(loaded_at)
FROM (SELECT 'subscription' AS family, event_time, loaded_at FROM staging.new_subscription_event
      UNION ALL
      SELECT 'payment', event_time, loaded_at FROM staging.new_payment_event
      UNION ALL
      SELECT 'operational_cost', event_time, loaded_at FROM staging.new_cost_event) inserted
GROUP BY family
ON CONFLICT (family) DO UPDATE
SET latest_event_time = greatest(f.latest_event_time, excluded.latest_event_time),
    loaded_at = greatest(f.loaded_at, excluded.loaded_at);
