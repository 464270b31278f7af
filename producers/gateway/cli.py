"""`ledgerline gateway ...`: serve the gateway, manage its API keys."""

from __future__ import annotations

import os
import tempfile

import typer

from platform_common.config import get_settings
from producers.gateway.keys import create_api_key, list_api_keys, revoke_api_key

gateway_cli = typer.Typer(no_args_is_help=True, help="REST ingestion gateway.")
keys_cli = typer.Typer(no_args_is_help=True, help="Gateway API keys (stored hashed).")
gateway_cli.add_typer(keys_cli, name="keys")


@gateway_cli.command("serve")
def serve(
    host: str | None = typer.Option(None, help="Default: LEDGERLINE_API__GATEWAY_HOST."),
    port: int | None = typer.Option(None, help="Default: LEDGERLINE_API__GATEWAY_PORT."),
    workers: int = typer.Option(1, min=1, help="uvicorn worker processes."),
) -> None:
    """Run the gateway with uvicorn (OpenAPI at /docs, /health, /metrics)."""
    import uvicorn

    settings = get_settings()
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Workers are spawned processes; each writes its samples here and /metrics sums them.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="ledgerline-gateway-metrics-")
    uvicorn.run(
        "producers.gateway.app:create_app_from_env",
        factory=True,
        host=host or settings.api.gateway_host,
        port=port or settings.api.gateway_port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=15,
    )


@keys_cli.command("create")
def create(
    name: str = typer.Option(..., "--name", help="Who the key is for, e.g. billing-service."),
    families: str = typer.Option(..., "--families", help="Comma-separated, e.g. subscription,payment."),
    rate: int | None = typer.Option(None, "--rate", min=1, help="Events/s per gateway process."),
) -> None:
    """Create an API key and print it once; only its hash is stored."""
    try:
        api_key_id, key = create_api_key(get_settings(), name, families.split(","), rate)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--families") from None
    typer.echo(f"api key id {api_key_id} ({name}); store it now, it cannot be shown again:", err=True)
    typer.echo(key)


@keys_cli.command("list")
def list_keys() -> None:
    """Ids, names, families and state of all keys (never the keys themselves)."""
    for info in list_api_keys(get_settings()):
        state = f"revoked {info.revoked_at:%Y-%m-%d}" if info.revoked_at else "active"
        rate = f"{info.rate_limit_per_s}/s" if info.rate_limit_per_s else "default rate"
        typer.echo(
            f"{info.api_key_id:>5}  {info.name:<24} {info.key_prefix:<14} {','.join(info.families):<45} "
            f"{rate:<14} {state}"
        )


@keys_cli.command("revoke")
def revoke(api_key_id: int = typer.Argument(..., help="Id from `keys list`.")) -> None:
    """Revoke a key (gateways stop accepting it within the key cache TTL)."""
    if not revoke_api_key(get_settings(), api_key_id):
        typer.echo(f"no active key with id {api_key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {api_key_id}")
