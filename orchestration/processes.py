"""The pipeline's long-running processes: what to start, and start / stop / status by pid file.

Gateway, stream worker(s), lake sink, warehouse sink, the flows' scheduler (`orchestration
serve`: read-model refresh every minute, daily forecast and reconcile) and query API each run in their own
session (process group) via `python -m orchestration.stages`, with pid files under
`<data_dir>/run/pipeline-<name>.pid` and logs under `<data_dir>/logs/<name>.log`. Starting is
idempotent (a live, healthy process is kept), and `stop_pipeline` signals only the groups whose
pid files it finds, never anything by name.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from deploy.local_stack.process import http_ok, is_alive, port_open, read_pid, spawn, stop_group, wait_until
from orchestration.env import settings_env
from platform_common.config import Settings

PID_PREFIX = "pipeline-"
Say = Callable[[str], None]


@dataclass(frozen=True)
class PipelinePorts:
    """/health and /metrics of every process (gateway and query API from `settings.api`)."""

    stream_web: int = 18100
    lake_metrics: int = 18093
    warehouse_metrics: int = 18092
    orchestration_metrics: int = 18300


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    args: list[str]
    host: str
    port: int
    env: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def health_url(self) -> str:
        return self.base_url + "/health"

    @property
    def metrics_url(self) -> str:
        return self.base_url + "/metrics"


def run_dir(settings: Settings) -> Path:
    return settings.services.data_dir / "run"


def log_dir(settings: Settings) -> Path:
    return settings.services.data_dir / "logs"


def pipeline_specs(
    settings: Settings,
    ports: PipelinePorts | None = None,
    reference_path: Path | None = None,
    stream_workers: int = 1,
    lake_batch_seconds: float = 10.0,
) -> list[ProcessSpec]:
    """Everything `ledgerline demo` keeps running, in start order (consumers before producers)."""
    ports = ports or PipelinePorts()
    api = settings.api
    specs = []
    for index in range(stream_workers):
        stream = {
            "web_port": ports.stream_web + index,
            "data_dir": (settings.services.data_dir / "stream" / f"worker-{index}").resolve(),
        }
        if reference_path is not None:
            stream["reference_path"] = reference_path.resolve()
        specs.append(
            ProcessSpec(
                f"stream-{index}",
                ["stream", "worker"],
                "127.0.0.1",
                ports.stream_web + index,
                settings_env(settings, stream=stream),
            )
        )
    specs.append(
        ProcessSpec(
            "lake-sink",
            [
                "lake-sink",
                "run",
                "--metrics-port",
                str(ports.lake_metrics),
                "--max-batch-seconds",
                str(lake_batch_seconds),
            ],
            "127.0.0.1",
            ports.lake_metrics,
            settings_env(settings),
        )
    )
    warehouse: dict[str, object] = {"metrics_port": ports.warehouse_metrics}
    if reference_path is not None:  # plan and region names for the dimensions
        warehouse["reference_path"] = reference_path.resolve()
    specs.append(
        ProcessSpec(
            "warehouse-sink",
            ["warehouse-sink", "run", "--metrics-port", str(ports.warehouse_metrics)],
            "127.0.0.1",
            ports.warehouse_metrics,
            settings_env(settings, warehouse_sink=warehouse),
        )
    )
    specs.append(
        ProcessSpec(
            "orchestration",
            ["orchestration", "serve", "--metrics-port", str(ports.orchestration_metrics)],
            "127.0.0.1",
            ports.orchestration_metrics,
            settings_env(settings),
        )
    )
    specs.append(
        ProcessSpec(
            "gateway",
            ["gateway", "serve", "--host", api.gateway_host, "--port", str(api.gateway_port)],
            api.gateway_host,
            api.gateway_port,
            settings_env(settings),
        )
    )
    specs.append(
        ProcessSpec(
            "query-api",
            ["query-api", "serve", "--host", api.query_host, "--port", str(api.query_port)],
            api.query_host,
            api.query_port,
            settings_env(settings),
        )
    )
    return specs


def _pid_path(settings: Settings, name: str) -> Path:
    return run_dir(settings) / f"{PID_PREFIX}{name}.pid"


def start_process(settings: Settings, spec: ProcessSpec, say: Say) -> tuple[int, bool]:
    """(pid, started): a process whose pid file points at a live process is left alone."""
    pid_path = _pid_path(settings, spec.name)
    pid = read_pid(pid_path)
    if is_alive(pid):
        assert pid is not None
        say(f"{spec.name}: already running (pid {pid})")
        return pid, False
    if port_open(spec.host, spec.port):
        raise RuntimeError(
            f"{spec.name}: {spec.host}:{spec.port} is already in use by a process this demo did not start "
            "(another demo with other settings, or a stage run by hand); stop it or choose other ports"
        )
    log_path = log_dir(settings) / f"{spec.name}.log"
    command = [sys.executable, "-m", "orchestration.stages", *spec.args]
    pid = spawn(command, log_path, pid_path, env=spec.env)
    say(f"{spec.name}: started (pid {pid}, log {log_path})")
    return pid, True


def wait_healthy(spec: ProcessSpec, pid: int, timeout_s: float) -> float:
    waited = wait_until(
        lambda: http_ok(spec.health_url, timeout_s=2.0),
        timeout_s,
        spec.name,
        f"{spec.health_url} healthy",
        alive=lambda: is_alive(pid),
    )
    if not is_alive(pid):
        raise RuntimeError(f"{spec.name}: process {pid} exited although {spec.health_url} answered")
    return waited


def start_pipeline(settings: Settings, specs: list[ProcessSpec], say: Say, timeout_s: float = 120.0) -> dict[str, int]:
    """Start what is not running, then wait until every /health answers 200."""
    pids = {spec.name: start_process(settings, spec, say)[0] for spec in specs}
    for spec in specs:
        try:
            waited = wait_healthy(spec, pids[spec.name], timeout_s)
        except (RuntimeError, TimeoutError) as error:
            tail = _tail(log_dir(settings) / f"{spec.name}.log")
            raise RuntimeError(f"{error}\n--- last lines of {spec.name}.log ---\n{tail}") from None
        say(f"{spec.name}: healthy at {spec.base_url} ({waited:.1f}s)")
    return pids


@dataclass(frozen=True)
class ProcessState:
    name: str
    pid: int | None
    alive: bool


def pipeline_state(settings: Settings) -> list[ProcessState]:
    states = []
    for path in sorted(run_dir(settings).glob(f"{PID_PREFIX}*.pid")):
        pid = read_pid(path)
        states.append(ProcessState(path.stem[len(PID_PREFIX) :], pid, is_alive(pid)))
    return states


def stop_pipeline(settings: Settings, timeout_s: float = 20.0) -> dict[str, bool]:
    """SIGTERM (then SIGKILL) each recorded process group; returns name -> was running.

    Producers stop first and consumers last, so the sinks can commit what they hold."""
    order = {"gateway": 0, "query-api": 1}
    states = sorted(pipeline_state(settings), key=lambda state: (order.get(state.name, 2), state.name))
    stopped = {}
    for state in states:
        if state.alive and state.pid is not None:
            stop_group(state.pid, timeout_s)
        _pid_path(settings, state.name).unlink(missing_ok=True)
        stopped[state.name] = state.alive
    return stopped


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
