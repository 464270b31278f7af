-- Rows of the MRR bridge that do not add up (local currency): opening + movements = closing.
SELECT month_start_date, region_id, plan_id, currency, opening_mrr_minor, closing_mrr_minor,
       opening_mrr_minor + new_mrr_minor + expansion_mrr_minor + contraction_mrr_minor
         + churned_mrr_minor + reactivation_mrr_minor - closing_mrr_minor AS difference_minor
FROM warehouse.mrr_movement_monthly
WHERE opening_mrr_minor + new_mrr_minor + expansion_mrr_minor + contraction_mrr_minor
      + churned_mrr_minor + reactivation_mrr_minor <> closing_mrr_minor
ORDER BY month_start_date, region_id, plan_id, currency
LIMIT 20;
