-- Total MRR forecast of the newest vintage for the first month after its actuals.
SELECT r.run_id, r.as_of_date, r.reporting_currency, v.ds, v.point, v.lo_80, v.hi_80, v.lo_95, v.hi_95, v.model
FROM warehouse.forecast_run r
JOIN warehouse.forecast_value v ON v.run_id = r.run_id
WHERE v.series_id = 'mrr/total' AND v.freq = 'month' AND v.ds > r.as_of_date
ORDER BY r.created_at DESC, v.ds
LIMIT 1;
