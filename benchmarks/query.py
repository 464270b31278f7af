"""Query API benchmark: p50/p99 of MRR and revenue-by-region at 50 concurrent clients (wrk).

1. Builds a synthetic warehouse the size 10M events produce, directly with SQL
   (generate_series) in a scratch database `ledgerline_bench_query` (dropped and recreated):
   20,000 customers over 2024-2025 in 5 regions, 15 plans and 3 currencies, with cancels and
   plan changes -> ~8M subscription snapshot rows, ~8M revenue_daily rows, weekly usage rows
   whose event counts bring the total to ~10M events. Writing facts directly (not through the
   sink) is fine for a read benchmark; the event tables stay empty.
2. Refreshes the read models (`refresh_read_models`, timed).
3. Starts the API (`api serve`, uvicorn, 2 workers) and runs wrk (1 thread, 50 connections)
   over a rotating set of MRR and revenue-by-region URLs (different filters and ranges):
   once as clients see it (the per-refresh response cache warm) and once with a unique query
   string per request (every request computed from the read models).
4. Baselines: wrk on `/health` (HTTP + one `SELECT 1`), and the raw SQL latency of the MRR
   statement through psycopg.

Last line: JSON with p50_ms/p99_ms (cached run), events_per_s (= requests/s), rss_mb (both
workers), baseline_events_per_s (/health), ratio_to_baseline, uncached_* and sql_* fields.
Needs `wrk` (Debian: apt-get install -y wrk) and the services up.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
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

# The URL mix: MRR (monthly with movements, quarterly, daily) and revenue by region, with and
# without region/plan filters and over different ranges, as dashboards ask them.
PATHS = [
    "/v1/mrr?granularity=month",
    "/v1/mrr?granularity=month&start=2025-01-01&end=2025-12-31",
    "/v1/mrr?granularity=quarter&start=2024-01-01&end=2025-12-31",
    "/v1/mrr?granularity=month&region_id=emea",
    "/v1/mrr?granularity=month&plan_id=growth-monthly-usd",
    "/v1/mrr?granularity=day&start=2025-10-01&end=2025-12-31",
    "/v1/mrr?granularity=month&currency=original&region_id=na",
    "/v1/revenue?granularity=month&group_by=region",
    "/v1/revenue?granularity=month&group_by=region&start=2024-01-01&end=2025-12-31",
    "/v1/revenue?granularity=quarter&group_by=region",
    "/v1/revenue?granularity=week&group_by=region&start=2025-07-01&end=2025-12-31",
    "/v1/revenue?granularity=month&group_by=region&plan_id=enterprise-annual-eur",
    "/v1/revenue?granularity=month&group_by=region&currency=original",
]
LUA = """
local paths = {%(paths)s}
local counter = 0
wrk.headers["X-API-Key"] = "%(key)s"
request = function()
  counter = counter + 1
  local path = paths[(counter %% #paths) + 1]
  if %(unique)s then path = path .. "&nocache=" .. counter .. "-" .. math.random(1, 1000000000) end
  return wrk.format("GET", path)
end
done = function(summary, latency, requests)
  io.write(string.format('WRKJSON {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, ' ..
    '"errors": %%d, "non_2xx": %%d}\\n', summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, summary.errors.status))
end
"""


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


def wrk(url: str, key: str, paths: list[str], unique: bool, connections: int = 50) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % {"paths": ", ".join(json.dumps(p) for p in paths), "key": key,
                            "unique": "true" if unique else "false"})  # fmt: skip
    command = ["wrk", "-t1", f"-c{connections}", f"-d{DURATION_S}s", "--timeout", "5s", "-s", script.name, url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    line = next(line for line in output.splitlines() if line.startswith("WRKJSON "))
    found = json.loads(line.removeprefix("WRKJSON "))
    return {
        "rps": found["requests"] / (found["duration_us"] / 1e6),
        "p50_ms": found["p50_us"] / 1000,
        "p99_ms": found["p99_us"] / 1000,
        "errors": found["errors"] + found["non_2xx"],
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
    from query_api.db import query_text

    params = {"start": "2025-01-01", "end": "2025-12-31", "horizon": "2025-12-31", "original": False,
              "reporting_currency": "USD", "region_id": None, "plan_id": None, "granularity": "month",
              "step": "1 month", "with_movements": True, "limit": 100, "offset": 0}  # fmt: skip
    timings = []
    with connect(Role.READER, settings) as conn:
        for _ in range(200):
            started = time.perf_counter()
            conn.execute(query_text("mrr_series"), params).fetchall()
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {
        "sql_p50_ms": round(timings[len(timings) // 2], 2),
        "sql_p99_ms": round(timings[int(len(timings) * 0.99)], 2),
    }


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk")
    base = get_settings()
    settings = base.model_copy(update={"postgres": base.postgres.model_copy(update={"database": DATABASE})})
    from query_api import refresh_read_models

    if "--reuse" in sys.argv:  # the warehouse of a previous run, as it is (no rebuild, no refresh)
        with connect(Role.ADMIN, settings) as conn:
            row = conn.execute(EVENTS).fetchone()
            stamp = conn.execute("SELECT duration_ms FROM reporting.read_model_refresh").fetchone()
        if row is None or stamp is None:
            sys.exit("nothing to reuse: run without --reuse first")
        sizes = {
            "events": int(row[0]),
            "snapshots": int(row[1]),
            "revenue_rows": int(row[2]),
            "usage_rows": int(row[3]),
        }
        refresh_ms = int(stamp[0])
        log(f"reusing {DATABASE}: {sizes}")
    else:
        started = time.perf_counter()
        sizes = build(settings)
        log(f"warehouse built in {time.perf_counter() - started:.0f}s: {sizes}")
        with connect(Role.WRITER, settings) as conn:
            refresh_ms = refresh_read_models(conn).duration_ms
        log(f"read models refreshed in {refresh_ms / 1000:.1f}s")
    port = free_port()
    env = {**os.environ, "LEDGERLINE_POSTGRES__DATABASE": DATABASE}
    command = [sys.executable, "-c", "from query_api import api_cli; api_cli()", "serve", "--port", str(port)]
    server = subprocess.Popen([*command, "--workers", "2"], env=env)
    url = f"http://127.0.0.1:{port}"
    key = settings.api.bootstrap_api_key.get_secret_value()
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
        for path in PATHS * 4:  # both workers see every URL (connections land on either)
            response = httpx.get(url + path, headers={"X-API-Key": key}, timeout=30)
            assert response.status_code == 200, (path, response.text)
        log("warm; wrk 1 thread, 50 connections, cached (as clients see it)")
        cached = wrk(url, key, PATHS, unique=False)
        log(f"cached: {cached}")
        uncached = wrk(url, key, PATHS, unique=True)
        log(f"uncached (unique query string per request): {uncached}")
        health = wrk(url, key, ["/health?"], unique=False)
        log(f"baseline /health: {health}")
        memory = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    raw = sql_latency(settings)
    log(f"raw SQL (MRR statement, psycopg, one connection): {raw}")
    result = {
        "p50_ms": round(cached["p50_ms"], 2),
        "p99_ms": round(cached["p99_ms"], 2),
        "events_per_s": round(cached["rps"], 1),
        "rss_mb": round(memory, 1),
        "baseline_events_per_s": round(health["rps"], 1),
        "ratio_to_baseline": round(cached["rps"] / health["rps"], 3),
        "baseline_p99_ms": round(health["p99_ms"], 2),
        "uncached_p50_ms": round(uncached["p50_ms"], 2),
        "uncached_p99_ms": round(uncached["p99_ms"], 2),
        "uncached_events_per_s": round(uncached["rps"], 1),
        **raw,
        "errors": cached["errors"] + uncached["errors"],
        "connections": 50,
        "warehouse_events": sizes["events"],
        "snapshot_rows": sizes["snapshots"],
        "refresh_s": round(refresh_ms / 1000, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
