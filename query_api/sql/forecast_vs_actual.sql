-- Forecast values of one series next to actuals computed with the forecaster's definitions
-- from the read models: mrr = sum of revenue_daily.mrr_reporting_minor, billed = sum of
-- billed_reporting_minor, active_subscriptions = count of is_active snapshots. Monthly: the
-- month-end value (stocks) or the month's sum (flows), complete months only.
WITH forecast AS (
    SELECT v.ds, v.point, v.lo_80, v.hi_80, v.lo_95, v.hi_95
    FROM warehouse.forecast_value v
    WHERE v.run_id = %(run_id)s::uuid AND v.series_id = %(series_id)s AND v.freq = %(freq)s
      AND v.ds BETWEEN %(start)s AND %(end)s
), day_value AS (
    SELECT r.revenue_date AS ds,
           CASE WHEN %(metric)s = 'billed' THEN sum(r.billed_reporting_minor) ELSE sum(r.mrr_reporting_minor) END
               AS value
    FROM reporting.revenue_daily r
    WHERE %(metric)s IN ('mrr', 'billed') AND r.revenue_date BETWEEN %(from)s AND %(to)s
      AND (%(region_id)s::text IS NULL OR r.region_id = %(region_id)s::text)
      AND (%(plan_id)s::text IS NULL OR r.plan_id = %(plan_id)s::text)
    GROUP BY 1
    UNION ALL
    SELECT m.snapshot_date, sum(m.active_subscriptions)
    FROM reporting.mrr_daily m
    WHERE %(metric)s = 'active_subscriptions' AND m.snapshot_date BETWEEN %(from)s AND %(to)s
      AND (%(region_id)s::text IS NULL OR m.region_id = %(region_id)s::text)
      AND (%(plan_id)s::text IS NULL OR m.plan_id = %(plan_id)s::text)
    GROUP BY 1
), actual AS (
    SELECT ds, value FROM day_value WHERE %(freq)s = 'day'
    UNION ALL
    SELECT date_trunc('month', ds::timestamp)::date,
           CASE WHEN %(is_stock)s
                THEN sum(value) FILTER (WHERE ds = (date_trunc('month', ds::timestamp) + interval '1 month'
                                                    - interval '1 day')::date)
                ELSE sum(value) END
    FROM day_value
    WHERE %(freq)s = 'month'
      AND (date_trunc('month', ds::timestamp) + interval '1 month' - interval '1 day')::date <= %(horizon)s::date
    GROUP BY 1
), joined AS (
    SELECT coalesce(f.ds, a.ds) AS ds, f.point, f.lo_80, f.hi_80, f.lo_95, f.hi_95, a.value AS actual
    FROM forecast f
    FULL JOIN (SELECT * FROM actual WHERE value IS NOT NULL AND ds BETWEEN %(start)s AND %(end)s) a ON a.ds = f.ds
)
SELECT ds, point, lo_80, hi_80, lo_95, hi_95, actual::bigint AS actual, count(*) OVER () AS total_items
FROM joined
ORDER BY ds
LIMIT %(limit)s OFFSET %(offset)s;
