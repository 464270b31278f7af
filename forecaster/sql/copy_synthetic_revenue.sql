-- Synthetic revenue facts (benchmarks, tests, demos); see forecaster/synthetic.py.
COPY warehouse.revenue_daily (
    revenue_date, customer_id, plan_id, region_id, currency, billed_minor, mrr_minor,
    reporting_currency, fx_rate, billed_reporting_minor, mrr_reporting_minor
) FROM STDIN;
