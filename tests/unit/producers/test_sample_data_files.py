"""File outputs for the batch loader, and the `ledgerline generate` command."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

import producers.sample_data as sample_data
from platform_common.topics import Family
from producers.sample_data import FORMATS, GenerationParams, generate, generate_cli, write_files
from schemas import to_json, validate_event

PARAMS = GenerationParams(customers=40, months=4, seed=3, bad_record_share=0.05)


def test_public_surface_is_pinned() -> None:
    assert sorted(sample_data.__all__) == [
        "BadKind",
        "FORMATS",
        "GenerationParams",
        "GenerationResult",
        "ProgressFn",
        "generate",
        "generate_cli",
        "write_files",
    ]


def test_all_formats_hold_the_same_messages(tmp_path: Path) -> None:
    result = generate(PARAMS)
    written = write_files(result, tmp_path, FORMATS)
    assert all(path.exists() for path in written)
    assert json.loads((tmp_path / "ground_truth.json").read_text()) == result.ground_truth
    assert json.loads((tmp_path / "reference.json").read_text()) == result.reference
    for family in Family:
        expected = [event for event_family, event in result.events() if event_family is family]
        lines = (tmp_path / "ndjson" / f"{family.value}.ndjson").read_text().splitlines()
        assert [json.loads(line) for line in lines] == expected

        with (tmp_path / "csv" / f"{family.value}.csv").open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) == len(expected)
        assert "metadata.producer" in rows[0]
        if family is Family.SUBSCRIPTION:
            assert {"discount.kind", "discount.percent_basis_points"} <= set(rows[0])
        for row, event in zip(rows, expected, strict=True):
            assert row["event_id"] == event.get("event_id", "")
            assert row["metadata.producer"] == event.get("metadata", {}).get("producer", "")

        frame = pl.read_parquet(tmp_path / "parquet" / f"{family.value}.parquet")
        assert frame.height == len(expected)
        for row, event in zip(frame.to_dicts(), expected, strict=True):
            if all(value is not None for key, value in row.items() if key in event) and len(event) == len(row):
                try:
                    record = validate_event(family, row)
                except ValueError:
                    continue  # an injected bad record
                assert to_json(record) == event


def test_parquet_money_and_time_columns_are_typed(tmp_path: Path) -> None:
    write_files(generate(PARAMS), tmp_path, ["parquet"])
    schema = pl.read_parquet_schema(tmp_path / "parquet" / "payment.parquet")
    assert schema["amount_minor"] == pl.Int64
    assert schema["event_time"] == pl.Datetime("us", "UTC")
    assert schema["service_period_start"] == pl.Date
    assert isinstance(schema["metadata"], pl.Struct)


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="xml"):
        write_files(generate(GenerationParams(customers=2, months=1)), tmp_path, ["xml"])


def test_cli_mounted_as_a_sub_command(tmp_path: Path) -> None:
    app = typer.Typer()
    app.add_typer(generate_cli, name="generate")

    @app.command()
    def other() -> None:
        """Keeps `app` a group, as the real CLI is."""

    out = tmp_path / "out"
    arguments = ["generate", "--customers", "15", "--months", "2", "--seed", "9", "--out", str(out)]
    result = CliRunner().invoke(app, [*arguments, "--format", "csv", "--format", "parquet", "--bad-share", "0.1"])
    assert result.exit_code == 0, result.output
    assert (out / "csv" / "usage.csv").exists()
    assert (out / "parquet" / "payment.parquet").exists()
    assert not (out / "ndjson").exists()
    truth = json.loads((out / "ground_truth.json").read_text())
    assert truth["generator"]["params"]["customers"] == 15
    assert truth["bad_records"]["share"] == 0.1


def test_cli_rejects_invalid_parameters(tmp_path: Path) -> None:
    result = CliRunner().invoke(generate_cli, ["--start-date", "2024-01-15", "--out", str(tmp_path)])
    assert result.exit_code != 0
    assert "first day of a month" in " ".join(result.output.replace("│", " ").split())
