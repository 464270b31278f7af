"""MinIO built from source with `go install` at a pinned version, the binary cached per version."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlparse

from deploy.local_stack.base import LocalService
from deploy.local_stack.process import http_ok, run_checked, say, spawn

MODULE = "github.com/minio/minio"


def _go() -> str:
    found = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if found is None:
        raise RuntimeError("minio: Go is required to build MinIO (`go install`)")
    return found


class MinioService(LocalService):
    name = "minio"
    health_probe = "/minio/health/live"

    @property
    def binary(self) -> Path:
        return self.cache_root / "bin" / f"minio-{self.settings.services.minio_version}" / "minio"

    @property
    def address(self) -> tuple[str, int]:
        parsed = urlparse(self.settings.s3.endpoint_url)
        return parsed.hostname or "127.0.0.1", parsed.port or 9000

    def endpoint(self) -> str:
        return self.settings.s3.endpoint_url

    def install(self) -> None:
        if self.binary.exists():
            return
        version = self.settings.services.minio_version
        say(self.name, f"building MinIO {version} with go install (a few minutes on a cold machine)")
        self.binary.parent.mkdir(parents=True, exist_ok=True)
        run_checked(
            [_go(), "install", "-trimpath", f"{MODULE}@{version}"],
            self.name,
            env={**os.environ, "GOBIN": str(self.binary.parent), "CGO_ENABLED": "0"},
        )

    def start(self) -> None:
        host, port = self.address
        (self.data_dir / "data").mkdir(parents=True, exist_ok=True)
        env = {
            "MINIO_ROOT_USER": self.settings.s3.access_key,
            "MINIO_ROOT_PASSWORD": self.settings.s3.secret_key.get_secret_value(),
            "MINIO_BROWSER": "off",
            "MINIO_UPDATE": "off",
            "MINIO_PROMETHEUS_AUTH_TYPE": "public",
        }
        command = [
            str(self.binary),
            "server",
            str(self.data_dir / "data"),
            "--address",
            f"{host}:{port}",
            "--console-address",
            f"{host}:{self.settings.services.minio_console_port}",
            "--quiet",
        ]
        pid = spawn(command, self.log_path, self.pid_path, env=env)
        say(self.name, f"started pid {pid}, log {self.log_path}")

    def is_healthy(self) -> bool:
        return http_ok(f"{self.endpoint().rstrip('/')}/minio/health/live")
