"""A small pipeline of our own for the orchestration tests: a scratch database, topic prefix and
bucket (module-scoped, so the backfill and reconcile tests share one pipeline run), a stream
worker, a lake sink and a warehouse sink in subprocesses on free ports, and a small sample
history loaded with the batch loader."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from orchestration import drain, processes
from orchestration.demo_data import DemoParams, PreparedData, SendReport, load_files, prepare
from orchestration.processes import PipelinePorts, ProcessSpec
from orchestration.scratch import free_port, scratch_stack
from platform_common.config import Settings

SMALL = DemoParams(customers=60, months=3, bad_share=0.01, late_share=0.0, gateway_months=0)


@dataclass
class Pipeline:
    settings: Settings
    specs: list[ProcessSpec]
    data: PreparedData

    @property
    def metrics_urls(self) -> list[str]:
        return [spec.metrics_url for spec in self.specs if spec.name.startswith("stream-")]

    def wait_drained(self, timeout_s: float = 240.0) -> drain.Progress:
        return drain.wait_drained(self.settings, self.metrics_urls, timeout_s, print, interval_s=1.0)


@pytest.fixture(scope="module")
def pipeline(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    tmp = tmp_path_factory.mktemp("orchestration")
    with scratch_stack(stack, tmp, "test_orch") as settings:
        data = prepare(SMALL, tmp, print)
        ports = PipelinePorts(free_port(), free_port(), free_port(), free_port())
        specs = [
            spec
            for spec in processes.pipeline_specs(settings, ports, data.reference_path, lake_batch_seconds=2.0)
            if spec.name not in ("gateway", "query-api", "orchestration")
        ]
        try:
            processes.start_pipeline(settings, specs, print, timeout_s=120)
            load_files(settings, data, SendReport(), print)
            running = Pipeline(settings, specs, data)
            running.wait_drained()
            yield running
        finally:
            processes.stop_pipeline(settings)
