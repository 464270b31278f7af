-- revenue_daily for exactly the customers and days the batch touched (as disjoint day ranges): days whose snapshots
-- were rewritten or added, payment days and the billing days of new invoices' attempts.
-- Parameters: reporting_currency, horizon.
--
-- billed: each invoice once, on its service_period_start (invoices are raised on the period's
-- first day), for the amount of its first attempt (invoice_paid or payment_failed);
-- collected / refunded / chargeback: invoice_paid / refunded / chargeback amounts on the UTC
-- date of event_time; mrr: the day's snapshot MRR of the customer's active subscriptions.
-- Payment rows take the plan the subscription was on that day ('unknown' before its first
-- subscription event) and the payment's own region and currency.

-- name: touched_customer_span
-- Per customer, disjoint day ranges: the days whose snapshots this batch rewrote or added, and
-- its new payments' days and billing days; overlapping or adjacent ranges are merged, distant
-- ones (a late payment) stay apart so the days between them are not recomputed.
INSERT INTO staging.touched_customer_span (customer_id, low, high)
WITH touched AS (
    SELECT customer_id, from_date AS low, to_date AS high FROM staging.snapshot_range
    UNION ALL
    SELECT customer_id, event_date, event_date FROM staging.new_payment_event
    UNION ALL
    SELECT customer_id, service_period_start, service_period_start FROM staging.new_payment_event
    WHERE event_type IN ('invoice_paid', 'payment_failed')
), marked AS (
    SELECT t.*,
           CASE WHEN t.low <= max(t.high) OVER (PARTITION BY t.customer_id ORDER BY t.low, t.high
                                              ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) + 1
                THEN 0 ELSE 1 END AS starts
    FROM touched t
), grouped AS (
    SELECT m.*, sum(m.starts) OVER (PARTITION BY m.customer_id ORDER BY m.low, m.high) AS number FROM marked m
)
SELECT customer_id, min(low), max(high) FROM grouped GROUP BY customer_id, number;

-- name: revenue_delete
-- Days past the newest fact row (the horizon's advance, mostly) have nothing to delete: skip
-- their probes (max() reads the end of the primary key).
DELETE FROM warehouse.revenue_daily r
USING (SELECT s.customer_id, g.day::date AS day
       FROM staging.touched_customer_span s
       CROSS JOIN LATERAL generate_series(
           s.low, least(s.high, (SELECT max(revenue_date) FROM warehouse.revenue_daily)), interval '1 day') g(day)
      ) t
WHERE r.revenue_date = t.day AND r.customer_id = t.customer_id;

-- name: revenue_sorted_aggregate
-- revenue_insert wants its rows in primary-key order; a sort of the (narrow) input feeding an
-- in-order aggregate delivers them so, where a hash aggregate needs a second, wider sort.
SET LOCAL enable_hashagg = off;

-- name: revenue_insert
INSERT INTO warehouse.revenue_daily (revenue_date, customer_id, plan_id, region_id, currency, billed_minor,
    collected_minor, refunded_minor, chargeback_minor, mrr_minor, reporting_currency, fx_rate,
    billed_reporting_minor, collected_reporting_minor, refunded_reporting_minor, chargeback_reporting_minor,
    mrr_reporting_minor, updated_at)
WITH recurring AS (
    -- The snapshot rows of the span's days, expanded from the state intervals they come from.
    SELECT g.day::date AS day, i.customer_id, i.plan_id, i.region_id, i.currency,
           0::bigint AS billed, 0::bigint AS collected, 0::bigint AS refunded, 0::bigint AS chargeback,
           i.mrr_minor AS mrr
    FROM staging.touched_customer_span c
    JOIN warehouse.subscription_state i ON i.customer_id = c.customer_id AND i.is_active
     AND i.valid_from <= least(c.high, %(horizon)s::date) AND (i.valid_to IS NULL OR i.valid_to > c.low)
    CROSS JOIN LATERAL generate_series(
        greatest(i.valid_from, c.low), least(coalesce(i.valid_to - 1, c.high), c.high, %(horizon)s::date),
        interval '1 day') g(day)
), moved AS (
    SELECT p.event_date AS day, p.customer_id, p.subscription_id, p.region_id, p.currency, 0::bigint AS billed,
           CASE WHEN p.event_type = 'invoice_paid' THEN p.amount_minor ELSE 0 END AS collected,
           CASE WHEN p.event_type = 'refunded' THEN p.amount_minor ELSE 0 END AS refunded,
           CASE WHEN p.event_type = 'chargeback' THEN p.amount_minor ELSE 0 END AS chargeback
    FROM staging.touched_customer_span c
    JOIN warehouse.payment_event p ON p.customer_id = c.customer_id AND p.event_date BETWEEN c.low AND c.high
    WHERE p.event_type IN ('invoice_paid', 'refunded', 'chargeback')
), invoiced AS (
    SELECT DISTINCT ON (p.invoice_id) p.service_period_start AS day, p.customer_id, p.subscription_id,
           p.region_id, p.currency, p.amount_minor AS billed, 0::bigint AS collected, 0::bigint AS refunded,
           0::bigint AS chargeback
    FROM staging.touched_customer_span c
    JOIN warehouse.payment_event p ON p.customer_id = c.customer_id
     AND p.service_period_start BETWEEN c.low AND c.high
    WHERE p.event_type IN ('invoice_paid', 'payment_failed')
    ORDER BY p.invoice_id, p.event_time, p.event_id
), money AS (
    SELECT m.day, m.customer_id, coalesce(plan.plan_id, 'unknown') AS plan_id, m.region_id, m.currency,
           m.billed, m.collected, m.refunded, m.chargeback, 0::bigint AS mrr
    FROM (SELECT * FROM moved UNION ALL SELECT * FROM invoiced) m
    LEFT JOIN LATERAL (
        SELECT s.plan_id FROM warehouse.subscription_state s
        WHERE s.subscription_id = m.subscription_id AND s.valid_from <= m.day
        ORDER BY s.valid_from DESC LIMIT 1
    ) plan ON true
), fact AS (
    SELECT day, customer_id, plan_id, region_id, currency, sum(billed) AS billed, sum(collected) AS collected,
           sum(refunded) AS refunded, sum(chargeback) AS chargeback, sum(mrr) AS mrr
    FROM (SELECT * FROM recurring UNION ALL SELECT * FROM money) u
    GROUP BY day, customer_id, plan_id, region_id, currency
    -- Rows go in primary-key order: the index is then written page after page (mostly appends
    -- past the old horizon) instead of at random; sorting the narrow aggregate costs less.
    ORDER BY day, customer_id, plan_id, region_id, currency
)
SELECT f.day, f.customer_id, f.plan_id, f.region_id, f.currency, f.billed, f.collected, f.refunded,
       f.chargeback, f.mrr, %(reporting_currency)s, coalesce(fx.rate, 0),
       -- Most amounts of a day are 0, and the reporting currency's rate is 1: skip the numeric
       -- rounding for them.
       CASE WHEN f.billed = 0 THEN 0 WHEN fx.rate = 1 THEN f.billed
            ELSE warehouse.round_half_even(f.billed * coalesce(fx.rate, 0)) END,
       CASE WHEN f.collected = 0 THEN 0 WHEN fx.rate = 1 THEN f.collected
            ELSE warehouse.round_half_even(f.collected * coalesce(fx.rate, 0)) END,
       CASE WHEN f.refunded = 0 THEN 0 WHEN fx.rate = 1 THEN f.refunded
            ELSE warehouse.round_half_even(f.refunded * coalesce(fx.rate, 0)) END,
       CASE WHEN f.chargeback = 0 THEN 0 WHEN fx.rate = 1 THEN f.chargeback
            ELSE warehouse.round_half_even(f.chargeback * coalesce(fx.rate, 0)) END,
       CASE WHEN f.mrr = 0 THEN 0 WHEN fx.rate = 1 THEN f.mrr
            ELSE warehouse.round_half_even(f.mrr * coalesce(fx.rate, 0)) END, now()
FROM fact f
LEFT JOIN staging.fx_day fx ON fx.currency = f.currency AND fx.rate_date = f.day;

-- name: revenue_hash_aggregate_again
SET LOCAL enable_hashagg = on;
