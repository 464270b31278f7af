"""The FastAPI application of the query API: read-only metrics over the warehouse read models.

One router per resource under `/v1` (all behind the API key), plus `/health`, `/metrics`,
`/docs` and the dashboard. Per-process resources (reader pool, response cache and its refresh
poller) are created in the lifespan, so the same factory serves tests in process and uvicorn
workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from platform_common.config import Settings, get_settings
from platform_common.health import CheckResult, HealthReport
from platform_common.http_metrics import RequestMetricsMiddleware
from platform_common.logging import configure_logging
from query_api import metrics
from query_api.auth import AUTHENTICATED, Authenticator
from query_api.cache import CacheMiddleware, ResponseCache, poll_refresh_id
from query_api.dashboard import install_pages
from query_api.db import DATABASE_ERRORS, database_error, make_pool
from query_api.definitions import METRIC_DEFINITIONS_VERSION
from query_api.routers import churn, costs, data_quality, forecasts, mrr, reference, revenue, subscriptions, usage
from query_api.settings import QuerySettings, query_settings
from query_api.strict_query import KNOWN_QUERY_PARAMS_ONLY

log = logging.getLogger(__name__)
ROUTERS = (mrr, subscriptions, churn, revenue, costs, usage, forecasts, data_quality, reference)
DESCRIPTION = f"""Trusted SaaS metrics from the Ledgerline warehouse: MRR and its movements, subscriptions,
churn, revenue, costs and margin, usage, forecast vs actual, and data quality.

Send the API key in the `X-API-Key` header. Every answer carries `data_as_of` (the last day the
numbers include) and `metric_definitions_version` ({METRIC_DEFINITIONS_VERSION}); the formulas are in
each endpoint's description and at `GET /v1/definitions`. Money is integer minor units. Invalid
filters answer 422, and so does a query parameter the endpoint does not declare (a misspelled filter
is refused, never ignored: `detail` names it and lists the accepted ones); an unavailable warehouse
answers 503. The dashboard is at `/dashboard`.

Answers computed from the read models are cached per server process until the next read-model
refresh (`X-Cache: hit`; `X-Cache: stale` for the previous refresh's answer during the few seconds
it is being recomputed). Send the request header `Cache-Control: no-cache` to have the answer
computed from the current read models instead of taken from that cache."""


async def _health(app: FastAPI) -> HealthReport:
    results = []
    started = time.perf_counter()
    try:
        async with app.state.pool.connection(timeout=2.0) as conn:
            await conn.execute("SELECT 1")
    except Exception as error:  # noqa: BLE001 - a failing dependency is data here
        results.append(CheckResult("postgres", False, (time.perf_counter() - started) * 1000, repr(error)))
    else:
        results.append(CheckResult("postgres", True, (time.perf_counter() - started) * 1000))
    return HealthReport(results)


async def _refresh_id(app: FastAPI) -> int | None:
    async with app.state.pool.connection(timeout=2.0) as conn:
        cursor = await conn.execute("SELECT refresh_id FROM reporting.read_model_refresh")
        row = await cursor.fetchone()
    return int(row[0]) if row else None


def create_app(settings: Settings | None = None, query: QuerySettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    query = query or query_settings(settings)
    cache = ResponseCache(query.cache_max_entries, query.cache_rewarm_max_entries, query.cache_rewarm_max_s)
    authenticator = Authenticator.from_settings(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = make_pool(settings, query)
        await pool.open(wait=False)  # start even while Postgres is down; requests answer 503
        app.state.pool = pool
        poller = None
        if query.cache_max_entries > 0:
            poller = asyncio.create_task(poll_refresh_id(cache, lambda: _refresh_id(app), query.cache_check_interval_s))
        try:
            yield
        finally:
            if poller is not None:
                poller.cancel()
            await pool.close()

    app = FastAPI(
        title="Ledgerline query API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.query_settings = query
    app.state.authenticator = authenticator
    app.state.cache = cache
    app.add_middleware(CacheMiddleware, cache=cache, authenticator=authenticator)
    app.add_middleware(RequestMetricsMiddleware, requests=metrics.REQUESTS, latency=metrics.LATENCY)
    for error_type in DATABASE_ERRORS:
        app.add_exception_handler(error_type, database_error)
    for module in ROUTERS:
        app.include_router(module.router, dependencies=[*AUTHENTICATED, KNOWN_QUERY_PARAMS_ONLY])

    @app.get(
        "/health",
        tags=["operations"],
        summary="Warehouse reachability (no API key needed)",
        responses={503: {"description": "The warehouse is unreachable."}},
    )
    async def health(request: Request) -> Response:
        report = await _health(request.app)
        body: dict[str, Any] = report.as_dict()
        body["metric_definitions_version"] = METRIC_DEFINITIONS_VERSION
        return JSONResponse(body, 200 if report.is_healthy else 503)

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics (no API key needed)",
        response_class=PlainTextResponse,
    )
    async def prometheus() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    install_pages(app)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for uvicorn workers (`--factory`): settings from the environment."""
    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings)
