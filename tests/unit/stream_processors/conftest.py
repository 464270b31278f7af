from __future__ import annotations

import pytest

import schemas
from stream_processors.codec import EventCodec
from stream_processors.contract import ContractChecker
from stream_processors.core import EventProcessor, ProcessorConfig
from stream_processors.reference import ReferenceData
from tests.unit.stream_processors.factory import REFERENCE


@pytest.fixture(scope="session")
def codec() -> EventCodec:
    return EventCodec(schemas.catalog())


@pytest.fixture(scope="session")
def contract() -> ContractChecker:
    return ContractChecker(schemas.catalog())


@pytest.fixture
def processor(codec: EventCodec, contract: ContractChecker) -> EventProcessor:
    return EventProcessor(codec, contract, ProcessorConfig(), ReferenceData.from_json(REFERENCE))


@pytest.fixture
def settings_stub():
    from platform_common.config import Settings

    settings = Settings()
    return settings.model_copy(update={"kafka": settings.kafka.model_copy(update={"topic_prefix": "t."})})
