"""The contract every natively run service follows: install, start, health, stop."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from deploy.local_stack.process import is_alive, pid_file, read_pid, stop_group, wait_until
from platform_common.config import Settings


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    is_running: bool
    is_healthy: bool
    pid: int | None
    detail: str

    @property
    def state(self) -> str:
        if self.is_running and self.is_healthy:
            return "up"
        if self.is_running:
            return "unhealthy"
        return "down"


class LocalService(ABC):
    name: str
    health_probe: str

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.data_root = settings.services.data_dir.resolve()
        self.cache_root = settings.services.cache_dir.expanduser().resolve()
        self.run_dir = self.data_root / "run"
        self.log_dir = self.data_root / "logs"

    @property
    def data_dir(self) -> Path:
        return self.data_root / self.name

    @property
    def pid_path(self) -> Path:
        return pid_file(self.run_dir, self.name)

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def pid(self) -> int | None:
        return read_pid(self.pid_path)

    def is_running(self) -> bool:
        return is_alive(self.pid())

    @abstractmethod
    def install(self) -> None:
        """Make the binaries available; a no-op when they are cached."""

    @abstractmethod
    def start(self) -> None:
        """Start the process in the background (data initialised on first start)."""

    @abstractmethod
    def is_healthy(self) -> bool: ...

    @abstractmethod
    def endpoint(self) -> str: ...

    def wait_healthy(self, timeout_s: float) -> float:
        return wait_until(self.is_healthy, timeout_s, self.name, self.health_probe, self.is_running)

    def stop(self) -> bool:
        pid = self.pid()
        if not is_alive(pid):
            self.pid_path.unlink(missing_ok=True)
            return False
        assert pid is not None
        stop_group(pid)
        self.pid_path.unlink(missing_ok=True)
        return True

    def status(self) -> ServiceStatus:
        pid = self.pid()
        running = is_alive(pid)
        healthy = running and self.is_healthy()
        return ServiceStatus(self.name, running, healthy, pid if running else None, self.endpoint())
