"""Warehouse access for the query API: a reader-role pool, one snapshot per request, and the
translation of database failures into HTTP answers.

Each request runs in one REPEATABLE READ, READ ONLY transaction, so the refresh stamp it
reports (`data_as_of`) and the rows it returns come from the same snapshot even while
`reporting.refresh_read_models()` commits a new refresh. The connections are read-only twice
over: the role has SELECT only, and every transaction is declared READ ONLY.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import psycopg
from fastapi import Request
from fastapi.responses import JSONResponse
from psycopg import errors
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from platform_common.config import Settings
from platform_common.postgres import Role, conninfo
from query_api.settings import QuerySettings

log = logging.getLogger(__name__)
SQL_DIR = Path(__file__).parent / "sql"
Row = dict[str, Any]


@cache
def query_text(name: str) -> str:
    """The parameterised statement in `sql/<name>.sql` (read once per process)."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


@dataclass(frozen=True)
class ReadModelState:
    """Which refresh of the read models a request saw."""

    refresh_id: int | None
    refreshed_at: datetime | None
    horizon_date: date | None
    reporting_currency: str | None


class Warehouse:
    """One request's view of the warehouse (the `SessionDep` of the routers)."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn
        self._state: ReadModelState | None = None

    async def rows(self, name: str, params: dict[str, Any] | None = None) -> list[Row]:
        async with self.conn.cursor(row_factory=dict_row) as cursor:
            await cursor.execute(query_text(name), params or {})
            return await cursor.fetchall()

    async def row(self, name: str, params: dict[str, Any] | None = None) -> Row | None:
        found = await self.rows(name, params)
        return found[0] if found else None

    async def state(self) -> ReadModelState:
        if self._state is None:
            found = await self.row("read_model_state")
            self._state = (
                ReadModelState(
                    found["refresh_id"], found["refreshed_at"], found["horizon_date"], found["reporting_currency"]
                )
                if found
                else ReadModelState(None, None, None, None)
            )
        return self._state


def make_pool(settings: Settings, query: QuerySettings) -> AsyncConnectionPool[psycopg.AsyncConnection[Any]]:
    async def configure(conn: psycopg.AsyncConnection[Any]) -> None:
        await conn.set_isolation_level(psycopg.IsolationLevel.REPEATABLE_READ)
        await conn.set_read_only(True)

    info = conninfo(
        Role.READER,
        settings,
        application_name="ledgerline-query-api",
        options=f"-c statement_timeout={query.statement_timeout_ms} -c TimeZone=UTC",
    )
    return AsyncConnectionPool(
        info,
        min_size=query.db_pool_min_size,
        max_size=query.db_pool_max_size,
        timeout=query.db_timeout_s,
        configure=configure,
        open=False,
    )


def _unavailable(message: str, retry_after_s: int = 5) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=503, headers={"Retry-After": str(retry_after_s)})


async def database_error(request: Request, error: Exception) -> JSONResponse:
    """Exception handler: every database failure gets a precise 4xx/503, never a bare 500."""
    route = getattr(request.scope.get("route"), "path", request.url.path)
    if isinstance(error, PoolTimeout):
        return _unavailable("the warehouse is busy or unreachable: no database connection was free in time", 1)
    if isinstance(error, errors.QueryCanceled):
        return _unavailable("the query took longer than the statement timeout; narrow the filters", 1)
    if isinstance(error, errors.UndefinedTable | errors.UndefinedColumn | errors.UndefinedFunction):
        log.error("warehouse contract object missing", extra={"route": route, "error": str(error)})
        return _unavailable(f"the warehouse schema is not what this API expects ({error.diag.message_primary}); "
                            "apply the migrations with `ledgerline setup`")  # fmt: skip
    if isinstance(error, errors.InsufficientPrivilege):
        log.error("reader role lacks a privilege", extra={"route": route, "error": str(error)})
        return _unavailable("the query API's read-only role may not read a warehouse object")
    if isinstance(error, psycopg.DataError):
        return JSONResponse({"detail": f"a filter value is out of range: {error.diag.message_primary}"}, 422)
    if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
        return _unavailable("the warehouse is unreachable")
    log.exception("unexpected database error", extra={"route": route}, exc_info=error)
    return _unavailable("the warehouse answered with an error; it has been logged")


DATABASE_ERRORS: tuple[type[Exception], ...] = (psycopg.Error, PoolTimeout)
