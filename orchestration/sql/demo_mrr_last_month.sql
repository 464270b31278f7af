-- The last complete month of the bridge (closing date = the month's last day), in the
-- reporting currency, with its movements.
SELECT b.month_start_date, max(b.reporting_currency) AS reporting_currency,
       sum(b.closing_mrr_reporting_minor) AS closing_minor,
       sum(b.opening_mrr_reporting_minor) AS opening_minor,
       sum(b.new_mrr_reporting_minor) AS new_minor,
       sum(b.churned_mrr_reporting_minor) AS churned_minor
FROM warehouse.mrr_movement_monthly b
JOIN warehouse.mrr_month m USING (month_start_date)
WHERE m.closing_date = (m.month_start_date + interval '1 month' - interval '1 day')::date
GROUP BY b.month_start_date
ORDER BY b.month_start_date DESC
LIMIT 1;
