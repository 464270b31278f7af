UPDATE platform.gateway_api_key
SET revoked_at = now()
WHERE api_key_id = %(api_key_id)s AND revoked_at IS NULL
RETURNING api_key_id
