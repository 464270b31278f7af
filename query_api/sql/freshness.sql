-- Newest event per family in the warehouse event tables, and the database clock.
SELECT family, latest_event_time, latest_loaded_at, now() AS checked_at
FROM (SELECT 'subscription' AS family, max(event_time) AS latest_event_time, max(loaded_at) AS latest_loaded_at
      FROM warehouse.subscription_event
      UNION ALL
      SELECT 'payment', max(event_time), max(loaded_at) FROM warehouse.payment_event
      UNION ALL
      SELECT 'usage', max(event_time), max(loaded_at) FROM warehouse.usage_event
      UNION ALL
      SELECT 'operational_cost', max(event_time), max(loaded_at) FROM warehouse.cost_event) f
ORDER BY family;
