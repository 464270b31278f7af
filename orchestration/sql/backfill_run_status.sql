-- Status and totals of a run, summed from its checkpoints.
UPDATE platform.backfill_run r
SET status = %(status)s,
    published = coalesce((SELECT sum(published) FROM platform.backfill_checkpoint c WHERE c.run_id = r.run_id), 0),
    skipped = coalesce((SELECT sum(skipped) FROM platform.backfill_checkpoint c WHERE c.run_id = r.run_id), 0),
    updated_at = now(),
    finished_at = CASE WHEN %(status)s IN ('complete', 'failed') THEN now() END
WHERE run_id = %(run_id)s;
