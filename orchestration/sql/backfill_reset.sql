-- --restart: forget the progress of a run (its plan is made again).
DELETE FROM platform.backfill_checkpoint WHERE run_id = %(run_id)s;
