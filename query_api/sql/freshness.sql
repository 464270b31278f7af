-- Newest event per family in the warehouse, and the database clock. The warehouse sink keeps
-- warehouse.event_freshness in each batch's transaction (migration 0311): four rows, where
-- max() over the event tables scanned all of them. A family with no event yet has nulls.
SELECT f.family, e.latest_event_time, e.loaded_at AS latest_loaded_at, now() AS checked_at
FROM (VALUES ('operational_cost'), ('payment'), ('subscription'), ('usage')) AS f (family)
LEFT JOIN warehouse.event_freshness e ON e.family = f.family
ORDER BY f.family;
