-- Re-apply FX to every fact row whose stored rate (or reporting currency) is no longer the one
-- the rates table gives for its date: after load-fx or a change of the reporting currency.
-- Rows already right are not touched. Parameters: reporting_currency.

-- name: revenue_reconvert
WITH span AS (SELECT min(revenue_date) AS low, max(revenue_date) AS high FROM warehouse.revenue_daily),
rate AS (
    SELECT c.currency, d::date AS day, warehouse.fx_rate_on(c.currency, %(reporting_currency)s, d::date) AS rate
    FROM (SELECT DISTINCT currency FROM warehouse.revenue_daily) c, span,
         generate_series(span.low, span.high, interval '1 day') d
)
UPDATE warehouse.revenue_daily f
SET reporting_currency = %(reporting_currency)s, fx_rate = r.rate,
    billed_reporting_minor = warehouse.round_half_even(f.billed_minor * r.rate),
    collected_reporting_minor = warehouse.round_half_even(f.collected_minor * r.rate),
    refunded_reporting_minor = warehouse.round_half_even(f.refunded_minor * r.rate),
    chargeback_reporting_minor = warehouse.round_half_even(f.chargeback_minor * r.rate),
    mrr_reporting_minor = warehouse.round_half_even(f.mrr_minor * r.rate),
    updated_at = now()
FROM rate r
WHERE r.currency = f.currency AND r.day = f.revenue_date
  AND (f.fx_rate <> r.rate OR f.reporting_currency <> %(reporting_currency)s);

-- name: snapshot_reconvert
WITH span AS (SELECT min(snapshot_date) AS low, max(snapshot_date) AS high FROM warehouse.subscriptions_snapshot),
rate AS (
    SELECT c.currency, d::date AS day, warehouse.fx_rate_on(c.currency, %(reporting_currency)s, d::date) AS rate
    FROM (SELECT DISTINCT currency FROM warehouse.subscriptions_snapshot) c, span,
         generate_series(span.low, span.high, interval '1 day') d
)
UPDATE warehouse.subscriptions_snapshot f
SET reporting_currency = %(reporting_currency)s, fx_rate = r.rate,
    mrr_reporting_minor = warehouse.round_half_even(f.mrr_minor * r.rate), updated_at = now()
FROM rate r
WHERE r.currency = f.currency AND r.day = f.snapshot_date
  AND (f.fx_rate <> r.rate OR f.reporting_currency <> %(reporting_currency)s);

-- name: costs_reconvert
WITH span AS (SELECT min(cost_date) AS low, max(cost_date) AS high FROM warehouse.costs_daily),
rate AS (
    SELECT c.currency, d::date AS day, warehouse.fx_rate_on(c.currency, %(reporting_currency)s, d::date) AS rate
    FROM (SELECT DISTINCT currency FROM warehouse.costs_daily) c, span,
         generate_series(span.low, span.high, interval '1 day') d
)
UPDATE warehouse.costs_daily f
SET reporting_currency = %(reporting_currency)s, fx_rate = r.rate,
    amount_reporting_minor = warehouse.round_half_even(f.amount_minor * r.rate), updated_at = now()
FROM rate r
WHERE r.currency = f.currency AND r.day = f.cost_date
  AND (f.fx_rate <> r.rate OR f.reporting_currency <> %(reporting_currency)s);

-- name: horizon_currency
UPDATE warehouse.data_horizon SET reporting_currency = %(reporting_currency)s, updated_at = now()
WHERE reporting_currency <> %(reporting_currency)s;
