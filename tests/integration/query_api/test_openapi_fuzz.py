"""Schemathesis over the published OpenAPI against a live uvicorn on the fixed scenario: at least
1,000 generated test cases (valid and invalid), each sent, zero server errors, and every answer
conforms to the schema (status codes, content types, response bodies).

The counts are schemathesis's own, not the server's: its JSON run report gives the test cases it
generated and the failures it found, and its HAR report records every API call it made with the
status it got (the server's request counter would also count this test's /health polling)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from platform_common.config import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def _api_calls(har: dict[str, Any]) -> Counter[int]:
    """Status codes of the calls schemathesis made to the API (the schema download excluded)."""
    return Counter(
        int(entry["response"]["status"])
        for entry in har["log"]["entries"]
        if not entry["request"]["url"].endswith("/openapi.json")
    )


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
        summary, har = tmp_path / "schemathesis.json", tmp_path / "schemathesis.har"
        run = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "run", f"{base}/openapi.json", "-H", f"X-API-Key: {api_key}",
             "--checks", CHECKS, "--max-examples", "60", "--seed", "7", "--workers", "2", "--request-timeout", "10",
             "--no-color", "--suppress-health-check", "all", "--report", "json,har",
             "--report-json-path", str(summary), "--report-har-path", str(har)],
            capture_output=True, text=True, timeout=240,
        )  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    output = run.stdout[-4000:] + run.stderr[-2000:]
    assert run.returncode == 0, output
    result = json.loads(summary.read_text())
    assert (result["complete"], result["failures"], result["errors"]) == (True, [], []), output
    generated = result["test_cases"]["generated"]
    assert generated >= 1000, (result["test_cases"], output)
    calls = _api_calls(json.loads(har.read_text()))
    assert sum(calls.values()) >= generated, (calls, generated)
    assert [status for status in calls if status >= 500] == [], calls
    assert calls[200] > 100, calls
    assert calls[422] > 100, calls
