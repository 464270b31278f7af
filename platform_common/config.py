"""One settings object for every process, read from `LEDGERLINE_*` environment variables.

Settings are read lazily through `get_settings()` so importing a module never touches the
environment; tests and CLIs can change variables and call `get_settings.cache_clear()`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from platform_common.stage_config import (
    GatewaySettings,
    LakeSinkSettings,
    OrchestrationSettings,
    QuerySettings,
    StreamSettings,
    WarehouseSinkSettings,
)

ENV_PREFIX = "LEDGERLINE_"
NESTED_DELIMITER = "__"

# Development defaults that must never reach production.
DEV_SECRETS = {
    "ledgerline-dev-admin",
    "ledgerline-dev-writer",
    "ledgerline-dev-reader",
    "ledgerline-dev-secret",
    "ledgerline-dev-api-key",
    "ledgerline-dev-pepper",
}


class KafkaSettings(BaseModel):
    bootstrap_servers: str = "127.0.0.1:19092"
    controller_port: int = Field(default=19093, ge=1, le=65535)
    client_id: str = "ledgerline"
    default_partitions: int = Field(default=6, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    topic_prefix: str = ""


class PostgresSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=15432, ge=1, le=65535)
    database: str = "ledgerline"
    admin_user: str = "ledgerline_admin"
    admin_password: SecretStr = SecretStr("ledgerline-dev-admin")
    writer_user: str = "ledgerline_writer"
    writer_password: SecretStr = SecretStr("ledgerline-dev-writer")
    reader_user: str = "ledgerline_reader"
    reader_password: SecretStr = SecretStr("ledgerline-dev-reader")
    pool_min_size: int = Field(default=1, ge=0)
    pool_max_size: int = Field(default=8, ge=1)


class S3Settings(BaseModel):
    endpoint_url: str = "http://127.0.0.1:19000"
    access_key: str = "ledgerline"
    secret_key: SecretStr = SecretStr("ledgerline-dev-secret")
    region: str = "us-east-1"
    lake_bucket: str = "ledgerline-lake"


class SchemaSettings(BaseModel):
    # single_object: Avro single-object encoding (0xC3 0x01 + CRC-64-AVRO fingerprint) with the
    # schemas shipped in `schemas/`. confluent_registry is reserved for a registry deployment.
    encoding: Literal["single_object", "confluent_registry"] = "single_object"
    registry_url: str | None = None


class ApiSettings(BaseModel):
    gateway_host: str = "127.0.0.1"
    gateway_port: int = Field(default=18080, ge=1, le=65535)
    query_host: str = "127.0.0.1"
    query_port: int = Field(default=18000, ge=1, le=65535)
    bootstrap_api_key: SecretStr = SecretStr("ledgerline-dev-api-key")


class PrefectSettings(BaseModel):
    port: int = Field(default=14200, ge=1, le=65535)
    api_url: str = "http://127.0.0.1:14200/api"


class ServicesSettings(BaseModel):
    """Where the natively started services keep their data and their cached installs."""

    data_dir: Path = Path(".local")
    cache_dir: Path = Path.home() / ".cache" / "ledgerline"
    kafka_version: str = "4.1.1"
    minio_version: str = "v0.0.0-20260212201848-7aac2a2c5b7c"
    minio_console_port: int = Field(default=19001, ge=1, le=65535)
    start_timeout_s: float = Field(default=90.0, gt=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=NESTED_DELIMITER,
        env_file=".env",
        extra="ignore",
    )

    environment: Literal["dev", "test", "prod"] = "dev"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    kafka: KafkaSettings = KafkaSettings()
    postgres: PostgresSettings = PostgresSettings()
    s3: S3Settings = S3Settings()
    schemas: SchemaSettings = SchemaSettings()
    api: ApiSettings = ApiSettings()
    prefect: PrefectSettings = PrefectSettings()
    services: ServicesSettings = ServicesSettings()
    gateway: GatewaySettings = GatewaySettings()
    query: QuerySettings = QuerySettings()
    lake_sink: LakeSinkSettings = LakeSinkSettings()
    warehouse_sink: WarehouseSinkSettings = WarehouseSinkSettings()
    orchestration: OrchestrationSettings = OrchestrationSettings()
    stream: StreamSettings = StreamSettings()

    @model_validator(mode="after")
    def _refuse_dev_secrets_in_prod(self) -> Settings:
        if self.environment != "prod":
            return self
        secrets = {
            ("postgres", "admin_password"): self.postgres.admin_password,
            ("postgres", "writer_password"): self.postgres.writer_password,
            ("postgres", "reader_password"): self.postgres.reader_password,
            ("s3", "secret_key"): self.s3.secret_key,
            ("api", "bootstrap_api_key"): self.api.bootstrap_api_key,
            ("gateway", "api_key_pepper"): self.gateway.api_key_pepper,
        }
        for location, secret in secrets.items():
            if secret.get_secret_value() in DEV_SECRETS:
                raise ValueError(
                    f"{env_var_name(location)} still has its development default; "
                    "set a real secret when LEDGERLINE_ENVIRONMENT=prod"
                )
        return self


class SettingsError(RuntimeError):
    """Raised with the offending environment variable names, so operators know what to fix."""


def env_var_name(location: tuple[str | int, ...]) -> str:
    return ENV_PREFIX + NESTED_DELIMITER.join(str(part).upper() for part in location)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        problems = []
        for detail in error.errors():
            location = tuple(part for part in detail["loc"] if part != "__root__")
            name = env_var_name(location) if location else "LEDGERLINE_* settings"
            problems.append(f"{name}: {detail['msg']}")
        raise SettingsError("invalid configuration: " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
