"""`lazy_exports`: a package's surface resolves on first use, and `ledgerline` starts without
importing what only some commands need (pandas and statsforecast, the S3 clients)."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

from platform_common.lazy import lazy_exports


def test_a_name_is_imported_on_first_use_and_cached() -> None:
    package = types.ModuleType("lazy_probe")
    sys.modules["lazy_probe"] = package
    try:
        setattr(package, "__getattr__", lazy_exports("lazy_probe", {"sqrt": "math", "dumps": "json"}))  # noqa: B010
        import math

        assert package.sqrt is math.sqrt
        assert "sqrt" in vars(package)  # cached: the next access is a plain attribute
        with pytest.raises(AttributeError, match="has no attribute 'nope'"):
            _ = package.nope
    finally:
        del sys.modules["lazy_probe"]


def test_the_cli_starts_without_the_heavy_imports() -> None:
    heavy = ["pandas", "statsforecast", "aioboto3", "boto3", "faust", "prefect"]
    code = f"import sys, ledgerline.cli; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("package", ["forecaster", "sinks.lake", "sinks.warehouse"])
def test_every_exported_name_resolves(package: str) -> None:
    code = f"import {package} as p; missing = [n for n in p.__all__ if getattr(p, n, None) is None]; print(missing)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"
