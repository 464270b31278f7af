"""`.env.example` must document every setting, and nothing that does not exist."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from platform_common.config import Settings, env_var_name

ROOT = Path(__file__).resolve().parents[3]


def _names(model: type[BaseModel], location: tuple[str, ...]) -> set[str]:
    names: set[str] = set()
    for field_name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= _names(annotation, (*location, field_name))
        else:
            names.add(env_var_name((*location, field_name)))
    return names


def _setting_names() -> set[str]:
    return _names(Settings, ())


def test_env_example_documents_every_setting() -> None:
    documented = {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert documented == _setting_names()
