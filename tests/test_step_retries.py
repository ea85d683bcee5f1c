"""A failed step's error when the step was retried, when it is named by its number only,
and when the status output spells its error column another way (SPEC §4, §5.2 step 1).

What a user sees: the verdict (status, phase, cause) and the error it quotes, which is
also runbook step 1's. Bundles are built in the shapes of the probe's repros; each runs
through ``forensics analyze --json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import CliRunner

from forensics import grammars
from forensics.cli import main
from forensics.timeline import retried_attempt

PREFIX = "Thread 115135 (ntid 16, conn id 21565)"
START = (
    f"{PREFIX}: RebalancePartitions: REBALANCE PARTITIONS ON sales started: 6 operations planned"
)
RESET = "Connection reset by peer"
OOM = (
    "Leaf Error (10.0.1.13:3306): Not enough memory available to complete the current "
    "request. The request was not processed."
)
LOCK = "Lock wait timeout exceeded; try restarting transaction"


def _bundle(root: Path, *lines: tuple[str, str]) -> Path:
    """The master aggregator's memsql.log of (level, text) lines, one second apart."""
    log = root / "10.0.1.10-MA" / "10.0.1.10_3306_memsql.log"
    log.parent.mkdir(parents=True)
    log.write_text(
        "".join(
            f"{500000000 + n * 1000000} 2026-03-10 15:00:{n:02d}.000 {level:>7}: {text}\n"
            for n, (level, text) in enumerate(lines)
        )
    )
    return root


def _analyze(root: Path, tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / f"{root.name}.json"
    result = CliRunner().invoke(main, ["analyze", str(root), "--json", str(out)])
    assert result.exit_code in (0, 1), result.output
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def _verdict(report: dict[str, Any]) -> tuple[Any, ...]:
    (verdict,) = [v for v in report["verdicts"] if v["database"] == "sales"]
    return verdict["status"], verdict["phase"], verdict["cause"]


def _error(report: dict[str, Any]) -> str:
    (verdict,) = [v for v in report["verdicts"] if v["database"] == "sales"]
    error: str = verdict["error"]
    assert error in report["recovery"][0]["detail"]  # runbook step 1 quotes it
    return error


# --- 1. a retried attempt is not the step's error ---------------------------------------

COPY = f"{PREFIX}: RebalanceStep: COPY PARTITION sales:3 TO '10.0.1.13':3306"


def test_the_error_after_the_last_attempt_decides_not_the_retried_one(tmp_path: Path) -> None:
    root = _bundle(
        tmp_path / "b",
        ("INFO", START),
        ("INFO", f"{COPY} started"),
        ("WARN", f"{COPY} failed: {RESET}; will retry (attempt 1 of 3)"),
        ("ERROR", f"{COPY} gave up after 3 attempts: {OOM}"),
    )
    report = _analyze(root, tmp_path)
    assert _verdict(report) == ("failure", "copy", "out_of_memory")
    error = _error(report)
    assert "gave up after 3 attempts" in error and "Not enough memory" in error
    assert RESET not in error
    assert "network_error" not in report["recovery"][0]["detail"]


#: (lines after the copy started, cause, text the error holds, text it must not hold)
FINAL_ERRORS = {
    # retry_first_line: "attempt 1 failed: ...; retrying", then the plain failure (1205)
    "plain line after a retried attempt": (
        [
            ("WARN", f"{COPY} attempt 1 failed: {RESET}; retrying (attempt 2 of 3)"),
            ("ERROR", f"{COPY} failed: Leaf Error (10.0.1.13:3306): {LOCK}"),
            ("ERROR", f"{PREFIX}: RebalancePartitions: REBALANCE PARTITIONS ON sales failed after 0 of 1 operations"),
        ],
        "lock_timeout", LOCK, RESET,
    ),
    # retry_oom_then_reset: OOM on attempt 1 (retried), a reset on the last attempt
    "the last attempt's reset": (
        [
            ("WARN", f"{COPY} failed (attempt 1/2): {OOM}"),
            ("ERROR", f"{COPY} failed (attempt 2/2): Leaf Error (10.0.1.13:3306): {RESET}"),
        ],
        "network_error", RESET, "memory",
    ),
    # "... aborted: ... ERROR 1712 ..." then a bare "... failed": the coded line's error
    "a bare failure line after the error": (
        [("ERROR", f"{COPY} aborted: ERROR 1712 (HY000): {OOM}"), ("ERROR", f"{COPY} failed")],
        "out_of_memory", "1712", None,
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", FINAL_ERRORS)
def test_the_steps_error_is_its_final_one(tmp_path: Path, case: str) -> None:
    lines, cause, held, not_held = FINAL_ERRORS[case]
    root = _bundle(tmp_path / "b", ("INFO", START), ("INFO", f"{COPY} started"), *lines)
    report = _analyze(root, tmp_path)
    assert _verdict(report) == ("failure", "copy", cause)
    assert held in _error(report)
    assert not_held is None or not_held not in _error(report)


def test_a_retry_with_nothing_after_it_leaves_the_step_running(tmp_path: Path) -> None:
    """The bundle was taken while the step was being retried: no failure is made up."""
    root = _bundle(
        tmp_path / "b",
        ("INFO", START),
        ("INFO", f"{COPY} started"),
        ("WARN", f"{COPY} failed: {RESET}; will retry (attempt 1 of 3)"),
    )
    report = _analyze(root, tmp_path)
    assert _verdict(report)[0] == "inconclusive"
    (rb,) = report["rebalances"]
    assert rb["outcome"] == "running"


RETRY = grammars.load("messages")["retry"]


@pytest.mark.parametrize("sample", RETRY["lines"], ids=lambda s: s["message"][-40:])
def test_retry_sample(sample: dict[str, Any]) -> None:
    frame = pl.DataFrame({"message": [sample["message"]]})
    assert frame.select(retried_attempt(pl.col("message"))).item() is sample["retried"]


def test_retry_samples_cover_both_answers() -> None:
    assert {s["retried"] for s in RETRY["lines"]} == {True, False}


# --- 2. a step named by its number only -------------------------------------------------

NUMBERED = [
    ("RebalanceStep", "step 1/6", "step 2/6"),
    ("Rebalancer", "step 1/6", "step 2/6"),
    ("RebalancePartitions", "step 1/6", "step 2/6"),
    ("Rebalance", "step 1/6", "step 2/6"),
    ("Rebalancer", "[1/6]", "[2/6]"),
    ("Rebalancer", "Step 1 of 6", "Step 2 of 6"),
    ("Rebalancer", "operation 1/6", "operation 2/6"),
    ("Rebalancer", "op 1/6", "op 2/6"),
]


@pytest.mark.parametrize(("component", "first", "second"), NUMBERED)
def test_a_failure_named_by_its_step_number_is_the_announced_steps(
    tmp_path: Path, component: str, first: str, second: str
) -> None:
    sep = "" if first.startswith("[") else ":"
    root = _bundle(
        tmp_path / "b",
        ("INFO", START),
        ("INFO", f"{PREFIX}: {component}: {first}{sep} COPY PARTITION sales:0 TO '10.0.1.14':3306 started"),
        ("INFO", f"{PREFIX}: {component}: {first} done in 19012 ms"),
        ("INFO", f"{PREFIX}: {component}: {second}{sep} PROMOTE PARTITION sales:3 ON '10.0.1.14':3306 WITH DROP started"),
        ("ERROR", f"{PREFIX}: {component}: {second} failed: {LOCK}"),
    )  # fmt: skip
    report = _analyze(root, tmp_path)
    assert _verdict(report) == ("failure", "promote", "lock_timeout")
    assert _error(report).endswith(f"{second} failed: {LOCK}")
    (rb,) = report["rebalances"]
    statuses = {(s["phase_kind"], s["ordinal"]): s["status"] for s in rb["steps"]}
    assert statuses == {("copy", 0): "success", ("promote", 3): "failed"}


def test_a_step_number_no_line_announced_is_no_failure(tmp_path: Path) -> None:
    """Not in step scope by itself: "[4/6] failed" of a step never announced (another
    component's numbering) makes no failed step and no rebalance failure."""
    root = _bundle(
        tmp_path / "b",
        ("INFO", START),
        ("INFO", f"{PREFIX}: Rebalancer: [1/6] COPY PARTITION sales:0 TO '10.0.1.14':3306 started"),
        ("ERROR", f"{PREFIX}: Rebalancer: [4/6] failed: {LOCK}"),
    )  # fmt: skip
    report = _analyze(root, tmp_path)
    assert _verdict(report)[0] == "inconclusive"
    (rb,) = report["rebalances"]
    assert rb["outcome"] == "running"


# --- 3. status table error column spelled otherwise -------------------------------------

STATUS = """mysql> SHOW REBALANCE STATUS ON sales;
+----------------+---------+-------------+-------------+-------+-----------+--------------+{bar}+
| Action         | Ordinal | Target_Host | Target_Port | Phase | Status    | Running_Time | {col:<{w}} |
+----------------+---------+-------------+-------------+-------+-----------+--------------+{bar}+
| COPY PARTITION | 0       | 10.0.1.14   | 3306        | 1     | success   | 41000        | {none:<{w}} |
| COPY PARTITION | 3       | 10.0.1.14   | 3306        | 1     | failed    | 41000        | {err:<{w}} |
| COPY PARTITION | 6       | 10.0.1.14   | 3306        | 1     | scheduled | 0            | {none:<{w}} |
+----------------+---------+-------------+-------------+-------+-----------+--------------+{bar}+
3 rows in set (0.01 sec)
"""


@pytest.mark.parametrize("column", ["Message", "Details", "Error_Details", "Reason"])
def test_a_status_error_column_named_otherwise_gives_the_cause(tmp_path: Path, column: str) -> None:
    root = _bundle(
        tmp_path / "b",
        ("INFO", START),
        ("INFO", f"{PREFIX}: RebalanceStep: COPY PARTITION sales:0 TO '10.0.1.14':3306 started"),
    )  # fmt: skip
    err = f"Leaf Error (10.0.1.14:3306): {LOCK}"
    w = len(err)
    text = STATUS.format(bar="-" * (w + 2), col=column, err=err, none="", w=w)
    (root / "10.0.1.10-MA" / "showRebalanceStatus.txt").write_text(text)
    report = _analyze(root, tmp_path)
    assert _verdict(report) == ("failure", "copy", "lock_timeout")
    assert LOCK in _error(report)


def test_a_status_column_headed_state_is_the_status(tmp_path: Path) -> None:
    """SHOW REBALANCE STATUS with `State` for `Status`: the failed row is the failure (it
    had been read as a plan, the rebalance as still running, steps 4 and 5 blocked)."""
    root = _bundle(
        tmp_path / "b",
        ("INFO", START),
        ("INFO", f"{PREFIX}: RebalanceStep: COPY PARTITION sales:0 TO '10.0.1.14':3306 started"),
    )  # fmt: skip
    err = f"Leaf Error (10.0.1.14:3306): {LOCK}"
    text = STATUS.format(bar="-" * (len(err) + 2), col="Error", err=err, none="", w=len(err))
    text = text.replace("| Status    |", "| State     |")
    (root / "10.0.1.10-MA" / "showRebalanceStatus.txt").write_text(text)
    report = _analyze(root, tmp_path)
    assert _verdict(report) == ("failure", "copy", "lock_timeout")
    assert LOCK in _error(report)
