-- The star schema every downstream stage reads: dimensions and the four fact tables.
-- Contract for the forecaster and the query API; the warehouse sink owns how rows get here
-- (later 03xx migrations add its event tables, derivations and views).
--
-- Conventions (jaffle-shop style): natural ids `<entity>_id` (text), `is_` booleans, `_at`
-- timestamps (timestamptz, UTC), `_date` dates, money as bigint minor units named `*_minor`
-- next to a char(3) ISO-4217 `currency`; amounts converted to the reporting currency carry
-- `_reporting_minor` and the exact rate used. No float/real/double/money column holds an amount.

-- Dimensions ----------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS warehouse.region (
    region_id text PRIMARY KEY,
    region_name text NOT NULL,
    currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- SCD type 2 on price: a new row whenever the unit price (or interval) changes.
CREATE TABLE IF NOT EXISTS warehouse.plan (
    plan_key bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plan_id text NOT NULL,
    plan_name text NOT NULL,
    billing_interval text NOT NULL CHECK (billing_interval IN ('month', 'year', 'multi_year')),
    billing_interval_count integer NOT NULL CHECK (billing_interval_count > 0),
    unit_price_minor bigint NOT NULL CHECK (unit_price_minor >= 0),
    currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    valid_from timestamptz NOT NULL,
    valid_to timestamptz,
    is_current boolean NOT NULL DEFAULT true,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE UNIQUE INDEX IF NOT EXISTS plan_one_version_per_start ON warehouse.plan (plan_id, valid_from);
CREATE UNIQUE INDEX IF NOT EXISTS plan_one_current ON warehouse.plan (plan_id) WHERE is_current;

-- SCD type 2 on region and segment.
CREATE TABLE IF NOT EXISTS warehouse.customer (
    customer_key bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id text NOT NULL,
    region_id text NOT NULL,
    customer_segment text,
    valid_from timestamptz NOT NULL,
    valid_to timestamptz,
    is_current boolean NOT NULL DEFAULT true,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE UNIQUE INDEX IF NOT EXISTS customer_one_version_per_start ON warehouse.customer (customer_id, valid_from);
CREATE UNIQUE INDEX IF NOT EXISTS customer_one_current ON warehouse.customer (customer_id) WHERE is_current;

-- The date dimension (named `time` as in the platform's model). Fiscal year = calendar year by
-- default; the fiscal columns exist so a different fiscal start only changes this table.
CREATE TABLE IF NOT EXISTS warehouse.time (
    calendar_date date PRIMARY KEY,
    day_of_month smallint NOT NULL,
    day_of_week smallint NOT NULL,          -- ISO: 1 = Monday
    is_weekend boolean NOT NULL,
    iso_year smallint NOT NULL,
    iso_week smallint NOT NULL,
    month_start_date date NOT NULL,
    month_of_year smallint NOT NULL,
    quarter_of_year smallint NOT NULL,
    quarter_start_date date NOT NULL,
    calendar_year smallint NOT NULL,
    fiscal_year smallint NOT NULL,
    fiscal_quarter smallint NOT NULL,
    fiscal_period smallint NOT NULL,
    is_month_end boolean NOT NULL
);

INSERT INTO warehouse.time
SELECT d::date,
       extract(day FROM d)::smallint,
       extract(isodow FROM d)::smallint,
       extract(isodow FROM d) IN (6, 7),
       extract(isoyear FROM d)::smallint,
       extract(week FROM d)::smallint,
       date_trunc('month', d)::date,
       extract(month FROM d)::smallint,
       extract(quarter FROM d)::smallint,
       date_trunc('quarter', d)::date,
       extract(year FROM d)::smallint,
       extract(year FROM d)::smallint,
       extract(quarter FROM d)::smallint,
       extract(month FROM d)::smallint,
       (d + interval '1 day')::date = (date_trunc('month', d) + interval '1 month')::date
FROM generate_series(date '2015-01-01', date '2040-12-31', interval '1 day') AS d
ON CONFLICT (calendar_date) DO NOTHING;

-- FX: rate to convert one unit of `currency` into the reporting currency, effective from a date.
CREATE TABLE IF NOT EXISTS warehouse.fx_rate (
    currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    reporting_currency char(3) NOT NULL CHECK (reporting_currency ~ '^[A-Z]{3}$'),
    effective_date date NOT NULL,
    rate numeric(20, 10) NOT NULL CHECK (rate > 0),
    PRIMARY KEY (currency, reporting_currency, effective_date)
);

-- Facts ---------------------------------------------------------------------------------------

-- date × customer × plan × region × currency.
CREATE TABLE IF NOT EXISTS warehouse.revenue_daily (
    revenue_date date NOT NULL,
    customer_id text NOT NULL,
    plan_id text NOT NULL,
    region_id text NOT NULL,
    currency char(3) NOT NULL,
    billed_minor bigint NOT NULL DEFAULT 0,
    collected_minor bigint NOT NULL DEFAULT 0,
    refunded_minor bigint NOT NULL DEFAULT 0,
    chargeback_minor bigint NOT NULL DEFAULT 0,
    mrr_minor bigint NOT NULL DEFAULT 0,
    reporting_currency char(3) NOT NULL,
    fx_rate numeric(20, 10) NOT NULL,
    billed_reporting_minor bigint NOT NULL DEFAULT 0,
    collected_reporting_minor bigint NOT NULL DEFAULT 0,
    refunded_reporting_minor bigint NOT NULL DEFAULT 0,
    chargeback_reporting_minor bigint NOT NULL DEFAULT 0,
    mrr_reporting_minor bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (revenue_date, customer_id, plan_id, region_id, currency)
);
CREATE INDEX IF NOT EXISTS revenue_daily_region_date ON warehouse.revenue_daily (region_id, revenue_date);

-- date × subscription: the state at the end of each day.
CREATE TABLE IF NOT EXISTS warehouse.subscriptions_snapshot (
    snapshot_date date NOT NULL,
    subscription_id text NOT NULL,
    customer_id text NOT NULL,
    plan_id text NOT NULL,
    region_id text NOT NULL,
    status text NOT NULL CHECK (status IN ('trialing', 'active', 'past_due', 'paused', 'canceled')),
    is_active boolean NOT NULL,             -- counts toward active subscriptions and MRR
    quantity integer NOT NULL,
    currency char(3) NOT NULL,
    mrr_minor bigint NOT NULL,
    reporting_currency char(3) NOT NULL,
    fx_rate numeric(20, 10) NOT NULL,
    mrr_reporting_minor bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (snapshot_date, subscription_id)
);
CREATE INDEX IF NOT EXISTS subscriptions_snapshot_subscription ON warehouse.subscriptions_snapshot (subscription_id, snapshot_date);

-- date × region × category × vendor × currency.
CREATE TABLE IF NOT EXISTS warehouse.costs_daily (
    cost_date date NOT NULL,
    region_id text NOT NULL,
    category text NOT NULL,
    vendor text NOT NULL,
    currency char(3) NOT NULL,
    amount_minor bigint NOT NULL,
    reporting_currency char(3) NOT NULL,
    fx_rate numeric(20, 10) NOT NULL,
    amount_reporting_minor bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cost_date, region_id, category, vendor, currency)
);

-- date × customer × metric (quantity in the metric's integer unit).
CREATE TABLE IF NOT EXISTS warehouse.usage_daily (
    usage_date date NOT NULL,
    customer_id text NOT NULL,
    metric text NOT NULL,
    unit text NOT NULL,
    region_id text NOT NULL,
    quantity bigint NOT NULL,
    event_count integer NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (usage_date, customer_id, metric)
);
