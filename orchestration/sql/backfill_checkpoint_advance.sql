-- Called after every acknowledged chunk: progress only moves forward.
UPDATE platform.backfill_checkpoint
SET next_offset = greatest(next_offset, %(next_offset)s),
    published = published + %(published)s,
    skipped = skipped + %(skipped)s,
    updated_at = now()
WHERE run_id = %(run_id)s AND topic = %(topic)s AND partition = %(partition)s;
