"""A per-process cache of responses computed from the read models, valid until the next refresh.

The read models change only when `reporting.refresh_read_models()` commits, so a response is
a pure function of (path, query string, refresh id). An endpoint marks a response cacheable by
sending `X-Read-Model-Refresh: <refresh id it read>`; the middleware keeps it only when that is
the refresh this process currently knows (a background task polls the id every
`cache_check_interval_s`). A hit still checks the API key; only 200 answers to authenticated
GETs are stored.

Refresh-ahead: when a new refresh is noticed, the most used responses of the previous refresh
(up to `cache_rewarm_max_entries`, by hits) are recomputed by the poller, one at a time and the
most used first, against the new refresh (replaying the request that produced them through the
app). Until its turn comes, such a response is served from the previous refresh (`X-Cache:
stale`; its `read_models_refreshed_at` says which refresh) for at most `cache_rewarm_max_s`, so
a refresh does not send every client's popular request to the database at once (the cold run of
`benchmarks/query.py` measures it against `cache_rewarm_max_entries=0`). A new refresh is
therefore served at most `cache_check_interval_s + cache_rewarm_max_s` later.
`cache_rewarm_max_entries=0` empties the cache on a refresh instead.

A request with `Cache-Control: no-cache` (RFC 9111: do not answer from a stored response) skips
the lookup and is computed from the current read models; its answer is stored like a miss's (the
directive does not forbid storing). Benchmarks use it to measure uncached requests with the same
URLs clients send (a cache-busting extra query parameter is refused with 422).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from query_api.auth import Authenticator
from query_api.metrics import CACHE, READ_MODEL_REFRESH

log = logging.getLogger(__name__)
REFRESH_HEADER = "X-Read-Model-Refresh"
_REFRESH_HEADER_BYTES = REFRESH_HEADER.lower().encode()
_API_KEY_HEADER_BYTES = b"x-api-key"
_CACHE_CONTROL_HEADER_BYTES = b"cache-control"
_HIT = (b"x-cache", b"hit")
_STALE = (b"x-cache", b"stale")
Recompute = Callable[[bytes, "CachedResponse"], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class CachedResponse:
    route: str
    headers: list[tuple[bytes, bytes]]
    body: bytes
    request: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    """The ASGI scope of the request that produced it (to recompute it after a refresh)."""


class ResponseCache:
    rewarm_concurrency = 1
    """Recomputations in flight at once: one, so that serving the cached answers keeps most of
    the worker (each recomputation holds one pooled connection and some of the event loop)."""

    def __init__(self, max_entries: int, rewarm_max_entries: int = 0, rewarm_max_s: float = 30.0) -> None:
        self.max_entries = max_entries
        self.rewarm_max_entries = min(rewarm_max_entries, max_entries)
        self.rewarm_max_s = rewarm_max_s
        self.version: int | None = None
        self.recompute: Recompute | None = None  # set by CacheMiddleware
        self._entries: OrderedDict[bytes, CachedResponse] = OrderedDict()
        self._stale: OrderedDict[bytes, CachedResponse] = OrderedDict()
        self._uses: Counter[bytes] = Counter()  # answers per key since the current refresh

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def stale_count(self) -> int:
        return len(self._stale)

    def get(self, key: bytes) -> tuple[CachedResponse, bool] | None:
        """The response and whether it is from the previous refresh (least recently used
        entries are evicted first; the most used are recomputed first after a refresh)."""
        hit = self._entries.get(key)
        if hit is not None:
            self._entries.move_to_end(key)
            self._uses[key] += 1
            return hit, False
        stale = self._stale.get(key)
        if stale is None:
            return None
        self._uses[key] += 1
        return stale, True

    def put(self, key: bytes, version: int, response: CachedResponse) -> None:
        if self.max_entries == 0 or version != self.version:
            return
        self._entries[key] = response
        self._stale.pop(key, None)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def observe_version(self, version: int | None) -> bool:
        """Switch to `version`; True when it is a new refresh. The most used entries become stale
        (served until recomputed) when refresh-ahead is on and a refresh was known."""
        if version == self.version:
            return False
        keep = self.rewarm_max_entries if version is not None and self.version is not None else 0
        ranked = sorted(self._entries.items(), key=lambda item: self._uses[item[0]], reverse=True)
        self._stale = OrderedDict(ranked[:keep])  # most used first
        self._entries.clear()
        self._uses.clear()
        self.version = version
        READ_MODEL_REFRESH.inc()
        return True

    async def rewarm(self) -> int:
        """Recompute the stale entries for the current refresh (most used first,
        `rewarm_concurrency` at a time) within `rewarm_max_s`, then drop whatever is left.
        Returns how many were recomputed."""
        version, deadline = self.version, time.monotonic() + self.rewarm_max_s
        queue = deque(self._stale.items())
        done = 0

        async def worker() -> None:
            nonlocal done
            while queue and self.version == version and time.monotonic() < deadline:
                key, response = queue.popleft()
                if response.request is not None and self.recompute is not None and key not in self._entries:
                    await self.recompute(key, response)
                    done += 1
                self._stale.pop(key, None)

        try:
            await asyncio.gather(*(worker() for _ in range(self.rewarm_concurrency)))
        finally:
            if self.version == version:
                self._stale.clear()
        return done


async def poll_refresh_id(cache: ResponseCache, fetch: Callable[[], Any], interval_s: float) -> None:
    """Background task: keep `cache.version` equal to the committed refresh id, and recompute the
    previous refresh's most used responses when it changes."""
    while True:
        try:
            if cache.observe_version(await fetch()) and cache.stale_count:
                started = time.monotonic()
                done = await cache.rewarm()
                log.info("response cache rewarmed", extra={"entries": done, "seconds": time.monotonic() - started})
        except Exception as error:  # noqa: BLE001 - the cache just stays on the last known refresh
            log.debug("refresh id poll failed", extra={"error": repr(error)})
        await asyncio.sleep(interval_s)


def wants_fresh(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether a request's `Cache-Control` headers carry the `no-cache` directive."""
    for name, value in headers:
        if name == _CACHE_CONTROL_HEADER_BYTES:
            directives = (part.split(b"=", 1)[0].strip().lower() for part in value.split(b","))
            if b"no-cache" in directives:
                return True
    return False


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


class CacheMiddleware:
    def __init__(self, app: ASGIApp, cache: ResponseCache, authenticator: Authenticator) -> None:
        self.app = app
        self.cache = cache
        self.authenticator = authenticator
        cache.recompute = self._recompute

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or self.cache.version is None:
            await self.app(scope, receive, send)
            return
        presented = next((value for name, value in scope["headers"] if name == _API_KEY_HEADER_BYTES), None)
        if presented is None or not self.authenticator.is_valid(presented.decode("latin-1")):
            await self.app(scope, receive, send)
            return
        key = scope["path"].encode() + b"?" + scope["query_string"]
        if wants_fresh(scope["headers"]):
            CACHE.labels("bypass").inc()
            await self._compute(dict(scope), scope, receive, send, key)
            return
        found = self.cache.get(key)
        if found is not None:
            hit, stale = found
            CACHE.labels("stale" if stale else "hit").inc()
            scope["ledgerline.route"] = hit.route
            headers = [*hit.headers, _STALE if stale else _HIT]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": hit.body})
            return
        CACHE.labels("miss").inc()
        await self._compute(dict(scope), scope, receive, send, key)

    async def _recompute(self, key: bytes, response: CachedResponse) -> None:
        """Replay the request that produced `response` (refresh-ahead); the answer is stored
        like a miss's, and nothing is sent anywhere."""
        assert response.request is not None

        async def discard(message: Message) -> None:
            return None

        CACHE.labels("rewarm").inc()
        await self._compute(response.request, dict(response.request), _no_body, discard, key)

    async def _compute(self, request: dict[str, Any], scope: Scope, receive: Receive, send: Send, key: bytes) -> None:
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    self._store(scope, request, key, start, b"".join(chunks))
            await send(message)

        await self.app(scope, receive, capture)

    def _store(self, scope: Scope, request: dict[str, Any], key: bytes, start: Message | None, body: bytes) -> None:
        if start is None or start["status"] != 200:
            return
        headers = list(start.get("headers", []))
        refresh = next((value for name, value in headers if name == _REFRESH_HEADER_BYTES), None)
        if refresh is None or not refresh.isdigit():
            return
        route = getattr(scope.get("route"), "path", None) or "<unmatched>"
        self.cache.put(key, int(refresh), CachedResponse(route, headers, body, request))
