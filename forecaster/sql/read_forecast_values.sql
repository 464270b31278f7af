-- Forecast values with their series' dimensions, for the given runs (NULL = every run), limited
-- to dates that can already have actuals.
SELECT v.run_id, v.series_id, v.freq, v.ds, v.point, v.lo_80, v.hi_80, v.lo_95, v.hi_95,
       m.metric, m.hierarchy_level, m.region_id, m.plan_id
FROM warehouse.forecast_value AS v
JOIN warehouse.forecast_model AS m USING (run_id, series_id, freq)
WHERE (%(run_ids)s::uuid[] IS NULL OR v.run_id = ANY(%(run_ids)s::uuid[]))
  AND v.ds <= %(until)s
ORDER BY v.run_id, v.series_id, v.freq, v.ds;
