"""Runs of one database in one bundle (SPEC §4.1): where an earlier run ends when it has
no rebalance-level outcome line, and which earlier runs ``forensics scan`` reports.

A run starts at a start line; the run before it ended when it has lines since its own
start (or, for the first start line, an end line, a step failure not retried, or a
restart of the node that runs it). A restarted aggregator does not resume a rebalance.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
from click.testing import CliRunner

from forensics import analyze
from forensics.cli import main

ENOSPC = (
    "Leaf Error (10.0.0.14:3306): Error writing file '/var/lib/memsql/data/crm_2/snap' "
    '(errno: 28 "No space left on device")'
)
COPY = "RebalanceStep: COPY PARTITION {db}:{n} TO '10.0.0.14':3306"
PROMOTE = "RebalanceStep: PROMOTE PARTITION {db}:{n} ON '10.0.0.14':3306 WITH DROP"


def _log(root: Path, *lines: tuple[int, str, str]) -> Path:
    """The master aggregator's memsql.log of ``lines`` (uptime in s, 'date time  LEVEL',
    text): an uptime that goes back is a restart of the node."""
    log = root / "10.0.0.10_3306" / "memsql.log"
    log.parent.mkdir(parents=True)
    log.write_text("".join(f"{up * 1_000_000} {when}: {text}\n" for up, when, text in lines))
    return root


def _scan(root: Path, tmp_path: Path) -> list[tuple[Any, ...]]:
    out = tmp_path / f"{root.name}.parquet"  # (scan adds to an existing output)
    result = CliRunner().invoke(main, ["scan", str(root), "-o", str(out)])
    assert result.exit_code in (0, 1), result.output
    rows = pl.read_parquet(out).sort("time")
    return rows.select("database", "phase", "cause", pl.col("time").cast(pl.String)).rows()


def _analyze(root: Path) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["analyze", str(root), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def _step_failed_then_rerun(root: Path) -> Path:
    """a1 stepfail_then_ok: the copy fails (no rebalance failure line); the next day's
    run succeeds."""
    copy, promote = COPY.format(db="crm", n=2), PROMOTE.format(db="crm", n=2)
    return _log(
        root,
        (100, "2026-03-04 01:11:50.664355    INFO", "Thread 1: Rebalance: REBALANCE PARTITIONS ON crm started (2 steps)"),
        (101, "2026-03-04 01:11:51.664355    INFO", f"Thread 2: {copy} started"),
        (301, "2026-03-04 01:15:11.664355   ERROR", f"Thread 2: {copy} failed: {ENOSPC}"),
        (86500, "2026-03-05 01:11:50.664355    INFO", "Thread 1: Rebalance: REBALANCE PARTITIONS ON crm started (2 steps)"),
        (86501, "2026-03-05 01:11:51.664355    INFO", f"Thread 2: {copy} started"),
        (86541, "2026-03-05 01:12:31.664355    INFO", f"Thread 2: {copy} completed in 40000 ms"),
        (86542, "2026-03-05 01:12:32.664355    INFO", f"Thread 2: {promote} started"),
        (86545, "2026-03-05 01:12:35.664355    INFO", f"Thread 2: {promote} completed in 3000 ms"),
        (86546, "2026-03-05 01:12:36.664355    INFO", "Thread 1: Rebalance: REBALANCE PARTITIONS ON crm completed, 2 steps succeeded"),
    )  # fmt: skip


def test_a_step_failure_without_a_rebalance_failure_line_ends_its_run(tmp_path: Path) -> None:
    """It was: no incident (the two runs read as one, which succeeded), and the copy
    shown started on day 1 and succeeded on day 2."""
    root = _step_failed_then_rerun(tmp_path / "b")
    assert _scan(root, tmp_path) == [
        ("crm", "copy", "storage_error", "2026-03-04 01:15:11.664355+00:00")
    ]
    report = _analyze(root)
    latest = report["rebalances"][-1]
    assert latest["outcome"] == "succeeded"
    assert [s["started_at"][:10] for s in latest["steps"]] == ["2026-03-05", "2026-03-05"]
    assert any("an earlier rebalance of crm failed at 2026-03-04 01:15:11" in w
               for w in report["warnings"])  # fmt: skip


def _crash_during_promote(root: Path, *later: tuple[int, str, str]) -> Path:
    """a1 crash_then_ok: the master aggregator dies during the PROMOTE (signal 11, then
    its uptime counter starts again); ``later``: what it logs after it came back."""
    copy, promote = COPY.format(db="web", n=0), PROMOTE.format(db="web", n=0)
    return _log(
        root,
        (940310, "2026-03-08 03:11:50.664355    INFO", "Thread 1: Rebalance: REBALANCE PARTITIONS ON web started (2 steps)"),
        (940311, "2026-03-08 03:11:51.664355    INFO", f"Thread 2: {copy} started"),
        (940351, "2026-03-08 03:12:31.664355    INFO", f"Thread 2: {copy} completed in 40000 ms"),
        (940352, "2026-03-08 03:12:32.664355    INFO", f"Thread 3: {promote} started"),
        (940354, "2026-03-08 03:12:34.664355 FAILURE", "Thread 3: Signal: Caught signal 11 (SIGSEGV), dumping core"),
        (45, "2026-03-08 03:13:49.664355    INFO", "Thread 99: Main: Starting MemSQL server version 8.9.12"),
        *later,
    )  # fmt: skip


PROMOTED_NEXT_DAY = (
    (86500, "2026-03-09 03:13:04.664355    INFO", "Thread 1: Rebalance: REBALANCE PARTITIONS ON web started (1 steps)"),
    (86501, "2026-03-09 03:13:05.664355    INFO", f"Thread 1: {PROMOTE.format(db='web', n=0)} started"),
    (86504, "2026-03-09 03:13:08.664355    INFO", f"Thread 1: {PROMOTE.format(db='web', n=0)} completed in 3000 ms"),
    (86505, "2026-03-09 03:13:09.664355    INFO", "Thread 1: Rebalance: REBALANCE PARTITIONS ON web completed, 1 steps succeeded"),
)  # fmt: skip


def test_a_run_interrupted_by_a_crash_of_its_aggregator_is_an_incident(tmp_path: Path) -> None:
    """It was: no incident when a later run succeeded (the restart was weighed against
    the latest run only); alone, the crash was promote / node_failure."""
    alone = _crash_during_promote(tmp_path / "alone")
    expected = [("web", "promote", "node_failure", "2026-03-08 03:12:34.664355+00:00")]
    assert _scan(alone, tmp_path) == expected
    rerun = _crash_during_promote(tmp_path / "rerun", *PROMOTED_NEXT_DAY)
    assert _scan(rerun, tmp_path) == expected
    report = _analyze(rerun)
    assert report["rebalances"][-1]["outcome"] == "succeeded"
    assert any("an earlier rebalance of web was interrupted by a restart of 10.0.0.10:3306" in w
               for w in report["warnings"])  # fmt: skip


def test_lines_after_a_restart_of_the_aggregator_are_a_new_run(tmp_path: Path) -> None:
    """No start line after the restart: the steps it logs then are a new run (a
    restarted aggregator does not resume a rebalance), not the crashed one going on."""
    promote = PROMOTE.format(db="web", n=0)
    root = _crash_during_promote(
        tmp_path / "b",
        (86501, "2026-03-09 03:13:05.664355    INFO", f"Thread 1: {promote} started"),
        (86504, "2026-03-09 03:13:08.664355    INFO", f"Thread 1: {promote} completed in 3000 ms"),
    )  # fmt: skip
    assert _scan(root, tmp_path) == [
        ("web", "promote", "node_failure", "2026-03-08 03:12:34.664355+00:00")
    ]
    latest = _analyze(root)["rebalances"][-1]
    assert (latest["outcome"], len(latest["steps"])) == ("succeeded", 1)


def test_a_retried_step_is_no_new_run(tmp_path: Path) -> None:
    """A step that failed and succeeded on attempt 2 within one run: one run that
    succeeded, no incident and no "earlier rebalance"."""
    copy = COPY.format(db="sales", n=3)
    root = _log(
        tmp_path / "b",
        (100, "2026-03-04 10:00:00.000    INFO", "Thread 1: REBALANCE PARTITIONS ON sales started"),
        (101, "2026-03-04 10:00:01.000    INFO", f"Thread 2: {copy} started"),
        (120, "2026-03-04 10:00:20.000    WARN", f"Thread 2: {copy} failed: Connection reset by peer; will retry (attempt 1 of 3)"),
        (121, "2026-03-04 10:00:21.000    INFO", f"Thread 2: {copy} started"),
        (160, "2026-03-04 10:01:00.000    INFO", f"Thread 2: {copy} succeeded on attempt 2"),
        (161, "2026-03-04 10:01:01.000    INFO", "Thread 1: REBALANCE PARTITIONS ON sales completed"),
    )  # fmt: skip
    assert _scan(root, tmp_path) == []
    report = _analyze(root)
    assert [v["status"] for v in report["verdicts"]] == ["no_failure"]
    assert not any("earlier rebalance" in w for w in report["warnings"])


def test_a_new_start_while_a_run_is_open_ends_it(tmp_path: Path) -> None:
    """The first run has no outcome line and no failure: it ended unseen when the next
    started. Its steps are not the latest run's; no outcome is made up for it. Two start
    lines with nothing between them are one run."""
    copy = COPY.format(db="sales", n=3)
    root = _log(
        tmp_path / "b",
        (100, "2026-03-04 10:00:00.000    INFO", "Thread 1: REBALANCE PARTITIONS ON sales started"),
        (101, "2026-03-04 10:00:01.000    INFO", f"Thread 2: {copy} started"),
        (3700, "2026-03-04 11:00:00.000    INFO", "Thread 1: REBALANCE PARTITIONS ON sales started"),
        (3700, "2026-03-04 11:00:00.100    INFO", "Thread 1: Beginning rebalance of database sales (1 steps)"),
        (3701, "2026-03-04 11:00:01.000    INFO", f"Thread 2: {copy} started"),
        (3740, "2026-03-04 11:00:40.000    INFO", f"Thread 2: {copy} completed"),
        (3741, "2026-03-04 11:00:41.000    INFO", "Thread 1: REBALANCE PARTITIONS ON sales completed"),
    )  # fmt: skip
    assert _scan(root, tmp_path) == []
    report = _analyze(root)
    (latest,) = report["rebalances"]
    assert latest["outcome"] == "succeeded"
    assert latest["steps"][0]["started_at"] == "2026-03-04T11:00:01+00:00"
    (note,) = [w for w in report["warnings"] if "earlier rebalance" in w]
    assert "ended without an outcome line" in note and "11:00:00+00:00" in note


def test_a_restart_after_the_next_run_started_is_not_the_earlier_runs(tmp_path: Path) -> None:
    """The earlier run (no outcome) gave way to a new start; the aggregator restarted
    during the later run: that makes the later run failed, not the earlier one."""
    copy = COPY.format(db="sales", n=3)
    root = _log(
        tmp_path / "b",
        (100, "2026-03-04 10:00:00.000    INFO", "Thread 1: REBALANCE PARTITIONS ON sales started"),
        (101, "2026-03-04 10:00:01.000    INFO", f"Thread 2: {copy} started"),
        (3700, "2026-03-04 11:00:00.000    INFO", "Thread 1: REBALANCE PARTITIONS ON sales started"),
        (3701, "2026-03-04 11:00:01.000    INFO", f"Thread 2: {copy} started"),
        (3720, "2026-03-04 11:00:20.000 FAILURE", "Thread 2: Signal: Caught signal 11 (SIGSEGV), dumping core"),
        (30, "2026-03-04 11:01:30.000    INFO", "Thread 99: Main: Starting MemSQL server version 8.9.12"),
    )  # fmt: skip
    assert _scan(root, tmp_path) == [
        ("sales", "copy", "node_failure", "2026-03-04 11:00:20.000000+00:00")
    ]


def test_every_run_of_the_library_call_matches_scan(tmp_path: Path) -> None:
    """``analyze(every_run=True)``: the failed earlier run comes before the latest run."""
    report = analyze(_step_failed_then_rerun(tmp_path / "b"), every_run=True)
    assert [(rb.outcome, rb.failed_phase) for rb in report.rebalances] == [
        ("failed", "copy"),
        ("succeeded", None),
    ]
