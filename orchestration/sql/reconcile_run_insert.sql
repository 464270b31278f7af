-- One reconcile run's verdict (orchestration/reconcile_store.py).
INSERT INTO platform.reconcile_run (
    topic_prefix, families, range_start, range_end, allow_unverified, ok, mismatches, unverified, summary, started_at
) VALUES (
    %(topic_prefix)s, %(families)s, %(range_start)s, %(range_end)s, %(allow_unverified)s, %(ok)s, %(mismatches)s,
    %(unverified)s, %(summary)s::jsonb, %(started_at)s
)
RETURNING run_id;
