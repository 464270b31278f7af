-- Create the run on first request; a repeated request finds the existing row untouched.
INSERT INTO platform.backfill_run (run_id, source, families, range_start, range_end, parameters)
VALUES (%(run_id)s, %(source)s, %(families)s, %(range_start)s, %(range_end)s, %(parameters)s)
ON CONFLICT (run_id) DO NOTHING;
