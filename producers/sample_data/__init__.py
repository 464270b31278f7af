"""Deterministic sample data: a realistic subscription business's event history.

`generate(params)` simulates customers, subscriptions, invoices, usage and costs from a seed;
`GenerationResult.events()` yields them in send order for a producer; `write_files` writes
NDJSON / CSV / Parquet for the batch loader with `reference.json` and `ground_truth.json`;
`generate_cli` is the `ledgerline generate` command.
"""

from __future__ import annotations

from producers.sample_data.cli import generate_cli
from producers.sample_data.generator import GenerationResult, ProgressFn, generate
from producers.sample_data.params import BadKind, GenerationParams
from producers.sample_data.writers import FORMATS, write_files

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
