-- Quarantine records of the batch -> warehouse.quarantine_event, in the batch's transaction (so
-- with the quarantine topic's offsets). Keyed by the deterministic quarantine_id: a record
-- written twice (at-least-once) or a replayed topic adds nothing. Parameter: rows, a jsonb
-- array of objects with the table's columns (timestamps as ISO-8601 text, reason_codes an array).

-- name: quarantine_event
INSERT INTO warehouse.quarantine_event (quarantine_id, family, reason, reason_codes, message, field_path, event_id,
    event_time, first_seen_at, quarantined_at, source_topic, source_partition, source_offset, replay_of, trace_id)
SELECT r.quarantine_id, r.family, r.reason, r.reason_codes, r.message, r.field_path, r.event_id, r.event_time,
       r.first_seen_at, r.quarantined_at, r.source_topic, r.source_partition, r.source_offset, r.replay_of, r.trace_id
FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(quarantine_id text, family text, reason text, reason_codes text[],
    message text, field_path text, event_id text, event_time timestamptz, first_seen_at timestamptz,
    quarantined_at timestamptz, source_topic text, source_partition integer, source_offset bigint, replay_of text,
    trace_id text)
ON CONFLICT (quarantine_id) DO NOTHING;
