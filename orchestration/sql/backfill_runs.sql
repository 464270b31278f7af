SELECT run_id, source, families, range_start, range_end, status, published, skipped, created_at, finished_at
FROM platform.backfill_run
WHERE %(run_id)s::text IS NULL OR run_id = %(run_id)s::text
ORDER BY created_at DESC
LIMIT 50;
