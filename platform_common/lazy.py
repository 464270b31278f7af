"""Lazy re-exports for a package's public surface (PEP 562 module `__getattr__`).

`ledgerline` mounts every stage's typer app, so every CLI start imports every stage package.
A package whose `__init__` imported its whole surface made each start pay for pandas, aioboto3
and the rest (about 3 s before any command ran). With `lazy_exports`, `from forecaster import
run_forecast` still works and is still typed (the package imports the names under
`TYPE_CHECKING` for mypy), but the module behind a name is imported on first use.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, sources: Mapping[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package`: `sources` maps each exported name to the module
    that defines it. The first access imports that module and caches the value on `package`."""

    def module_getattr(name: str) -> Any:
        source = sources.get(name)
        if source is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(source), name)
        setattr(sys.modules[package], name, value)
        return value

    return module_getattr
