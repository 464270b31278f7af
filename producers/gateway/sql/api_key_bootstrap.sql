-- Idempotent: re-running setup refreshes the families (new families join) but never
-- un-revokes a bootstrap key an operator revoked.
INSERT INTO platform.gateway_api_key (name, key_hash, key_prefix, families)
VALUES (%(name)s, %(key_hash)s, %(key_prefix)s, %(families)s)
ON CONFLICT (key_hash) DO UPDATE SET families = excluded.families
RETURNING api_key_id
