-- Subscription state and the daily snapshot fact, recomputed for the subscriptions the batch
-- touched, from the first affected date forward; plus every open subscription over the days
-- the data horizon advanced. Parameters: grace_days, apply_discounts, trials_count_as_active,
-- reporting_currency, old_horizon (NULL before the first batch), horizon.
--
-- State on day D (the generator's rules, see MrrRules): among subscription events effective on
-- or before D, the last by (effective date, event_time, event_id) gives the terms; the last
-- status-setting one gives the status. An active subscription with a payment_failed on or
-- after its status began and no later invoice_paid is past_due; it keeps its MRR for
-- grace_days after the first such failure and counts as churned after that.

-- name: touched_subscription
INSERT INTO staging.touched_subscription (subscription_id, from_date)
SELECT subscription_id, min(day)
FROM (SELECT subscription_id, least(event_date, effective_on) AS day FROM staging.new_subscription_event
      UNION ALL
      SELECT subscription_id, event_date FROM staging.new_payment_event
      WHERE event_type IN ('invoice_paid', 'payment_failed')) t
GROUP BY subscription_id;

-- name: state_before
-- The intervals as they were, to merge with and to diff against.
INSERT INTO staging.old_subscription_state
SELECT s.* FROM warehouse.subscription_state s
JOIN staging.touched_subscription t ON t.subscription_id = s.subscription_id;

-- name: state_work
-- The state from from_date on, one interval per change point.
INSERT INTO staging.subscription_state_work (subscription_id, valid_from, valid_to, customer_id, plan_id, region_id,
    currency, status, is_active, quantity, unit_price_minor, billing_interval, billing_interval_count,
    is_discounted, mrr_minor)
WITH change_point AS (
    -- Every date on or after from_date where the state can change.
    SELECT t.subscription_id, t.from_date AS day FROM staging.touched_subscription t
    UNION
    SELECT e.subscription_id, e.effective_on
    FROM staging.touched_subscription t
    JOIN warehouse.subscription_event e ON e.subscription_id = t.subscription_id AND e.effective_on >= t.from_date
    UNION
    SELECT p.subscription_id, d.day
    FROM staging.touched_subscription t
    JOIN warehouse.payment_event p ON p.subscription_id = t.subscription_id
     AND p.event_type IN ('invoice_paid', 'payment_failed')
     AND p.event_date >= t.from_date - %(grace_days)s - 1
    CROSS JOIN LATERAL (VALUES (p.event_date), (p.event_date + %(grace_days)s + 1)) d(day)
    WHERE d.day >= t.from_date
    UNION
    -- Discount expiries: each activation plus each discount duration the subscription has seen.
    SELECT a.subscription_id, (a.effective_on + make_interval(months => e.discount_duration_months))::date
    FROM staging.touched_subscription t
    JOIN warehouse.subscription_event a ON a.subscription_id = t.subscription_id
     AND a.event_type IN ('activated', 'trial_converted', 'reactivated')
    JOIN warehouse.subscription_event e ON e.subscription_id = t.subscription_id
     AND e.discount_duration_months IS NOT NULL
    WHERE (a.effective_on + make_interval(months => e.discount_duration_months))::date >= t.from_date
), state AS (
    SELECT cp.subscription_id, cp.day,
           lead(cp.day) OVER (PARTITION BY cp.subscription_id ORDER BY cp.day) AS next_day,
           terms.*, coalesce(status_event.status_after, 'active') AS base_status,
           status_event.effective_on AS status_since, activation.effective_on AS activated_on,
           failing.since AS failing_since
    FROM change_point cp
    CROSS JOIN LATERAL (
        SELECT e.customer_id, e.plan_id, e.region_id, e.currency, e.quantity, e.unit_price_minor,
               e.billing_interval, e.billing_interval_count, e.discount_kind, e.discount_amount_minor,
               e.discount_percent_basis_points, e.discount_duration_months
        FROM warehouse.subscription_event e
        WHERE e.subscription_id = cp.subscription_id AND e.effective_on <= cp.day
        ORDER BY e.effective_on DESC, e.event_time DESC, e.event_id DESC LIMIT 1
    ) terms
    LEFT JOIN LATERAL (
        SELECT e.status_after, e.effective_on
        FROM warehouse.subscription_event e
        WHERE e.subscription_id = cp.subscription_id AND e.effective_on <= cp.day AND e.status_after IS NOT NULL
        ORDER BY e.effective_on DESC, e.event_time DESC, e.event_id DESC LIMIT 1
    ) status_event ON true
    LEFT JOIN LATERAL (
        SELECT e.effective_on
        FROM warehouse.subscription_event e
        WHERE e.subscription_id = cp.subscription_id AND e.effective_on <= cp.day
          AND e.event_type IN ('activated', 'trial_converted', 'reactivated')
        ORDER BY e.effective_on DESC, e.event_time DESC, e.event_id DESC LIMIT 1
    ) activation ON true
    LEFT JOIN LATERAL (
        SELECT min(f.event_date) AS since
        FROM warehouse.payment_event f
        WHERE f.subscription_id = cp.subscription_id AND f.event_type = 'payment_failed'
          AND f.event_date <= cp.day AND f.event_date >= status_event.effective_on
          AND NOT EXISTS (
              SELECT 1 FROM warehouse.payment_event p
              WHERE p.subscription_id = f.subscription_id AND p.event_type = 'invoice_paid'
                AND p.event_date <= cp.day AND (p.event_time, p.event_id) > (f.event_time, f.event_id))
    ) failing ON true
), judged AS (
    SELECT s.*,
           CASE WHEN s.base_status = 'active' AND s.failing_since IS NOT NULL THEN 'past_due'
                ELSE s.base_status END AS status,
           CASE WHEN s.base_status = 'active' AND s.failing_since IS NOT NULL
                     THEN s.day - s.failing_since <= %(grace_days)s
                WHEN s.base_status = 'active' THEN true
                WHEN s.base_status = 'trialing' THEN %(trials_count_as_active)s
                ELSE false END AS is_active,
           (%(apply_discounts)s AND s.discount_kind IS NOT NULL AND s.activated_on IS NOT NULL
            AND s.day >= s.activated_on
            AND (s.discount_duration_months IS NULL
                 OR s.day < (s.activated_on + make_interval(months => s.discount_duration_months))::date))
               AS is_discounted
    FROM state s
)
SELECT subscription_id, day, next_day, customer_id, plan_id, region_id, currency, status, is_active,
       quantity, unit_price_minor, billing_interval, billing_interval_count, is_discounted,
       CASE WHEN is_active THEN warehouse.monthly_recurring_minor(unit_price_minor, quantity, billing_interval,
                billing_interval_count, discount_kind, discount_amount_minor, discount_percent_basis_points,
                is_discounted)
            ELSE 0 END
FROM judged;

-- name: state_delete
DELETE FROM warehouse.subscription_state s USING staging.touched_subscription t
WHERE s.subscription_id = t.subscription_id;

-- name: state_insert
-- Canonical form: the old intervals before from_date (the last one cut there) followed by the
-- recomputed ones, adjacent intervals with equal state merged. The form depends only on the
-- events, never on how they were batched, so a rebuild lands on the same intervals.
INSERT INTO warehouse.subscription_state (subscription_id, valid_from, valid_to, customer_id, plan_id, region_id,
    currency, status, is_active, quantity, unit_price_minor, billing_interval, billing_interval_count,
    is_discounted, mrr_minor)
WITH piece AS (
    SELECT o.subscription_id, o.valid_from,
           CASE WHEN o.valid_to IS NULL OR o.valid_to > t.from_date THEN t.from_date ELSE o.valid_to END AS valid_to,
           o.customer_id, o.plan_id, o.region_id, o.currency, o.status, o.is_active, o.quantity, o.unit_price_minor,
           o.billing_interval, o.billing_interval_count, o.is_discounted, o.mrr_minor
    FROM staging.old_subscription_state o
    JOIN staging.touched_subscription t ON t.subscription_id = o.subscription_id
    WHERE o.valid_from < t.from_date
    UNION ALL
    SELECT w.subscription_id, w.valid_from, w.valid_to, w.customer_id, w.plan_id, w.region_id, w.currency,
           w.status, w.is_active, w.quantity, w.unit_price_minor, w.billing_interval, w.billing_interval_count,
           w.is_discounted, w.mrr_minor
    FROM staging.subscription_state_work w
), marked AS (
    SELECT p.*,
           CASE WHEN lag(p.valid_to) OVER w = p.valid_from
                 AND lag(ROW(p.customer_id, p.plan_id, p.region_id, p.currency, p.status, p.is_active, p.quantity,
                             p.unit_price_minor, p.billing_interval, p.billing_interval_count, p.is_discounted,
                             p.mrr_minor)) OVER w
                     IS NOT DISTINCT FROM ROW(p.customer_id, p.plan_id, p.region_id, p.currency, p.status,
                             p.is_active, p.quantity, p.unit_price_minor, p.billing_interval,
                             p.billing_interval_count, p.is_discounted, p.mrr_minor)
                THEN 0 ELSE 1 END AS starts
    FROM piece p
    WINDOW w AS (PARTITION BY p.subscription_id ORDER BY p.valid_from)
), island AS (
    SELECT m.*, sum(m.starts) OVER (PARTITION BY m.subscription_id ORDER BY m.valid_from) AS number
    FROM marked m
)
SELECT subscription_id, min(valid_from), (array_agg(valid_to ORDER BY valid_from DESC))[1], customer_id, plan_id,
       region_id, currency, status, is_active, quantity, unit_price_minor, billing_interval, billing_interval_count,
       is_discounted, mrr_minor
FROM island
GROUP BY subscription_id, number, customer_id, plan_id, region_id, currency, status, is_active, quantity,
         unit_price_minor, billing_interval, billing_interval_count, is_discounted, mrr_minor;

-- name: state_changed_from
-- The first day on or after from_date whose snapshot row differs between the old and the new
-- intervals (both are constant between interval starts, so only starts need comparing; a
-- canceled run also differs by where it starts, as only its first day has a row).
UPDATE staging.touched_subscription t SET changed_from = d.first_day
FROM (
    SELECT b.subscription_id, min(b.day) AS first_day
    FROM (SELECT subscription_id, from_date AS day FROM staging.touched_subscription
          UNION
          SELECT subscription_id, valid_from FROM staging.old_subscription_state
          UNION
          SELECT n.subscription_id, n.valid_from FROM warehouse.subscription_state n
          JOIN staging.touched_subscription k ON k.subscription_id = n.subscription_id) b
    JOIN staging.touched_subscription k ON k.subscription_id = b.subscription_id AND b.day >= k.from_date
    LEFT JOIN LATERAL (
        SELECT ROW(o.customer_id, o.plan_id, o.region_id, o.currency, o.status, o.is_active, o.quantity, o.mrr_minor,
                   CASE WHEN o.status = 'canceled' THEN o.valid_from END) AS state
        FROM staging.old_subscription_state o
        WHERE o.subscription_id = b.subscription_id AND o.valid_from <= b.day
          AND (o.valid_to IS NULL OR o.valid_to > b.day)
    ) o ON true
    LEFT JOIN LATERAL (
        SELECT ROW(n.customer_id, n.plan_id, n.region_id, n.currency, n.status, n.is_active, n.quantity, n.mrr_minor,
                   CASE WHEN n.status = 'canceled' THEN n.valid_from END) AS state
        FROM warehouse.subscription_state n
        WHERE n.subscription_id = b.subscription_id AND n.valid_from <= b.day
          AND (n.valid_to IS NULL OR n.valid_to > b.day)
    ) n ON true
    WHERE o.state IS DISTINCT FROM n.state
    GROUP BY b.subscription_id
) d
WHERE t.subscription_id = d.subscription_id;

-- name: snapshot_range
-- Touched subscriptions from the first day their state changed (or the first day past the old
-- horizon, whichever is earlier); every other subscription still open over the days the horizon
-- advanced.
-- A canceled subscription has a snapshot row on its cancel day only.
INSERT INTO staging.snapshot_range (subscription_id, customer_id, from_date, to_date)
SELECT t.subscription_id, c.customer_id, least(t.changed_from, %(old_horizon)s::date + 1), %(horizon)s::date
FROM staging.touched_subscription t
CROSS JOIN LATERAL (SELECT s.customer_id FROM warehouse.subscription_state s
                    WHERE s.subscription_id = t.subscription_id
                    ORDER BY s.valid_from DESC LIMIT 1) c
WHERE least(t.changed_from, %(old_horizon)s::date + 1) <= %(horizon)s::date
UNION ALL
SELECT s.subscription_id, min(s.customer_id), %(old_horizon)s::date + 1, %(horizon)s::date
FROM warehouse.subscription_state s
WHERE %(horizon)s::date > %(old_horizon)s::date
  AND (s.valid_to IS NULL OR s.valid_to > %(old_horizon)s::date + 1)
  AND s.valid_from <= %(horizon)s::date
  AND NOT (s.status = 'canceled' AND s.valid_from <= %(old_horizon)s::date)
  AND NOT EXISTS (SELECT 1 FROM staging.touched_subscription t WHERE t.subscription_id = s.subscription_id)
GROUP BY s.subscription_id;

-- name: snapshot_delete
DELETE FROM warehouse.subscriptions_snapshot s USING staging.touched_subscription t
WHERE s.subscription_id = t.subscription_id AND s.snapshot_date >= t.changed_from;

-- name: snapshot_insert
INSERT INTO warehouse.subscriptions_snapshot (snapshot_date, subscription_id, customer_id, plan_id, region_id,
    status, is_active, quantity, currency, mrr_minor, reporting_currency, fx_rate, mrr_reporting_minor, updated_at)
WITH days AS (
    SELECT g.day::date AS day, s.*
    FROM staging.snapshot_range r
    JOIN warehouse.subscription_state s ON s.subscription_id = r.subscription_id
     AND s.valid_from <= r.to_date AND (s.valid_to IS NULL OR s.valid_to > r.from_date)
    CROSS JOIN LATERAL generate_series(
        greatest(s.valid_from, r.from_date),
        CASE WHEN s.status = 'canceled' THEN s.valid_from
             ELSE least(coalesce(s.valid_to - 1, r.to_date), r.to_date) END,
        interval '1 day') g(day)
)
SELECT d.day, d.subscription_id, d.customer_id, d.plan_id, d.region_id, d.status, d.is_active, d.quantity,
       d.currency, d.mrr_minor, %(reporting_currency)s, coalesce(fx.rate, 0),
       CASE WHEN d.mrr_minor = 0 THEN 0 WHEN fx.rate = 1 THEN d.mrr_minor
            ELSE warehouse.round_half_even(d.mrr_minor * coalesce(fx.rate, 0)) END, now()
FROM days d
LEFT JOIN staging.fx_day fx ON fx.currency = d.currency AND fx.rate_date = d.day;
