-- Backfill progress for /metrics: per run source and source topic, messages handled so far and,
-- for runs that are not complete, messages planned but not handled yet.
SELECT r.source,
       c.topic,
       sum(c.published) AS published,
       sum(c.skipped) AS skipped,
       sum(CASE WHEN r.status = 'complete' THEN 0 ELSE greatest(c.end_offset - c.next_offset, 0) END) AS remaining
FROM platform.backfill_checkpoint c
JOIN platform.backfill_run r USING (run_id)
GROUP BY r.source, c.topic
ORDER BY r.source, c.topic;
