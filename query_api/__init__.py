"""Query API: trusted SaaS metrics and the dashboard, read-only over the warehouse.

Public surface (pinned by a test):
- `create_app(settings)`: the FastAPI application (routers under `/v1`, `/health`, `/metrics`,
  `/docs`, `/dashboard`).
- `refresh_read_models(conn)`: rebuild the read models (migration 0500) after a warehouse batch.
- `api_cli`: the typer app mounted as `ledgerline api` (`serve`, `refresh`).
"""

from query_api.app import create_app
from query_api.cli import api_cli
from query_api.read_models import refresh_read_models

__all__ = ["api_cli", "create_app", "refresh_read_models"]
