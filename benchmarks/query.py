"""Query API benchmark: p50/p99 of MRR and revenue-by-region at 50 concurrent clients (wrk).

    .venv/bin/python benchmarks/query.py [--reuse [--refresh]]

1. Builds the warehouse from events (benchmarks/query_build.py) in a scratch database
   `ledgerline_bench_query` (dropped and recreated): the sample-data generator's history of 24,000
   customers over 2024-2025 with daily usage, >= 10M events, published as clean Avro events to
   isolated clean topics and merged by the real warehouse sink until caught up; then VACUUM
   ANALYZE and the read models' refresh (timed). This takes a long time on 2 cores (progress is
   printed every 15 s); how the warehouse was built is recorded in bench.warehouse_build.
   `--reuse` keeps the database of a previous run, prints that record and refuses a database not
   built from events by this version; pending migrations are applied, and the read models are
   refreshed (and timed) only when a migration was applied or with `--refresh`.
2. Starts the API (`api serve`, uvicorn, 2 workers) and runs wrk (1 thread, 50 connections) with
   `benchmarks/query_mix.lua`: a realistic mix of dashboard requests for MRR and revenue by region
   (~900 distinct URLs: date ranges x granularities x region and plan filters x currency mode,
   drawn with Zipf-like weights from a fixed seed). Runs (benchmarks/query_load.py), each cold
   one after a warm-up that sends every URL of the mix several times (both workers cache it):
   - cold: the COLD_S seconds from the moment a refresh commits (simulated by bumping
     `refresh_id`, which the workers' caches react to exactly as to a real refresh, without its
     cost): refresh-ahead recomputes the most used answers while serving the previous refresh's
     (`stale`); other URLs are computed on their first request per worker;
   - cached: as clients see the API between two refreshes;
   - cached by endpoint: MRR and revenue-by-region separately (two wrk at once, 25 connections
     each: 50 clients, half on each endpoint as in the mix);
   - uncached: the same mix sent with `Cache-Control: no-cache` (every request computed), then
     split by endpoint the same way;
   - baseline: GET /health (HTTP + one `SELECT 1`);
   - cold_no_rewarm: the cold run again on a server with refresh-ahead off
     (LEDGERLINE_QUERY__CACHE_REWARM_MAX_ENTRIES=0: a refresh empties the caches).
   Each run reports p50/p90/p99, requests/s, its cache-hit share and the load average around it.
3. Raw SQL latency (psycopg, one connection) of the MRR statement and the monthly
   revenue-by-region statement.

Last line: JSON with p50_ms/p99_ms (cached run), events_per_s (= requests/s), rss_mb (both
workers), baseline_events_per_s (/health), ratio_to_baseline, warehouse_events (the events the
warehouse was built from), mrr_* / revenue_by_region_* (cached, by endpoint), cold_* /
uncached_* / uncached_mrr_* / uncached_revenue_by_region_* / sql_* fields and the 1-minute load
average before each run. The machine is shared: compare figures only with their load averages.
Needs `wrk` (Debian: apt-get install -y wrk) and the services up.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from typing import Any

from query_build import DATABASE, build, log, reuse
from query_load import CONNECTIONS, ENDPOINTS, api_server, cold_run, measure, rss_mb

from platform_common.config import get_settings
from platform_common.postgres import Role, connect


def sql_latency(settings: Any) -> dict[str, float]:
    """Raw statement latency (reader role, one connection, prepared after 5 runs as in the API)."""
    from query_api.db import query_text

    common = {"start": "2025-01-01", "end": "2025-12-31", "horizon": "2025-12-31", "original": False,
              "reporting_currency": "USD", "region_id": None, "plan_id": None, "granularity": "month",
              "step": "1 month", "limit": 500, "offset": 0}  # fmt: skip
    statements = {
        "sql_mrr": ("mrr_series", {**common, "with_movements": True}),
        "sql_revenue_by_region": ("revenue_series_monthly", {**common, "by_region": True, "by_plan": False}),
    }
    figures: dict[str, float] = {}
    with connect(Role.READER, settings) as conn:
        for prefix, (name, params) in statements.items():
            timings = []
            for _ in range(200):
                started = time.perf_counter()
                conn.execute(query_text(name), params).fetchall()
                timings.append((time.perf_counter() - started) * 1000)
            timings.sort()
            figures[f"{prefix}_p50_ms"] = round(timings[len(timings) // 2], 2)
            figures[f"{prefix}_p99_ms"] = round(timings[int(len(timings) * 0.99)], 2)
    return figures


def by_endpoint(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """mrr_* / revenue_by_region_* (cached) and uncached_mrr_* / uncached_revenue_by_region_*."""
    figures: dict[str, Any] = {}
    for mode, prefix in (("cached", ""), ("uncached", "uncached_")):
        for name in ENDPOINTS:
            run = runs[f"{mode}_{name}"]
            figures.update({f"{prefix}{name}_{key}": run[key] for key in ("p50_ms", "p99_ms")})
            figures[f"{prefix}{name}_events_per_s"] = run["rps"]
            if mode == "cached":
                figures[f"{name}_cache_hit_share"] = run["cache_hit_share"]
    return figures


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk")
    base = get_settings()
    settings = base.model_copy(update={"postgres": base.postgres.model_copy(update={"database": DATABASE})})
    if "--reuse" in sys.argv:
        built, refresh_ms = reuse(settings, refresh="--refresh" in sys.argv)
    else:
        settings, built, refresh_ms = build(base)
    key = settings.api.bootstrap_api_key.get_secret_value()
    with api_server(DATABASE) as (url, server):
        runs = measure(settings, url, key)
        memory = rss_mb(server.pid)
    with api_server(DATABASE, LEDGERLINE_QUERY__CACHE_REWARM_MAX_ENTRIES="0") as (url, _):
        runs["cold_no_rewarm"] = cold_run(settings, url, key)
        log(f"cold without refresh-ahead (a refresh empties the caches): {runs['cold_no_rewarm']}")
    raw = sql_latency(settings)
    log(f"raw SQL (psycopg, one connection): {raw}")
    cached, cold, uncached, health = runs["cached"], runs["cold"], runs["uncached"], runs["health"]
    result = {
        "p50_ms": cached["p50_ms"],
        "p99_ms": cached["p99_ms"],
        "events_per_s": cached["rps"],
        "rss_mb": round(memory, 1),
        "baseline_events_per_s": health["rps"],
        "ratio_to_baseline": round(cached["rps"] / health["rps"], 3),
        "warehouse_events": built["events"],
        **by_endpoint(runs),
        "baseline_p99_ms": health["p99_ms"],
        "cache_hit_share": cached["cache_hit_share"],
        "cold_p50_ms": cold["p50_ms"],
        "cold_p99_ms": cold["p99_ms"],
        "cold_events_per_s": cold["rps"],
        "cold_cache_hit_share": cold["cache_hit_share"],
        "cold_cache_stale_share": cold["cache_stale_share"],
        "cold_no_rewarm_p50_ms": runs["cold_no_rewarm"]["p50_ms"],
        "cold_no_rewarm_p99_ms": runs["cold_no_rewarm"]["p99_ms"],
        "cold_no_rewarm_cache_hit_share": runs["cold_no_rewarm"]["cache_hit_share"],
        "uncached_p50_ms": uncached["p50_ms"],
        "uncached_p90_ms": uncached["p90_ms"],
        "uncached_p99_ms": uncached["p99_ms"],
        "uncached_events_per_s": uncached["rps"],
        **raw,
        "errors": sum(run["errors"] for run in runs.values()),
        "connections": CONNECTIONS,
        "distinct_urls": cached["distinct_urls"],
        "load_1m": {name: run["load_1m_before"] for name, run in runs.items()},
        "warehouse_events_by_family": built["events_by_family"],
        "warehouse_build_s": built["build_seconds"],
        "warehouse_customers": built["generator_params"]["customers"],
        "snapshot_rows": built["snapshots"],
        "revenue_rows": built["revenue_rows"],
        "refresh_s": round(refresh_ms / 1000, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
