COPY warehouse.forecast_model (
    run_id, series_id, freq, metric, unit, hierarchy_level, region_id, plan_id, model, model_spec,
    fallback_reason, arima_order, aic, training_start, training_end, n_obs, gaps_filled,
    backtest_windows, backtest_horizon, backtest_points, mase, smape, wape, coverage_80, coverage_95,
    base_mase, reconciled, candidates
) FROM STDIN;
