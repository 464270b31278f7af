-- The request failed transiently (e.g. broker unavailable): forget it so a retry runs again.
DELETE FROM platform.gateway_idempotency_key
WHERE api_key_id = %(api_key_id)s AND idempotency_key = %(idempotency_key)s
  AND fingerprint = %(fingerprint)s AND state = 'in_flight'
