"""The Prefect API server that the orchestration flows report to (SQLite under the data folder)."""

from __future__ import annotations

from deploy.local_stack.base import LocalService
from deploy.local_stack.process import http_ok, python_bin, say, spawn


class PrefectService(LocalService):
    name = "prefect"
    health_probe = "/api/health"

    def endpoint(self) -> str:
        return self.settings.prefect.api_url

    def install(self) -> None:
        """Prefect is a Python dependency of the project, installed with the venv."""

    def start(self) -> None:
        home = self.data_dir / "home"
        home.mkdir(parents=True, exist_ok=True)
        env = {
            "PREFECT_HOME": str(home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "WARNING",
        }
        command = [
            python_bin("prefect"),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.settings.prefect.port),
        ]
        pid = spawn(command, self.log_path, self.pid_path, env=env)
        say(self.name, f"started pid {pid}, log {self.log_path}")

    def is_healthy(self) -> bool:
        return http_ok(f"{self.endpoint().rstrip('/')}/health")
