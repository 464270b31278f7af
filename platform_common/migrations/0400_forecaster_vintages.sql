-- Forecast vintages and their variance against actuals (owner: forecaster, issue 6).
--
-- Every run of the forecaster is a vintage: one forecast_run row, one forecast_model row per series
-- and frequency, one forecast_value row per forecast date. A vintage is written once, in one
-- transaction, and never changed: UPDATE, DELETE and TRUNCATE are refused by triggers (for every
-- role, the owner included) and the writer role does not even hold those privileges.
-- forecast_variance is derived (actual - forecast) and is recomputed whenever actuals arrive, so
-- it stays mutable. Money forecasts are numeric minor units of the reporting currency; counts use
-- the same numeric(20, 2) columns. No float column holds a forecast value.

CREATE TABLE IF NOT EXISTS warehouse.forecast_run (
    run_id uuid PRIMARY KEY,
    created_at timestamptz NOT NULL,
    as_of_date date NOT NULL,                 -- last day of actuals the run could see
    history_start_date date NOT NULL,
    horizon_days integer NOT NULL CHECK (horizon_days > 0),
    horizon_months integer NOT NULL CHECK (horizon_months > 0),
    levels smallint[] NOT NULL,
    metrics text[] NOT NULL,
    reporting_currency char(3) CHECK (reporting_currency ~ '^[A-Z]{3}$'),
    series_count integer NOT NULL CHECK (series_count >= 0),
    fallback_count integer NOT NULL CHECK (fallback_count >= 0),
    reconciliation jsonb NOT NULL,            -- per metric and frequency: evaluation and decision
    parameters jsonb NOT NULL,
    library_versions jsonb NOT NULL,
    duration_seconds numeric(12, 3) NOT NULL CHECK (duration_seconds >= 0)
);
CREATE INDEX IF NOT EXISTS forecast_run_as_of ON warehouse.forecast_run (as_of_date, created_at);

CREATE TABLE IF NOT EXISTS warehouse.forecast_model (
    run_id uuid NOT NULL REFERENCES warehouse.forecast_run (run_id),
    series_id text NOT NULL,                  -- e.g. mrr/total, mrr/region=eu, mrr/region=eu/plan=pro
    freq text NOT NULL CHECK (freq IN ('day', 'month')),
    metric text NOT NULL,
    unit text NOT NULL CHECK (unit IN ('minor_units', 'count')),
    hierarchy_level text NOT NULL CHECK (hierarchy_level IN ('total', 'region', 'plan', 'region_plan')),
    region_id text,
    plan_id text,
    model text NOT NULL,                      -- AutoARIMA, AutoETS, AutoTheta, SeasonalNaive, or a fallback
    model_spec text NOT NULL,                 -- e.g. ARIMA(1,1,1)(0,1,1)[7], ETS(M,A,N)
    fallback_reason text CHECK (fallback_reason IN ('too_short', 'constant', 'all_zero', 'gappy')),
    arima_order smallint[],                   -- (p, d, q, P, D, Q, m) when the model is ARIMA
    aic numeric,
    training_start date NOT NULL,
    training_end date NOT NULL,
    n_obs integer NOT NULL,
    gaps_filled integer NOT NULL,
    backtest_windows smallint,
    backtest_horizon smallint,
    backtest_points integer,
    mase numeric(14, 6),
    smape numeric(14, 6),                     -- fraction in [0, 2]
    wape numeric(14, 6),                      -- fraction
    coverage_80 numeric(7, 6),                -- share of backtest actuals inside the 80% interval
    coverage_95 numeric(7, 6),
    base_mase numeric(14, 6),                 -- before reconciliation (equals mase when not reconciled)
    reconciled boolean NOT NULL,
    candidates jsonb NOT NULL,                -- backtest MASE of every candidate model
    PRIMARY KEY (run_id, series_id, freq),
    CHECK (training_end >= training_start)
);

CREATE TABLE IF NOT EXISTS warehouse.forecast_value (
    run_id uuid NOT NULL,
    series_id text NOT NULL,
    freq text NOT NULL,
    ds date NOT NULL,                         -- the day, or the first day of the month
    point numeric(20, 2) NOT NULL,
    lo_80 numeric(20, 2),                     -- NULL only when a fallback cannot estimate spread
    hi_80 numeric(20, 2),
    lo_95 numeric(20, 2),
    hi_95 numeric(20, 2),
    model text NOT NULL,
    PRIMARY KEY (run_id, series_id, freq, ds),
    FOREIGN KEY (run_id, series_id, freq) REFERENCES warehouse.forecast_model (run_id, series_id, freq),
    CHECK (lo_95 <= lo_80 AND lo_80 <= point AND point <= hi_80 AND hi_80 <= hi_95)
);

CREATE TABLE IF NOT EXISTS warehouse.forecast_variance (
    run_id uuid NOT NULL,
    series_id text NOT NULL,
    freq text NOT NULL,
    ds date NOT NULL,
    actual numeric(20, 2) NOT NULL,
    forecast numeric(20, 2) NOT NULL,
    variance numeric(20, 2) NOT NULL,         -- actual - forecast
    variance_pct numeric(14, 4),              -- 100 * variance / |forecast|; NULL when forecast = 0
    inside_80 boolean,
    inside_95 boolean,
    favourability text NOT NULL CHECK (favourability IN ('favourable', 'unfavourable', 'on_forecast')),
    mtd_actual numeric(22, 2) NOT NULL,       -- cumulative over forecast dates in the same month
    mtd_forecast numeric(22, 2) NOT NULL,
    mtd_variance numeric(22, 2) NOT NULL,
    mtd_variance_pct numeric(14, 4),
    qtd_actual numeric(22, 2) NOT NULL,       -- cumulative over forecast dates in the same quarter
    qtd_forecast numeric(22, 2) NOT NULL,
    qtd_variance numeric(22, 2) NOT NULL,
    qtd_variance_pct numeric(14, 4),
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, series_id, freq, ds),
    FOREIGN KEY (run_id, series_id, freq, ds) REFERENCES warehouse.forecast_value (run_id, series_id, freq, ds)
);

CREATE OR REPLACE FUNCTION warehouse.refuse_vintage_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'forecast vintages are immutable: % on %.% refused', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation',
              HINT = 'run the forecaster again to create a new vintage';
END
$$;

DROP TRIGGER IF EXISTS forecast_run_immutable ON warehouse.forecast_run;
CREATE TRIGGER forecast_run_immutable BEFORE UPDATE OR DELETE ON warehouse.forecast_run
    FOR EACH ROW EXECUTE FUNCTION warehouse.refuse_vintage_change();
DROP TRIGGER IF EXISTS forecast_run_no_truncate ON warehouse.forecast_run;
CREATE TRIGGER forecast_run_no_truncate BEFORE TRUNCATE ON warehouse.forecast_run
    FOR EACH STATEMENT EXECUTE FUNCTION warehouse.refuse_vintage_change();

DROP TRIGGER IF EXISTS forecast_model_immutable ON warehouse.forecast_model;
CREATE TRIGGER forecast_model_immutable BEFORE UPDATE OR DELETE ON warehouse.forecast_model
    FOR EACH ROW EXECUTE FUNCTION warehouse.refuse_vintage_change();
DROP TRIGGER IF EXISTS forecast_model_no_truncate ON warehouse.forecast_model;
CREATE TRIGGER forecast_model_no_truncate BEFORE TRUNCATE ON warehouse.forecast_model
    FOR EACH STATEMENT EXECUTE FUNCTION warehouse.refuse_vintage_change();

DROP TRIGGER IF EXISTS forecast_value_immutable ON warehouse.forecast_value;
CREATE TRIGGER forecast_value_immutable BEFORE UPDATE OR DELETE ON warehouse.forecast_value
    FOR EACH ROW EXECUTE FUNCTION warehouse.refuse_vintage_change();
DROP TRIGGER IF EXISTS forecast_value_no_truncate ON warehouse.forecast_value;
CREATE TRIGGER forecast_value_no_truncate BEFORE TRUNCATE ON warehouse.forecast_value
    FOR EACH STATEMENT EXECUTE FUNCTION warehouse.refuse_vintage_change();

-- Insert-only for the writer role; the reader (query API) reads all four tables.
REVOKE UPDATE, DELETE, TRUNCATE ON warehouse.forecast_run, warehouse.forecast_model, warehouse.forecast_value
    FROM ledgerline_write;
GRANT SELECT, INSERT ON warehouse.forecast_run, warehouse.forecast_model, warehouse.forecast_value
    TO ledgerline_write;
GRANT SELECT, INSERT, UPDATE, DELETE ON warehouse.forecast_variance TO ledgerline_write;
GRANT SELECT ON warehouse.forecast_run, warehouse.forecast_model, warehouse.forecast_value,
    warehouse.forecast_variance TO ledgerline_read;
