-- Quarantined events by family and reason, by the UTC day they were quarantined. An event is
-- counted once per (family, reason) however many quarantine records it has: a backfill that
-- re-publishes the same bad raw record gets a new source offset and so a new quarantine_id, but
-- keeps its event_id. Records whose bytes did not decode have no event_id and count by their
-- quarantine_id. record_count is the plain number of quarantine records.
SELECT q.family, q.reason,
       count(DISTINCT coalesce(q.event_id, q.quarantine_id))::bigint AS event_count,
       count(*)::bigint AS record_count,
       min(q.quarantined_at) AS first_quarantined_at, max(q.quarantined_at) AS last_quarantined_at,
       count(*) OVER () AS total_items
FROM warehouse.quarantine_event q
WHERE q.quarantined_at >= %(start)s::date::timestamptz
  AND q.quarantined_at < (%(end)s::date + 1)::timestamptz
  AND (%(family)s::text IS NULL OR q.family = %(family)s::text)
GROUP BY q.family, q.reason
ORDER BY q.family, q.reason
LIMIT %(limit)s OFFSET %(offset)s;
