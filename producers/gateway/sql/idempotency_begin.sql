-- Claim the key: a new key, an expired one, or an abandoned in-flight claim of the same
-- request (its process died) becomes ours. Returns no row when someone else holds it.
INSERT INTO platform.gateway_idempotency_key AS held (
    api_key_id, idempotency_key, request_path, fingerprint, state, locked_until, expires_at
)
VALUES (
    %(api_key_id)s, %(idempotency_key)s, %(request_path)s, %(fingerprint)s, 'in_flight',
    now() + make_interval(secs => %(lease_s)s), now() + make_interval(secs => %(retention_s)s)
)
ON CONFLICT (api_key_id, idempotency_key) DO UPDATE
SET request_path = excluded.request_path,
    fingerprint = excluded.fingerprint,
    state = 'in_flight',
    locked_until = excluded.locked_until,
    status_code = NULL,
    response_body = NULL,
    created_at = now(),
    completed_at = NULL,
    expires_at = excluded.expires_at
WHERE held.expires_at <= now()
   OR (held.state = 'in_flight' AND held.locked_until <= now()
       AND held.fingerprint = excluded.fingerprint AND held.request_path = excluded.request_path)
RETURNING 1
