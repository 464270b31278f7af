COPY warehouse.forecast_variance (
    run_id, series_id, freq, ds, actual, forecast, variance, variance_pct, inside_80, inside_95,
    favourability, mtd_actual, mtd_forecast, mtd_variance, mtd_variance_pct, qtd_actual, qtd_forecast,
    qtd_variance, qtd_variance_pct
) FROM STDIN;
