"""Columnar validation and Avro encoding for the batch loader (whole batches, not rows)."""

from producers.columnar.avro import encode_frame
from producers.columnar.frames import Flat, arrow_schema, ndjson, tabular
from producers.columnar.plan import Plan, Unsupported, plan_for
from producers.columnar.validate import Checked, check

__all__ = [
    "Checked",
    "Flat",
    "Plan",
    "Unsupported",
    "arrow_schema",
    "check",
    "encode_frame",
    "ndjson",
    "plan_for",
    "tabular",
]
