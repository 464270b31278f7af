-- Per month or quarter: MRR movements (quarters sum their months) and logo churn counts.
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
           sum(CASE WHEN %(original)s THEN v.transfer_mrr_minor ELSE v.transfer_mrr_reporting_minor END) AS transfer
    FROM period p
    JOIN reporting.mrr_movement_monthly v
      ON v.month_start_date BETWEEN p.period_start AND date_trunc('month', p.as_of_date)::date
     AND (%(region_id)s::text IS NULL OR v.region_id = %(region_id)s::text)
     AND (%(plan_id)s::text IS NULL OR v.plan_id = %(plan_id)s::text)
    GROUP BY 1, 2
), logo AS (
    SELECT p.period_start,
           CASE WHEN %(original)s THEN l.currency::text ELSE %(reporting_currency)s END AS currency,
           l.opening_customers, l.closing_customers, l.churned_customers, l.transferred_out_customers,
           l.gained_customers, l.transferred_in_customers
    FROM period p
    JOIN reporting.logo_churn_period l
      ON l.period_kind = %(granularity)s AND l.period_start = p.period_start
     AND l.all_regions = (%(region_id)s::text IS NULL)
     AND (%(region_id)s::text IS NULL OR l.region_id = %(region_id)s::text)
     AND l.all_plans = (%(plan_id)s::text IS NULL)
     AND (%(plan_id)s::text IS NULL OR l.plan_id = %(plan_id)s::text)
     AND l.all_currencies = NOT %(original)s
), keyed AS (
    SELECT period_start, currency FROM movement
    UNION
    SELECT period_start, currency FROM logo
    UNION
    SELECT period_start, %(reporting_currency)s FROM period WHERE NOT %(original)s
)
SELECT p.period_start, p.period_end, p.as_of_date, k.currency,
       coalesce(g.opening_customers, 0)::bigint AS opening_customers,
       coalesce(g.closing_customers, 0)::bigint AS closing_customers,
       coalesce(g.churned_customers, 0)::bigint AS churned_customers,
       coalesce(g.transferred_out_customers, 0)::bigint AS transferred_out_customers,
       coalesce(g.gained_customers, 0)::bigint AS gained_customers,
       coalesce(g.transferred_in_customers, 0)::bigint AS transferred_in_customers,
       coalesce(v.opening, 0)::bigint AS opening_mrr_minor,
       coalesce(v.new, 0)::bigint AS new_mrr_minor,
       coalesce(v.expansion, 0)::bigint AS expansion_mrr_minor,
       coalesce(v.contraction, 0)::bigint AS contraction_mrr_minor,
       coalesce(v.churned, 0)::bigint AS churned_mrr_minor,
       coalesce(v.reactivation, 0)::bigint AS reactivation_mrr_minor,
       coalesce(v.transfer, 0)::bigint AS transfer_mrr_minor,
       count(*) OVER () AS total_items
FROM keyed k
JOIN period p USING (period_start)
LEFT JOIN movement v USING (period_start, currency)
LEFT JOIN logo g USING (period_start, currency)
ORDER BY p.period_start, k.currency
LIMIT %(limit)s OFFSET %(offset)s;
