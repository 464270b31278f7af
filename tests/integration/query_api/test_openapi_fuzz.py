"""Schemathesis over the published OpenAPI against a live uvicorn on the fixed scenario: at least
1,000 generated requests (valid and invalid), zero server errors, and every answer conforms to
the schema (status codes, content types, response bodies). The server's own Prometheus counters
give the number of requests and their statuses."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from platform_common.config import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
REQUESTS = re.compile(r'^ledgerline_query_requests_total\{[^}]*status="(\d+)"[^}]*\} ([0-9.e+]+)$', re.M)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_schemathesis_finds_no_server_error(scenario_settings: Settings, api_key: str, tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "LEDGERLINE_POSTGRES__DATABASE": scenario_settings.postgres.database}
    log = (tmp_path / "api.log").open("wb")
    command = [sys.executable, "-c", "from query_api import api_cli; api_cli()", "serve", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, (tmp_path / "api.log").read_text()
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.2)
        run = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "run", f"{base}/openapi.json", "-H", f"X-API-Key: {api_key}",
             "--checks", CHECKS, "--max-examples", "60", "--seed", "7", "--workers", "2", "--request-timeout", "10",
             "--no-color", "--suppress-health-check", "all"],
            capture_output=True, text=True, timeout=240,
        )  # fmt: skip
        metrics = httpx.get(f"{base}/metrics", timeout=5).text
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    report = run.stdout[-4000:] + run.stderr[-2000:]
    assert run.returncode == 0, report
    statuses: dict[str, float] = {}
    for status, count in REQUESTS.findall(metrics):
        statuses[status] = statuses.get(status, 0) + float(count)
    total = sum(statuses.values())
    assert total >= 1000, (statuses, report)
    assert not [status for status in statuses if status.startswith("5")], statuses
    assert statuses.get("200", 0) > 100, statuses
    assert statuses.get("422", 0) > 100, statuses
