-- The newest forecast vintage, if it was made after the warehouse sink's last committed batch
-- (so it saw every event the warehouse holds).
SELECT r.run_id, r.as_of_date, r.created_at
FROM warehouse.forecast_run r
WHERE r.created_at > coalesce(
    (SELECT max(updated_at) FROM platform.consumer_offset WHERE consumer_name = %(consumer)s), '-infinity')
ORDER BY r.created_at DESC
LIMIT 1;
