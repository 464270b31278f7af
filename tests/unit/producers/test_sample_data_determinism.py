"""Same seed and parameters -> byte-identical files; a different seed -> different data."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from producers.sample_data import FORMATS, GenerationParams, generate, write_files

PARAMS = GenerationParams(customers=60, months=6, seed=5, bad_record_share=0.05, late_share=0.05)
HASH_SCRIPT = """
import hashlib, json
from producers.sample_data import GenerationParams, generate
params = GenerationParams(customers=60, months=6, seed=5, bad_record_share=0.05, late_share=0.05)
digest = hashlib.sha256()
for family, event in generate(params).events():
    digest.update(family.value.encode() + json.dumps(event, separators=(",", ":")).encode() + b"\\n")
print(digest.hexdigest())
"""


def _digests(directory: Path) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def _ndjson_hash(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted((directory / "ndjson").glob("*.ndjson")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    write_files(generate(PARAMS), first, FORMATS)
    write_files(generate(PARAMS), second, FORMATS)
    assert _ndjson_hash(first) == _ndjson_hash(second)
    digests = _digests(first)
    assert len(digests) == 2 + 4 * len(FORMATS)
    assert digests == _digests(second)


def test_different_seed_gives_different_data(tmp_path: Path) -> None:
    write_files(generate(PARAMS), tmp_path / "a")
    write_files(generate(GenerationParams(customers=60, months=6, seed=6)), tmp_path / "b")
    assert _ndjson_hash(tmp_path / "a") != _ndjson_hash(tmp_path / "b")


def test_output_does_not_depend_on_the_process_hash_seed() -> None:
    """Guards against set/dict-order or hash() leaking into the data."""
    root = Path(__file__).resolve().parents[3]
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", HASH_SCRIPT],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(root)},
            cwd=root,
        )
        for hash_seed in ("0", "4242")
    ]
    outputs = [run.communicate(timeout=120)[0].strip() for run in runs]
    assert [run.returncode for run in runs] == [0, 0]
    assert len(outputs[0]) == 64
    assert outputs[0] == outputs[1]


def test_iterating_twice_gives_equal_but_independent_events() -> None:
    result = generate(GenerationParams(customers=20, months=3, seed=1))
    first, second = list(result.events()), list(result.events())
    assert first == second
    first[0][1]["metadata"]["received_at"] = "2024-01-01T00:00:00Z"
    assert second[0][1]["metadata"]["received_at"] is None
    assert len(result) == len(first)
