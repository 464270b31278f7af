from __future__ import annotations

import platform_common


def test_public_surface_is_pinned() -> None:
    assert sorted(platform_common.__all__) == [
        "Family",
        "HealthReport",
        "Settings",
        "SettingsError",
        "TRACE_HEADER",
        "TopicSpec",
        "clean_topic",
        "configure_logging",
        "forecasts_topic",
        "get_settings",
        "quarantine_topic",
        "raw_topic",
        "run_checks",
        "trace_id_in",
        "trace_id_var",
        "trace_ids_field",
        "traced",
    ]
    for name in platform_common.__all__:
        assert getattr(platform_common, name) is not None
