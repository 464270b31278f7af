"""Settings -> `LEDGERLINE_*` environment variables, so child processes see the same settings.

Tests hand the demo an isolated `Settings` object (own topic prefix, database, bucket, ports);
the long-running processes it starts read settings from the environment only, so every field
is written out, secrets included (the child processes are ours and inherit nothing else).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

from platform_common.config import ENV_PREFIX, NESTED_DELIMITER, Settings


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | set | dict):
        return json.dumps(list(value) if not isinstance(value, dict) else value, default=str)
    return str(value)


def _flatten(prefix: str, model: BaseModel, out: dict[str, str]) -> None:
    for name in type(model).model_fields:
        value = getattr(model, name)
        key = f"{prefix}{name.upper()}"
        if isinstance(value, BaseModel):
            _flatten(key + NESTED_DELIMITER, value, out)
            continue
        text = _text(value)
        if text is not None:
            out[key] = text


def settings_env(settings: Settings, **extra: Any) -> dict[str, str]:
    """Every setting as an env var; `extra` adds groups the central Settings lacks, e.g.
    `stream={"web_port": 18100}` -> LEDGERLINE_STREAM__WEB_PORT=18100."""
    out: dict[str, str] = {}
    _flatten(ENV_PREFIX, settings, out)
    for group, values in extra.items():
        for name, value in values.items():
            text = _text(value)
            if text is not None:
                out[f"{ENV_PREFIX}{group.upper()}{NESTED_DELIMITER}{name.upper()}"] = text
    return out
