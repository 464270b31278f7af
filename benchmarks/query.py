"""Query API benchmark: p50/p99 of MRR and revenue-by-region at 50 concurrent clients (wrk).

1. Builds a synthetic warehouse the size 10M events produce, directly with SQL
   (generate_series) in a scratch database `ledgerline_bench_query` (dropped and recreated):
   20,000 customers over 2024-2025 in 5 regions, 15 plans and 3 currencies, with cancels and
   quantity changes -> ~7M subscription snapshot rows, ~7M revenue_daily rows, weekly usage rows
   whose event counts bring the total to ~10M events. Writing facts directly (not through the
   sink) is fine for a read benchmark; the event tables stay empty. Building takes a long time on
   2 cores: `--reuse` keeps the database of a previous run (pending migrations are applied; the
   read models are refreshed, and timed, only when a migration was applied or with `--refresh`).
2. Refreshes the read models (`refresh_read_models`, timed).
3. Starts the API (`api serve`, uvicorn, 2 workers) and runs wrk (1 thread, 50 connections) with
   `benchmarks/query_mix.lua`: a realistic mix of dashboard requests for MRR and revenue by region
   (~900 distinct URLs: date ranges x granularities x region and plan filters x currency mode,
   drawn with Zipf-like weights from a fixed seed). Runs, each after a warm-up that sends every
   URL of the mix several times (both workers cache it):
   - cold: the COLD_S seconds from the moment a refresh commits (simulated by bumping
     `refresh_id`, which the workers' caches react to exactly as to a real refresh, without its
     cost): refresh-ahead recomputes the most used answers while serving the previous refresh's
     (`stale`); other URLs are computed on their first request per worker;
   - cached: as clients see the API between two refreshes;
   - uncached: the same mix with a unique query string per request (every request computed);
   - baseline: GET /health (HTTP + one `SELECT 1`);
   - cold_no_rewarm: the cold run again on a server with refresh-ahead off
     (LEDGERLINE_QUERY__CACHE_REWARM_MAX_ENTRIES=0: a refresh empties the caches).
   Each run reports p50/p90/p99, requests/s, its cache-hit share and the load average around it.
4. Raw SQL latency (psycopg, one connection) of the MRR statement and the monthly
   revenue-by-region statement.

Last line: JSON with p50_ms/p99_ms (cached run), events_per_s (= requests/s), rss_mb (both
workers), baseline_events_per_s (/health), ratio_to_baseline, cold_* / uncached_* / sql_* fields
and the 1-minute load average before each run. The machine is shared: compare figures only with
their load averages. Needs `wrk` (Debian: apt-get install -y wrk) and the services up.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from psycopg import sql

from platform_common.config import get_settings
from platform_common.postgres import Role, apply_migrations, connect, ensure_login_roles

DATABASE = "ledgerline_bench_query"
CUSTOMERS = 20_000
TARGET_EVENTS = 10_000_000
DURATION_S = 20

BUILD = [
    (
        "dimensions and FX",
        """
INSERT INTO warehouse.data_horizon (horizon_date, reporting_currency) VALUES ('2025-12-31', 'USD');
INSERT INTO warehouse.region (region_id, region_name, currency) VALUES
  ('na', 'North America', 'USD'), ('emea', 'EMEA', 'EUR'), ('uki', 'UK & Ireland', 'GBP'),
  ('apac', 'Asia Pacific', 'USD'), ('latam', 'Latin America', 'USD');
INSERT INTO warehouse.fx_rate
SELECT c, 'USD', d::date, CASE c WHEN 'EUR' THEN 1.08 ELSE 1.27 END + 0.01 * extract(month FROM d)
FROM unnest(ARRAY['EUR', 'GBP']) c, generate_series('2023-12-01'::date, '2025-12-01'::date, interval '1 month') d;
""",
    ),
    (
        "customers",
        """
CREATE TEMP TABLE bench_sub AS
SELECT i, 'C' || i AS customer_id, 'S' || i AS subscription_id,
       (ARRAY['na', 'emea', 'uki', 'apac', 'latam'])[1 + mod(i, 5)] AS region_id,
       (ARRAY['USD', 'EUR', 'GBP', 'USD', 'USD'])[1 + mod(i, 5)] AS currency,
       (ARRAY['starter-monthly', 'growth-monthly', 'growth-annual', 'enterprise-annual',
              'enterprise-2y'])[1 + mod((i / 5), 5)]
           AS tier, (ARRAY[2900, 7900, 6583, 12500, 11500])[1 + mod((i / 5), 5)] AS unit_mrr,
       1 + mod(i, 7) AS quantity, '2024-01-01'::date + mod((i * 37), 600) AS start_date,
       CASE WHEN mod(i, 10) < 3
            THEN '2024-01-01'::date + mod((i * 37), 600) + 30 + mod((i * 13), 400) END AS cancel_date,
       CASE WHEN mod(i, 10) = 5 THEN '2024-01-01'::date + mod((i * 37), 600) + 60 + mod((i * 7), 200) END AS change_date
FROM generate_series(1, %(customers)s) i
""",
    ),
    (
        "subscription state",
        """
INSERT INTO warehouse.subscription_state (subscription_id, valid_from, valid_to, customer_id, plan_id, region_id,
    currency, status, is_active, quantity, unit_price_minor, billing_interval, billing_interval_count, is_discounted,
    mrr_minor)
SELECT subscription_id, start_date,
       CASE WHEN change_date < coalesce(cancel_date, 'infinity') THEN change_date ELSE cancel_date END, customer_id,
       tier || '-' || lower(currency), region_id, currency, 'active', true, quantity, unit_mrr, 'month', 1, false,
       unit_mrr * quantity
FROM bench_sub
UNION ALL
SELECT subscription_id, change_date, cancel_date, customer_id, tier || '-' || lower(currency), region_id, currency,
       'active', true, quantity + 2, unit_mrr, 'month', 1, false, unit_mrr * (quantity + 2)
FROM bench_sub WHERE change_date IS NOT NULL AND (cancel_date IS NULL OR change_date < cancel_date)
UNION ALL
SELECT subscription_id, cancel_date, NULL, customer_id, tier || '-' || lower(currency), region_id, currency,
       'canceled', false, quantity, unit_mrr, 'month', 1, false, 0
FROM bench_sub WHERE cancel_date IS NOT NULL AND cancel_date <= '2025-12-31';
""",
    ),
    (
        "subscriptions_snapshot",
        """
INSERT INTO warehouse.subscriptions_snapshot (snapshot_date, subscription_id, customer_id, plan_id, region_id, status,
    is_active, quantity, currency, mrr_minor, reporting_currency, fx_rate, mrr_reporting_minor)
SELECT d::date, s.subscription_id, s.customer_id, s.plan_id, s.region_id, s.status, s.is_active, s.quantity,
       s.currency, s.mrr_minor, 'USD', r.rate, round(s.mrr_minor * r.rate)::bigint
FROM warehouse.subscription_state s
CROSS JOIN LATERAL generate_series(s.valid_from,
    CASE WHEN s.status = 'canceled' THEN s.valid_from
         ELSE least(coalesce(s.valid_to - 1, '2025-12-31'), '2025-12-31') END,
    interval '1 day') d
CROSS JOIN LATERAL (SELECT warehouse.fx_rate_on(s.currency, 'USD', date_trunc('month', d)::date) AS rate) r
WHERE s.valid_from <= '2025-12-31';
""",
    ),
    (
        "revenue_daily",
        """
INSERT INTO warehouse.revenue_daily (revenue_date, customer_id, plan_id, region_id, currency, billed_minor,
    collected_minor, refunded_minor, mrr_minor, reporting_currency, fx_rate, billed_reporting_minor,
    collected_reporting_minor, refunded_reporting_minor, mrr_reporting_minor)
SELECT snapshot_date, customer_id, plan_id, region_id, currency, b, b, f, mrr_minor, 'USD', fx_rate,
       round(b * fx_rate)::bigint, round(b * fx_rate)::bigint, round(f * fx_rate)::bigint, mrr_reporting_minor
FROM (SELECT s.*,
             CASE WHEN extract(day FROM s.snapshot_date) = 1 THEN s.mrr_minor ELSE 0 END AS b,
             CASE WHEN extract(day FROM s.snapshot_date) = 1 AND hashtext(s.customer_id) % 100 = 0
                  THEN s.mrr_minor / 2 ELSE 0 END AS f
      FROM warehouse.subscriptions_snapshot s WHERE s.is_active) x;
""",
    ),
    (
        "costs_daily",
        """
INSERT INTO warehouse.costs_daily (cost_date, region_id, category, vendor, currency, amount_minor, reporting_currency,
    fx_rate, amount_reporting_minor)
SELECT d::date, r.region_id, c, 'vendor-' || c, 'USD',
       100000 + (hashtext(r.region_id || c || d::text) & 4095), 'USD', 1,
       100000 + (hashtext(r.region_id || c || d::text) & 4095)
FROM warehouse.region r, unnest(ARRAY['infrastructure', 'support', 'payment_processing', 'third_party']) c,
     generate_series('2024-01-01'::date, '2025-12-31'::date, interval '1 day') d;
""",
    ),
    (
        "usage_daily",
        """
INSERT INTO warehouse.usage_daily (usage_date, customer_id, metric, unit, region_id, quantity, billable_quantity,
    event_count)
SELECT snapshot_date, customer_id, 'api_calls', 'call', region_id, 1000 * quantity, 1000 * quantity,
       %(events_per_row)s
FROM warehouse.subscriptions_snapshot WHERE is_active AND extract(isodow FROM snapshot_date) = 1;
""",
    ),
    ("statistics", "ANALYZE;"),
]
EVENTS = """
SELECT (SELECT count(*) FROM warehouse.subscription_state)
       + (SELECT count(*) FROM warehouse.revenue_daily WHERE billed_minor > 0)
       + (SELECT count(*) FROM warehouse.revenue_daily WHERE refunded_minor > 0)
       + (SELECT count(*) FROM warehouse.costs_daily) / 30
       + (SELECT coalesce(sum(event_count), 0) FROM warehouse.usage_daily) AS events,
       (SELECT count(*) FROM warehouse.subscriptions_snapshot) AS snapshots,
       (SELECT count(*) FROM warehouse.revenue_daily) AS revenue_rows,
       (SELECT count(*) FROM warehouse.usage_daily) AS usage_rows
"""
USAGE_ROWS = (
    "SELECT count(*) FROM warehouse.subscriptions_snapshot WHERE is_active AND extract(isodow FROM snapshot_date) = 1"
)
OTHER_EVENTS = """
SELECT (SELECT count(*) FROM warehouse.subscription_state)
       + (SELECT count(*) FROM warehouse.subscriptions_snapshot WHERE is_active AND extract(day FROM snapshot_date) = 1)
       + 700
"""

MIX_SCRIPT = Path(__file__).with_name("query_mix.lua")
WARM_UP_S = 15
COLD_S = 30


def log(message: str) -> None:
    print(f"[bench query] {message}", flush=True)


def build(settings: Any) -> dict[str, int]:
    with connect(Role.ADMIN, settings, autocommit=True, dbname="postgres") as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DATABASE)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    apply_migrations(settings)
    ensure_login_roles(settings)
    with connect(Role.ADMIN, settings, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET work_mem = '256MB'")
        conn.execute("SET maintenance_work_mem = '512MB'")
        params: dict[str, int] = {"customers": CUSTOMERS, "events_per_row": 1}
        for name, statement in BUILD:
            if name == "usage_daily":
                rows = conn.execute(USAGE_ROWS).fetchone()[0]  # type: ignore[index]
                others = conn.execute(OTHER_EVENTS).fetchone()[0]  # type: ignore[index]
                params["events_per_row"] = max(1, math.ceil((TARGET_EVENTS - others) / max(rows, 1)))
            started = time.perf_counter()
            conn.execute(statement, params if "%(" in statement else None)
            log(f"built {name} in {time.perf_counter() - started:.1f}s")
        row = conn.execute(EVENTS).fetchone()
        assert row is not None
        return {"events": int(row[0]), "snapshots": int(row[1]), "revenue_rows": int(row[2]), "usage_rows": int(row[3])}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wrk(url: str, key: str, mode: str, duration_s: int = DURATION_S, connections: int = 50) -> dict[str, float]:
    """One wrk run of the mix script in `mode` (mix, unique, cycle, health)."""
    load = os.getloadavg()[0]
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration_s}s", "--timeout", "5s", "-s", str(MIX_SCRIPT), url,
               "--", key, mode, str(time.time_ns())]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("WRKJSON "))
    found = json.loads(line.removeprefix("WRKJSON "))
    return {
        "rps": round(found["requests"] / (found["duration_us"] / 1e6), 1),
        "p50_ms": round(found["p50_us"] / 1000, 2),
        "p90_ms": round(found["p90_us"] / 1000, 2),
        "p99_ms": round(found["p99_us"] / 1000, 2),
        "max_ms": round(found["max_us"] / 1000, 2),
        "requests": found["requests"],
        "cache_hit_share": round(found["cache_hits"] / max(found["requests"], 1), 4),
        "cache_stale_share": round(found["cache_stale"] / max(found["requests"], 1), 4),
        "distinct_urls": found["distinct_urls"],
        "errors": found["errors"] + found["non_2xx"],
        "load_1m_before": round(load, 2),
        "load_1m_after": round(os.getloadavg()[0], 2),
    }


def rss_mb(pid: int) -> float:
    """Resident memory of the server and its worker processes."""
    total = 0
    pids = [pid, *map(int, subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split())]
    for each in pids:
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


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


def reuse(settings: Any, refresh: bool) -> tuple[dict[str, int], int]:
    """The warehouse of a previous run, migrated to the current read models."""
    from query_api import refresh_read_models

    applied = apply_migrations(settings)
    ensure_login_roles(settings)
    with connect(Role.ADMIN, settings) as conn:
        row = conn.execute(EVENTS).fetchone()
        stamp = conn.execute("SELECT duration_ms FROM reporting.read_model_refresh").fetchone()
    if row is None or stamp is None:
        sys.exit("nothing to reuse: run without --reuse first")
    sizes = {"events": int(row[0]), "snapshots": int(row[1]), "revenue_rows": int(row[2]), "usage_rows": int(row[3])}
    log(f"reusing {DATABASE}: {sizes}; migrations applied now: {applied}")
    refresh_ms = int(stamp[0])
    if applied or refresh:
        log(f"refreshing the read models (load average {os.getloadavg()[0]:.2f})")
        with connect(Role.WRITER, settings) as conn:
            refresh_ms = refresh_read_models(conn).duration_ms
        log(f"read models refreshed in {refresh_ms / 1000:.1f}s")
    return sizes, refresh_ms


def simulate_refresh(settings: Any) -> None:
    """What a committed refresh does to the API's caches (a new refresh_id), without its cost."""
    with connect(Role.ADMIN, settings) as conn:
        conn.execute("UPDATE reporting.read_model_refresh SET refresh_id = refresh_id + 1")
        conn.commit()


def cold_run(settings: Any, url: str, key: str) -> dict[str, float]:
    """The mix for COLD_S seconds from the moment a refresh commits."""
    warm = wrk(url, key, "cycle", WARM_UP_S)
    log(f"warm-up (every URL of the mix in turn, {WARM_UP_S}s): {warm}")
    simulate_refresh(settings)  # the workers notice within cache_check_interval_s, during the run
    return wrk(url, key, "mix", COLD_S)


def measure(settings: Any, url: str, key: str) -> dict[str, dict[str, float]]:
    runs: dict[str, dict[str, float]] = {}
    runs["cold"] = cold_run(settings, url, key)
    log(f"cold (the {COLD_S}s from a refresh, refresh-ahead on): {runs['cold']}")
    warm = wrk(url, key, "cycle", WARM_UP_S)
    log(f"warm-up again: {warm}")
    runs["cached"] = wrk(url, key, "mix")
    log(f"cached (after warm-up): {runs['cached']}")
    runs["uncached"] = wrk(url, key, "unique")
    log(f"uncached (unique query string per request): {runs['uncached']}")
    runs["health"] = wrk(url, key, "health")
    log(f"baseline /health: {runs['health']}")
    return runs


@contextlib.contextmanager
def api_server(settings: Any, **env_extra: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`api serve` with 2 uvicorn workers over the benchmark database; yields its URL."""
    port = free_port()
    env = {**os.environ, "LEDGERLINE_POSTGRES__DATABASE": DATABASE, **env_extra}
    command = [sys.executable, "-c", "from query_api import api_cli; api_cli()", "serve", "--port", str(port)]
    server = subprocess.Popen([*command, "--workers", "2"], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                sys.exit("the API did not start")
            time.sleep(0.3)
        time.sleep(2)  # the refresh-id poller of both workers
        yield url, server
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk")
    base = get_settings()
    settings = base.model_copy(update={"postgres": base.postgres.model_copy(update={"database": DATABASE})})
    if "--reuse" in sys.argv:
        sizes, refresh_ms = reuse(settings, refresh="--refresh" in sys.argv)
    else:
        from query_api import refresh_read_models

        started = time.perf_counter()
        sizes = build(settings)
        log(f"warehouse built in {time.perf_counter() - started:.0f}s: {sizes}")
        with connect(Role.WRITER, settings) as conn:
            refresh_ms = refresh_read_models(conn).duration_ms
        log(f"read models refreshed in {refresh_ms / 1000:.1f}s")
    key = settings.api.bootstrap_api_key.get_secret_value()
    with api_server(settings) as (url, server):
        runs = measure(settings, url, key)
        memory = rss_mb(server.pid)
    with api_server(settings, LEDGERLINE_QUERY__CACHE_REWARM_MAX_ENTRIES="0") as (url, _):
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
        "connections": 50,
        "distinct_urls": cached["distinct_urls"],
        "load_1m": {name: run["load_1m_before"] for name, run in runs.items()},
        "warehouse_events": sizes["events"],
        "snapshot_rows": sizes["snapshots"],
        "refresh_s": round(refresh_ms / 1000, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
