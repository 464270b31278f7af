-- The MRR bridge over whole months: opening of the first month, every movement of the months
-- in between, closing of the last month (up to the horizon).
WITH month AS (
    SELECT date_trunc('month', %(start)s::timestamp)::date AS first_month,
           date_trunc('month', least(%(end)s::date, %(horizon)s::date)::timestamp)::date AS last_month
)
SELECT CASE WHEN %(original)s THEN v.currency::text ELSE %(reporting_currency)s END AS currency,
       min(m.first_month) AS first_month, min(m.last_month) AS last_month,
       sum(CASE WHEN v.month_start_date <> m.first_month THEN 0
                WHEN %(original)s THEN v.opening_mrr_minor ELSE v.opening_mrr_reporting_minor END)::bigint
           AS opening_mrr_minor,
       sum(CASE WHEN %(original)s THEN v.new_mrr_minor ELSE v.new_mrr_reporting_minor END)::bigint AS new_mrr_minor,
       sum(CASE WHEN %(original)s THEN v.expansion_mrr_minor ELSE v.expansion_mrr_reporting_minor END)::bigint
           AS expansion_mrr_minor,
       sum(CASE WHEN %(original)s THEN v.contraction_mrr_minor ELSE v.contraction_mrr_reporting_minor END)::bigint
           AS contraction_mrr_minor,
       sum(CASE WHEN %(original)s THEN v.churned_mrr_minor ELSE v.churned_mrr_reporting_minor END)::bigint
           AS churned_mrr_minor,
       sum(CASE WHEN %(original)s THEN v.reactivation_mrr_minor ELSE v.reactivation_mrr_reporting_minor END)::bigint
           AS reactivation_mrr_minor,
       sum(CASE WHEN %(original)s THEN v.transfer_mrr_minor ELSE v.transfer_mrr_reporting_minor END)::bigint
           AS transfer_mrr_minor,
       sum(CASE WHEN %(original)s THEN 0 ELSE v.fx_effect_minor END)::bigint AS fx_effect_minor,
       sum(CASE WHEN v.month_start_date <> m.last_month THEN 0
                WHEN %(original)s THEN v.closing_mrr_minor ELSE v.closing_mrr_reporting_minor END)::bigint
           AS closing_mrr_minor
FROM month m
JOIN reporting.mrr_movement_monthly v ON v.month_start_date BETWEEN m.first_month AND m.last_month
WHERE (%(region_id)s::text IS NULL OR v.region_id = %(region_id)s::text)
  AND (%(plan_id)s::text IS NULL OR v.plan_id = %(plan_id)s::text)
GROUP BY 1
ORDER BY 1;
