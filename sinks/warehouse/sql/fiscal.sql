-- The fiscal columns of the date dimension (warehouse.time) from the fiscal year's first month
-- (parameter start_month, 1..12; 1 = the calendar, which migration 0300 filled in). Period 1 is
-- the start month; a fiscal year is named by the calendar year it ends in (start_month 4:
-- 2026-04-01 .. 2027-03-31 is fiscal 2027). Only rows whose fiscal columns differ are written,
-- so running it again with the same month changes nothing.

-- name: fiscal_calendar
WITH fiscal AS (
    SELECT calendar_date, fiscal_year, fiscal_period, ((fiscal_period - 1) / 3 + 1)::smallint AS fiscal_quarter
    FROM (SELECT calendar_date,
                 (calendar_year + CASE WHEN %(start_month)s::int > 1 AND month_of_year >= %(start_month)s::int
                                       THEN 1 ELSE 0 END)::smallint AS fiscal_year,
                 (mod(month_of_year - %(start_month)s::int + 12, 12) + 1)::smallint AS fiscal_period
          FROM warehouse.time) computed
)
UPDATE warehouse.time t
SET fiscal_year = f.fiscal_year, fiscal_quarter = f.fiscal_quarter, fiscal_period = f.fiscal_period
FROM fiscal f
WHERE t.calendar_date = f.calendar_date
  AND (t.fiscal_year, t.fiscal_quarter, t.fiscal_period) IS DISTINCT FROM (f.fiscal_year, f.fiscal_quarter,
                                                                           f.fiscal_period);
