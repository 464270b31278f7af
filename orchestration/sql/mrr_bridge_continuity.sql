-- Per month and currency: the bridge's closing must equal the next month's opening, and the
-- closing must equal the subscriptions snapshot at the month's closing date.
WITH bridge AS (
    SELECT month_start_date, currency, sum(opening_mrr_minor) AS opening, sum(closing_mrr_minor) AS closing
    FROM warehouse.mrr_movement_monthly
    GROUP BY month_start_date, currency
), snapshot AS (
    SELECT m.month_start_date, s.currency, sum(s.mrr_minor) AS mrr
    FROM warehouse.mrr_month m
    JOIN warehouse.subscriptions_snapshot s ON s.snapshot_date = m.closing_date
    WHERE s.is_active AND s.mrr_minor <> 0
    GROUP BY m.month_start_date, s.currency
), paired AS (
    SELECT b.month_start_date, b.currency, b.closing,
           lead(b.opening) OVER (PARTITION BY b.currency ORDER BY b.month_start_date) AS next_opening,
           lead(b.month_start_date) OVER (PARTITION BY b.currency ORDER BY b.month_start_date) AS next_month,
           coalesce(s.mrr, 0) AS snapshot_mrr
    FROM bridge b
    LEFT JOIN snapshot s USING (month_start_date, currency)
)
SELECT month_start_date, currency, closing, next_opening, snapshot_mrr
FROM paired
WHERE (next_month = (month_start_date + interval '1 month')::date AND next_opening <> closing)
   OR snapshot_mrr <> closing
ORDER BY month_start_date, currency
LIMIT 20;
