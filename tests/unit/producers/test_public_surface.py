from __future__ import annotations

import producers
import producers.gateway
import producers.loader


def test_public_surface_is_pinned() -> None:
    assert sorted(producers.__all__) == [
        "BadKind",
        "EventProducer",
        "FORMATS",
        "GatewaySettings",
        "GenerationParams",
        "GenerationResult",
        "LoadSummary",
        "OutgoingEvent",
        "ProduceError",
        "ProgressFn",
        "create_api_key",
        "create_app",
        "ensure_bootstrap_api_key",
        "gateway_cli",
        "generate",
        "generate_cli",
        "load_file",
        "prepare_event",
        "produce",
        "produce_cli",
        "write_files",
    ]
    for module in (producers, producers.gateway, producers.loader):
        for name in module.__all__:
            assert getattr(module, name) is not None


def test_every_sample_data_export_is_re_exported() -> None:
    import producers.sample_data as sample_data

    assert set(sample_data.__all__) <= set(producers.__all__)


def test_every_export_has_a_lazy_home_and_resolves() -> None:
    from producers import _MODULE_OF

    assert set(_MODULE_OF) == set(producers.__all__)
    assert producers.gateway_cli is producers.gateway.gateway_cli
