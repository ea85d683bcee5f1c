"""Step times and plan vs actual where a partition has several steps, where the bundle
holds an earlier failed run, and while a rebalance still runs (SPEC §4.1, §5.1).

What a user sees: ``rebalances[].steps`` times (the HTML timeline draws them) and the
``plan_vs_actual`` rows and their kinds (the Markdown counts them). A log step line gives
its times only to the status row of its action, partition and target; a step cancelled
before it started (running time 0) has none. Plan vs actual describes the latest run of
each database; a rebalance still running has steps "not run yet", not "never ran".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
from click.testing import CliRunner

from forensics import schemas
from forensics.cli import main
from forensics.impact import plan_vs_actual
from forensics.parsers.tracelog import parse_lines
from forensics.timeline import merge_steps

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
COLUMNS = ("Action", "Ordinal", "Target_Host", "Target_Port", "Phase", "Status", "Running_Time")
OOM = "Leaf Error (10.0.0.14:3306): Not enough memory available to complete the current request."


# --- helpers ---------------------------------------------------------------------------


def _events(*messages: str) -> pl.DataFrame:
    """Tracelog lines of the master aggregator, one second apart."""
    return parse_lines(
        [
            f"{5000000000 + i * 1000000} 2026-03-10 02:00:{i:02d}.000000   INFO: Thread 7: {m}"
            for i, m in enumerate(messages)
        ]
    )


def _status(*rows: tuple[Any, ...]) -> pl.DataFrame:
    """Status rows (action, ordinal, target, phase, status, running_ms) of sales."""
    keys = ("action", "ordinal", "target", "phase", "status", "running_ms")
    frame = pl.DataFrame(
        [
            {
                **dict(zip(keys, row, strict=True)),
                "database": "sales",
                "phase_kind": row[0].split()[0].lower(),
                "origin": "status",
                "source": "sql/status.txt:1",
                "capture": 0,
            }
            for row in rows
        ]
    )
    return schemas.conform(frame, schemas.STEPS)


def _times(merged: pl.DataFrame) -> dict[tuple[int, str], tuple[str | None, str | None]]:
    """(ordinal, target) -> (start, end) as HH:MM:SS."""
    return {
        (r["ordinal"], r["target"]): tuple(  # type: ignore[misc]
            t.strftime("%H:%M:%S") if t else None for t in (r["started_at"], r["ended_at"])
        )
        for r in merged.iter_rows(named=True)
    }


def _table(statement: str, header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    """A boxed MySQL client table after its statement."""
    cells = [header, *[tuple(str(c) for c in r) for r in rows]]
    widths = [max(len(str(r[i])) for r in cells) for i in range(len(header))]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(r: tuple[Any, ...]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) + " |"

    body = [line(r) for r in rows]
    return "\n".join([f"mysql> {statement}", rule, line(header), rule, *body, rule, ""]) + "\n"


def _analyze(
    root: Path,
    log: list[str],
    status: list[tuple[Any, ...]],
    statement: str = "SHOW REBALANCE STATUS ON sales;",
) -> dict[str, Any]:
    """A bundle: the master aggregator's log ("HH:MM:SS.mmm LEVEL text" lines), a status
    output of sales and its partitions (ordinals 3 and 5: master .14, replica .13)."""
    (root / "sql").mkdir(parents=True)
    (root / "10.0.0.10_3306_memsql.log").write_text(
        "".join(f"{1000 + i} 2026-03-13 {line}\n" for i, line in enumerate(log))
    )
    rows = [(a, o, t.split(":")[0], 3306, p, s, ms) for a, o, t, p, s, ms in status]
    (root / "sql" / "rebalance_status.txt").write_text(_table(statement, COLUMNS, rows))
    copies = [(o, h, 3306, r) for o in (3, 5) for h, r in (("10.0.0.14", "Master"), ("10.0.0.13", "Replica"))]  # fmt: skip
    (root / "sql" / "partitions.txt").write_text(
        _table("SHOW PARTITIONS ON sales;", ("Ordinal", "Host", "Port", "Role"), copies)
    )
    out = root.parent / f"{root.name}.json"
    result = CliRunner().invoke(main, ["analyze", str(root), "--json", str(out)])
    assert result.exit_code in (0, 1), result.output
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def _kinds(report: dict[str, Any]) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for entry in report["plan_vs_actual"]:
        kinds[entry["kind"]] = kinds.get(entry["kind"], 0) + 1
    return kinds


# --- 1. which status row a log step line gives its times to ------------------------------


def test_a_cancelled_step_never_started_takes_no_times_of_another_target() -> None:
    events = _events(
        "COPY PARTITION sales:3 to '10.0.0.13':3306 started",
        "COPY PARTITION sales:3 to '10.0.0.13':3306 finished in 2.0 s",
    )
    status = _status(
        ("COPY PARTITION", 3, "10.0.0.13:3306", 1, "success", 2000),
        ("COPY PARTITION", 3, "10.0.0.14:3306", 2, "cancelled", 0),
    )
    times = _times(merge_steps(status, events))
    assert times[(3, "10.0.0.13:3306")] == ("02:00:00", "02:00:01")
    assert times[(3, "10.0.0.14:3306")] == (None, None)


def test_a_line_naming_its_target_gives_no_times_to_a_row_of_another_target() -> None:
    """A status capture taken later than the log ends: the row of the other target is
    still scheduled, and stays so (no times, no outcome of the other step)."""
    events = _events(
        "COPY PARTITION sales:3 to '10.0.0.13':3306 started",
        "COPY PARTITION sales:3 to '10.0.0.13':3306 finished in 2.0 s",
    )
    status = _status(("COPY PARTITION", 3, "10.0.0.14:3306", 2, "scheduled", 0))
    (row,) = merge_steps(status, events).iter_rows(named=True)
    assert (row["started_at"], row["ended_at"], row["status"]) == (None, None, "scheduled")


def test_a_line_naming_no_target_goes_to_the_one_row_that_ran() -> None:
    events = _events("COPY PARTITION sales:3 started", "COPY PARTITION sales:3 finished in 1 ms")
    status = _status(
        ("COPY PARTITION", 3, "10.0.0.13:3306", 1, "success", 1000),
        ("COPY PARTITION", 3, "10.0.0.14:3306", 2, "cancelled", None),  # (no running time)
    )
    times = _times(merge_steps(status, events))
    assert times == {
        (3, "10.0.0.13:3306"): ("02:00:00", "02:00:01"),
        (3, "10.0.0.14:3306"): (None, None),
    }


def test_a_line_naming_no_target_goes_to_no_row_when_two_ran() -> None:
    events = _events("COPY PARTITION sales:3 started", "COPY PARTITION sales:3 finished in 1 ms")
    status = _status(
        ("COPY PARTITION", 3, "10.0.0.13:3306", 1, "success", 1000),
        ("COPY PARTITION", 3, "10.0.0.14:3306", 2, "success", 1000),
    )
    assert set(_times(merge_steps(status, events)).values()) == {(None, None)}


def test_the_fixture_cancelled_copy_has_no_times() -> None:
    """fixtures/copy_out_of_memory: orders:10 was copied to .13 (step 6/32) and its copy
    to .14 cancelled before it started."""
    out = CliRunner().invoke(
        main, ["analyze", str(FIXTURES / "copy_out_of_memory"), "--format", "json"]
    )
    steps = {
        (s["ordinal"], s["target"], s["status"]): (s["started_at"], s["ended_at"])
        for rb in json.loads(out.stdout)["rebalances"]
        for s in rb["steps"]
        if s["phase_kind"] == "copy"
    }
    assert steps[(10, "10.0.1.13:3306", "success")][0].startswith("2026-02-11T03:04:16.681")
    for ordinal in (10, 11, 14, 15):
        assert steps[(ordinal, "10.0.1.14:3306", "cancelled")] == (None, None)


# --- 2. plan vs actual: the latest run ----------------------------------------------------

RUN_1 = [
    "10:00:00.000   INFO: Thread 5: REBALANCE PARTITIONS ON sales started",
    "10:00:01.000   INFO: Thread 5: COPY PARTITION sales:3 to '10.0.0.14':3306 started",
    f"10:00:39.000  ERROR: Thread 5: COPY PARTITION sales:3 to '10.0.0.14':3306 failed: {OOM}",
    "10:00:39.020  ERROR: Thread 5: REBALANCE PARTITIONS ON sales failed",
]
RUN_2 = [
    "11:05:00.000   INFO: Thread 6: REBALANCE PARTITIONS ON sales started",
    "11:05:01.000   INFO: Thread 6: COPY PARTITION sales:3 to '10.0.0.14':3306 started",
    "11:05:30.000   INFO: Thread 6: COPY PARTITION sales:3 to '10.0.0.14':3306 finished in 29.0 s",
    "11:05:31.000   INFO: Thread 6: COPY PARTITION sales:5 to '10.0.0.14':3306 started",
    "11:06:00.000   INFO: Thread 6: COPY PARTITION sales:5 to '10.0.0.14':3306 finished in 29.0 s",
    "11:06:01.000   INFO: Thread 6: REBALANCE PARTITIONS ON sales completed",
]
#: The status output of the first run (captured before the re-run).
FAILED_STATUS = [
    ("COPY PARTITION", 3, "10.0.0.14:3306", 1, "failed", 38000),
    ("COPY PARTITION", 5, "10.0.0.14:3306", 1, "cancelled", 0),
]


def test_a_failed_run_re_run_successfully_leaves_nothing_in_plan_vs_actual(
    tmp_path: Path,
) -> None:
    report = _analyze(tmp_path / "rerun", RUN_1 + RUN_2, FAILED_STATUS)
    assert [(v["status"], v["later_run"]) for v in report["verdicts"]] == [
        ("failure", "succeeded"),
        ("no_failure", None),
    ]
    assert report["plan_vs_actual"] == []  # no failed step, residue or cancelled step now


def test_the_first_run_alone_still_shows_its_failure_and_residue(tmp_path: Path) -> None:
    report = _analyze(tmp_path / "once", RUN_1, FAILED_STATUS)
    assert _kinds(report) == {"failed": 1, "residue": 1, "not_run": 1}


def test_a_status_naming_no_database_is_the_bundle_s_one_database_in_the_plan(
    tmp_path: Path,
) -> None:
    """A status pasted without its statement: its rows are the one database's, in plan vs
    actual as in the timeline (its details had read 'None: COPY PARTITION None:2')."""
    report = _analyze(tmp_path / "bare", RUN_1, FAILED_STATUS, statement="SHOW REBALANCE STATUS;")
    assert report["plan_vs_actual"]
    assert all(e["database"] == "sales" for e in report["plan_vs_actual"])
    assert not any("None" in e["detail"] for e in report["plan_vs_actual"])


def _frame(*rows: dict[str, Any]) -> pl.DataFrame:
    base = {"database": "sales", "action": "COPY PARTITION", "phase_kind": "copy"}
    return schemas.conform(pl.DataFrame([{**base, **r} for r in rows]), schemas.STEPS)


NO_COPIES = schemas.empty(schemas.PARTITIONS)


def test_a_failure_two_status_captures_show_is_current_without_an_earlier_run() -> None:
    """The logs' run shows no failure (its line rotated away), an earlier capture shows
    the same failure: no earlier run re-ran the step, the status output is current."""
    steps = _frame(
        {"ordinal": 3, "target": "t:1", "status": "failed", "origin": "status", "capture": 2},
        {"ordinal": 3, "target": "t:1", "status": "failed", "origin": "superseded", "capture": 1},
        {"ordinal": 4, "target": "t:1", "status": "success", "origin": "log"},
    )
    assert [e["kind"] for e in plan_vs_actual(steps, NO_COPIES)] == ["failed"]


def test_an_earlier_runs_log_steps_count_nowhere() -> None:
    steps = _frame(
        {"ordinal": 3, "target": "t:1", "status": "failed", "origin": "superseded"},
        {"ordinal": 3, "target": "t:1", "status": "success", "origin": "log"},
    )
    assert plan_vs_actual(steps, NO_COPIES) == []


# --- 3. a rebalance still running ---------------------------------------------------------


def test_steps_of_a_running_rebalance_are_not_run_yet(tmp_path: Path) -> None:
    log = [
        "10:00:00.000   INFO: Thread 5: REBALANCE PARTITIONS ON sales started",
        "10:00:01.000   INFO: Thread 5: COPY PARTITION sales:3 to '10.0.0.14':3306 started",
        "10:00:30.000   INFO: Thread 5: COPY PARTITION sales:3 to '10.0.0.14':3306 finished in 29 s",
        "10:00:31.000   INFO: Thread 5: COPY PARTITION sales:5 to '10.0.0.14':3306 started",
    ]
    status = [
        ("COPY PARTITION", 3, "10.0.0.14:3306", 1, "success", 29000),
        ("COPY PARTITION", 5, "10.0.0.14:3306", 1, "running", 12000),
        ("PROMOTE PARTITION WITH DROP", 3, "10.0.0.14:3306", 2, "scheduled", 0),
        ("PROMOTE PARTITION WITH DROP", 5, "10.0.0.14:3306", 2, "scheduled", 0),
    ]
    report = _analyze(tmp_path / "running", log, status)
    assert [v["status"] for v in report["verdicts"]] == ["inconclusive"]
    assert _kinds(report) == {"not_run_yet": 2}
    details = [e["detail"] for e in report["plan_vs_actual"]]
    assert details[0] == (
        "sales: planned PROMOTE PARTITION WITH DROP sales:3 on 10.0.0.14:3306 "
        "not run yet (rebalance still running)"
    )


def test_scheduled_steps_of_a_failed_rebalance_never_ran() -> None:
    steps = _frame(
        {"ordinal": 3, "target": "t:1", "status": "failed", "origin": "status"},
        {"ordinal": 4, "target": "t:1", "status": "running", "origin": "status"},
        {"ordinal": 5, "target": "t:1", "status": "scheduled", "origin": "status"},
    )
    kinds = [e["kind"] for e in plan_vs_actual(steps, NO_COPIES)]
    assert kinds == ["failed", "not_run"]
