-- Active subscriptions at the end of each day per region and plan (a day with snapshot rows but
-- none active counts 0; a day without snapshot rows is a gap).
SELECT snapshot_date AS ds,
       region_id,
       plan_id,
       count(*) FILTER (WHERE is_active)::bigint AS active_subscriptions
FROM warehouse.subscriptions_snapshot
WHERE snapshot_date BETWEEN %(start)s AND %(end)s
GROUP BY snapshot_date, region_id, plan_id
ORDER BY snapshot_date, region_id, plan_id;
