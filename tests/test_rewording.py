"""Rewording a rebalance step line (same tokens, another sentence) must not change the verdict.

The tracelog wording of rebalance steps is not public, so the parser matches tokens. This
test rewrites every step line of a fixture — the outcome word moves to the front, in
another case, and the filler around it changes — and checks that the verdicts stay put.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

import forensics
from forensics.cli import main

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
# plain-folder fixtures: their tracelogs can be rewritten in place
SCENARIOS = [
    "logs_only_promote_failure",
    "copy_out_of_memory",
    "drop_storage_error",
    "promote_resource_pressure",
    "data_at_risk_orphan_only_copy",
]
OUTCOME = re.compile(
    r"\b(failed|failure|aborted|interrupted|timed out|completed|complete|finished|succeeded|done|"
    r"started|starting|beginning|begin|executing|issuing)\b",
    re.IGNORECASE,
)
LAYOUT = re.compile(
    r"^(?P<head>(?:\d+\s+)?\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+\s+[A-Z]+: )"
    r"(?P<thread>Thread \d+(?: \([^)]*\))?: )?(?P<rest>.*)$"
)


def reword(line: str) -> str:
    """Move the outcome word to the front in capitals and reshuffle the filler."""
    m = LAYOUT.match(line)
    if not m:
        return line
    rest = m["rest"]
    outcome = OUTCOME.search(rest)
    if outcome is None:
        return line
    body = (rest[: outcome.start()] + rest[outcome.end() :]).strip(" ,;-")
    body = re.sub(r"\s{2,}", " ", body).replace("Step ", "op ").replace("step ", "op ")
    return f"{m['head']}{m['thread'] or ''}{outcome.group(0).upper()} :: {body}"


def _step_lines(bundle_dir: Path) -> dict[str, set[int]]:
    events = forensics.load_bundle(bundle_dir).events.filter(pl.col("step_event").is_not_null())
    out: dict[str, set[int]] = {}
    for file, line in events.select("file", "line").iter_rows():
        out.setdefault(file.split("/", 1)[1], set()).add(line)
    return out


def _rewrite(path: Path, lines: set[int]) -> int:
    raw = path.read_bytes()
    gz = raw[:2] == b"\x1f\x8b"
    text = (gzip.decompress(raw) if gz else raw).decode("utf-8")
    rows = text.split("\n")
    changed = 0
    for number in lines:
        new = reword(rows[number - 1])
        changed += new != rows[number - 1]
        rows[number - 1] = new
    data = "\n".join(rows).encode("utf-8")
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return changed


def _verdicts(bundle: Path) -> list[tuple[object, ...]]:
    result = CliRunner().invoke(main, ["analyze", str(bundle), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    doc = json.loads(result.stdout)
    return sorted((v["database"], v["status"], v["phase"], v["cause"]) for v in doc["verdicts"])


def test_reword_keeps_tokens() -> None:
    line = (
        "382261827 2026-03-02 10:00:00.000   INFO: Thread 7: Step 3/32: copying partition "
        "orders:5 on 10.0.1.13:3306 started"
    )
    assert reword(line).endswith("STARTED :: op 3/32: copying partition orders:5 on 10.0.1.13:3306")


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_reworded_step_lines_give_the_same_verdict(scenario: str, tmp_path: Path) -> None:
    original = FIXTURES / scenario
    copy = tmp_path / scenario
    shutil.copytree(original, copy)
    changed = sum(_rewrite(copy / rel, lines) for rel, lines in _step_lines(original).items())
    assert changed >= 5, "the fixture should have step lines to reword"
    assert _verdicts(copy) == _verdicts(original)
