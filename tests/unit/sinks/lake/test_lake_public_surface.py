from __future__ import annotations

import typer

import sinks.lake
from platform_common.config import Settings
from sinks.lake import LakeSinkSettings, lake_settings


def test_public_surface_is_pinned() -> None:
    assert sorted(sinks.lake.__all__) == [
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
    for name in sinks.lake.__all__:
        assert getattr(sinks.lake, name) is not None
    assert isinstance(sinks.lake.lake_sink_cli, typer.Typer)
    commands = {command.name for command in sinks.lake.lake_sink_cli.registered_commands}
    assert commands == {"run", "verify", "ls"}


def test_settings_defaults_are_the_documented_ones() -> None:
    lake = LakeSinkSettings()
    assert (lake.max_batch_records, lake.max_batch_seconds, lake.codec) == (10_000, 60.0, "deflate")
    assert lake.include_quarantine is True
    assert lake.decode_mode == "full"


def test_lake_settings_falls_back_to_defaults_until_wired_and_uses_the_group_once_wired() -> None:
    assert lake_settings(Settings()) == LakeSinkSettings()
    wired = Settings().model_copy(update={"lake_sink": LakeSinkSettings(max_batch_records=7)})
    assert lake_settings(wired).max_batch_records == 7
