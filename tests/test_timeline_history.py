"""Earlier runs of a database that the bundle shows only by their step lines, by a status
output newer than the logs, or next to "REBALANCE ALL DATABASES" lines that name no
database (SPEC §4.1, §6.2 ``later_run``, §7).

What a user sees: the verdicts (database, status, phase, cause, the next run's outcome
and start), the exit code of ``forensics analyze``, and the incidents ``forensics scan``
lists. The bundles are small tracelogs in the real layout, in the shapes of the probe's
repros (steps-only logs, a status captured after the logs end, two nightly runs of
REBALANCE ALL DATABASES).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from forensics.analysis import analyze
from forensics.cli import main
from forensics.scan import scan_file

MA = "10.1.0.10_3306"
OOM = (
    "Leaf Error (10.1.0.14:3306): Not enough memory available to complete the current "
    "request. The request was not processed. (1712)"
)
LOCK = "Leaf Error (10.1.0.12:3306): Lock wait timeout exceeded; try restarting transaction"
RESET = "Connection reset by peer"
DAY1, DAY2 = "2026-11-25", "2026-11-26"


def _copy(n: int) -> str:
    return f"RebalanceStep: COPY PARTITION sales:{n} TO '10.1.0.14':3306"


def _line(when: str, level: str, text: str, conn: int = 51001) -> str:
    """One tracelog line: uptime (from the time), date time, level, thread and text."""
    day, clock = when.split(" ")
    h, m, s = clock.split(":")
    up = (int(day[-2:]) * 86400 + int(h) * 3600 + int(m) * 60) * 1_000_000 + int(
        float(s) * 1_000_000
    )
    return f"{up} {when}  {level:>6}: Thread 115001 (ntid 18, conn id {conn}): {text}\n"


def _copied(
    day: str, n: int, began: str, ended: str, *, failed: str | None = None, conn: int = 51001
) -> tuple[str, str]:
    """The start line of COPY sales:``n`` at ``began``, and at ``ended`` its end: completed
    (with its running time), or, with ``failed``, failed with that error."""
    seconds = [
        sum(float(x) * 60**i for i, x in enumerate(reversed(t.split(":")))) for t in (began, ended)
    ]
    end = (
        f"completed in {round((seconds[1] - seconds[0]) * 1000)} ms"
        if failed is None
        else f"failed: {failed}"
    )
    return (
        _line(f"{day} {began}", "INFO", f"{_copy(n)} started", conn),
        _line(f"{day} {ended}", "INFO" if failed is None else "ERROR", f"{_copy(n)} {end}", conn),
    )  # fmt: skip


def _bundle(root: Path, *lines: str, status: str | None = None) -> Path:
    """The master aggregator's memsql.log of ``lines``, and ``status`` as the output of
    SHOW REBALANCE STATUS (with a balanced SHOW PARTITIONS) when given."""
    log = root / MA / "memsql.log"
    log.parent.mkdir(parents=True)
    log.write_text("".join(lines))
    if status is not None:
        (root / "outputs").mkdir()
        (root / "outputs" / "cluster.txt").write_text(status + PARTITIONS)
    return root


def _analyze(root: Path, *options: str) -> tuple[int, dict[str, Any]]:
    out = root.parent / f"{root.name}.json"
    result = CliRunner().invoke(main, ["analyze", str(root), "--json", str(out), *options])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(out.read_text())


def _verdicts(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (v["database"], v["status"], v["phase"], v["cause"], v["later_run"], v["later_run_start"])
        for v in report["verdicts"]
    ]


def _incidents(root: Path) -> list[tuple[Any, ...]]:
    rows = scan_file(root).incidents.sort("time")
    return [(db, phase, cause, str(ts)) for db, phase, cause, ts in
            rows.select("database", "phase", "cause", "time").iter_rows()]  # fmt: skip


# --- 1. logs with step lines only: a step started again after it failed ------------------

STEPS_FAIL_THEN_OK = (
    *_copied(DAY1, 1, "10:00:00.300", "10:01:01.300"),
    *_copied(DAY1, 4, "10:01:01.600", "10:01:56.600", failed=OOM),
    *_copied(DAY2, 4, "10:00:00.300", "10:00:55.300", conn=51002),
)


def test_a_failed_run_before_a_successful_one_is_kept(tmp_path: Path) -> None:
    """It was: no_failure, exit 0, the 1712 line "unrelated" and no incident: both days
    read as one run whose COPY sales:4 succeeded."""
    root = _bundle(tmp_path / "b", *STEPS_FAIL_THEN_OK)
    code, report = _analyze(root)
    assert _verdicts(report) == [
        ("sales", "failure", "copy", "out_of_memory", "succeeded", f"{DAY2}T10:00:00.300000+00:00"),
        ("sales", "no_failure", None, None, None, None),
    ]
    assert code == 1  # (a failure was found, as for an earlier run with start lines)
    latest = report["rebalances"][-1]
    assert [(s["ordinal"], s["started_at"][:10]) for s in latest["steps"]] == [(4, DAY2)]
    assert _incidents(root) == [("sales", "copy", "out_of_memory", f"{DAY1} 10:01:56.600000+00:00")]


def test_two_failed_steps_only_runs_are_two_incidents(tmp_path: Path) -> None:
    """It was: day 1's OOM was lost; only day 2's lock timeout was reported."""
    root = _bundle(
        tmp_path / "b",
        *_copied(DAY1, 4, "10:00:00.300", "10:00:55.300", failed=OOM),
        *_copied(DAY2, 4, "10:00:00.300", "10:00:55.300", conn=51002),
        *_copied(DAY2, 6, "10:00:55.600", "10:01:55.600", failed=LOCK, conn=51002),
    )
    code, report = _analyze(root)
    assert _verdicts(report) == [
        ("sales", "failure", "copy", "out_of_memory", "failed", f"{DAY2}T10:00:00.300000+00:00"),
        ("sales", "failure", "copy", "lock_timeout", None, None),
    ]
    assert code == 1
    assert [i[:3] for i in _incidents(root)] == [
        ("sales", "copy", "out_of_memory"),
        ("sales", "copy", "lock_timeout"),
    ]


def test_a_step_started_long_after_a_run_with_nothing_running_is_a_new_run(
    tmp_path: Path,
) -> None:
    """Two successful steps-only runs a day apart: the latest run is day 2's alone (its
    steps do not run for 24 h), and there is no incident."""
    root = _bundle(
        tmp_path / "b",
        *_copied(DAY1, 1, "10:00:00.300", "10:01:01.300"),
        *_copied(DAY2, 4, "10:00:00.300", "10:00:55.300", conn=51002),
    )
    code, report = _analyze(root)
    assert (code, _verdicts(report)) == (0, [("sales", "no_failure", None, None, None, None)])
    (latest,) = report["rebalances"]
    assert [(s["ordinal"], s["started_at"][:10]) for s in latest["steps"]] == [(4, DAY2)]
    assert _incidents(root) == []


def test_a_retried_attempt_in_a_steps_only_log_is_no_new_run(tmp_path: Path) -> None:
    """A copy "failed: ...; will retry (attempt 1 of 3)", started again, "succeeded on
    attempt 2": one run that succeeded, no incident and no "earlier rebalance"."""
    root = _bundle(
        tmp_path / "b",
        _line(f"{DAY1} 10:00:00.300", "INFO", f"{_copy(4)} started"),
        _line(f"{DAY1} 10:00:20.300", "WARN", f"{_copy(4)} failed: {RESET}; will retry (attempt 1 of 3)"),
        _line(f"{DAY1} 10:00:21.300", "INFO", f"{_copy(4)} started"),
        _line(f"{DAY1} 10:01:21.300", "INFO", f"{_copy(4)} succeeded on attempt 2"),
    )  # fmt: skip
    code, report = _analyze(root)
    assert (code, _verdicts(report)) == (0, [("sales", "no_failure", None, None, None, None)])
    assert not any("earlier rebalance" in w for w in report["warnings"])
    assert _incidents(root) == []


def test_a_long_step_still_running_is_not_cut_by_a_gap(tmp_path: Path) -> None:
    """A copy running for two hours while another one ends: one run (a step was still
    running, so the gap is no end of the run); its failure is the only incident."""
    root = _bundle(
        tmp_path / "b",
        _line(f"{DAY1} 10:00:00.300", "INFO", f"{_copy(1)} started"),
        _line(f"{DAY1} 10:00:00.400", "INFO", f"{_copy(4)} started"),
        _line(f"{DAY1} 10:01:00.300", "INFO", f"{_copy(1)} completed in 60000 ms"),
        _line(f"{DAY1} 12:01:00.300", "INFO", f"{_copy(4)} completed in 7260000 ms"),
        *_copied(DAY1, 6, "12:01:00.600", "12:02:00.600", failed=LOCK),
    )
    code, report = _analyze(root)
    assert (code, _verdicts(report)) == (
        1,
        [("sales", "failure", "copy", "lock_timeout", None, None)],
    )
    assert not any("earlier rebalance" in w for w in report["warnings"])
    assert len(report["rebalances"][0]["steps"]) == 3


# --- 2. a status output newer than the logs ---------------------------------------------

START = "RebalancePartitions: REBALANCE PARTITIONS ON sales started: 6 operations planned"
FAILED = "RebalancePartitions: REBALANCE PARTITIONS ON sales failed after 4 steps not run"
DONE = "RebalancePartitions: REBALANCE PARTITIONS ON sales completed: 6 operations succeeded"
FAILED_RUN = (
    _line(f"{DAY1} 14:10:00.000", "INFO", START),
    *_copied(DAY1, 1, "14:10:00.300", "14:11:01.300"),
    *_copied(DAY1, 4, "14:11:01.600", "14:11:56.600", failed=OOM),
    _line(f"{DAY1} 14:11:56.950", "ERROR", FAILED),
)
SUCCEEDED_RUN = (
    _line(f"{DAY2} 09:30:00.000", "INFO", START, conn=51002),
    *_copied(DAY2, 4, "09:30:00.300", "09:30:55.300", conn=51002),
    _line(f"{DAY2} 09:30:56.000", "INFO", DONE, conn=51002),
)


def _status(copy4: str) -> str:
    rows = [
        ("COPY PARTITION", 1, 3, "success"),
        ("COPY PARTITION", 4, 3, copy4),
        ("PROMOTE PARTITION WITH DROP", 1, 5, "success" if copy4 == "success" else "scheduled"),
        ("PROMOTE PARTITION WITH DROP", 4, 5, "success" if copy4 == "success" else "scheduled"),
    ]
    border = "+-----------------------------+---------+-------------+-------------+-------+-----------+\n"
    head = "| Action                      | Ordinal | Target_Host | Target_Port | Phase | Status    |\n"
    body = "".join(
        f"| {action:<27} | {n:>7} | 10.1.0.14   |        3306 | {phase:>5} | {state:<9} |\n"
        for action, n, phase, state in rows
    )
    return (
        f"mysql> SHOW REBALANCE STATUS ON sales;\n{border}{head}{border}{body}{border}"
        f"{len(rows)} rows in set (0.01 sec)\n\n"
    )  # fmt: skip


PARTITIONS = (
    "mysql> SHOW PARTITIONS ON sales;\n"
    "+---------+-----------+------+---------+--------+\n"
    "| Ordinal | Host      | Port | Role    | Locked |\n"
    "+---------+-----------+------+---------+--------+\n"
    + "".join(
        f"|       {n} | {master} | 3306 | Master  |      0 |\n"
        f"|       {n} | {replica} | 3306 | Replica |      0 |\n"
        for n, master, replica in [
            (0, "10.1.0.11", "10.1.0.12"), (1, "10.1.0.14", "10.1.0.13"),
            (2, "10.1.0.13", "10.1.0.11"), (3, "10.1.0.11", "10.1.0.12"),
            (4, "10.1.0.14", "10.1.0.13"), (5, "10.1.0.13", "10.1.0.11"),
        ]
    )
    + "+---------+-----------+------+---------+--------+\n"
    "12 rows in set (0.01 sec)\n\n"
    "mysql> SHOW VARIABLES LIKE '%redundancy%';\n"
    "+------------------+-------+\n| Variable_name    | Value |\n+------------------+-------+\n"
    "| redundancy_level | 2     |\n+------------------+-------+\n1 row in set (0.01 sec)\n"
)  # fmt: skip

EARLIER_FAILURE = ("sales", "failure", "copy", "out_of_memory", "succeeded", None)


def test_a_status_output_newer_than_the_logs_is_a_later_run(tmp_path: Path) -> None:
    """The logs hold only the failed run; the status output shows every step succeeded.
    It was: failure, phase null ("UNKNOWN phase failed", basis partition_state), and a
    runbook advising more memory and a re-run."""
    root = _bundle(tmp_path / "b", *FAILED_RUN, status=_status("success"))
    code, report = _analyze(root)
    assert _verdicts(report) == [EARLIER_FAILURE, ("sales", "no_failure", None, None, None, None)]
    earlier, latest = report["rebalances"]
    assert (earlier["outcome"], earlier["failed_phase"], earlier["basis"]) == (
        "failed",
        "copy",
        "log",
    )
    assert (latest["outcome"], latest["basis"]) == ("succeeded", "status")
    assert "unknown phase" not in report["recovery"][0]["detail"].lower()
    assert any("the status output describes a later run" in w for w in report["warnings"])
    assert code == 1  # (the earlier run's failure, as when the logs show the later run)


def test_a_status_output_newer_than_an_until_window(tmp_path: Path) -> None:
    """``--until`` before the next day's run: what the logs left show is the failure, the
    status output the later run (the same verdicts as above)."""
    root = _bundle(tmp_path / "b", *FAILED_RUN, *SUCCEEDED_RUN, status=_status("success"))
    _, whole = _analyze(root)
    assert _verdicts(whole) == [
        ("sales", "failure", "copy", "out_of_memory", "succeeded", f"{DAY2}T09:30:00+00:00"),
        ("sales", "no_failure", None, None, None, None),
    ]
    _, until = _analyze(root, "--until", f"{DAY2}T00:00:00")
    assert _verdicts(until) == [EARLIER_FAILURE, ("sales", "no_failure", None, None, None, None)]


def test_a_status_output_of_the_logs_run_stays_its_state(tmp_path: Path) -> None:
    """The status output shows the copy failed, as the logs do: one run, the failure."""
    root = _bundle(tmp_path / "b", *FAILED_RUN, status=_status("failed"))
    code, report = _analyze(root)
    assert _verdicts(report) == [("sales", "failure", "copy", "out_of_memory", None, None)]
    assert code == 1
    assert not any("later run" in w for w in report["warnings"])


# --- 3. REBALANCE ALL DATABASES lines that name no database ------------------------------


def _night(day: str, conn: int, copied: str, *, failed: bool) -> tuple[str, ...]:
    step = "RebalanceStep: COPY PARTITION metrics:4 TO '10.1.0.14':3306"
    return (
        _line(f"{day} 02:00:00.000", "INFO", "RebalanceOrchestrator: REBALANCE ALL DATABASES started: 1 databases, 2 operations", conn),
        _line(f"{day} 02:00:00.300", "INFO", "RebalancePartitions: REBALANCE PARTITIONS ON metrics started: 2 operations planned", conn),
        _line(f"{day} 02:00:00.600", "INFO", f"{step} started", conn),
        _line(f"{day} 02:00:55.600", "ERROR" if failed else "INFO", f"{step} {copied}", conn),
        _line(f"{day} 02:00:56.000", "ERROR" if failed else "INFO",
              "RebalancePartitions: REBALANCE PARTITIONS ON metrics "
              + ("failed after 1 steps not run" if failed else "completed: 2 operations succeeded"), conn),
        _line(f"{day} 02:00:57.000", "ERROR" if failed else "INFO",
              "RebalanceOrchestrator: REBALANCE ALL DATABASES "
              + ("failed: 1 of 1 databases failed" if failed else "finished: 1 databases, 2 operations succeeded"), conn),
    )  # fmt: skip


def test_the_next_run_starts_at_its_own_global_start_line(tmp_path: Path) -> None:
    """It was: the next run "started" at night 1's REBALANCE ALL DATABASES line, before
    the failure it followed (every night's lines naming no database were each run's)."""
    root = _bundle(
        tmp_path / "b",
        *_night(DAY1, 41000, f"failed: {OOM}", failed=True),
        *_night(DAY2, 41001, "completed in 55000 ms", failed=False),
    )
    code, report = _analyze(root)
    assert _verdicts(report) == [
        ("metrics", "failure", "copy", "out_of_memory", "succeeded", f"{DAY2}T02:00:00+00:00"),
        ("metrics", "no_failure", None, None, None, None),
    ]
    assert code == 1
    assert f"started {DAY2}T02:00:00+00:00" in report["verdicts"][0]["summary"]
    assert [i[:3] for i in _incidents(root)] == [("metrics", "copy", "out_of_memory")]


def test_a_failure_after_a_good_night_keeps_its_window(tmp_path: Path) -> None:
    """Night 1 succeeded, night 2 failed: night 2's run is the one reported, with its
    own lines; a lock timeout on night 1 is not its cause."""
    root = _bundle(
        tmp_path / "b",
        *_night(DAY1, 41000, "completed in 55000 ms", failed=False),
        _line(f"{DAY1} 14:00:00.000", "ERROR",
              "ExecuteQuery: UPDATE on `metrics_4` rolled back: Lock wait timeout exceeded; "
              "try restarting transaction (error 1205)", 3351),
        *_night(DAY2, 41001, "failed: copy did not complete", failed=True),
    )  # fmt: skip
    code, report = _analyze(root)
    assert _verdicts(report) == [("metrics", "failure", "copy", "unknown", None, None)]
    assert code == 1
    (rebalance,) = report["rebalances"]
    assert rebalance["failure_time"] == f"{DAY2}T02:00:55.600000+00:00"


def test_a_retry_run_by_a_new_master_aggregator_is_its_run(tmp_path: Path) -> None:
    """After a failover the retry runs on 10.1.0.20: that run's orchestrator is 10.1.0.20,
    not the old master aggregator that logged none of its lines."""
    old_ma = [
        "1000000000 2026-11-25 08:00:00.000   INFO: Thread 115001 (ntid 18, conn id 51001): "
        "RebalancePartitions: REBALANCE PARTITIONS ON sales started",
        "1000100000 2026-11-25 08:00:01.000   INFO: Thread 115001 (ntid 18, conn id 51001): "
        "RebalanceStep: COPY PARTITION sales:4 TO '10.1.0.14':3306 started",
        "1000200000 2026-11-25 08:01:40.000  ERROR: Thread 115001 (ntid 18, conn id 51001): "
        "RebalanceStep: COPY PARTITION sales:4 TO '10.1.0.14':3306 failed: Leaf Error "
        "(10.1.0.14:3306): Not enough memory available to complete the current request. (1712)",
    ]
    new_ma = [
        "2000000000 2026-11-26 09:00:00.000   INFO: Thread 115002 (ntid 18, conn id 62001): "
        "RebalancePartitions: REBALANCE PARTITIONS ON sales started",
        "2000100000 2026-11-26 09:00:01.000   INFO: Thread 115002 (ntid 18, conn id 62001): "
        "RebalanceStep: COPY PARTITION sales:4 TO '10.1.0.14':3306 started",
        "2000200000 2026-11-26 09:01:01.000   INFO: Thread 115002 (ntid 18, conn id 62001): "
        "RebalanceStep: COPY PARTITION sales:4 TO '10.1.0.14':3306 completed in 60000 ms",
        "2000300000 2026-11-26 09:01:02.000   INFO: Thread 115002 (ntid 18, conn id 62001): "
        "RebalancePartitions: REBALANCE PARTITIONS ON sales completed",
    ]
    for name, lines in {
        "10.1.0.10_3306/memsql.log": old_ma,
        "10.1.0.20_3306/memsql.log": new_ma,
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("\n".join(lines) + "\n")
    report = analyze(tmp_path)
    assert [rb.master_aggregator for rb in report.rebalances] == [
        "10.1.0.10:3306",
        "10.1.0.20:3306",
    ]
    assert [v.status for v in report.verdicts] == ["failure", "no_failure"]
