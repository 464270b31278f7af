-- Daily recurring revenue (sum of MRR) and billings per region and plan, in minor units of the
-- reporting currency. Aggregated here so only (days x regions x plans) rows cross the wire.
SELECT revenue_date AS ds,
       region_id,
       plan_id,
       reporting_currency,
       sum(mrr_reporting_minor)::bigint AS mrr,
       sum(billed_reporting_minor)::bigint AS billed
FROM warehouse.revenue_daily
WHERE revenue_date BETWEEN %(start)s AND %(end)s
GROUP BY revenue_date, region_id, plan_id, reporting_currency
ORDER BY revenue_date, region_id, plan_id;
