SELECT request_path, fingerprint, state, status_code, response_body
FROM platform.gateway_idempotency_key
WHERE api_key_id = %(api_key_id)s AND idempotency_key = %(idempotency_key)s AND expires_at > now()
