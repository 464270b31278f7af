"""The FastAPI application of the ingestion gateway.

One router per event family (`/v1/events/<family>` and `/v1/events/<family>/batch`), plus
`/health` and `/metrics`. Per-process resources (Kafka producer with its poll thread, a small
Postgres pool, API-key cache, rate limiter) live on `app.state.gateway`, created in the
lifespan, so the same factory serves tests (in process) and uvicorn workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from psycopg_pool import AsyncConnectionPool
from starlette.concurrency import run_in_threadpool

from platform_common.config import Settings, get_settings
from platform_common.health import HealthCheck, run_checks
from platform_common.http_metrics import RequestMetricsMiddleware
from platform_common.kafka import producer_config
from platform_common.logging import configure_logging
from platform_common.postgres import Role, connect, conninfo
from platform_common.topics import Family, raw_topic
from producers.delivery import AsyncKafkaProducer
from producers.gateway import metrics
from producers.gateway.idempotency import IdempotencyStore
from producers.gateway.ingest import Gateway
from producers.gateway.keys import ApiKeyResolver
from producers.gateway.openapi import BatchResult, ErrorBody, EventAccepted, install_openapi, request_body
from producers.gateway.settings import GatewaySettings, gateway_settings

log = logging.getLogger(__name__)
SECURITY: list[dict[str, list[str]]] = [{"bearer": []}, {"apiKeyHeader": []}]


def _responses(batch: bool) -> dict[int | str, dict[str, Any]]:
    error = {"model": ErrorBody}
    return {
        202: {"model": BatchResult if batch else EventAccepted, "description": "Acknowledged by Kafka"},
        400: {**error, "description": "Body is not JSON, or a malformed Idempotency-Key"},
        401: {**error, "description": "Missing or invalid API key"},
        403: {**error, "description": "The API key may not send this family"},
        409: {**error, "description": "A request with this Idempotency-Key is still in flight"},
        413: {**error, "description": "Body too large, or too many events in the batch"},
        422: {
            "model": BatchResult if batch else ErrorBody,
            "description": "Contract violation (field paths and reasons), or Idempotency-Key reused "
            "with a different body",
        },
        429: {**error, "description": "Over the API key's rate; see Retry-After"},
        503: {**error, "description": "Kafka or Postgres unavailable; nothing accepted; see Retry-After"},
    }


def family_router(family: Family, max_batch_events: int) -> APIRouter:
    router = APIRouter(prefix=f"/v1/events/{family.value}", tags=[family.value])

    def endpoint(batch: bool) -> Callable[[Request], Awaitable[Response]]:
        async def ingest(request: Request) -> Response:
            gateway: Gateway = request.app.state.gateway
            return await gateway.handle(request, family, batch)

        return ingest

    router.add_api_route(
        "",
        endpoint(False),
        methods=["POST"],
        status_code=202,
        summary=f"Ingest one {family.value} event",
        responses=_responses(False),
        openapi_extra={**request_body(family, False, max_batch_events), "security": SECURITY},
        operation_id=f"ingest_{family.value}",
    )
    router.add_api_route(
        "/batch",
        endpoint(True),
        methods=["POST"],
        status_code=202,
        summary=f"Ingest a batch of {family.value} events",
        description="Valid events are produced, invalid ones reported per event (202). 422 when "
        "none is valid; with `?atomic=true` any invalid event refuses the whole batch.",
        responses=_responses(True),
        openapi_extra={**request_body(family, True, max_batch_events), "security": SECURITY},
        operation_id=f"ingest_{family.value}_batch",
    )
    return router


def health_checks(settings: Settings, producer: AsyncKafkaProducer) -> list[HealthCheck]:
    wanted = {raw_topic(family, settings.kafka.topic_prefix) for family in Family}

    def kafka() -> None:
        missing = wanted - set(producer.producer.list_topics(timeout=2.0).topics)
        if missing:
            raise RuntimeError(f"missing topics: {sorted(missing)}")

    def postgres() -> None:
        with connect(Role.WRITER, settings, connect_timeout=2) as conn:
            conn.execute("SELECT 1")

    return [("kafka", kafka), ("postgres", postgres)]


async def _cleanup_forever(store: IdempotencyStore, interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)
        try:
            deleted = await store.delete_expired()
        except Exception as error:  # noqa: BLE001 - retried next interval
            log.warning("idempotency cleanup failed", extra={"error": repr(error)})
        else:
            if deleted:
                log.info("expired idempotency keys deleted", extra={"deleted": deleted})


def create_app(settings: Settings | None = None, gateway: GatewaySettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    gateway = gateway or gateway_settings(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            conninfo(Role.WRITER, settings, application_name="ledgerline-gateway"),
            min_size=1,
            max_size=gateway.db_pool_max_size,
            timeout=gateway.db_timeout_s,
            open=False,
        )
        await pool.open(wait=False)  # start even while Postgres is down; requests answer 503
        producer = AsyncKafkaProducer(producer_config(settings), gateway.delivery_timeout_s)
        store = IdempotencyStore(pool, gateway)
        app.state.gateway = Gateway(
            gateway, settings.kafka.topic_prefix, producer, ApiKeyResolver(pool, gateway), store
        )
        app.state.health_checks = health_checks(settings, producer)
        cleanup = asyncio.create_task(_cleanup_forever(store, gateway.idempotency_cleanup_interval_s))
        try:
            yield
        finally:
            cleanup.cancel()
            left = await asyncio.to_thread(producer.close)
            if left:
                log.error("gateway stopped with unacknowledged messages", extra={"messages": left})
            await pool.close()

    app = FastAPI(
        title="Ledgerline ingestion gateway",
        version="1.0.0",
        description="Send subscription, payment, usage and operational-cost events. Every 202 "
        "means Kafka (acks=all) acknowledged the accepted events. Send an `Idempotency-Key` "
        "header to make retries safe; keys are kept for 24 hours.",
        lifespan=lifespan,
    )
    app.add_middleware(RequestMetricsMiddleware, requests=metrics.REQUESTS, latency=metrics.LATENCY)
    for family in Family:
        app.include_router(family_router(family, gateway.max_batch_events))

    @app.get("/health", tags=["operations"], summary="Kafka and Postgres reachability")
    async def health(request: Request) -> Response:
        report = await run_in_threadpool(run_checks, request.app.state.health_checks)
        return Response(report.to_json(), 200 if report.is_healthy else 503, media_type="application/json")

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics")
    async def prometheus() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    install_openapi(app)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for uvicorn workers (`--factory`): settings from the environment."""
    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings)
