-- Warehouse sink (issue 5), follow-up to 0301/0302 (already applied on dev databases):
-- * the rounding helpers drop STRICT so PostgreSQL can inline them (a STRICT SQL function whose
--   body is a CASE is never inlined; the per-row call cost dominated fact inserts);
-- * staging.new_usage_event keeps every column, so usage_daily rows of keys seen for the first
--   time aggregate straight from the batch instead of re-reading the event table.

CREATE OR REPLACE FUNCTION warehouse.round_half_even(x numeric)
RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (CASE WHEN x - floor(x) = 0.5 THEN floor(x) + abs(mod(floor(x), 2)) ELSE round(x) END)::bigint
$$;

CREATE OR REPLACE FUNCTION warehouse.div_round_half_even(numerator numeric, denominator numeric)
RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (floor(numerator / denominator)
            + CASE WHEN 2 * (numerator - floor(numerator / denominator) * denominator) > denominator
                     OR (2 * (numerator - floor(numerator / denominator) * denominator) = denominator
                         AND abs(mod(floor(numerator / denominator), 2)) = 1)
                   THEN 1 ELSE 0 END)::bigint
$$;

DROP TABLE IF EXISTS staging.new_usage_event;
CREATE UNLOGGED TABLE staging.new_usage_event (LIKE warehouse.usage_event);
