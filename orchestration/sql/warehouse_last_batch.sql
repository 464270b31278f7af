-- When the warehouse sink last committed a batch (its offsets move in the same transaction).
SELECT max(updated_at) FROM platform.consumer_offset WHERE consumer_name = %(consumer)s;
