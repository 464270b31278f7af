-- revenue_series.sql for months and quarters, from the monthly read model (a quarter is the sum
-- of its months). Same parameters and columns.
SELECT date_trunc(%(granularity)s, r.month_start_date::timestamp)::date AS period_start,
       CASE WHEN %(by_region)s THEN r.region_id END AS region_id,
       CASE WHEN %(by_plan)s THEN r.plan_id END AS plan_id,
       CASE WHEN %(original)s THEN r.currency::text ELSE %(reporting_currency)s END AS currency,
       sum(CASE WHEN %(original)s THEN r.billed_minor ELSE r.billed_reporting_minor END)::bigint AS billed_minor,
       sum(CASE WHEN %(original)s THEN r.collected_minor ELSE r.collected_reporting_minor END)::bigint
           AS collected_minor,
       sum(CASE WHEN %(original)s THEN r.refunded_minor ELSE r.refunded_reporting_minor END)::bigint AS refunded_minor,
       sum(CASE WHEN %(original)s THEN r.chargeback_minor ELSE r.chargeback_reporting_minor END)::bigint
           AS chargeback_minor,
       count(*) OVER () AS total_items
FROM reporting.revenue_monthly r
WHERE r.month_start_date >= date_trunc(%(granularity)s, %(start)s::timestamp)::date
  AND r.month_start_date < (date_trunc(%(granularity)s, %(end)s::timestamp) + %(step)s::interval)::date
  AND (%(region_id)s::text IS NULL OR r.region_id = %(region_id)s::text)
  AND (%(plan_id)s::text IS NULL OR r.plan_id = %(plan_id)s::text)
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3, 4
LIMIT %(limit)s OFFSET %(offset)s;
