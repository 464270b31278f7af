"""The lake sink: every raw and quarantine record, byte for byte, in write-once Avro objects.

Writing: `LakeSink` (run by `lake_sink_cli run`). Reading, for backfill and reconcile:
`list_objects`, `read_object`, `iter_manifests`, `verify` (or a `LakeReader` to reuse one client).
"""

from sinks.lake.cli import lake_sink_cli
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
