INSERT INTO platform.gateway_api_key (name, key_hash, key_prefix, families, rate_limit_per_s)
VALUES (%(name)s, %(key_hash)s, %(key_prefix)s, %(families)s, %(rate_limit_per_s)s)
RETURNING api_key_id
