-- MRR at the end of each period (stock), with the period's movements for months and quarters.
-- Periods: first day in [trunc(start), end] and not after the horizon; value on the period's
-- last day or the horizon. Movements of a quarter: the sum of its months; opening = opening of
-- its first month, closing = closing of its last month up to the horizon.
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
           coalesce(sum(CASE WHEN %(original)s THEN m.mrr_minor ELSE m.mrr_reporting_minor END), 0)::bigint
               AS mrr_minor
    FROM period p
    -- LATERAL ... OFFSET 0 (not flattened into a join): one index probe per period; a plain join
    -- hashed the whole read model, generate_series being estimated at hundreds of rows.
    LEFT JOIN LATERAL (SELECT d.snapshot_date, d.currency, d.mrr_minor, d.mrr_reporting_minor
                       FROM reporting.mrr_daily d
                       WHERE d.snapshot_date = p.as_of_date
                         AND (%(region_id)s::text IS NULL OR d.region_id = %(region_id)s::text)
                         AND (%(plan_id)s::text IS NULL OR d.plan_id = %(plan_id)s::text)
                       OFFSET 0) m ON true
    GROUP BY 1, 2
    HAVING NOT %(original)s OR count(m.snapshot_date) > 0
), movement AS (
    SELECT p.period_start,
           CASE WHEN %(original)s THEN v.currency::text ELSE %(reporting_currency)s END AS currency,
           sum(CASE WHEN v.month_start_date <> p.period_start THEN 0
                    WHEN %(original)s THEN v.opening_mrr_minor ELSE v.opening_mrr_reporting_minor END) AS opening,
           sum(CASE WHEN %(original)s THEN v.new_mrr_minor ELSE v.new_mrr_reporting_minor END) AS new,
           sum(CASE WHEN %(original)s THEN v.expansion_mrr_minor ELSE v.expansion_mrr_reporting_minor END)
               AS expansion,
           sum(CASE WHEN %(original)s THEN v.contraction_mrr_minor ELSE v.contraction_mrr_reporting_minor END)
               AS contraction,
           sum(CASE WHEN %(original)s THEN v.churned_mrr_minor ELSE v.churned_mrr_reporting_minor END) AS churned,
           sum(CASE WHEN %(original)s THEN v.reactivation_mrr_minor ELSE v.reactivation_mrr_reporting_minor END)
               AS reactivation,
           sum(CASE WHEN %(original)s THEN v.transfer_mrr_minor ELSE v.transfer_mrr_reporting_minor END) AS transfer,
           sum(CASE WHEN %(original)s THEN 0 ELSE v.fx_effect_minor END) AS fx_effect,
           sum(CASE WHEN v.month_start_date <> date_trunc('month', p.as_of_date)::date THEN 0
                    WHEN %(original)s THEN v.closing_mrr_minor ELSE v.closing_mrr_reporting_minor END) AS closing
    FROM period p
    JOIN reporting.mrr_movement_monthly v
      ON v.month_start_date BETWEEN p.period_start AND date_trunc('month', p.as_of_date)::date
     AND (%(region_id)s::text IS NULL OR v.region_id = %(region_id)s::text)
     AND (%(plan_id)s::text IS NULL OR v.plan_id = %(plan_id)s::text)
    WHERE %(with_movements)s
    GROUP BY 1, 2
), keyed AS (
    SELECT period_start, currency FROM level
    UNION
    SELECT period_start, currency FROM movement
)
SELECT p.period_start, p.period_end, p.as_of_date, k.currency,
       coalesce(l.mrr_minor, 0)::bigint AS mrr_minor,
       coalesce(v.opening, 0)::bigint AS opening_mrr_minor,
       coalesce(v.new, 0)::bigint AS new_mrr_minor,
       coalesce(v.expansion, 0)::bigint AS expansion_mrr_minor,
       coalesce(v.contraction, 0)::bigint AS contraction_mrr_minor,
       coalesce(v.churned, 0)::bigint AS churned_mrr_minor,
       coalesce(v.reactivation, 0)::bigint AS reactivation_mrr_minor,
       coalesce(v.transfer, 0)::bigint AS transfer_mrr_minor,
       coalesce(v.fx_effect, 0)::bigint AS fx_effect_minor,
       coalesce(v.closing, 0)::bigint AS closing_mrr_minor,
       count(*) OVER () AS total_items
FROM keyed k
JOIN period p USING (period_start)
LEFT JOIN level l USING (period_start, currency)
LEFT JOIN movement v USING (period_start, currency)
ORDER BY p.period_start, k.currency
LIMIT %(limit)s OFFSET %(offset)s;
