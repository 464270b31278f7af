-- The latest reconcile run of one stack (topic prefix), for /metrics.
SELECT run_id, ok, mismatches, unverified, finished_at, summary
FROM platform.reconcile_run
WHERE topic_prefix = %(topic_prefix)s
ORDER BY finished_at DESC, run_id DESC
LIMIT 1;
