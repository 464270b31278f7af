"""A per-process cache of responses computed from the read models, valid until the next refresh.

The read models change only when `reporting.refresh_read_models()` commits, so a response is
a pure function of (path, query string, refresh id). An endpoint marks a response cacheable by
sending `X-Read-Model-Refresh: <refresh id it read>`; the middleware keeps it only when that is
the refresh this process currently knows (a background task polls the id every
`cache_check_interval_s`, so a new refresh is served at most that much later). A hit still
checks the API key; only 200 answers to authenticated GETs are stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from query_api.auth import Authenticator
from query_api.metrics import CACHE, READ_MODEL_REFRESH

log = logging.getLogger(__name__)
REFRESH_HEADER = "X-Read-Model-Refresh"
_REFRESH_HEADER_BYTES = REFRESH_HEADER.lower().encode()
_API_KEY_HEADER_BYTES = b"x-api-key"


@dataclass(frozen=True, slots=True)
class CachedResponse:
    route: str
    headers: list[tuple[bytes, bytes]]
    body: bytes


class ResponseCache:
    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self.version: int | None = None
        self._entries: OrderedDict[bytes, CachedResponse] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: bytes) -> CachedResponse | None:
        return self._entries.get(key)

    def put(self, key: bytes, version: int, response: CachedResponse) -> None:
        if self.max_entries == 0 or version != self.version:
            return
        self._entries[key] = response
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def observe_version(self, version: int | None) -> None:
        if version != self.version:
            self._entries.clear()
            self.version = version
            READ_MODEL_REFRESH.inc()


async def poll_refresh_id(cache: ResponseCache, fetch: Callable[[], Any], interval_s: float) -> None:
    """Background task: keep `cache.version` equal to the committed refresh id."""
    while True:
        try:
            cache.observe_version(await fetch())
        except Exception as error:  # noqa: BLE001 - the cache just stays on the last known refresh
            log.debug("refresh id poll failed", extra={"error": repr(error)})
        await asyncio.sleep(interval_s)


class CacheMiddleware:
    def __init__(self, app: ASGIApp, cache: ResponseCache, authenticator: Authenticator) -> None:
        self.app = app
        self.cache = cache
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or self.cache.version is None:
            await self.app(scope, receive, send)
            return
        presented = next((value for name, value in scope["headers"] if name == _API_KEY_HEADER_BYTES), None)
        if presented is None or not self.authenticator.is_valid(presented.decode("latin-1")):
            await self.app(scope, receive, send)
            return
        key = scope["path"].encode() + b"?" + scope["query_string"]
        hit = self.cache.get(key)
        if hit is not None:
            CACHE.labels("hit").inc()
            scope["ledgerline.route"] = hit.route
            await send({"type": "http.response.start", "status": 200, "headers": hit.headers})
            await send({"type": "http.response.body", "body": hit.body})
            return
        await self._miss(scope, receive, send, key)

    async def _miss(self, scope: Scope, receive: Receive, send: Send, key: bytes) -> None:
        CACHE.labels("miss").inc()
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    self._store(scope, key, start, b"".join(chunks))
            await send(message)

        await self.app(scope, receive, capture)

    def _store(self, scope: Scope, key: bytes, start: Message | None, body: bytes) -> None:
        if start is None or start["status"] != 200:
            return
        headers = list(start.get("headers", []))
        refresh = next((value for name, value in headers if name == _REFRESH_HEADER_BYTES), None)
        if refresh is None or not refresh.isdigit():
            return
        route = getattr(scope.get("route"), "path", None) or "<unmatched>"
        self.cache.put(key, int(refresh), CachedResponse(route, [*headers, (b"x-cache", b"hit")], body))
