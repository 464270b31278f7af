"""One ingestion request, from headers to the 202 (or the precise reason it is refused).

Order of checks, cheapest and least revealing first: API key (401), family allowed (403), body
size (413, from Content-Length before reading, then while reading), JSON shape and event count
(400/422/413), rate (429), idempotency (replay / 409 / 422), then per-event contract validation
and produce. 2xx is only answered after Kafka acknowledged every accepted event.

Batch semantics: valid events are produced and invalid ones reported per event (202 with
`rejected > 0`); 422 when no event is valid, or with `?atomic=true` when any event is invalid
(then nothing is produced). A broker failure fails the whole request with 503: none of its
events is reported accepted, and a retry is safe because consumers de-duplicate on event_id.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
from psycopg_pool import PoolTimeout
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response

import schemas
from platform_common.logging import trace_id_var
from platform_common.topics import Family, raw_topic
from producers.delivery import AsyncKafkaProducer, DeliveryFailed
from producers.events import OutgoingEvent, new_trace_id, prepare_event, trace_id_from_headers
from producers.gateway import metrics
from producers.gateway.idempotency import (
    Claim,
    IdempotencyStore,
    InvalidIdempotencyKey,
    fingerprint,
    parse_idempotency_key,
)
from producers.gateway.keys import ApiKeyResolver
from producers.gateway.ratelimit import TokenBucketLimiter, retry_after_header
from producers.gateway.settings import GatewaySettings

log = logging.getLogger(__name__)
JSON = "application/json"
_DB_ERRORS = (psycopg.Error, PoolTimeout, OSError)


def error_response(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    body = orjson.dumps({"error": code, "detail": detail, **extra})
    return Response(body, status, headers=headers, media_type=JSON)


def presented_api_key(headers: Headers) -> str | None:
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return headers.get("x-api-key") or None


async def read_limited(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it exceeds `limit` (chunked uploads included)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _event_id(event: object) -> str | None:
    value = event.get("event_id") if isinstance(event, dict) else None
    return value if isinstance(value, str) else None


class Gateway:
    """What one gateway process shares between requests."""

    def __init__(
        self,
        gateway: GatewaySettings,
        topic_prefix: str,
        producer: AsyncKafkaProducer,
        keys: ApiKeyResolver,
        idempotency: IdempotencyStore,
    ) -> None:
        self.settings = gateway
        self.producer = producer
        self.keys = keys
        self.idempotency = idempotency
        self.limiter = TokenBucketLimiter(gateway.bucket_capacity)
        self.topics = {family: raw_topic(family, topic_prefix) for family in Family}
        self._unavailable = {"Retry-After": str(gateway.unavailable_retry_after_s)}

    async def handle(self, request: Request, family: Family, batch: bool) -> Response:
        headers = request.headers
        trace_id = trace_id_from_headers(headers.get("traceparent"), headers.get("x-trace-id")) or new_trace_id()
        token = trace_id_var.set(trace_id)
        try:
            response = await self._handle(request, family, batch, trace_id)
        finally:
            trace_id_var.reset(token)
        response.headers["X-Trace-Id"] = trace_id
        return response

    async def _handle(self, request: Request, family: Family, batch: bool, trace_id: str) -> Response:
        presented = presented_api_key(request.headers)
        auth = {"WWW-Authenticate": 'Bearer realm="ledgerline"'}
        if presented is None:
            return error_response(401, "missing_api_key", "send Authorization: Bearer <key>", auth)
        try:
            key = await self.keys.resolve(presented)
        except _DB_ERRORS as error:
            log.warning("api key lookup failed", extra={"error": repr(error)})
            return error_response(503, "database_unavailable", "cannot check API keys", self._unavailable)
        if key is None:
            return error_response(401, "invalid_api_key", "unknown or revoked API key", auth)
        if family not in key.families:
            return error_response(403, "family_not_allowed", f"this API key may not send {family.value} events")

        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return error_response(413, "body_too_large", f"request body exceeds {limit} bytes")
        body = await read_limited(request, limit)
        if body is None:
            return error_response(413, "body_too_large", f"request body exceeds {limit} bytes")
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            return error_response(400, "invalid_json", f"request body is not JSON: {error}")
        events, problem = self._events(payload, batch)
        if problem is not None:
            return problem

        rate = float(key.rate_limit_per_s or self.settings.rate_limit_events_per_s)
        wait = self.limiter.acquire(key.api_key_id, len(events), rate)
        if wait > 0:
            return error_response(
                429, "rate_limited", f"over {rate:g} events/s", {"Retry-After": retry_after_header(wait)}
            )

        claim: Claim | None = None
        header = request.headers.get("idempotency-key")
        if header is not None:
            try:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                claim = Claim(key.api_key_id, parse_idempotency_key(header), target, fingerprint(body))
            except InvalidIdempotencyKey as error:
                return error_response(400, "invalid_idempotency_key", str(error))
            early = await self._claim(claim)
            if early is not None:
                return early

        atomic = request.query_params.get("atomic", "false").lower() in ("1", "true", "yes")
        try:
            status, content, extra_headers = await self._ingest(family, events, batch, atomic, trace_id)
        except BaseException:
            if claim is not None:
                await asyncio.shield(self._settle(claim, 500, b""))
            raise
        if claim is not None:
            await asyncio.shield(self._settle(claim, status, content))
        return Response(content, status, headers=extra_headers, media_type=JSON)

    def _events(self, payload: Any, batch: bool) -> tuple[list[Any], Response | None]:
        if not batch:
            return [payload], None
        if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
            errors = [{"field": "events", "reason": 'expected {"events": [...]}', "code": "not_a_list"}]
            return [], error_response(422, "invalid_batch", "a batch is an object with an events array", errors=errors)
        unknown = sorted(name for name in payload if name != "events")
        if unknown:
            errors = [{"field": name, "reason": "unknown field", "code": "unknown_field"} for name in unknown]
            return [], error_response(422, "invalid_batch", "unknown fields in the batch", errors=errors)
        events: list[Any] = payload["events"]
        if not events:
            errors = [{"field": "events", "reason": "at least one event is required", "code": "too_short"}]
            return [], error_response(422, "invalid_batch", "empty batch", errors=errors)
        if len(events) > self.settings.max_batch_events:
            limit = self.settings.max_batch_events
            return [], error_response(413, "too_many_events", f"a batch holds at most {limit} events")
        return events, None

    async def _claim(self, claim: Claim) -> Response | None:
        try:
            outcome = await self.idempotency.begin(claim)
        except _DB_ERRORS as error:
            log.warning("idempotency claim failed", extra={"error": repr(error)})
            return error_response(503, "database_unavailable", "cannot record the idempotency key", self._unavailable)
        if outcome.kind == "replay":
            return Response(outcome.body, outcome.status_code, headers={"Idempotent-Replayed": "true"}, media_type=JSON)
        if outcome.kind == "in_flight":
            return error_response(409, "idempotency_key_in_flight", "a request with this key is still being processed")
        if outcome.kind == "mismatch":
            return error_response(
                422, "idempotency_key_reused", "this Idempotency-Key was used with a different request body"
            )
        return None

    async def _settle(self, claim: Claim, status: int, content: bytes) -> None:
        """Store a final outcome for replay; forget a transient failure so a retry runs again."""
        try:
            if status >= 500:
                await self.idempotency.release(claim)
            else:
                await self.idempotency.complete(claim, status, content)
        except _DB_ERRORS as error:  # the response stands; a retry re-runs after the lease
            log.error("idempotency outcome not stored", extra={"error": repr(error), "status": status})

    async def _ingest(
        self, family: Family, events: list[Any], batch: bool, atomic: bool, trace_id: str
    ) -> tuple[int, bytes, dict[str, str] | None]:
        received_at = datetime.now(UTC)
        received_text = schemas.to_json({"t": received_at})["t"]
        topic = self.topics[family]
        outgoing: list[OutgoingEvent] = []
        positions: list[int] = []
        results: list[dict[str, Any]] = []
        for index, event in enumerate(events):
            try:
                message = prepare_event(family, event, topic=topic, trace_id=trace_id, received_at=received_at)
            except schemas.ContractViolation as violation:
                results.append(
                    {"index": index, "event_id": _event_id(event), "status": "rejected", "errors": violation.errors}
                )
            else:
                positions.append(index)
                outgoing.append(message)
                results.append({"index": index, "event_id": message.event_id, "status": "accepted"})
        rejected = len(events) - len(outgoing)
        metrics.BATCH_EVENTS.labels(family.value).observe(len(events))
        if rejected:
            metrics.EVENTS.labels(family.value, "rejected").inc(rejected)
        if not outgoing or (atomic and rejected):
            for position in positions:
                results[position]["status"] = "not_produced"
            outgoing = []
        else:
            try:
                deliveries = await self.producer.send(outgoing)
            except DeliveryFailed as error:
                metrics.EVENTS.labels(family.value, "failed").inc(len(outgoing))
                log.warning("events not acknowledged", extra={"error": str(error), "events": len(outgoing)})
                detail = "Kafka did not acknowledge the events; nothing was accepted, retry later"
                response = error_response(503, "broker_unavailable", detail, self._unavailable)
                return 503, bytes(response.body), self._unavailable
            metrics.EVENTS.labels(family.value, "accepted").inc(len(outgoing))
            for position, delivered in zip(positions, deliveries, strict=True):
                results[position]["partition"] = delivered.partition
                results[position]["offset"] = delivered.offset
        status = 202 if outgoing else 422
        log.info(  # the trace id comes from the context: the line joins this request to its events downstream
            "events ingested",
            extra={"family": family.value, "accepted": len(outgoing), "rejected": rejected, "status": status},
        )
        if batch:
            body: dict[str, Any] = {
                "family": family.value,
                "trace_id": trace_id,
                "received_at": received_text,
                "accepted": len(outgoing),
                "rejected": rejected,
                "results": results,
            }
            if status == 422:
                body = {"error": "contract_violation", "detail": "no event was produced", **body}
            return status, orjson.dumps(body), None
        result = results[0]
        if status == 422:
            detail = f"{family.value} event violates its contract"
            body = {"error": "contract_violation", "detail": detail, "event_id": result["event_id"]}
            return 422, orjson.dumps({**body, "errors": result["errors"]}), None
        body = {"status": "accepted", "family": family.value, "trace_id": trace_id, "received_at": received_text}
        return 202, orjson.dumps({**body, **{k: v for k, v in result.items() if k not in ("index", "status")}}), None
