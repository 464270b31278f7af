"""REST ingestion gateway: JSON events in, Avro on the raw topics out, 202 only after acks."""

from producers.gateway.app import create_app, create_app_from_env
from producers.gateway.cli import gateway_cli
from producers.gateway.keys import create_api_key, ensure_bootstrap_api_key, hash_api_key
from producers.gateway.settings import GatewaySettings, gateway_settings

__all__ = [
    "GatewaySettings",
    "create_api_key",
    "create_app",
    "create_app_from_env",
    "ensure_bootstrap_api_key",
    "gateway_cli",
    "gateway_settings",
    "hash_api_key",
]
