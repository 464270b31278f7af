from __future__ import annotations

import schemas
from platform_common.topics import Family


def test_public_surface_is_pinned() -> None:
    assert sorted(schemas.__all__) == [
        "ContractViolation",
        "Family",
        "SCHEMA_ROOT",
        "catalog",
        "event_json_schema",
        "partition_key",
        "serializer",
        "to_json",
        "validate_event",
    ]
    for name in schemas.__all__:
        assert getattr(schemas, name) is not None


def test_family_is_the_platform_enum_and_catalog_and_serializer_are_cached() -> None:
    assert schemas.Family is Family
    assert schemas.catalog() is schemas.catalog()
    assert schemas.serializer() is schemas.serializer()
    assert schemas.serializer().catalog is schemas.catalog()
    assert schemas.SCHEMA_ROOT.is_dir()
    assert sorted(schemas.catalog().subjects) == sorted(family.value for family in Family)
