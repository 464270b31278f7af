SELECT api_key_id, name, families, rate_limit_per_s
FROM platform.gateway_api_key
WHERE key_hash = %(key_hash)s AND revoked_at IS NULL
