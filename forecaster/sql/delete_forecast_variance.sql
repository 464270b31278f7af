DELETE FROM warehouse.forecast_variance
WHERE %(run_ids)s::uuid[] IS NULL OR run_id = ANY(%(run_ids)s::uuid[]);
