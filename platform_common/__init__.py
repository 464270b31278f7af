"""Shared plumbing: settings, clients for Kafka / Postgres / S3, logging, metrics, health.

Stages import only from here and from `schemas`, never from each other.
"""

from platform_common.config import Settings, SettingsError, get_settings
from platform_common.health import HealthReport, run_checks
from platform_common.logging import TRACE_HEADER, configure_logging, trace_id_in, trace_id_var, trace_ids_field, traced
from platform_common.topics import (
    Family,
    TopicSpec,
    clean_topic,
    forecasts_topic,
    quarantine_topic,
    raw_topic,
)

__all__ = [
    "TRACE_HEADER",
    "Family",
    "HealthReport",
    "Settings",
    "SettingsError",
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
