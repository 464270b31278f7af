"""The gateway as operators run it: `gateway serve` under uvicorn over real HTTP, and the
`gateway keys` commands."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from platform_common.config import Settings, get_settings
from platform_common.postgres import Role, connect
from platform_common.topics import raw_topic
from producers.gateway import GatewaySettings, gateway_cli, hash_api_key
from tests.integration.producers.conftest import consume, free_port, gateway_client, payment_event

pytestmark = pytest.mark.integration
CLI = [sys.executable, "-c", "from producers.gateway import gateway_cli; gateway_cli()"]


def _env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "LEDGERLINE_POSTGRES__DATABASE": settings.postgres.database,
        "LEDGERLINE_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix,
    }


def test_serve_with_two_uvicorn_workers_over_real_http(ingest_env: Settings, api_key: str, tmp_path: Path) -> None:
    port = free_port()
    log = (tmp_path / "gateway.log").open("wb")
    server = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--workers", "2"], env=_env(ingest_env), stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=10, headers={"Authorization": f"Bearer {api_key}"}) as client:
            deadline = time.monotonic() + 30
            while True:
                assert server.poll() is None, (tmp_path / "gateway.log").read_text()
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "gateway did not become healthy"
                time.sleep(0.2)
            accepted = client.post("/v1/events/payment/batch", json={"events": [payment_event() for _ in range(5)]})
            metrics = client.get("/metrics").text
            docs = client.get("/docs")
            spec = client.get("/openapi.json").json()
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["accepted"] == 5
    # Multiprocess metrics: whichever worker answers /metrics reports the other's events too.
    assert 'ledgerline_gateway_events_total{family="payment",outcome="accepted"} 5.0' in metrics
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    assert "/v1/events/usage/batch" in spec["paths"]
    assert len(consume(ingest_env, raw_topic("payment", ingest_env.kafka.topic_prefix))) == 5


@pytest.fixture
def cli_env(ingest_env: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """Run the typer app in process against this test's database (settings come from env)."""
    for name, value in _env(ingest_env).items():
        if name.startswith("LEDGERLINE_"):
            monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


@pytest.mark.asyncio
async def test_keys_create_prints_the_key_once_and_stores_only_its_hash(
    ingest_env: Settings, cli_env: CliRunner
) -> None:
    created = cli_env.invoke(gateway_cli, ["keys", "create", "--name", "billing", "--families", "payment, usage"])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    assert key.startswith("llk_")
    assert len(key) > 40
    pepper = GatewaySettings().api_key_pepper.get_secret_value()
    with connect(Role.WRITER, ingest_env) as conn:
        rows = conn.execute(
            "SELECT api_key_id, key_hash, families, key_prefix FROM platform.gateway_api_key"
        ).fetchall()
    [(api_key_id, stored_hash, families, prefix)] = rows
    assert bytes(stored_hash) == hash_api_key(key, pepper)
    assert sorted(families) == ["payment", "usage"]
    assert key not in repr(rows)
    assert key.startswith(prefix)
    async with gateway_client(ingest_env, api_key=key) as client:
        allowed = await client.post("/v1/events/payment", json=payment_event())
        forbidden = await client.post("/v1/events/subscription", json={})
    assert allowed.status_code == 202, allowed.text
    assert forbidden.status_code == 403

    listed = cli_env.invoke(gateway_cli, ["keys", "list"])
    assert "billing" in listed.stdout
    assert key not in listed.stdout
    assert cli_env.invoke(gateway_cli, ["keys", "create", "--name", "x", "--families", "bogus"]).exit_code == 2
    assert cli_env.invoke(gateway_cli, ["keys", "revoke", str(api_key_id)]).exit_code == 0
    async with gateway_client(ingest_env, api_key=key) as client:
        revoked = await client.post("/v1/events/payment", json=payment_event())
    assert revoked.status_code == 401
