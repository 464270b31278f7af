-- Ingestion gateway state: API keys (hashed at rest) and idempotency records.
-- Owned by producers/gateway; the gateway connects as the writer role, which gets
-- SELECT/INSERT/UPDATE/DELETE on platform tables through the default privileges of 0001.

-- A key is stored only as HMAC-SHA256(pepper, key); the clear key is shown once at creation.
CREATE TABLE IF NOT EXISTS platform.gateway_api_key (
    api_key_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    key_hash bytea NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
    -- First characters of the key, so operators can tell keys apart without the secret.
    key_prefix text NOT NULL,
    families text[] NOT NULL CHECK (cardinality(families) > 0),
    -- Events per second per gateway process; null means the gateway default.
    rate_limit_per_s integer CHECK (rate_limit_per_s > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

-- One row per (API key, Idempotency-Key): in_flight while the first request runs, then the
-- response to replay. Kept until expires_at (>= 24 h after the first request).
CREATE TABLE IF NOT EXISTS platform.gateway_idempotency_key (
    api_key_id bigint NOT NULL REFERENCES platform.gateway_api_key (api_key_id) ON DELETE CASCADE,
    idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    request_path text NOT NULL,
    -- sha256 of the request body.
    fingerprint bytea NOT NULL CHECK (octet_length(fingerprint) = 32),
    state text NOT NULL CHECK (state IN ('in_flight', 'completed')),
    -- A crashed request's in_flight row may be taken over (same body) after this instant.
    locked_until timestamptz NOT NULL,
    status_code smallint,
    response_body bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (api_key_id, idempotency_key),
    CHECK ((state = 'completed') = (status_code IS NOT NULL AND response_body IS NOT NULL))
);

CREATE INDEX IF NOT EXISTS gateway_idempotency_key_expires_at_idx
    ON platform.gateway_idempotency_key (expires_at);
