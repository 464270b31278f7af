from __future__ import annotations

import pytest

from platform_common.config import SettingsError, env_var_name, load_settings


def test_defaults_load_in_dev(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEDGERLINE_ENVIRONMENT", raising=False)
    settings = load_settings()
    assert settings.kafka.default_partitions >= 6
    assert settings.postgres.port > 0


def test_invalid_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGERLINE_KAFKA__DEFAULT_PARTITIONS", "many")
    with pytest.raises(SettingsError, match="LEDGERLINE_KAFKA__DEFAULT_PARTITIONS"):
        load_settings()


def test_out_of_range_port_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGERLINE_POSTGRES__PORT", "70000")
    with pytest.raises(SettingsError, match="LEDGERLINE_POSTGRES__PORT"):
        load_settings()


def test_unknown_choice_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGERLINE_SCHEMAS__ENCODING", "protobuf")
    with pytest.raises(SettingsError, match="LEDGERLINE_SCHEMAS__ENCODING"):
        load_settings()


def test_prod_refuses_development_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGERLINE_ENVIRONMENT", "prod")
    with pytest.raises(SettingsError, match="LEDGERLINE_POSTGRES__ADMIN_PASSWORD"):
        load_settings()


def test_prod_accepts_real_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGERLINE_ENVIRONMENT", "prod")
    for name in (
        "POSTGRES__ADMIN_PASSWORD",
        "POSTGRES__WRITER_PASSWORD",
        "POSTGRES__READER_PASSWORD",
        "S3__SECRET_KEY",
        "API__BOOTSTRAP_API_KEY",
        "GATEWAY__API_KEY_PEPPER",
    ):
        monkeypatch.setenv(f"LEDGERLINE_{name}", f"real-{name.lower()}-value")
    settings = load_settings()
    assert settings.environment == "prod"
    assert settings.s3.secret_key.get_secret_value() == "real-s3__secret_key-value"


def test_env_var_name_is_prefixed_and_nested() -> None:
    assert env_var_name(("s3", "lake_bucket")) == "LEDGERLINE_S3__LAKE_BUCKET"
