-- The raw source of every quarantine record the warehouse holds for these raw topics on these
-- partitions (the stream processor writes raw partition p's records to quarantine partition p):
-- reconcile's quarantined term where retention deleted the start of the quarantine topic.
SELECT source_topic, source_partition, source_offset
FROM warehouse.quarantine_event
WHERE source_topic = ANY(%(topics)s::text[]) AND source_partition = ANY(%(partitions)s::int[]);
