COPY warehouse.forecast_value (run_id, series_id, freq, ds, point, lo_80, hi_80, lo_95, hi_95, model)
FROM STDIN;
