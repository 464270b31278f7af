from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sinks.lake.layout import (
    data_key_of_manifest,
    hour_bucket,
    manifest_key,
    object_key,
    parse_key,
    topic_families,
)


def test_key_is_partitioned_by_family_date_hour_and_named_by_start_offset_only() -> None:
    bucket = hour_bucket(int(datetime(2024, 5, 1, 13, 59, 59, tzinfo=UTC).timestamp() * 1000))
    key = object_key("payment", bucket, "p.events.payment.raw", 3, 1200)
    assert key == "family=payment/date=2024-05-01/hour=13/p.events.payment.raw+00003+00000000000000001200.avro"
    parsed = parse_key(key)
    assert (parsed.family, parsed.topic, parsed.partition, parsed.start_offset) == (
        "payment",
        "p.events.payment.raw",
        3,
        1200,
    )
    assert parsed.hour == datetime(2024, 5, 1, 13, tzinfo=UTC)


def test_keys_sort_in_offset_order_within_a_partition_hour() -> None:
    keys = [object_key("usage", 10, "events.usage.raw", 0, offset) for offset in (9, 10, 100, 99999)]
    assert keys == sorted(keys)


def test_missing_timestamps_go_to_the_epoch_hour_deterministically() -> None:
    assert hour_bucket(-1) == 0
    assert object_key("usage", hour_bucket(-1), "t", 0, 0).startswith("family=usage/date=1970-01-01/hour=00/")


def test_manifest_key_mirrors_the_object_key() -> None:
    key = object_key("usage", 5, "events.usage.raw", 0, 7)
    assert manifest_key(key) == f"_manifests/{key}.json"
    assert data_key_of_manifest(manifest_key(key)) == key
    with pytest.raises(ValueError, match="not a manifest"):
        data_key_of_manifest(key)
    with pytest.raises(ValueError, match="not a lake object"):
        parse_key("family=usage/whatever.avro")


def test_quarantine_is_archived_under_its_own_family_partition() -> None:
    families = topic_families("x.")
    assert families["x.quarantine"] == "quarantine"
    assert families["x.events.subscription.raw"] == "subscription"
    assert "x.quarantine" not in topic_families("x.", include_quarantine=False)
