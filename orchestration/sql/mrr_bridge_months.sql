SELECT count(DISTINCT month_start_date) FROM warehouse.mrr_movement_monthly;
