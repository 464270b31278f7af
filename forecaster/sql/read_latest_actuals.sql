-- The last day with facts, per source, on or before the requested day (NULL bound = no limit).
SELECT (SELECT max(revenue_date) FROM warehouse.revenue_daily
        WHERE %(until)s::date IS NULL OR revenue_date <= %(until)s::date) AS revenue,
       (SELECT max(snapshot_date) FROM warehouse.subscriptions_snapshot
        WHERE %(until)s::date IS NULL OR snapshot_date <= %(until)s::date) AS subscriptions;
