from __future__ import annotations

import pytest

from platform_common.topics import Family
from schemas import partition_key, validate_event
from tests.unit.schemas.examples import EXAMPLES


@pytest.mark.parametrize("family", [Family.SUBSCRIPTION, Family.PAYMENT, Family.USAGE])
def test_customer_families_are_keyed_by_customer(family: Family) -> None:
    assert partition_key(family, EXAMPLES[family]) == b"cus_1"


def test_costs_are_keyed_by_region_and_category() -> None:
    assert partition_key("operational_cost", EXAMPLES[Family.OPERATIONAL_COST]) == b"uki/infrastructure"


@pytest.mark.parametrize("family", list(Family))
def test_json_and_avro_records_give_the_same_key(family: Family) -> None:
    assert partition_key(family, validate_event(family, EXAMPLES[family])) == partition_key(family, EXAMPLES[family])


def test_a_customers_families_share_one_key() -> None:
    keys = {partition_key(family, EXAMPLES[family]) for family in (Family.SUBSCRIPTION, Family.PAYMENT, Family.USAGE)}
    assert len(keys) == 1


def test_missing_or_empty_key_fields_are_refused() -> None:
    with pytest.raises(KeyError):
        partition_key(Family.USAGE, {"event_id": "e"})
    with pytest.raises(ValueError, match="customer_id"):
        partition_key(Family.PAYMENT, {"customer_id": ""})
    with pytest.raises(ValueError, match="category"):
        partition_key(Family.OPERATIONAL_COST, {"region_id": "na", "category": None})
