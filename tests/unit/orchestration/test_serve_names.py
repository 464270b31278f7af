from __future__ import annotations

from orchestration.serve import deployment_suffix
from platform_common.config import Settings


def test_default_stack_keeps_plain_deployment_names() -> None:
    assert deployment_suffix(Settings()) == ""


def test_scratch_stacks_get_their_own_deployment_names() -> None:
    settings = Settings()
    scratch = settings.model_copy(
        update={
            "kafka": settings.kafka.model_copy(update={"topic_prefix": "test_orch_ab12."}),
            "postgres": settings.postgres.model_copy(update={"database": "test_orch_ab12"}),
        }
    )
    assert deployment_suffix(scratch) == "-test_orch_ab12-test_orch_ab12"
