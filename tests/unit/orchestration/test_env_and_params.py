from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import SecretStr

from orchestration.backfill import BackfillRequest, OffsetRange
from orchestration.backfill_flow import build_request, parse_offsets
from orchestration.demo_data import DemoParams, _cutoff
from orchestration.env import settings_env
from platform_common.config import Settings
from platform_common.topics import Family


def test_settings_env_round_trips_an_isolated_settings_object(monkeypatch: pytest.MonkeyPatch) -> None:
    base = Settings()
    isolated = base.model_copy(
        update={
            "kafka": base.kafka.model_copy(update={"topic_prefix": "test-abc."}),
            "postgres": base.postgres.model_copy(
                update={"database": "ledgerline_test_abc", "writer_password": SecretStr("s3cret")}
            ),
            "api": base.api.model_copy(update={"gateway_port": 31234}),
            "stream": base.stream.model_copy(update={"web_port": 31999}),
        }
    )
    env = settings_env(isolated, stream={"web_port": 31999})
    assert env["LEDGERLINE_KAFKA__TOPIC_PREFIX"] == "test-abc."
    assert env["LEDGERLINE_POSTGRES__WRITER_PASSWORD"] == "s3cret"
    assert env["LEDGERLINE_STREAM__WEB_PORT"] == "31999"
    for key in [k for k in list(__import__("os").environ) if k.startswith("LEDGERLINE_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    rebuilt = Settings(_env_file=None)  # type: ignore[call-arg]
    assert rebuilt.model_dump() == isolated.model_dump()
    assert rebuilt.postgres.writer_password.get_secret_value() == "s3cret"


def test_demo_cutoff_leaves_the_last_months_for_the_gateway() -> None:
    assert _cutoff(DemoParams(months=24, gateway_months=1)) == date(2024, 12, 1)
    assert _cutoff(DemoParams(months=6, gateway_months=2, start_date=date(2023, 11, 1))) == date(2024, 3, 1)
    assert DemoParams().fingerprint == DemoParams().fingerprint
    assert DemoParams(customers=150).fingerprint != DemoParams().fingerprint


def test_backfill_run_id_is_a_function_of_the_request_and_prefix() -> None:
    settings = Settings()
    other = settings.model_copy(update={"kafka": settings.kafka.model_copy(update={"topic_prefix": "x."})})
    start = datetime(2024, 1, 1, tzinfo=UTC)
    request = BackfillRequest((Family.PAYMENT,), "kafka", start, None)
    assert request.run_id(settings) == BackfillRequest((Family.PAYMENT,), "kafka", start, None).run_id(settings)
    assert request.run_id(settings) != request.run_id(other)
    assert request.run_id(settings) != BackfillRequest((Family.PAYMENT,), "lake", start, None).run_id(settings)
    assert request.run_id(settings).startswith("bf-")


def test_backfill_request_validation() -> None:
    with pytest.raises(ValueError, match="timezone"):
        BackfillRequest((Family.USAGE,), "kafka", datetime(2024, 1, 1), None)
    with pytest.raises(ValueError, match="before"):
        BackfillRequest((Family.USAGE,), "kafka", datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="not both"):
        BackfillRequest(
            (Family.USAGE,),
            "kafka",
            datetime(2024, 1, 1, tzinfo=UTC),
            None,
            (OffsetRange(Family.USAGE, 0, 0, 10),),
        )
    with pytest.raises(ValueError, match="source"):
        build_request(["usage"], "s3", None, None, [])


def test_parse_offsets() -> None:
    assert parse_offsets(["payment:3:100-250"]) == (OffsetRange(Family.PAYMENT, 3, 100, 250),)
    with pytest.raises(ValueError, match="family:partition:start-end"):
        parse_offsets(["payment:3"])
    request = build_request([], "kafka", None, None, ["usage:1:5-9"])
    assert request.all_families == (Family.USAGE,)


def test_gateway_batches_keep_family_order_and_send_subscriptions_first() -> None:
    from orchestration.demo_data import gateway_batches

    events = []
    for index in range(25):
        events.append((Family.SUBSCRIPTION, {"n": index}))
        events.append((Family.PAYMENT, {"n": index}))
        events.append((Family.USAGE, {"n": index}))
    batches = gateway_batches(events, size=10)
    assert all(len(batch) <= 10 for _, batch in batches)
    for family in (Family.SUBSCRIPTION, Family.PAYMENT, Family.USAGE):
        sent = [event["n"] for fam, batch in batches if fam is family for event in batch]
        assert sent == list(range(25))
    first_payment = next(i for i, (fam, _) in enumerate(batches) if fam is Family.PAYMENT)
    assert batches[first_payment - 1][0] is Family.SUBSCRIPTION
