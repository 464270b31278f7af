UPDATE platform.gateway_idempotency_key
SET state = 'completed', status_code = %(status_code)s, response_body = %(response_body)s,
    completed_at = now()
WHERE api_key_id = %(api_key_id)s AND idempotency_key = %(idempotency_key)s
  AND fingerprint = %(fingerprint)s AND state = 'in_flight'
