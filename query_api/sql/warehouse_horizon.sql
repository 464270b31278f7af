-- The warehouse's own data horizon now (the read models may be one refresh behind it).
SELECT horizon_date, updated_at FROM warehouse.data_horizon;
