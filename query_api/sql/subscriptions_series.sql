-- Subscriptions by status, MRR and active customers at the end of each period (stocks).
WITH period AS (
    SELECT p::date AS period_start,
           (p + %(step)s::interval - interval '1 day')::date AS period_end,
           least((p + %(step)s::interval - interval '1 day')::date, %(horizon)s::date) AS as_of_date
    FROM generate_series(date_trunc(%(granularity)s, %(start)s::timestamp), %(end)s::timestamp,
                         %(step)s::interval) AS p
    WHERE p::date <= %(horizon)s::date
      -- An unknown region or plan gives no periods at all (not a row of zeros per period).
      AND (%(region_id)s::text IS NULL OR EXISTS (SELECT 1 FROM reporting.dimension_value d
                                                  WHERE d.dimension = 'region' AND d.value_id = %(region_id)s::text))
      AND (%(plan_id)s::text IS NULL OR EXISTS (SELECT 1 FROM reporting.dimension_value d
                                                WHERE d.dimension = 'plan' AND d.value_id = %(plan_id)s::text))
), level AS (
    SELECT p.period_start,
           CASE WHEN %(original)s THEN m.currency::text ELSE %(reporting_currency)s END AS currency,
           coalesce(sum(m.active_subscriptions), 0)::bigint AS active_subscriptions,
           coalesce(sum(m.trialing_subscriptions), 0)::bigint AS trialing_subscriptions,
           coalesce(sum(m.past_due_subscriptions), 0)::bigint AS past_due_subscriptions,
           coalesce(sum(m.paused_subscriptions), 0)::bigint AS paused_subscriptions,
           coalesce(sum(CASE WHEN %(original)s THEN m.mrr_minor ELSE m.mrr_reporting_minor END), 0)::bigint
               AS mrr_minor
    FROM period p
    LEFT JOIN reporting.mrr_daily m
      ON m.snapshot_date = p.as_of_date
     AND (%(region_id)s::text IS NULL OR m.region_id = %(region_id)s::text)
     AND (%(plan_id)s::text IS NULL OR m.plan_id = %(plan_id)s::text)
    GROUP BY 1, 2
    HAVING NOT %(original)s OR count(m.snapshot_date) > 0
), customers AS (
    SELECT p.period_start,
           CASE WHEN %(original)s THEN c.currency::text ELSE %(reporting_currency)s END AS currency,
           c.active_customers
    FROM period p
    JOIN reporting.customers_daily c
      ON c.snapshot_date = p.as_of_date
     AND c.all_regions = (%(region_id)s::text IS NULL)
     AND (%(region_id)s::text IS NULL OR c.region_id = %(region_id)s::text)
     AND c.all_plans = (%(plan_id)s::text IS NULL)
     AND (%(plan_id)s::text IS NULL OR c.plan_id = %(plan_id)s::text)
     AND c.all_currencies = NOT %(original)s
)
SELECT p.period_start, p.period_end, p.as_of_date, l.currency, l.active_subscriptions, l.trialing_subscriptions,
       l.past_due_subscriptions, l.paused_subscriptions, l.mrr_minor,
       coalesce(c.active_customers, 0)::bigint AS active_customers,
       count(*) OVER () AS total_items
FROM level l
JOIN period p USING (period_start)
LEFT JOIN customers c USING (period_start, currency)
ORDER BY p.period_start, l.currency
LIMIT %(limit)s OFFSET %(offset)s;
