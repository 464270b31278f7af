SELECT api_key_id, name, key_prefix, families, rate_limit_per_s, created_at, revoked_at
FROM platform.gateway_api_key
ORDER BY api_key_id
