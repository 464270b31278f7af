"""Starting the pipeline's processes for a test without abandoning slow /health answers.

`orchestration.processes.start_pipeline` gives each /health request 2 s and then asks again. The
warehouse sink's /health asks Kafka through its group consumer (`consumer.list_topics`), whose
requests queue behind that consumer's fetches: while the sink starts, one answer takes 3-5 s, so
every request was abandoned, the next one queued behind it, and the tests waited 10-30 s per
warehouse sink start for an answer that happened to come within 2 s. Here a request may take
`HEALTH_ANSWER_S`; everything else is `start_pipeline`'s: start what is not running, then wait
until every /health answers 200, failing the same way (with the log's last lines) when a process
exits or is not healthy within `timeout_s`.
"""

from __future__ import annotations

from deploy.local_stack.process import http_ok, is_alive, wait_until
from orchestration import processes
from orchestration.processes import ProcessSpec, Say
from platform_common.config import Settings

HEALTH_ANSWER_S = 15.0


def _tail(settings: Settings, name: str, lines: int = 40) -> str:
    path = processes.log_dir(settings) / f"{name}.log"
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


def wait_healthy(settings: Settings, spec: ProcessSpec, pid: int, timeout_s: float) -> float:
    """Seconds until `spec`'s /health answered 200 (each answer may take `HEALTH_ANSWER_S`)."""
    try:
        waited = wait_until(
            lambda: http_ok(spec.health_url, timeout_s=HEALTH_ANSWER_S),
            timeout_s,
            spec.name,
            f"{spec.health_url} healthy",
            alive=lambda: is_alive(pid),
        )
        if not is_alive(pid):
            raise RuntimeError(f"{spec.name}: process {pid} exited although {spec.health_url} answered")
    except (RuntimeError, TimeoutError) as error:
        raise RuntimeError(f"{error}\n--- last lines of {spec.name}.log ---\n{_tail(settings, spec.name)}") from None
    return waited


def start_pipeline(settings: Settings, specs: list[ProcessSpec], say: Say, timeout_s: float = 120.0) -> dict[str, int]:
    """`processes.start_pipeline`, waiting out slow /health answers (see the module docstring)."""
    pids = {spec.name: processes.start_process(settings, spec, say)[0] for spec in specs}
    for spec in specs:
        waited = wait_healthy(settings, spec, pids[spec.name], timeout_s)
        say(f"{spec.name}: healthy at {spec.base_url} ({waited:.1f}s)")
    return pids
