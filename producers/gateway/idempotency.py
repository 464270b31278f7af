"""`Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header) backed by Postgres.

Per (API key, Idempotency-Key) the first request claims a row in one INSERT .. ON CONFLICT
statement, so concurrent duplicates cannot both run. Outcomes:

* same key, same request (sha256 of the body, same path), completed -> the stored response is
  replayed (same status and body, plus `Idempotent-Replayed: true`);
* same key, different body or target (path and query) -> 422; same key while the first is
  still running -> 409;
* a transient failure (5xx: broker or database unavailable) releases the key so a retry runs
  again; every other final response (2xx and 4xx) is stored.

Rows are kept `idempotency_retention_s` (>= 24 h) and deleted in the background afterwards.
The database is only touched when the header is present.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from psycopg_pool import AsyncConnectionPool

from platform_common.postgres import read_sql
from producers.gateway.settings import GatewaySettings

SQL = Path(__file__).parent / "sql"
_KEY = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e][\x20\x21\x23-\x5b\x5d-\x7e]{0,254}$")


class InvalidIdempotencyKey(ValueError):
    pass


def parse_idempotency_key(header: str) -> str:
    """The key as an RFC 8941 sf-string (`"abc"`) or bare token; 1..255 printable ASCII."""
    value = header.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not _KEY.match(value):
        raise InvalidIdempotencyKey(
            "Idempotency-Key must be 1-255 printable ASCII characters without quotes or backslashes"
        )
    return value


def fingerprint(body: bytes) -> bytes:
    return hashlib.sha256(body).digest()


@dataclass(frozen=True, slots=True)
class Claim:
    api_key_id: int
    idempotency_key: str
    request_path: str
    fingerprint: bytes

    def params(self) -> dict[str, Any]:
        return {
            "api_key_id": self.api_key_id,
            "idempotency_key": self.idempotency_key,
            "request_path": self.request_path,
            "fingerprint": self.fingerprint,
        }


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: Literal["acquired", "replay", "in_flight", "mismatch"]
    status_code: int = 0
    body: bytes = b""


class IdempotencyStore:
    def __init__(self, pool: AsyncConnectionPool[Any], gateway: GatewaySettings) -> None:
        self._pool = pool
        self._lease_s = gateway.idempotency_lease_s
        self._retention_s = gateway.idempotency_retention_s
        self._sql = {
            name: read_sql(SQL / f"idempotency_{name}.sql")
            for name in ("begin", "fetch", "complete", "release", "cleanup")
        }

    async def begin(self, claim: Claim) -> Outcome:
        params = {**claim.params(), "lease_s": self._lease_s, "retention_s": self._retention_s}
        for _ in range(5):  # the holder may release or expire between our two statements
            async with self._pool.connection() as conn:
                cursor = await conn.execute(self._sql["begin"], params)
                if await cursor.fetchone() is not None:
                    return Outcome("acquired")
                cursor = await conn.execute(self._sql["fetch"], params)
                row = await cursor.fetchone()
            if row is None:
                continue
            path, stored_fingerprint, state, status_code, body = row
            if path != claim.request_path or bytes(stored_fingerprint) != claim.fingerprint:
                return Outcome("mismatch")
            if state == "in_flight":
                return Outcome("in_flight")
            return Outcome("replay", int(status_code), bytes(body))
        return Outcome("in_flight")

    async def complete(self, claim: Claim, status_code: int, body: bytes) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                self._sql["complete"], {**claim.params(), "status_code": status_code, "response_body": body}
            )

    async def release(self, claim: Claim) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(self._sql["release"], claim.params())

    async def delete_expired(self, limit: int = 10_000) -> int:
        deleted = 0
        while True:
            async with self._pool.connection() as conn:
                cursor = await conn.execute(self._sql["cleanup"], {"limit": limit})
                count = int(cursor.rowcount)
            deleted += count
            if count < limit:
                return deleted
