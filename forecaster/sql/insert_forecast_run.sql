-- One vintage header; the rows below it are copied in the same transaction.
INSERT INTO warehouse.forecast_run (
    run_id, created_at, as_of_date, history_start_date, horizon_days, horizon_months, levels, metrics,
    reporting_currency, series_count, fallback_count, reconciliation, parameters, library_versions,
    duration_seconds
) VALUES (
    %(run_id)s, %(created_at)s, %(as_of_date)s, %(history_start_date)s, %(horizon_days)s,
    %(horizon_months)s, %(levels)s, %(metrics)s, %(reporting_currency)s, %(series_count)s,
    %(fallback_count)s, %(reconciliation)s, %(parameters)s, %(library_versions)s, %(duration_seconds)s
);
