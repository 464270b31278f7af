-- Bounded batches keep the delete short even after a long outage of the cleanup.
DELETE FROM platform.gateway_idempotency_key
WHERE ctid IN (
    SELECT ctid FROM platform.gateway_idempotency_key
    WHERE expires_at <= now()
    LIMIT %(limit)s
)
