-- The read models' last refresh (readable by the reader role, which the query API uses).
SELECT refresh_id, refreshed_at FROM reporting.read_model_refresh;
