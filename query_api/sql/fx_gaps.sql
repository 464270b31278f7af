-- Currencies and dates the warehouse converted with no FX rate (reporting amounts are 0 there).
SELECT currency::text AS currency, reporting_currency::text AS reporting_currency, first_date, last_date
FROM reporting.fx_gap
ORDER BY currency, reporting_currency;
