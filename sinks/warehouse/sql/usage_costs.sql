-- Recompute of usage_daily and costs_daily for exactly the keys and days the batch's new
-- events touched, from the event tables (so a late or re-sent event is counted once).
-- Parameters: reporting_currency.

-- name: usage_daily
-- One pass: the batch's keys aggregate straight from the batch and are inserted when they have no
-- row yet (a key's row is written in the same transaction as its events, so no event of such a
-- key was merged before, and the batch, deduplicated by event_id, holds all of them). Keys that
-- already had a row (a late, additional or re-sent event) are exactly those the insert skipped:
-- they are rebuilt from all their events, and a re-sent event changes no value, so such a row is
-- left alone. The insert's own conflict check finds them, so no second probe of usage_daily per
-- batch row (nor a scan of it) is needed. unit and region come from the key's latest event.
-- Returns row_count: the rows inserted or rebuilt.
WITH batch AS (
    SELECT n.usage_date, n.customer_id, n.metric,
           (array_agg(n.unit ORDER BY n.event_time DESC, n.event_id DESC))[1] AS unit,
           (array_agg(n.region_id ORDER BY n.event_time DESC, n.event_id DESC))[1] AS region_id,
           sum(n.quantity) AS quantity, coalesce(sum(n.quantity) FILTER (WHERE n.is_billable), 0) AS billable_quantity,
           count(*) AS event_count
    FROM staging.stg_usage_event n
    GROUP BY n.usage_date, n.customer_id, n.metric
), inserted AS (
    INSERT INTO warehouse.usage_daily (usage_date, customer_id, metric, unit, region_id, quantity,
                                       billable_quantity, event_count, updated_at)
    SELECT b.usage_date, b.customer_id, b.metric, b.unit, b.region_id, b.quantity, b.billable_quantity,
           b.event_count, now()
    FROM batch b
    ON CONFLICT (usage_date, customer_id, metric) DO NOTHING
    RETURNING usage_date, customer_id, metric
), existing AS MATERIALIZED (
    -- Keys the insert skipped; materialized so this (usually empty) set is found before any
    -- event is read, not after joining every batch key to its events.
    SELECT b.usage_date, b.customer_id, b.metric FROM batch b
    WHERE NOT EXISTS (SELECT 1 FROM inserted i WHERE i.usage_date = b.usage_date
                      AND i.customer_id = b.customer_id AND i.metric = b.metric)
), rebuilt AS (
    UPDATE warehouse.usage_daily u
    SET unit = a.unit, region_id = a.region_id, quantity = a.quantity, billable_quantity = a.billable_quantity,
        event_count = a.event_count, updated_at = now()
    FROM (
        SELECT e.usage_date, e.customer_id, e.metric,
               (array_agg(e.unit ORDER BY e.event_time DESC, e.event_id DESC))[1] AS unit,
               (array_agg(e.region_id ORDER BY e.event_time DESC, e.event_id DESC))[1] AS region_id,
               sum(e.quantity) AS quantity,
               coalesce(sum(e.quantity) FILTER (WHERE e.is_billable), 0) AS billable_quantity,
               count(*) AS event_count
        FROM existing t
        JOIN warehouse.usage_event e
          ON e.customer_id = t.customer_id AND e.metric = t.metric AND e.usage_date = t.usage_date
        GROUP BY e.usage_date, e.customer_id, e.metric
    ) a
    WHERE u.usage_date = a.usage_date AND u.customer_id = a.customer_id AND u.metric = a.metric
      AND (u.unit, u.region_id, u.quantity, u.billable_quantity, u.event_count)
          IS DISTINCT FROM (a.unit, a.region_id, a.quantity, a.billable_quantity, a.event_count)
    RETURNING 1
)
SELECT (SELECT count(*) FROM inserted) + (SELECT count(*) FROM rebuilt) AS row_count;

-- name: costs_delete
DELETE FROM warehouse.costs_daily c
USING (SELECT DISTINCT n.region_id, n.category, n.vendor, n.currency, d::date AS day
       FROM staging.new_cost_event n,
            generate_series(n.period_start, greatest(n.period_end, n.period_start), interval '1 day') d) t
WHERE c.cost_date = t.day AND c.region_id = t.region_id AND c.category = t.category
  AND c.vendor = t.vendor AND c.currency = t.currency;

-- name: costs_daily
-- A cost covering n days books amount / n on each day, the remainder one minor unit a day from
-- the period's first day, so the days add up to the amount exactly.
INSERT INTO warehouse.costs_daily (cost_date, region_id, category, vendor, currency, amount_minor,
                                   reporting_currency, fx_rate, amount_reporting_minor, updated_at)
WITH days AS (
    SELECT DISTINCT n.region_id, n.category, n.vendor, n.currency, d::date AS day
    FROM staging.new_cost_event n,
         generate_series(n.period_start, greatest(n.period_end, n.period_start), interval '1 day') d
), booked AS (
    SELECT t.day, t.region_id, t.category, t.vendor, t.currency,
           sum(e.amount_minor / e.days + CASE WHEN t.day - e.period_start < mod(e.amount_minor, e.days)
                                              THEN 1 ELSE 0 END) AS amount_minor
    FROM days t
    JOIN LATERAL (
        SELECT c.amount_minor, c.period_start, greatest(c.period_end, c.period_start) - c.period_start + 1 AS days
        FROM warehouse.cost_event c
        WHERE c.region_id = t.region_id AND c.category = t.category AND c.vendor = t.vendor
          AND c.currency = t.currency AND c.period_start <= t.day
          AND greatest(c.period_end, c.period_start) >= t.day
    ) e ON true
    GROUP BY t.day, t.region_id, t.category, t.vendor, t.currency
)
SELECT b.day, b.region_id, b.category, b.vendor, b.currency, b.amount_minor,
       %(reporting_currency)s, coalesce(fx.rate, 0),
       warehouse.round_half_even(b.amount_minor * coalesce(fx.rate, 0)), now()
FROM booked b
LEFT JOIN staging.fx_day fx ON fx.currency = b.currency AND fx.rate_date = b.day;
