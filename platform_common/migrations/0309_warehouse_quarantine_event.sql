-- Quarantine records in the warehouse (issues 5 and 7): the warehouse sink loads the quarantine
-- topic (format ledgerline.quarantine/v1) into this table in the same transaction as its offsets,
-- so data-quality counts sit beside the facts they are missing from. One row per quarantine
-- record, keyed by its deterministic quarantine_id (derived from the source raw topic, partition
-- and offset), so an at-least-once re-write or a replay of the quarantine topic adds nothing.
-- A raw record re-published by a backfill gets a new source offset and so a new row; readers that
-- count events rather than records count distinct coalesce(event_id, quarantine_id).
CREATE TABLE IF NOT EXISTS warehouse.quarantine_event (
    quarantine_id     text PRIMARY KEY,
    family            text NOT NULL,
    reason            text NOT NULL,            -- primary reason code (the first finding)
    reason_codes      text[] NOT NULL,          -- every finding's code, in order
    message           text NOT NULL,            -- the primary finding's human message
    field_path        text,                     -- the primary finding's field, when it has one
    event_id          text,                     -- null when the bytes did not decode
    event_time        timestamptz,              -- null when the bytes did not decode
    first_seen_at     timestamptz NOT NULL,
    quarantined_at    timestamptz NOT NULL,
    source_topic      text NOT NULL,
    source_partition  integer NOT NULL,
    source_offset     bigint NOT NULL,
    replay_of         text,                     -- quarantine_id this record is a replay of
    trace_id          text,
    loaded_at         timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS quarantine_event_quarantined_at ON warehouse.quarantine_event (quarantined_at);
CREATE INDEX IF NOT EXISTS quarantine_event_family_reason ON warehouse.quarantine_event (family, reason);
CREATE INDEX IF NOT EXISTS quarantine_event_event_id ON warehouse.quarantine_event (event_id) WHERE event_id IS NOT NULL;
