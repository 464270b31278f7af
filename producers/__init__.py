"""Event producers: everything that puts events onto the platform's raw topics."""

from __future__ import annotations

from producers.sample_data import (
    FORMATS,
    BadKind,
    GenerationParams,
    GenerationResult,
    ProgressFn,
    generate,
    generate_cli,
    write_files,
)

__all__ = [
    "FORMATS",
    "BadKind",
    "GenerationParams",
    "GenerationResult",
    "ProgressFn",
    "generate",
    "generate_cli",
    "write_files",
]
