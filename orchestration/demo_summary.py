"""What the demo reports at the end: events processed, quarantine by reason, MRR, forecast."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from psycopg import sql

from orchestration import kafka_state
from orchestration.drain import scrape
from orchestration.reconcile import EVENT_TABLES
from orchestration.scan import scan_quarantine
from platform_common.config import Settings
from platform_common.postgres import Role, connect, read_sql
from platform_common.topics import Family, quarantine_topic, raw_topic

SQL = Path(__file__).parent / "sql"


def _duplicates(metrics_urls: Sequence[str]) -> dict[str, int]:
    found: Counter[str] = Counter()
    for url in metrics_urls:
        try:
            samples = scrape(url)
        except OSError:
            continue
        for labels, value in samples.get("ledgerline_stream_owned_events", []):
            if labels.get("outcome") == "duplicate":
                found[labels.get("family", "")] += int(value)
    return dict(found)


def collect(settings: Settings, ingest: dict[str, Any], metrics_urls: Sequence[str]) -> dict[str, Any]:
    prefix = settings.kafka.topic_prefix
    raw = {family: raw_topic(family, prefix) for family in Family}
    marks = kafka_state.watermarks(settings, [*raw.values(), quarantine_topic(prefix)])
    received = {f.value: sum(h - lo for (t, _), (lo, h) in marks.items() if t == raw[f]) for f in Family}
    quarantined = Counter(item.reason for item in scan_quarantine(settings, quarantine_topic(prefix), marks))
    with connect(Role.WRITER, settings) as conn:
        loaded = {}
        for family, table in EVENT_TABLES.items():
            query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("warehouse", table))
            count = conn.execute(query).fetchone()
            loaded[family.value] = int(count[0]) if count else 0
        mrr = conn.execute(read_sql(SQL / "demo_mrr_last_month.sql")).fetchone()
        forecast = conn.execute(read_sql(SQL / "demo_forecast_next_month.sql")).fetchone()
    summary: dict[str, Any] = {
        "received": received,
        "in_warehouse": loaded,
        "quarantined_by_reason": dict(sorted(quarantined.items())),
        "duplicates_dropped": _duplicates(metrics_urls),
        "rejected_at_ingestion": ingest.get("rejected_at_ingestion", {}),
        "ground_truth": ingest.get("ground_truth", {}),
    }
    if mrr is not None:
        summary["mrr"] = {
            "month": mrr[0].isoformat(),
            "currency": mrr[1],
            "closing_minor": int(mrr[2]),
            "opening_minor": int(mrr[3]),
            "new_minor": int(mrr[4]),
            "churned_minor": int(mrr[5]),
        }
    if forecast is not None:
        summary["forecast"] = {
            "run_id": str(forecast[0]),
            "as_of": forecast[1].isoformat(),
            "currency": forecast[2],
            "month": forecast[3].isoformat(),
            "point_minor": str(forecast[4]),
            "lo_80_minor": str(forecast[5]),
            "hi_80_minor": str(forecast[6]),
            "lo_95_minor": str(forecast[7]),
            "hi_95_minor": str(forecast[8]),
            "model": forecast[9],
        }
    return summary


def money(minor: Any, currency: str | None) -> str:
    """Minor units as a display amount (2 decimals: every demo currency has two)."""
    if minor is None or minor == "None":
        return "n/a"
    value = (Decimal(str(minor)) / 100).quantize(Decimal("0.01"))
    return f"{value:,} {currency or ''}".strip()


def render(summary: dict[str, Any], timings: dict[str, float], say: Callable[[str], None]) -> None:
    received = summary.get("received", {})
    loaded = summary.get("in_warehouse", {})
    say(
        f"events received on the raw topics: {sum(received.values()):,} "
        + ", ".join(f"{k} {v:,}" for k, v in received.items())
    )
    by_family = ", ".join(f"{k} {v:,}" for k, v in loaded.items())
    say(f"events in the warehouse (clean): {sum(loaded.values()):,} {by_family}")
    duplicates = summary.get("duplicates_dropped", {})
    say(f"exact duplicates dropped: {sum(duplicates.values()):,}")
    quarantined = summary.get("quarantined_by_reason", {})
    say(
        f"quarantined: {sum(quarantined.values()):,} by reason: "
        + (", ".join(f"{k} {v:,}" for k, v in quarantined.items()) or "none")
    )
    rejected = summary.get("rejected_at_ingestion", {})
    say(
        f"rejected at ingestion (contract): {sum(rejected.values()):,} "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(rejected.items()))
    )
    truth = summary.get("ground_truth", {}).get("bad_records", {})
    if truth:
        say(f"ground truth: {truth.get('total', 0):,} bad records injected: {truth.get('by_kind')}")
    mrr = summary.get("mrr")
    if mrr:
        say(
            f"MRR {mrr['month'][:7]}: {money(mrr['closing_minor'], mrr['currency'])} "
            f"(opening {money(mrr['opening_minor'], mrr['currency'])}, new {money(mrr['new_minor'], mrr['currency'])}, "
            f"churned {money(mrr['churned_minor'], mrr['currency'])})"
        )
    forecast = summary.get("forecast")
    if forecast:
        cur = forecast["currency"]
        say(
            f"MRR forecast {forecast['month'][:7]}: {money(forecast['point_minor'], cur)} "
            f"(80%: {money(forecast['lo_80_minor'], cur)} .. {money(forecast['hi_80_minor'], cur)}; "
            f"95%: {money(forecast['lo_95_minor'], cur)} .. {money(forecast['hi_95_minor'], cur)}; "
            f"{forecast['model']})"
        )
    say("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    say(f"dashboard: {summary.get('dashboard_url')}")
