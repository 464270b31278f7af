-- The day rates the batch's facts convert with, from the rates table (latest effective_date on
-- or before the day; 1 for the reporting currency; a currency without rates has no row and its
-- facts get rate 0, listed by warehouse.fx_rate_missing). Covers every date the batch can write:
-- from its earliest event, effective, period or billing date (or the day after the old horizon)
-- to the new horizon or its latest period date. Parameters: reporting_currency, old_horizon, horizon.

-- name: fx_day
INSERT INTO staging.fx_day (currency, rate_date, rate)
SELECT currency, rate_date, rate
FROM warehouse.fx_rate_daily(
    %(reporting_currency)s,
    (SELECT least(min(low), %(old_horizon)s::date + 1)
     FROM (SELECT least(event_date, effective_on) AS low FROM staging.new_subscription_event
           UNION ALL SELECT least(event_date, service_period_start) FROM staging.new_payment_event
           UNION ALL SELECT least(event_date, period_start) FROM staging.new_cost_event) lows),
    (SELECT greatest(max(high), %(horizon)s::date)
     FROM (SELECT greatest(event_date, service_period_start) AS high FROM staging.new_payment_event
           UNION ALL SELECT greatest(period_end, period_start) FROM staging.new_cost_event) highs));
