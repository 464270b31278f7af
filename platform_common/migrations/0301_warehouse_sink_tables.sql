-- Warehouse sink (issue 5): consumer offsets, staging landing tables, event tables, the
-- subscription state intervals and the data horizon. Only ADDs to the 0300 contract.
--
-- Layering (dbt jaffle-shop style): staging.stg_<family>_event receives each batch by COPY
-- (unlogged, truncated per batch), warehouse.<family>_event holds every clean event once
-- (keyed by event_id), the dimensions and facts of 0300 are the marts.

-- Platform state ------------------------------------------------------------------------------

-- The next offset to read per consumer and partition, written in the same transaction as the
-- rows the consumed messages produced: the warehouse, not Kafka, is the source of truth.
CREATE TABLE IF NOT EXISTS platform.consumer_offset (
    consumer_name text NOT NULL,
    topic text NOT NULL,
    partition integer NOT NULL CHECK (partition >= 0),
    next_offset bigint NOT NULL CHECK (next_offset >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_name, topic, partition)
);

-- Event tables --------------------------------------------------------------------------------
-- Common envelope: event_id, event_type, event_time (+ its UTC date), source, versions,
-- metadata, whether the stream processor flagged the event late, and where it was read.

CREATE TABLE IF NOT EXISTS warehouse.subscription_event (
    event_id text PRIMARY KEY,
    event_type text NOT NULL,
    event_time timestamptz NOT NULL,
    event_date date NOT NULL,
    source text NOT NULL,
    schema_version integer NOT NULL,
    writer_version integer NOT NULL,
    producer text NOT NULL,
    received_at timestamptz,
    trace_id text,
    is_late boolean NOT NULL DEFAULT false,
    kafka_topic text NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset bigint NOT NULL,
    subscription_id text NOT NULL,
    customer_id text NOT NULL,
    plan_id text NOT NULL,
    billing_interval text NOT NULL,
    billing_interval_count integer NOT NULL,
    quantity integer NOT NULL,
    unit_price_minor bigint NOT NULL,
    currency char(3) NOT NULL,
    discount_kind text,
    discount_amount_minor bigint,
    discount_percent_basis_points integer,
    discount_duration_months integer,
    region_id text NOT NULL,
    change_kind text,
    effective_date date,
    cancel_reason text,
    trial_end_date date,
    customer_segment text,
    sales_channel text,
    -- Derived on merge (see merge_events.sql): the date the event takes effect and the status
    -- it sets (NULL for plan_changed, which keeps the status).
    effective_on date NOT NULL,
    status_after text,
    loaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS subscription_event_subscription
    ON warehouse.subscription_event (subscription_id, effective_on, event_time);
CREATE INDEX IF NOT EXISTS subscription_event_customer ON warehouse.subscription_event (customer_id, event_time);
CREATE INDEX IF NOT EXISTS subscription_event_plan ON warehouse.subscription_event (plan_id, event_time);

CREATE TABLE IF NOT EXISTS warehouse.payment_event (
    event_id text PRIMARY KEY,
    event_type text NOT NULL,
    event_time timestamptz NOT NULL,
    event_date date NOT NULL,
    source text NOT NULL,
    schema_version integer NOT NULL,
    writer_version integer NOT NULL,
    producer text NOT NULL,
    received_at timestamptz,
    trace_id text,
    is_late boolean NOT NULL DEFAULT false,
    kafka_topic text NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset bigint NOT NULL,
    payment_id text NOT NULL,
    invoice_id text NOT NULL,
    subscription_id text NOT NULL,
    customer_id text NOT NULL,
    amount_minor bigint NOT NULL,
    currency char(3) NOT NULL,
    service_period_start date NOT NULL,
    service_period_end date NOT NULL,
    region_id text NOT NULL,
    failure_reason text,
    payment_method text,
    loaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS payment_event_customer_date ON warehouse.payment_event (customer_id, event_date);
CREATE INDEX IF NOT EXISTS payment_event_customer_period ON warehouse.payment_event (customer_id, service_period_start);
CREATE INDEX IF NOT EXISTS payment_event_subscription ON warehouse.payment_event (subscription_id, event_date);

CREATE TABLE IF NOT EXISTS warehouse.usage_event (
    event_id text PRIMARY KEY,
    event_type text NOT NULL,
    event_time timestamptz NOT NULL,
    event_date date NOT NULL,
    source text NOT NULL,
    schema_version integer NOT NULL,
    writer_version integer NOT NULL,
    producer text NOT NULL,
    received_at timestamptz,
    trace_id text,
    is_late boolean NOT NULL DEFAULT false,
    kafka_topic text NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset bigint NOT NULL,
    customer_id text NOT NULL,
    subscription_id text NOT NULL,
    metric text NOT NULL,
    quantity bigint NOT NULL,
    unit text NOT NULL,
    usage_date date NOT NULL,
    region_id text NOT NULL,
    is_billable boolean NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS usage_event_key ON warehouse.usage_event (customer_id, metric, usage_date);

CREATE TABLE IF NOT EXISTS warehouse.cost_event (
    event_id text PRIMARY KEY,
    event_type text NOT NULL,
    event_time timestamptz NOT NULL,
    event_date date NOT NULL,
    source text NOT NULL,
    schema_version integer NOT NULL,
    writer_version integer NOT NULL,
    producer text NOT NULL,
    received_at timestamptz,
    trace_id text,
    is_late boolean NOT NULL DEFAULT false,
    kafka_topic text NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset bigint NOT NULL,
    category text NOT NULL,
    vendor text NOT NULL,
    region_id text NOT NULL,
    amount_minor bigint NOT NULL,
    currency char(3) NOT NULL,
    period_start date NOT NULL,
    period_end date NOT NULL,
    cost_center text,
    loaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS cost_event_key ON warehouse.cost_event (region_id, category, vendor, currency, period_start);

-- Staging: one landing table per family (same columns as the event table before derivation),
-- plus the per-batch work sets. Unlogged: their content never outlives a transaction.

CREATE UNLOGGED TABLE IF NOT EXISTS staging.stg_subscription_event
    (LIKE warehouse.subscription_event INCLUDING DEFAULTS);
ALTER TABLE staging.stg_subscription_event DROP COLUMN IF EXISTS effective_on,
    DROP COLUMN IF EXISTS status_after, DROP COLUMN IF EXISTS loaded_at;
CREATE UNLOGGED TABLE IF NOT EXISTS staging.stg_payment_event (LIKE warehouse.payment_event);
ALTER TABLE staging.stg_payment_event DROP COLUMN IF EXISTS loaded_at;
CREATE UNLOGGED TABLE IF NOT EXISTS staging.stg_usage_event (LIKE warehouse.usage_event);
ALTER TABLE staging.stg_usage_event DROP COLUMN IF EXISTS loaded_at;
CREATE UNLOGGED TABLE IF NOT EXISTS staging.stg_cost_event (LIKE warehouse.cost_event);
ALTER TABLE staging.stg_cost_event DROP COLUMN IF EXISTS loaded_at;

-- Rows a batch actually inserted (re-sent event_ids are not here, so they recompute nothing).
CREATE UNLOGGED TABLE IF NOT EXISTS staging.new_subscription_event (LIKE warehouse.subscription_event);
CREATE UNLOGGED TABLE IF NOT EXISTS staging.new_payment_event (LIKE warehouse.payment_event);
CREATE UNLOGGED TABLE IF NOT EXISTS staging.new_usage_event (
    customer_id text NOT NULL, metric text NOT NULL, usage_date date NOT NULL, event_date date NOT NULL
);
CREATE UNLOGGED TABLE IF NOT EXISTS staging.new_cost_event (LIKE warehouse.cost_event);

-- Work sets of the recompute: what the batch touched.
CREATE UNLOGGED TABLE IF NOT EXISTS staging.touched_subscription (
    subscription_id text PRIMARY KEY,
    from_date date NOT NULL
);
-- Per subscription, the days whose snapshot rows the batch rewrites (late changes from their
-- date on, and every open subscription over the days the horizon advanced).
CREATE UNLOGGED TABLE IF NOT EXISTS staging.snapshot_range (
    subscription_id text PRIMARY KEY,
    customer_id text NOT NULL,
    from_date date NOT NULL,
    to_date date NOT NULL
);
CREATE UNLOGGED TABLE IF NOT EXISTS staging.touched_customer_day (
    customer_id text NOT NULL,
    day date NOT NULL,
    PRIMARY KEY (customer_id, day)
);
CREATE UNLOGGED TABLE IF NOT EXISTS staging.touched_dimension_key (
    dimension text NOT NULL,
    natural_id text NOT NULL,
    PRIMARY KEY (dimension, natural_id)
);

-- Derived state -------------------------------------------------------------------------------

-- Subscription state as intervals [valid_from, valid_to) of constant status, terms and MRR,
-- derived from the subscription and payment events by recompute_subscriptions.sql. The daily
-- snapshot fact is these intervals expanded day by day up to the data horizon. Interval
-- boundaries are an implementation detail (an interval may be split where nothing changes).
CREATE TABLE IF NOT EXISTS warehouse.subscription_state (
    subscription_id text NOT NULL,
    valid_from date NOT NULL,
    valid_to date,
    customer_id text NOT NULL,
    plan_id text NOT NULL,
    region_id text NOT NULL,
    currency char(3) NOT NULL,
    status text NOT NULL CHECK (status IN ('trialing', 'active', 'past_due', 'paused', 'canceled')),
    is_active boolean NOT NULL,
    quantity integer NOT NULL,
    unit_price_minor bigint NOT NULL,
    billing_interval text NOT NULL,
    billing_interval_count integer NOT NULL,
    is_discounted boolean NOT NULL,
    mrr_minor bigint NOT NULL,
    PRIMARY KEY (subscription_id, valid_from),
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE INDEX IF NOT EXISTS subscription_state_customer ON warehouse.subscription_state (customer_id);
CREATE INDEX IF NOT EXISTS subscription_state_open ON warehouse.subscription_state (valid_to);

-- The last UTC date the warehouse has events for (max event_time date of everything merged):
-- daily snapshots and MRR rows run up to it. One row; the reporting currency in force is kept
-- beside it so views convert with the same currency as the facts.
CREATE TABLE IF NOT EXISTS warehouse.data_horizon (
    is_singleton boolean PRIMARY KEY DEFAULT true CHECK (is_singleton),
    horizon_date date,
    reporting_currency char(3) NOT NULL CHECK (reporting_currency ~ '^[A-Z]{3}$'),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Additions to the 0300 facts (new columns only) -------------------------------------------------

-- Usage marked non-billable (internal/test traffic) stays in `quantity`; this is the billable part.
ALTER TABLE warehouse.usage_daily ADD COLUMN IF NOT EXISTS billable_quantity bigint NOT NULL DEFAULT 0;
