"""Settings groups of the stages, part of the one central `Settings` (see `config.py`).

They live here, not in the stages, so that one class describes every variable a deployment can
set (and `.env.example` can be checked against it), while each stage reads only its own group.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator


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


class QuerySettings(BaseModel):
    # Reader-role pool of each worker process.
    db_pool_min_size: int = Field(default=1, ge=0)
    db_pool_max_size: int = Field(default=8, ge=1)
    # Longest wait for a pooled connection before answering 503.
    db_timeout_s: float = Field(default=5.0, gt=0)
    # Server-side cap on one query; a slower query answers 503 instead of piling up.
    statement_timeout_ms: int = Field(default=10_000, ge=100)
    # Responses over the read models are cached per worker until the next refresh; the worker
    # looks at the refresh id this often. 0 disables the cache.
    cache_max_entries: int = Field(default=4096, ge=0)
    cache_check_interval_s: float = Field(default=1.0, gt=0)
    # Refresh-ahead: after a refresh, this many of the most recently used responses are recomputed
    # in the background and served from the previous refresh (X-Cache: stale) for at most
    # cache_rewarm_max_s until then. 0 empties the cache on a refresh instead.
    cache_rewarm_max_entries: int = Field(default=1024, ge=0)
    cache_rewarm_max_s: float = Field(default=30.0, gt=0)
    # Cost categories that are cost of revenue (the rest is operating expense) for gross margin.
    cost_of_revenue_categories: tuple[str, ...] = ("infrastructure", "support", "payment_processing")
    # A family whose newest event is older than this is reported stale.
    freshness_stale_after_s: int = Field(default=6 * 3600, ge=1)


Codec = Literal["deflate", "null", "bzip2", "xz", "snappy", "zstandard"]


class LakeSinkSettings(BaseModel):
    """`LEDGERLINE_LAKE_SINK__<FIELD>` once wired into `Settings` as `lake_sink`."""

    group_id: str = Field(
        default="ledgerline-lake-sink",
        description="Kafka consumer group; the topic prefix is prepended so isolated stacks never share it.",
    )
    instance_id: str | None = Field(
        default=None,
        description=(
            "Kafka static membership id (group.instance.id). None derives it from the host name, so a "
            "restarted sink takes its partitions back at once instead of waiting session_timeout_ms. "
            "Give each replica its own id when several run on one host."
        ),
    )
    session_timeout_ms: int = Field(default=30_000, ge=6_000, le=300_000)
    max_batch_records: int = Field(default=10_000, ge=1, description="Cut an object at this many records.")
    max_batch_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1024, description="Cut an object when its raw values reach this size."
    )
    max_batch_seconds: float = Field(
        default=60.0, gt=0, description="Cut an object when its first record has waited this long."
    )
    codec: Codec = Field(
        default="deflate",
        description="Avro OCF block codec; deflate/bzip2/xz need no extra package, snappy/zstandard do.",
    )
    decode_mode: Literal["full", "prefix"] = Field(
        default="full",
        description=(
            "full: decode the whole Avro body (event_id/event_time only when it decodes completely); "
            "prefix: read only the leading event_id..event_time fields, several times faster."
        ),
    )
    include_quarantine: bool = Field(default=True, description="Archive the quarantine topic as well.")
    max_concurrent_uploads: int = Field(default=4, ge=1, le=64)
    max_buffered_bytes: int = Field(
        default=512 * 1024 * 1024,
        ge=1024 * 1024,
        description="Stop consuming above this estimated memory of buffered records (values + ~1 KiB each).",
    )
    poll_max_records: int = Field(default=5_000, ge=1, description="Records fetched per consume() call.")
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=18093, ge=0, le=65535, description="/metrics and /health; 0 disables.")
    lag_refresh_seconds: float = Field(
        default=15.0, gt=0, description="How often the lag gauge is refreshed and progress is logged."
    )
    shutdown_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description=(
            "On SIGTERM, archive and commit what is buffered for at most this long, then exit anyway: "
            "whatever was not committed is re-read by the partitions' next owner, which skips objects "
            "that already exist."
        ),
    )


# The demo FX rates ship with the warehouse sink; the path is data, not an import.
DEMO_FX_RATES = Path(__file__).resolve().parent.parent / "sinks" / "warehouse" / "fx_rates_demo.csv"
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class MrrRules(BaseModel):
    """How a subscription's state turns into MRR. Changing a rule needs `refresh` to re-derive.

    Fixed rules (documented, not settings): MRR = round_half_even((gross - discount) / months)
    with gross = unit price x quantity per billing period, months = interval count for monthly
    plans and 12 x count for annual and multi-year plans; a percent discount takes
    round_half_even(gross x basis points / 10000), an amount discount min(amount, gross), for
    `duration_months` calendar months from the latest activation (activated, trial_converted,
    reactivated), forever when null; pause -> 0; churn on the cancel's effective date; refunds
    and chargebacks never change MRR.
    """

    past_due_grace_days: int = Field(
        default=14,
        ge=0,
        description=(
            "Days after the first payment_failed (without a later invoice_paid) during which the "
            "subscription is past_due but keeps its MRR; from the next day it counts as churned."
        ),
    )
    apply_discounts: bool = Field(default=True, description="Subtract active discounts from MRR.")
    trials_count_as_active: bool = Field(
        default=False, description="Count trialing subscriptions (with their would-be MRR). Default: excluded."
    )


class WarehouseSinkSettings(BaseModel):
    """`LEDGERLINE_WAREHOUSE_SINK__<FIELD>` once wired into `Settings` as `warehouse_sink`."""

    consumer_name: str = Field(
        default="ledgerline-warehouse-sink",
        description=(
            "Key of the stored offsets in platform.consumer_offset and the Kafka group id (the topic "
            "prefix is prepended to the group id so isolated stacks never share a group)."
        ),
    )
    instance_id: str | None = Field(
        default=None,
        description=(
            "Kafka static membership id; None derives it from the host name (fast restarts). A digest "
            "of the subscribed topics is appended, so changing them forces a rebalance."
        ),
    )
    session_timeout_ms: int = Field(default=10_000, ge=6_000, le=300_000)
    batch_max_events: int = Field(default=50_000, ge=1, description="Close a batch at this many messages.")
    batch_max_seconds: float = Field(
        default=2.0, gt=0, description="Close a batch when its first message has waited this long."
    )
    poll_max_records: int = Field(default=10_000, ge=1, description="Messages fetched per consume() call.")
    reporting_currency: str = Field(default="USD", description="ISO-4217 currency of *_reporting_minor.")
    fx_rates_file: Path = Field(
        default=DEMO_FX_RATES,
        description=(
            "CSV (currency,reporting_currency,effective_date,rate) for load-fx; `ledgerline setup` loads it "
            "when warehouse.fx_rate holds no rate at all (never over rates already loaded). The shipped demo "
            "rates are not loaded by setup when environment is prod."
        ),
    )
    fiscal_year_start_month: int = Field(
        default=1,
        ge=1,
        le=12,
        description=(
            "First month of the fiscal year (1 = calendar year). `ledgerline setup` (re)computes the fiscal "
            "columns of warehouse.time from it; a fiscal year is named by the calendar year it ends in "
            "(4: 2026-04-01..2027-03-31 is fiscal 2027, period 1 = April)."
        ),
    )
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=18092, ge=0, le=65535, description="/metrics and /health; 0 disables.")
    lag_refresh_seconds: float = Field(default=5.0, gt=0, description="How often consumer lag is measured.")
    lock_wait_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How long `run` waits for a previous sink's database session to go away after a crash.",
    )
    load_quarantine: bool = Field(
        default=True,
        description="Also consume the quarantine topic into warehouse.quarantine_event (same transaction as offsets).",
    )
    reference_path: Path | None = Field(
        default=None,
        description="reference.json (plans and regions with names); None: plans and regions are named by their ids.",
    )
    mrr: MrrRules = MrrRules()

    @field_validator("reporting_currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        if not _CURRENCY.match(value):
            raise ValueError("reporting_currency must be three uppercase letters (ISO-4217)")
        return value


class OrchestrationSettings(BaseModel):
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=18300, ge=0, le=65535, description="/metrics and /health of `serve`.")
    forecast_cron: str = Field(default="0 3 * * *", description="Daily forecast flow (UTC cron).")
    reconcile_cron: str = Field(default="30 3 * * *", description="Daily reconcile flow (UTC cron).")
    refresh_interval_s: int = Field(
        default=60, ge=10, description="Read-model refresh flow interval (it skips when no warehouse batch arrived)."
    )
    stream_metrics_urls: tuple[str, ...] = Field(
        default=(),
        description=(
            "Unused: reconcile's count balance reads the stream processor's durable counts from its state"
            " changelog topic, not /metrics (`serve` still passes this to the reconcile deployment, which ignores it)."
        ),
    )
    stream_web_port: int = Field(default=18100, ge=1, le=65535, description="Demo stream worker /health, /metrics.")
    lake_metrics_port: int = Field(default=18093, ge=1, le=65535, description="Demo lake sink /health, /metrics.")
    warehouse_metrics_port: int = Field(default=18092, ge=1, le=65535, description="Demo warehouse sink.")
    drain_timeout_s: float = Field(default=900.0, gt=0, description="How long the demo waits for the pipeline.")


class StreamSettings(BaseModel):
    # Faust app id = consumer group and prefix of the changelog topics; the Kafka topic prefix is
    # prepended, so tenants and test runs sharing a cluster never share state.
    app_id: str = "ledgerline-stream"
    # at_least_once (default): stream_processors/README.md says why, with the measurements.
    processing_guarantee: Literal["exactly_once", "at_least_once"] = "at_least_once"
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=18100, ge=1, le=65535)
    # reference.json as written by the sample-data generator: {"plans": [...], "regions": [...]}.
    # Unset: plan and region ids are not checked (logged as a warning at start).
    reference_path: Path | None = None
    reference_reload_s: float = Field(default=10.0, gt=0)
    clock_skew_s: float = Field(default=300.0, ge=0)
    allowed_lateness_s: float = Field(default=3600.0, ge=0)
    correction_horizon_days: float = Field(default=35.0, gt=0)
    dedupe_retention_days: float = Field(default=7.0, gt=0)
    subscription_grace_s: float = Field(default=600.0, ge=0)
    recheck_interval_s: float = Field(default=5.0, gt=0)
    batch_max: int = Field(default=2000, ge=1)
    batch_within_s: float = Field(default=0.01, gt=0)
    commit_interval_s: float = Field(default=1.0, gt=0)
    session_timeout_s: float = Field(default=10.0, ge=6)
    # How often ledgerline_stream_consumer_lag is recomputed (also on every /metrics scrape).
    lag_refresh_s: float = Field(default=5.0, gt=0)
    data_dir: Path = Path(".local/stream")

    @field_validator("reference_path", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `LEDGERLINE_STREAM__REFERENCE_PATH=` (as in .env.example) means "not set", not ".".
        return None if value == "" else value
