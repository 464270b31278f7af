-- Serialise variance recomputations so two callers cannot interleave delete and insert.
SELECT pg_advisory_xact_lock(hashtext('ledgerline.forecast_variance'));
