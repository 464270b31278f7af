"""Batch loader: CSV / NDJSON / Parquet files onto the raw topics, resumable, with rejects."""

from producers.loader.checkpoint import CheckpointMismatch
from producers.loader.cli import produce, produce_cli
from producers.loader.run import LoadError, LoadSummary, load_file

__all__ = ["CheckpointMismatch", "LoadError", "LoadSummary", "load_file", "produce", "produce_cli"]
