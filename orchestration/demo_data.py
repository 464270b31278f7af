"""The demo's history: generate it, split it, and send it through both front doors.

History before the cutoff (all but the last `gateway_months`) is written to NDJSON files and
loaded with the batch loader, family by family (subscriptions first, so payments meet known
subscriptions); the last months then arrive as live traffic through the REST gateway, in
batches with the bootstrap API key, in event order. Sending in that order keeps every family's
watermark moving forward, as it would in production. Batches carry a deterministic
Idempotency-Key, so a re-sent demo within the gateway's window is answered from its record.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

from platform_common.config import Settings
from platform_common.topics import Family

Say = Callable[[str], None]
LOAD_ORDER = (Family.SUBSCRIPTION, Family.PAYMENT, Family.USAGE, Family.OPERATIONAL_COST)
GATEWAY_BATCH = 500


@dataclass(frozen=True)
class DemoParams:
    customers: int = 5000
    months: int = 24
    seed: int = 42
    start_date: date = date(2023, 1, 1)
    bad_share: float = 0.002
    late_share: float = 0.002
    gateway_months: int = 1

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "start_date": self.start_date.isoformat()}

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class PreparedData:
    folder: Path
    files: dict[Family, Path]
    gateway_events: list[tuple[Family, dict[str, Any]]]
    ground_truth: dict[str, Any]
    cutoff: date
    total: int

    @property
    def reference_path(self) -> Path:
        return self.folder / "reference.json"


@dataclass
class SendReport:
    via_loader: int = 0
    via_gateway: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    first_send_at: float = 0.0


def _cutoff(params: DemoParams) -> date:
    months = params.start_date.year * 12 + params.start_date.month - 1 + params.months - params.gateway_months
    return date(months // 12, months % 12 + 1, 1)


def _event_day(event: dict[str, Any]) -> date | None:
    value = event.get("event_time")
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC).date()
    except ValueError:
        return None


def prepare(params: DemoParams, data_dir: Path, say: Say) -> PreparedData:
    """Generate (deterministically, from the parameters) and write the loader files."""
    from producers import GenerationParams, generate

    folder = data_dir / "demo" / params.fingerprint
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result = generate(
        GenerationParams(
            customers=params.customers,
            months=params.months,
            seed=params.seed,
            start_date=params.start_date,
            bad_record_share=params.bad_share,
            late_share=params.late_share,
        )
    )
    say(
        f"generated {len(result):,} events ({params.customers:,} customers x {params.months} months) "
        f"in {time.perf_counter() - started:.1f}s"
    )
    cutoff = _cutoff(params)
    files = {family: folder / f"{family.value}.ndjson" for family in Family}
    handles = {family: path.open("w", encoding="utf-8") for family, path in files.items()}
    live: list[tuple[Family, dict[str, Any]]] = []
    try:
        for family, event in result.events():
            day = _event_day(event)
            if params.gateway_months > 0 and day is not None and day >= cutoff:
                live.append((family, event))
            else:
                handles[family].write(json.dumps(event, separators=(",", ":")) + "\n")
    finally:
        for handle in handles.values():
            handle.close()
    (folder / "reference.json").write_text(json.dumps(result.reference, indent=2) + "\n", encoding="utf-8")
    (folder / "ground_truth.json").write_text(json.dumps(result.ground_truth, indent=2) + "\n", encoding="utf-8")
    say(f"files for the loader in {folder} (events before {cutoff}); {len(live):,} events for the gateway")
    return PreparedData(folder, files, live, result.ground_truth, cutoff, len(result))


def load_files(
    settings: Settings, data: PreparedData, report: SendReport, say: Say, wait_for_subscriptions: bool = True
) -> None:
    from orchestration.drain import wait_topic_processed
    from producers import load_file

    for family in LOAD_ORDER:
        path = data.files[family]
        summary = load_file(path, family, settings, restart=True, workers=1)
        report.via_loader += summary.produced
        if summary.rejected:
            for line in summary.rejects_path.read_text(encoding="utf-8").splitlines():
                errors = json.loads(line).get("errors") or [{}]
                report.rejected[f"{family.value}:{errors[0].get('code', 'invalid')}"] += 1
        say(
            f"loader: {path.name}: {summary.produced:,} produced, {summary.rejected:,} rejected "
            f"({summary.events_per_s:,.0f}/s)"
        )
        if family is Family.SUBSCRIPTION and wait_for_subscriptions:
            # Payments and plan changes need their subscription known; one that waits (parked)
            # is judged against the watermark when released, which for history loaded faster
            # than it is processed can be weeks ahead: let the processor take subscriptions first.
            waited = wait_topic_processed(settings, Family.SUBSCRIPTION, timeout_s=600)
            say(f"loader: the stream processor has taken every subscription event ({waited:.1f}s)")


def send_gateway(settings: Settings, data: PreparedData, params: DemoParams, report: SendReport, say: Say) -> None:
    """POST the live part in batches (same family, consecutive in event order) until acked."""
    api = settings.api
    url = f"http://{api.gateway_host}:{api.gateway_port}/v1/events"
    headers = {"Authorization": f"Bearer {api.bootstrap_api_key.get_secret_value()}"}
    batches = gateway_batches(data.gateway_events)
    started = time.perf_counter()
    with httpx.Client(timeout=60.0, headers=headers) as client:
        for number, (family, events) in enumerate(batches):
            key = f"demo-{params.fingerprint}-{number}"
            body = _post(client, f"{url}/{family.value}/batch", {"events": events}, key)
            report.via_gateway += int(body.get("accepted", 0))
            for result in body.get("results", []):
                if result.get("status") == "rejected":
                    code = (result.get("errors") or [{}])[0].get("code", "invalid")
                    report.rejected[f"{family.value}:{code}"] += 1
            if number % 20 == 0 or number == len(batches) - 1:
                say(f"gateway: {number + 1}/{len(batches)} batches, {report.via_gateway:,} accepted")
    elapsed = time.perf_counter() - started
    rate = report.via_gateway / elapsed if elapsed else 0.0
    say(f"gateway: {report.via_gateway:,} events accepted in {elapsed:.1f}s ({rate:,.0f}/s)")


def gateway_batches(
    events: list[tuple[Family, dict[str, Any]]], size: int = GATEWAY_BATCH
) -> list[tuple[Family, list[dict[str, Any]]]]:
    """Full batches per family, in event order within each family (the order that matters to the
    processor's watermarks). Whenever a batch is due, subscriptions buffered so far go first, so
    payments and plan changes find their subscription already known."""
    buffers: dict[Family, list[dict[str, Any]]] = {family: [] for family in Family}
    batches: list[tuple[Family, list[dict[str, Any]]]] = []

    def flush(family: Family) -> None:
        if family is not Family.SUBSCRIPTION and buffers[Family.SUBSCRIPTION]:
            flush(Family.SUBSCRIPTION)
        if buffers[family]:
            batches.append((family, buffers[family]))
            buffers[family] = []

    for family, event in events:
        buffers[family].append(event)
        if len(buffers[family]) >= size:
            flush(family)
    for family in LOAD_ORDER:
        flush(family)
    return batches


def _post(client: httpx.Client, url: str, body: dict[str, Any], key: str, attempts: int = 6) -> dict[str, Any]:
    """Retry 429/503 (and connection errors) with the server's Retry-After; same key each time."""
    delay = 0.5
    for attempt in range(attempts):
        try:
            response = client.post(url, json=body, headers={"Idempotency-Key": key})
        except httpx.TransportError:
            if attempt == attempts - 1:
                raise
            time.sleep(delay)
            delay *= 2
            continue
        if response.status_code in (202, 422):
            parsed: dict[str, Any] = response.json()
            return parsed
        if response.status_code in (409, 429, 503) and attempt < attempts - 1:
            time.sleep(float(response.headers.get("Retry-After", delay)))
            delay *= 2
            continue
        raise RuntimeError(f"gateway answered {response.status_code}: {response.text[:300]}")
    raise RuntimeError("gateway did not accept the batch")
