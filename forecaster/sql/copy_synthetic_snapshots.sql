-- Synthetic subscription snapshots (benchmarks, tests, demos); see forecaster/synthetic.py.
COPY warehouse.subscriptions_snapshot (
    snapshot_date, subscription_id, customer_id, plan_id, region_id, status, is_active, quantity,
    currency, mrr_minor, reporting_currency, fx_rate, mrr_reporting_minor
) FROM STDIN;
