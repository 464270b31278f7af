-- Usage per period and metric, optionally by region.
SELECT date_trunc(%(granularity)s, u.usage_date::timestamp)::date AS period_start,
       u.metric, u.unit,
       CASE WHEN %(by_region)s THEN u.region_id END AS region_id,
       sum(u.quantity)::bigint AS quantity,
       sum(u.billable_quantity)::bigint AS billable_quantity,
       sum(u.event_count)::bigint AS event_count,
       count(*) OVER () AS total_items
FROM reporting.usage_daily u
WHERE u.usage_date >= date_trunc(%(granularity)s, %(start)s::timestamp)::date
  AND u.usage_date < (date_trunc(%(granularity)s, %(end)s::timestamp) + %(step)s::interval)::date
  AND (%(region_id)s::text IS NULL OR u.region_id = %(region_id)s::text)
  AND (%(metric)s::text IS NULL OR u.metric = %(metric)s::text)
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3, 4
LIMIT %(limit)s OFFSET %(offset)s;
