SELECT topic, partition, start_offset, end_offset, next_offset, published, skipped
FROM platform.backfill_checkpoint
WHERE run_id = %(run_id)s
ORDER BY topic, partition;
