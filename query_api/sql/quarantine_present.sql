-- Whether the quarantine read model exists yet (owned by stream processing).
SELECT to_regclass('warehouse.quarantine_event') IS NOT NULL AS present;
