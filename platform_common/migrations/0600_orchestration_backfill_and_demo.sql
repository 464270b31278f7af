-- Orchestration (issue 8): backfill runs with a resumable checkpoint per source partition, and
-- the record of demo data sets already ingested (so a warm `ledgerline demo` does not send the
-- same history again).

-- One row per backfill. run_id is derived from the parameters (families, source, range, target
-- prefix), so asking for the same backfill twice finds the same run and its checkpoints.
CREATE TABLE IF NOT EXISTS platform.backfill_run (
    run_id text PRIMARY KEY,
    source text NOT NULL CHECK (source IN ('kafka', 'lake')),
    families text[] NOT NULL,
    range_start timestamptz,
    range_end timestamptz,
    parameters jsonb NOT NULL,
    status text NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'running', 'complete', 'failed')),
    published bigint NOT NULL DEFAULT 0 CHECK (published >= 0),
    skipped bigint NOT NULL DEFAULT 0 CHECK (skipped >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);

-- Per source topic-partition: the offset range the plan froze ([start_offset, end_offset)) and
-- the next source offset to re-publish. A checkpoint row is updated only after every message
-- before next_offset was acknowledged by Kafka (acks=all), so a resumed run re-sends at most
-- one unacknowledged chunk, which the stream processor de-duplicates by event_id.
CREATE TABLE IF NOT EXISTS platform.backfill_checkpoint (
    run_id text NOT NULL REFERENCES platform.backfill_run (run_id) ON DELETE CASCADE,
    topic text NOT NULL,
    partition integer NOT NULL CHECK (partition >= 0),
    start_offset bigint NOT NULL CHECK (start_offset >= 0),
    end_offset bigint NOT NULL CHECK (end_offset >= start_offset),
    next_offset bigint NOT NULL CHECK (next_offset >= start_offset),
    published bigint NOT NULL DEFAULT 0 CHECK (published >= 0),
    skipped bigint NOT NULL DEFAULT 0 CHECK (skipped >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, topic, partition)
);

-- Demo data sets sent through the gateway and the loader: one row per parameter set and topic
-- prefix, written once every event was acknowledged.
CREATE TABLE IF NOT EXISTS platform.demo_ingest (
    params_hash text NOT NULL,
    topic_prefix text NOT NULL,
    parameters jsonb NOT NULL,
    events_sent bigint NOT NULL CHECK (events_sent >= 0),
    via_gateway bigint NOT NULL CHECK (via_gateway >= 0),
    via_loader bigint NOT NULL CHECK (via_loader >= 0),
    rejected bigint NOT NULL CHECK (rejected >= 0),
    summary jsonb NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (params_hash, topic_prefix)
);
