-- Orchestration: the result of every reconcile run, so `orchestration serve` can export the
-- latest one on /metrics (ledgerline_reconcile_*). The flow runs in a Prefect subprocess, so an
-- in-process gauge never reached the serving process; the table is the hand-over.
CREATE TABLE IF NOT EXISTS platform.reconcile_run (
    run_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic_prefix text NOT NULL,                -- the stack reconciled (several may share a database)
    families text[] NOT NULL,
    range_start date,
    range_end date,
    allow_unverified boolean NOT NULL,
    ok boolean NOT NULL,
    mismatches integer NOT NULL CHECK (mismatches >= 0),   -- failed rows and checks
    unverified integer NOT NULL CHECK (unverified >= 0),   -- checks that could not be measured
    summary jsonb NOT NULL,                    -- mismatches, unverified and every check's status
    started_at timestamptz NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS reconcile_run_latest ON platform.reconcile_run (topic_prefix, finished_at DESC);
