"""Smoke test of the benchmark harness on a tiny bundle (``pytest -m bench``; not in ``make test``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.bench
def test_bench_runs_on_a_tiny_bundle(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run.py"),
            "--size-mb",
            "4",
            "--no-append",
            "--repeat",
            "2",
            "--out",
            str(tmp_path / "bundle"),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=300,
    ).stdout
    rows = [line for line in out.splitlines() if "forensics" in line]
    assert len(rows) == 6  # analyze and scan on plain, .gz, .zst
    assert all("found" in row for row in rows), out
