-- The series of a vintage for a metric, frequency and hierarchy node (region and/or plan).
SELECT series_id, metric, unit, hierarchy_level, region_id, plan_id, model, model_spec, fallback_reason,
       training_start, training_end, mase, coverage_80, coverage_95
FROM warehouse.forecast_model
WHERE run_id = %(run_id)s::uuid AND metric = %(metric)s AND freq = %(freq)s
  AND hierarchy_level = %(level)s
  AND region_id IS NOT DISTINCT FROM %(region_id)s::text
  AND plan_id IS NOT DISTINCT FROM %(plan_id)s::text;
