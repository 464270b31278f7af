"""Typed dependencies of the routers (full-stack-fastapi-template style): the request's
warehouse session, the settings, and the read-model state that every answer reports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from psycopg_pool import AsyncConnectionPool

from platform_common.config import Settings
from query_api.cache import REFRESH_HEADER
from query_api.db import ReadModelState, Warehouse
from query_api.models import Provenance
from query_api.settings import QuerySettings


async def get_session(request: Request) -> AsyncIterator[Warehouse]:
    pool: AsyncConnectionPool[Any] = request.app.state.pool
    async with pool.connection() as conn:
        yield Warehouse(conn)


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_query_settings(request: Request) -> QuerySettings:
    query: QuerySettings = request.app.state.query_settings
    return query


SessionDep = Annotated[Warehouse, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
QuerySettingsDep = Annotated[QuerySettings, Depends(get_query_settings)]


async def read_models(session: SessionDep, response: Response) -> ReadModelState:
    """The refresh this request reads; marks the response cacheable until the next refresh."""
    state = await session.state()
    if state.refresh_id is not None:
        response.headers[REFRESH_HEADER] = str(state.refresh_id)
    return state


ReadModelsDep = Annotated[ReadModelState, Depends(read_models)]


def provenance(state: ReadModelState) -> dict[str, Any]:
    return Provenance(data_as_of=state.horizon_date, read_models_refreshed_at=state.refreshed_at).model_dump()
