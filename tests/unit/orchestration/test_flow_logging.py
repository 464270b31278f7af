"""Flow runs log JSON lines, also in the process Prefect's runner spawns for a scheduled run.

That process never goes through `ledgerline`'s entry point: importing Prefect leaves only its
console handler (plain text, WARNING and up) on the root logger. Every flow body runs inside
`timed_flow`, which sets JSON logging up there, once."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

# What a spawned flow-run process looks like: Prefect imported first (its logging set up on a
# root logger without handlers of ours), then the flow's module, then two flow bodies.
CHILD = textwrap.dedent(
    """
    import json, logging
    from prefect.flow_engine import run_flow  # noqa: F401 - what a flow-run process imports
    from orchestration.prefect_env import timed_flow

    root = logging.getLogger()
    before = [type(handler).__name__ for handler in root.handlers]
    with timed_flow("probe"):
        logging.getLogger("orchestration.probe").info("inside the flow", extra={"run_id": "bf-1"})
    with timed_flow("probe"):
        logging.getLogger("orchestration.probe").warning("second run")
    after = [type(handler).__name__ for handler in root.handlers]
    print(json.dumps({"before": before, "after": after}))
    """
)


def test_a_fresh_flow_run_process_logs_json_lines_once() -> None:
    env = {**os.environ, "LEDGERLINE_LOG_LEVEL": "INFO", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    handlers = json.loads(done.stdout.strip().splitlines()[-1])
    assert handlers["before"] == ["PrefectConsoleHandler"]  # the condition the fix is for
    assert handlers["after"] == ["StreamHandler"]  # ours, once; Prefect's console handler is off the root

    lines = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]  # every line is JSON
    messages = [(line["logger"], line["message"]) for line in lines]
    assert ("orchestration.probe", "inside the flow") in messages  # INFO passes (Prefect's root: WARNING)
    assert ("orchestration.probe", "second run") in messages
    assert messages.count(("orchestration.prefect_env", "flow finished")) == 2
    inside = next(line for line in lines if line["message"] == "inside the flow")
    assert inside["run_id"] == "bf-1"
    assert inside["level"] == "info"
    assert len(messages) == len(set(messages)) + 1  # only "flow finished" repeats: nothing printed twice


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("orchestration.backfill_flow", "backfill_flow"),
        ("orchestration.forecast_flow", "forecast_flow"),
        ("orchestration.reconcile_flow", "reconcile_flow"),
        ("orchestration.refresh_flow", "refresh_flow"),
    ],
)
def test_every_flow_body_runs_inside_timed_flow(module: str, name: str) -> None:
    """The fix lives in `timed_flow`; a flow that skipped it would log plain text again."""
    flow = getattr(__import__(module, fromlist=[name]), name)
    assert "with timed_flow(" in inspect.getsource(flow.fn)
