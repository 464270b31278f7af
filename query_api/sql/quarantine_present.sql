-- Whether the quarantine table exists (migration 0309; the warehouse sink fills it). A warehouse
-- migrated before 0309 answers `available: false` instead of a 503.
SELECT to_regclass('warehouse.quarantine_event') IS NOT NULL AS present;
