"""The service manager against a throwaway MinIO on its own port and data folder, so the shared
stack the other tests use is never disturbed."""

from __future__ import annotations

import base64
import socket
import uuid
from pathlib import Path

import pytest

from deploy.local_stack import down, status, up
from deploy.local_stack.kafka import KafkaService
from platform_common.config import Settings

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def private_minio(stack: Settings, tmp_path: Path) -> Settings:
    port, console = _free_port(), _free_port()
    return stack.model_copy(
        update={
            "s3": stack.s3.model_copy(update={"endpoint_url": f"http://127.0.0.1:{port}"}),
            "services": stack.services.model_copy(
                update={"data_dir": tmp_path / "data", "minio_console_port": console}
            ),
        }
    )


def test_up_twice_is_a_no_op_and_status_reports_a_stopped_service_as_down(private_minio: Settings) -> None:
    try:
        first = up(private_minio, ["minio"])
        assert first["minio"].startswith("started")
        pid_before = status(private_minio, ["minio"])[0].pid

        second = up(private_minio, ["minio"])
        assert second == {"minio": "already running"}
        after = status(private_minio, ["minio"])[0]
        assert after.state == "up"
        assert after.pid == pid_before
    finally:
        stopped = down(private_minio, ["minio"])
    assert stopped == {"minio": True}
    stopped_status = status(private_minio, ["minio"])[0]
    assert stopped_status.state == "down"
    assert stopped_status.pid is None
    assert down(private_minio, ["minio"]) == {"minio": False}


def test_status_of_the_shared_stack_is_up(stack: Settings) -> None:
    states = {item.name: item.state for item in status(stack, ["postgres", "kafka", "minio"])}
    assert states == {"postgres": "up", "kafka": "up", "minio": "up"}


def test_kafka_storage_formats_with_a_cluster_id_that_begins_with_a_dash(stack: Settings, tmp_path: Path) -> None:
    """About one generated id in 64 begins with "-"; the broker's format tool once took such an
    id for an option, which failed `services up` on a fresh machine."""
    service = KafkaService(
        stack.model_copy(update={"services": stack.services.model_copy(update={"data_dir": tmp_path})})
    )
    cluster_id = base64.urlsafe_b64encode(bytes([0xF8]) + uuid.uuid4().bytes[1:]).decode().rstrip("=")
    assert cluster_id.startswith("-")

    assert service.format_storage(service._configure(), cluster_id) == cluster_id

    meta = (tmp_path / "kafka" / "data" / "meta.properties").read_text()
    assert f"cluster.id={cluster_id}\n" in meta
