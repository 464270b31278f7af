"""Settings groups of the stages, part of the one central `Settings` (see `config.py`).

They live here, not in the stages, so that one class describes every variable a deployment can
set (and `.env.example` can be checked against it), while each stage reads only its own group.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr, model_validator


class GatewaySettings(BaseModel):
    # Request limits: a batch over either is refused with 413 before any event is looked at.
    max_batch_events: int = Field(default=1000, ge=1)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # How long a request waits for the broker's acknowledgement before answering 503; also
    # librdkafka's message.timeout.ms, so an unacknowledged message fails instead of lingering.
    delivery_timeout_s: float = Field(default=10.0, gt=0)
    # Retry-After sent with 503 (broker or database unavailable).
    unavailable_retry_after_s: int = Field(default=5, ge=1)
    # Token bucket per API key, in events per second, per gateway process (keys may override
    # the rate). The bucket holds `rate x burst_s` events, at least one full batch.
    rate_limit_events_per_s: float = Field(default=20_000.0, gt=0)
    rate_limit_burst_s: float = Field(default=2.0, gt=0)
    # API keys are stored as HMAC-SHA256(pepper, key). Changing the pepper invalidates all keys.
    api_key_pepper: SecretStr = SecretStr("ledgerline-dev-pepper")
    # A looked-up key (or a miss) is cached in process this long: revocation takes effect
    # within `api_key_cache_ttl_s`, and unknown keys cannot hammer the database.
    api_key_cache_ttl_s: float = Field(default=30.0, ge=0)
    api_key_negative_cache_ttl_s: float = Field(default=2.0, ge=0)
    # Idempotency keys are kept at least 24 h (IETF draft: the server publishes its window).
    idempotency_retention_s: int = Field(default=86_400, ge=86_400)
    # A key whose request crashed mid-flight is taken over by a same-body retry after this.
    idempotency_lease_s: float = Field(default=60.0, gt=0)
    # Expired idempotency rows are deleted in the background this often.
    idempotency_cleanup_interval_s: float = Field(default=600.0, gt=0)
    # Database pool of each gateway process (API key lookups, idempotency records).
    db_pool_max_size: int = Field(default=4, ge=1)
    # Longest wait for a pooled connection before answering 503.
    db_timeout_s: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _lease_outlives_delivery(self) -> GatewaySettings:
        if self.idempotency_lease_s <= self.delivery_timeout_s:
            raise ValueError("idempotency_lease_s must exceed delivery_timeout_s")
        return self

    def bucket_capacity(self, rate: float) -> float:
        return max(rate * self.rate_limit_burst_s, float(self.max_batch_events))
