"""Process plumbing for the natively started services: pid files, waits and clean stops.

Every service is started in its own session (process group) and its pid written to
`<data_dir>/run/<name>.pid`; `down` signals only those groups, never anything it did not start.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path


def say(component: str, message: str) -> None:
    """Progress lines on stdout so a long cold install is never silent."""
    print(f"[{component}] {message}", flush=True)


def run_checked(
    command: Sequence[str], component: str, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> None:
    say(component, "$ " + " ".join(command))
    result = subprocess.run(list(command), env=dict(env) if env else None, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-30:])
        raise RuntimeError(f"{component}: command failed ({result.returncode}): {' '.join(command)}\n{tail}")


def pid_file(run_dir: Path, name: str) -> Path:
    return run_dir / f"{name}.pid"


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def is_alive(pid: int | None) -> bool:
    if pid is None or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); treat it as dead.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def spawn(
    command: Sequence[str],
    log_path: Path,
    pid_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    pid_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            list(command),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            start_new_session=True,
        )
    pid_path.write_text(f"{process.pid}\n")
    return process.pid


def stop_group(pid: int, timeout_s: float = 20.0) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left after the timeout."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + (timeout_s if sig == signal.SIGTERM else 5.0)
        while time.monotonic() < deadline:
            if not is_alive(pid):
                _reap(pid)
                return
            time.sleep(0.1)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def port_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def http_ok(url: str, timeout_s: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 - loopback
            status: int = response.status
            return 200 <= status < 300
    except Exception:  # noqa: BLE001 - any failure means "not healthy yet"
        return False


def wait_until(
    check: Callable[[], bool],
    timeout_s: float,
    component: str,
    what: str,
    alive: Callable[[], bool] | None = None,
) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if check():
            return time.monotonic() - started
        if alive is not None and not alive():
            raise RuntimeError(f"{component}: process exited while waiting for {what}")
        time.sleep(0.2)
    raise TimeoutError(f"{component}: {what} not reached within {timeout_s:.0f}s")


def python_bin(name: str) -> str:
    """A console script from the running interpreter's environment (the project venv)."""
    return str(Path(sys.executable).with_name(name))
