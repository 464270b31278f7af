"""The lake sink: every raw and quarantine record, byte for byte, in write-once Avro objects.

Writing: `LakeSink` (run by `lake_sink_cli run`). Reading, for backfill and reconcile:
`list_objects`, `read_object`, `iter_manifests`, `verify` (or a `LakeReader` to reuse one client).
"""

from typing import TYPE_CHECKING

from platform_common.lazy import lazy_exports
from sinks.lake.cli import lake_sink_cli

if TYPE_CHECKING:
    from sinks.lake.envelope import LAKE_RECORD_SCHEMA, LakeHeader, LakeRecord
    from sinks.lake.layout import LakeObject, manifest_key, object_key
    from sinks.lake.manifest import Manifest
    from sinks.lake.reader import LakeReader, iter_manifests, list_objects, read_object
    from sinks.lake.settings import LakeSinkSettings, lake_settings
    from sinks.lake.sink import LakeSink, SinkStats
    from sinks.lake.verify import Problem, VerifyReport, verify

__all__ = [
    "LAKE_RECORD_SCHEMA",
    "LakeHeader",
    "LakeObject",
    "LakeReader",
    "LakeRecord",
    "LakeSink",
    "LakeSinkSettings",
    "Manifest",
    "Problem",
    "SinkStats",
    "VerifyReport",
    "iter_manifests",
    "lake_settings",
    "lake_sink_cli",
    "list_objects",
    "manifest_key",
    "object_key",
    "read_object",
    "verify",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "LAKE_RECORD_SCHEMA": "sinks.lake.envelope",
        "LakeHeader": "sinks.lake.envelope",
        "LakeRecord": "sinks.lake.envelope",
        "LakeObject": "sinks.lake.layout",
        "manifest_key": "sinks.lake.layout",
        "object_key": "sinks.lake.layout",
        "Manifest": "sinks.lake.manifest",
        "LakeReader": "sinks.lake.reader",
        "iter_manifests": "sinks.lake.reader",
        "list_objects": "sinks.lake.reader",
        "read_object": "sinks.lake.reader",
        "LakeSinkSettings": "sinks.lake.settings",
        "lake_settings": "sinks.lake.settings",
        "LakeSink": "sinks.lake.sink",
        "SinkStats": "sinks.lake.sink",
        "Problem": "sinks.lake.verify",
        "VerifyReport": "sinks.lake.verify",
        "verify": "sinks.lake.verify",
    },
)
