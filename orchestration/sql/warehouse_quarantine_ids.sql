-- Which of these quarantine records the warehouse holds (reconcile: quarantine topic vs warehouse).
SELECT quarantine_id FROM warehouse.quarantine_event WHERE quarantine_id = ANY(%(ids)s::text[]);
