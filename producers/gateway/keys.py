"""API keys: created once and shown once, stored as HMAC-SHA256 with a server-side pepper.

Keys are 256-bit random tokens, so a fast keyed hash is enough (no password stretching needed)
and a stolen table alone cannot be used to authenticate. The gateway resolves a presented key
through a small in-process cache with a TTL, so the hot path does not touch Postgres; a
revocation therefore takes effect within `api_key_cache_ttl_s`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from psycopg_pool import AsyncConnectionPool

from platform_common.config import Settings
from platform_common.postgres import Role, connect, read_sql
from platform_common.topics import Family
from producers.gateway.settings import GatewaySettings, gateway_settings

SQL = Path(__file__).parent / "sql"
KEY_PREFIX = "llk_"
BOOTSTRAP_KEY_NAME = "bootstrap"
_MAX_CACHED = 10_000


@dataclass(frozen=True, slots=True)
class ApiKey:
    api_key_id: int
    name: str
    families: frozenset[Family]
    rate_limit_per_s: int | None


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    api_key_id: int
    name: str
    key_prefix: str
    families: list[str]
    rate_limit_per_s: int | None
    created_at: datetime
    revoked_at: datetime | None


def hash_api_key(key: str, pepper: str) -> bytes:
    return hmac.new(pepper.encode(), key.encode(), hashlib.sha256).digest()


def _families(values: list[str] | tuple[str, ...]) -> list[str]:
    resolved = sorted({Family(value.strip()).value for value in values if value.strip()})
    if not resolved:
        raise ValueError("an API key needs at least one family")
    return resolved


def create_api_key(
    settings: Settings,
    name: str,
    families: list[str],
    rate_limit_per_s: int | None = None,
    gateway: GatewaySettings | None = None,
) -> tuple[int, str]:
    """Create a key; returns (api_key_id, clear key). The clear key is not stored anywhere."""
    gateway = gateway or gateway_settings(settings)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    params = {
        "name": name,
        "key_hash": hash_api_key(key, gateway.api_key_pepper.get_secret_value()),
        "key_prefix": key[:12],
        "families": _families(families),
        "rate_limit_per_s": rate_limit_per_s,
    }
    with connect(Role.WRITER, settings) as conn:
        row = conn.execute(read_sql(SQL / "api_key_insert.sql"), params).fetchone()
    assert row is not None
    return int(row[0]), key


def ensure_bootstrap_api_key(settings: Settings, gateway: GatewaySettings | None = None) -> int:
    """Store the hash of `settings.api.bootstrap_api_key` with every family (idempotent).

    Meant for `ledgerline setup`, after migrations; the demo and tests call the gateway with it.
    """
    gateway = gateway or gateway_settings(settings)
    key = settings.api.bootstrap_api_key.get_secret_value()
    params = {
        "name": BOOTSTRAP_KEY_NAME,
        "key_hash": hash_api_key(key, gateway.api_key_pepper.get_secret_value()),
        "key_prefix": key[:4] + "…",
        "families": [family.value for family in Family],
    }
    with connect(Role.WRITER, settings) as conn:
        row = conn.execute(read_sql(SQL / "api_key_bootstrap.sql"), params).fetchone()
    assert row is not None
    return int(row[0])


def list_api_keys(settings: Settings) -> list[ApiKeyInfo]:
    with connect(Role.WRITER, settings) as conn:
        rows = conn.execute(read_sql(SQL / "api_key_list.sql")).fetchall()
    return [ApiKeyInfo(*row) for row in rows]


def revoke_api_key(settings: Settings, api_key_id: int) -> bool:
    with connect(Role.WRITER, settings) as conn:
        row = conn.execute(read_sql(SQL / "api_key_revoke.sql"), {"api_key_id": api_key_id}).fetchone()
    return row is not None


class ApiKeyResolver:
    """Presented key -> `ApiKey` (or None), cached; concurrent misses share one query."""

    def __init__(self, pool: AsyncConnectionPool[Any], gateway: GatewaySettings) -> None:
        self._pool = pool
        self._pepper = gateway.api_key_pepper.get_secret_value()
        self._ttl = gateway.api_key_cache_ttl_s
        self._negative_ttl = gateway.api_key_negative_cache_ttl_s
        self._cache: dict[bytes, tuple[float, ApiKey | None]] = {}
        self._inflight: dict[bytes, asyncio.Future[ApiKey | None]] = {}
        self._query = read_sql(SQL / "api_key_lookup.sql")

    async def resolve(self, presented: str) -> ApiKey | None:
        digest = hash_api_key(presented, self._pepper)
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        pending = self._inflight.get(digest)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[ApiKey | None] = asyncio.get_running_loop().create_future()
        self._inflight[digest] = future
        try:
            found = await self._fetch(digest)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # mark retrieved: waiters may be none
            raise
        finally:
            del self._inflight[digest]
        future.set_result(found)
        if len(self._cache) >= _MAX_CACHED:
            self._cache.clear()  # bounded memory even under a flood of random keys
        ttl = self._ttl if found is not None else self._negative_ttl
        self._cache[digest] = (time.monotonic() + ttl, found)
        return found

    async def _fetch(self, digest: bytes) -> ApiKey | None:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(self._query, {"key_hash": digest})
            row = await cursor.fetchone()
        if row is None:
            return None
        api_key_id, name, families, rate = row
        known = {family.value for family in Family}
        return ApiKey(int(api_key_id), name, frozenset(Family(value) for value in families if value in known), rate)
