-- The plan of one source partition; an existing checkpoint keeps its progress.
INSERT INTO platform.backfill_checkpoint (run_id, topic, partition, start_offset, end_offset, next_offset)
VALUES (%(run_id)s, %(topic)s, %(partition)s, %(start_offset)s, %(end_offset)s, %(start_offset)s)
ON CONFLICT (run_id, topic, partition) DO NOTHING;
