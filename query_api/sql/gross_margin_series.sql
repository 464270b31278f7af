-- Recognised recurring revenue (each day's MRR / days in its month) against cost of revenue,
-- per period. The revenue sum stays exact (numeric); the API rounds it half-even once.
WITH revenue AS (
    SELECT date_trunc(%(granularity)s, m.snapshot_date::timestamp)::date AS period_start,
           CASE WHEN %(original)s THEN m.currency::text ELSE %(reporting_currency)s END AS currency,
           sum((CASE WHEN %(original)s THEN m.mrr_minor ELSE m.mrr_reporting_minor END)::numeric
               / extract(day FROM date_trunc('month', m.snapshot_date::timestamp) + interval '1 month'
                                  - interval '1 day')) AS recurring_revenue
    FROM reporting.mrr_daily m
    WHERE m.snapshot_date >= date_trunc(%(granularity)s, %(start)s::timestamp)::date
      AND m.snapshot_date < (date_trunc(%(granularity)s, %(end)s::timestamp) + %(step)s::interval)::date
      AND (%(region_id)s::text IS NULL OR m.region_id = %(region_id)s::text)
    GROUP BY 1, 2
), cost AS (
    SELECT date_trunc(%(granularity)s, c.cost_date::timestamp)::date AS period_start,
           CASE WHEN %(original)s THEN c.currency::text ELSE %(reporting_currency)s END AS currency,
           coalesce(sum(CASE WHEN %(original)s THEN c.amount_minor ELSE c.amount_reporting_minor END)
                    FILTER (WHERE c.category = ANY(%(cost_of_revenue)s::text[])), 0) AS cost_of_revenue,
           sum(CASE WHEN %(original)s THEN c.amount_minor ELSE c.amount_reporting_minor END) AS total_cost
    FROM reporting.costs_daily c
    WHERE c.cost_date >= date_trunc(%(granularity)s, %(start)s::timestamp)::date
      AND c.cost_date < (date_trunc(%(granularity)s, %(end)s::timestamp) + %(step)s::interval)::date
      AND (%(region_id)s::text IS NULL OR c.region_id = %(region_id)s::text)
    GROUP BY 1, 2
), keyed AS (
    SELECT period_start, currency FROM revenue
    UNION
    SELECT period_start, currency FROM cost
)
SELECT k.period_start, k.currency,
       coalesce(r.recurring_revenue, 0) AS recurring_revenue,
       coalesce(c.cost_of_revenue, 0)::bigint AS cost_of_revenue_minor,
       coalesce(c.total_cost, 0)::bigint AS total_cost_minor,
       count(*) OVER () AS total_items
FROM keyed k
LEFT JOIN revenue r USING (period_start, currency)
LEFT JOIN cost c USING (period_start, currency)
ORDER BY k.period_start, k.currency
LIMIT %(limit)s OFFSET %(offset)s;
