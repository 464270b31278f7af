-- Costs summed per period, optionally by category and/or region.
SELECT date_trunc(%(granularity)s, c.cost_date::timestamp)::date AS period_start,
       CASE WHEN %(by_category)s THEN c.category END AS category,
       CASE WHEN %(by_region)s THEN c.region_id END AS region_id,
       CASE WHEN %(original)s THEN c.currency::text ELSE %(reporting_currency)s END AS currency,
       sum(CASE WHEN %(original)s THEN c.amount_minor ELSE c.amount_reporting_minor END)::bigint AS amount_minor,
       bool_and(c.category = ANY(%(cost_of_revenue)s::text[])) AS is_cost_of_revenue,
       count(*) OVER () AS total_items
FROM reporting.costs_daily c
WHERE c.cost_date >= date_trunc(%(granularity)s, %(start)s::timestamp)::date
  AND c.cost_date < (date_trunc(%(granularity)s, %(end)s::timestamp) + %(step)s::interval)::date
  AND (%(region_id)s::text IS NULL OR c.region_id = %(region_id)s::text)
  AND (%(category)s::text IS NULL OR c.category = %(category)s::text)
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3, 4
LIMIT %(limit)s OFFSET %(offset)s;
