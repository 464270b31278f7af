-- Quarantined events by family and reason, by the UTC day they were quarantined.
SELECT q.family, q.reason, count(*)::bigint AS event_count,
       min(q.quarantined_at) AS first_quarantined_at, max(q.quarantined_at) AS last_quarantined_at,
       count(*) OVER () AS total_items
FROM warehouse.quarantine_event q
WHERE q.quarantined_at >= %(start)s::date::timestamptz
  AND q.quarantined_at < (%(end)s::date + 1)::timestamptz
  AND (%(family)s::text IS NULL OR q.family = %(family)s::text)
GROUP BY q.family, q.reason
ORDER BY q.family, q.reason
LIMIT %(limit)s OFFSET %(offset)s;
