"""Several status captures of one database, and error text in status output (SPEC §4.1).

The latest capture of a step is its current state (an earlier failed capture of a step
that now succeeded is an earlier attempt, in a note); the error text a status output
gives for a failed step is evidence the cause rules match (docs/CONTRACTS.md).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from forensics import analyze, load_bundle, schemas
from forensics.timeline import (
    STATUS_COMPONENT,
    SUPERSEDED,
    build_timeline,
    capture_order_key,
    resolve_captures,
)

BORDER = "+-----------------------------+---------+-------------+-------------+-------+-----------+"
HEADER = "| Action                      | Ordinal | Target_Host | Target_Port | Phase | Status    |"


def status_table(db: str, *rows: tuple[str, int, str, int, str]) -> str:
    """SHOW REBALANCE STATUS ON db, boxed; rows (action, ordinal, host, phase, status)."""
    body = [
        f"| {action:<27} | {ordinal:7d} | {host:<11} | {3306:11d} | {phase:5d} | {status:<9} |"
        for action, ordinal, host, phase, status in rows
    ]
    lines = [f"singlestore> SHOW REBALANCE STATUS ON {db};", BORDER, HEADER, BORDER, *body, BORDER]
    return "\n".join([*lines, f"{len(rows)} rows in set (0.01 sec)", ""])


COPY, PROMOTE = "COPY PARTITION", "PROMOTE PARTITION WITH DROP"
FIRST = status_table("shop", (COPY, 2, "10.0.0.3", 1, "failed"), (PROMOTE, 2, "10.0.0.3", 2, "cancelled"))  # fmt: skip
RETRY = status_table("shop", (COPY, 2, "10.0.0.3", 1, "success"), (PROMOTE, 2, "10.0.0.3", 2, "success"))  # fmt: skip
SNAPSHOT = """singlestore> SHOW PARTITIONS ON shop;
+---------+----------+------+---------+--------+
| Ordinal | Host     | Port | Role    | Locked |
+---------+----------+------+---------+--------+
|       0 | 10.0.0.1 | 3306 | Master  |      0 |
|       0 | 10.0.0.2 | 3306 | Replica |      0 |
|       1 | 10.0.0.2 | 3306 | Master  |      0 |
|       1 | 10.0.0.1 | 3306 | Replica |      0 |
|       2 | 10.0.0.3 | 3306 | Master  |      0 |
|       2 | 10.0.0.2 | 3306 | Replica |      0 |
+---------+----------+------+---------+--------+
"""


# --- order of captures ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        ("01_first_attempt.txt", "02_retry.txt"),
        ("status_9.txt", "status_10.txt"),
        ("status_second.txt", "status_final.txt"),  # (alphabetically the other way round)
        ("status_before.txt", "status.txt"),
        ("status.txt", "status_after.txt"),
        ("retry/status.txt", "final/status.txt"),
        ("case-final/status_first.txt", "case-final/status_second.txt"),  # file name first
    ],
)
def test_capture_order_key(earlier: str, later: str) -> None:
    assert capture_order_key(earlier) < capture_order_key(later)


def _steps(*rows: tuple[str, str, str, str]) -> pl.DataFrame:
    """Steps of shop:2 on 10.0.0.3, rows (action, status, source, origin)."""
    return schemas.conform(
        pl.DataFrame(
            [
                {
                    "database": "shop",
                    "action": action,
                    "phase_kind": action.split()[0].lower(),
                    "ordinal": 2,
                    "target": "10.0.0.3:3306",
                    "status": status,
                    "source": source,
                    "origin": origin,
                }
                for action, status, source, origin in rows
            ]
        ),
        schemas.STEPS,
    )


def test_resolve_captures_keeps_the_latest_row_of_each_step() -> None:
    steps = _steps(
        (COPY, "success", "b/02_retry.txt:1", "status"),
        (COPY, "failed", "b/01_first.txt:1", "status"),
        (PROMOTE, "cancelled", "b/01_first.txt:1", "status"),
        (PROMOTE, "scheduled", "b/plan.txt:1", "plan"),
    )
    resolved = resolve_captures(steps)
    assert resolved.get_column("origin").to_list() == ["status", SUPERSEDED, "status", "plan"]
    assert resolve_captures(resolved).equals(resolved)  # idempotent
    one = steps.head(1)
    assert resolve_captures(one).equals(one)


def test_build_timeline_reads_the_latest_capture_and_notes_the_earlier_attempt() -> None:
    steps = _steps(
        (COPY, "failed", "b/01_first_attempt.txt:1", "status"),
        (PROMOTE, "cancelled", "b/01_first_attempt.txt:1", "status"),
        (COPY, "success", "b/02_retry.txt:1", "status"),
        (PROMOTE, "success", "b/02_retry.txt:1", "status"),
    )
    (rb,) = build_timeline(
        steps, schemas.empty(schemas.EVENTS), schemas.empty(schemas.PARTITIONS), None
    )
    assert rb.outcome == "succeeded" and rb.failed_step is None
    assert rb.steps.get_column("status").to_list() == ["success", "success"]
    (note,) = rb.notes
    assert "earlier attempt" in note and "b/01_first_attempt.txt:1" in note
    assert "COPY PARTITION shop:2 on 10.0.0.3:3306" in note and "b/02_retry.txt:1" in note


def test_a_retry_pair_is_one_rebalance_with_the_retry_as_its_state(tmp_path: Path) -> None:
    """b29: the first attempt's COPY failed, the retry's COPY and PROMOTE succeeded, the
    snapshot is clean. It was: failed, a residue for the copy now master, PROMOTE not run."""
    (tmp_path / "01_first_attempt.txt").write_text(FIRST)
    (tmp_path / "02_retry.txt").write_text(RETRY + "\n" + SNAPSHOT)
    report = analyze(tmp_path)
    (rb,) = report.rebalances
    assert rb.outcome == "succeeded"
    assert rb.steps.select("action", "status").rows() == [(COPY, "success"), (PROMOTE, "success")]
    assert [v.status for v in report.verdicts] == ["no_failure"]
    assert report.plan == []  # no failed step, no residue, nothing "never ran"
    assert any("earlier attempt" in w and "01_first_attempt.txt" in w for w in report.warnings)


def test_captures_are_ordered_by_name_not_by_input(tmp_path: Path) -> None:
    (tmp_path / "status_final.txt").write_text(RETRY)
    (tmp_path / "status_second.txt").write_text(FIRST)
    (rb,) = analyze(tmp_path).rebalances
    assert rb.outcome == "succeeded" and rb.steps.height == 2


def _two_bundles(root: Path) -> tuple[Path, Path]:
    """Two bundles of one cluster whose status files have the same path: the day-1
    capture still running, the day-2 one failed (s15)."""
    rows = [(COPY, o, "10.7.0.13", 1, "success") for o in (0, 2)]
    day1 = status_table("events", *rows, (PROMOTE, 0, "10.7.0.13", 2, "running"),
                        (PROMOTE, 2, "10.7.0.13", 2, "scheduled"))  # fmt: skip
    day2 = status_table("events", *rows, (PROMOTE, 0, "10.7.0.13", 2, "failed"),
                        (PROMOTE, 2, "10.7.0.13", 2, "cancelled"))  # fmt: skip
    out = []
    for day, text in (("day1", day1), ("day2", day2)):
        where = root / day / "report" / "10.7.0.10_3306"
        where.mkdir(parents=True)
        (where / "rebalance_status.txt").write_text(text)
        out.append(root / day / "report")
    return out[0], out[1]


def test_two_bundles_of_one_cluster_count_each_step_once(tmp_path: Path) -> None:
    """Same member paths: the order of the inputs decides which capture is the latest."""
    day1, day2 = _two_bundles(tmp_path)
    (rb,) = analyze([day1, day2]).rebalances
    assert (rb.outcome, rb.steps.height) == ("failed", 4)
    assert rb.failed_step is not None and rb.failed_step["ordinal"] == 0
    (rb,) = analyze([day2, day1]).rebalances
    assert (rb.outcome, rb.steps.height) == ("running", 4)


# --- error text in status output --------------------------------------------------------

LOCK = "Leaf Error (10.7.0.5:3306): Lock wait timeout exceeded; try restarting transaction"
WIDE = "+-------------------+---------+-------------+-------------+-------+" + "-" * 97 + "+"


def _status_text_file(root: Path, name: str = "rebal.txt") -> Path:
    """b20: the error text in the status cell, after "Failed:"."""
    rows = [
        ("COPY PARTITION", 3, "10.7.0.5", 1, "Success"),
        ("PROMOTE PARTITION", 3, "10.7.0.5", 2, f"Failed: {LOCK}"),
        ("DROP PARTITION", 3, "10.7.0.4", 3, "Cancelled"),
    ]
    body = [
        f"| {a:<17} | {o:7d} | {h:<11} | {3306:11d} | {p:5d} | {s:<95} |" for a, o, h, p, s in rows
    ]
    head = f"| {'Action':<17} | Ordinal | Target_Host | Target_Port | Phase | {'Status':<95} |"
    text = ["singlestore> SHOW REBALANCE STATUS ON crm;", WIDE, head, WIDE, *body, WIDE, ""]
    root.mkdir(parents=True, exist_ok=True)
    (root / name).write_text("\n".join(text))
    return root


def test_status_cell_error_text_is_evidence(tmp_path: Path) -> None:
    report = analyze(_status_text_file(tmp_path / "b"))
    (verdict,) = report.verdicts
    assert (verdict.status, verdict.phase, verdict.cause) == ("failure", "promote", "lock_timeout")
    (finding,) = [f for f in report.findings if f.role == "cause"]
    (evidence, *_) = finding.evidence
    assert (evidence["file"], evidence["line"]) == ("b/rebal.txt", 6)
    assert evidence["time"] is None
    message = f"PROMOTE PARTITION crm:3 on 10.7.0.5:3306 failed: {LOCK}"
    assert evidence["text"] == message
    assert verdict.error == message  # no log failure line: the status error is the error


def test_status_error_event_fields(tmp_path: Path) -> None:
    bundle = load_bundle(_status_text_file(tmp_path / "b"))
    (row,) = bundle.events.to_dicts()
    assert {k: row[k] for k in ("node", "file", "line", "ts", "level", "component")} == {
        "node": None,
        "file": "b/rebal.txt",
        "line": 6,
        "ts": None,
        "level": "ERROR",
        "component": STATUS_COMPONENT,
    }
    assert (row["database"], row["ordinal"], row["phase_kind"], row["target"], row["step_event"]) == (
        "crm", 3, "promote", "10.7.0.5:3306", None
    )  # fmt: skip
    assert bundle.steps.filter(pl.col("status") == "failed")["error"].to_list() == [LOCK]


def test_error_column_is_evidence_with_crlf(tmp_path: Path) -> None:
    """b15: MV_REBALANCE_STATUS with an ERROR column, CRLF line ends, a '|' in the text."""
    cells = [
        ["DATABASE_NAME", "ACTION", "ORDINAL", "TARGET_HOST", "TARGET_PORT", "PHASE", "STATUS", "ERROR"],
        ["crm", "COPY PARTITION", "3", "10.7.0.5", "3306", "1", "success", "NULL"],
        ["crm", "PROMOTE PARTITION", "3", "10.7.0.5", "3306", "2", "failed", f"{LOCK} | code 1205"],
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    border = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    boxed = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
             for row in cells]  # fmt: skip
    statement = "MySQL [(none)]> SELECT * FROM information_schema.MV_REBALANCE_STATUS"
    lines = [f"{statement} WHERE database_name = 'crm';", border, boxed[0], border, *boxed[1:]]
    lines.append(border)
    tmp_path.joinpath("b").mkdir()
    (tmp_path / "b" / "crm_status.txt").write_bytes("\r\n".join([*lines, ""]).encode())
    report = analyze(tmp_path / "b")
    assert [(v.status, v.cause) for v in report.verdicts] == [("failure", "lock_timeout")]
    (finding,) = [f for f in report.findings if f.role == "cause"]
    assert (finding.evidence[0]["file"], finding.evidence[0]["line"]) == ("b/crm_status.txt", 6)


def _log(root: Path, node: str, *lines: str) -> None:
    where = root / node
    where.mkdir(parents=True, exist_ok=True)
    (where / "memsql.log").write_text("".join(f"{line}\n" for line in lines))


def test_status_error_takes_the_master_from_the_logs_and_no_time(tmp_path: Path) -> None:
    root = _status_text_file(tmp_path / "b")
    _log(
        root,
        "10.7.0.1_3306",
        "099999 2026-03-05 14:09:59.000   INFO: Thread 5: Rebalance: REBALANCE PARTITIONS ON crm starting",
        "100000 2026-03-05 14:10:00.000   INFO: Thread 5: Rebalance: PROMOTE PARTITION crm:3 on '10.7.0.5':3306 started",
        "100001 2026-03-05 14:15:00.000  ERROR: Thread 5: Rebalance: PROMOTE PARTITION crm:3 on '10.7.0.5':3306 failed",
    )
    bundle = load_bundle(root)
    (row,) = bundle.events.filter(pl.col("component") == STATUS_COMPONENT).to_dicts()
    assert row["node"] == "10.7.0.1:3306"
    assert row["ts"] is None  # a status row does not say when: it scores as time unknown


def test_status_error_does_not_beat_a_log_line_in_the_failure_window(tmp_path: Path) -> None:
    """Time unknown (0.6) loses to a line of the failed partition in the window (1.0)."""
    root = _status_text_file(tmp_path / "b")
    _log(
        root,
        "10.7.0.1_3306",
        "100000 2026-03-05 14:10:00.000   INFO: Thread 5: Rebalance: REBALANCE PARTITIONS ON crm starting",
        "100001 2026-03-05 14:15:00.000  ERROR: Thread 5: Rebalance: REBALANCE PARTITIONS ON crm failed",
    )
    _log(
        root,
        "10.7.0.5_3306",
        "300000 2026-03-05 14:14:59.000  ERROR: Thread 9: Fn: `crm_3` log: Not enough memory "
        "available to complete the current request. The request was not processed.",
    )
    report = analyze(root)
    assert [(v.status, v.cause) for v in report.verdicts] == [("failure", "out_of_memory")]
    assert any(f.cause == "lock_timeout" and f.role == "alternative" for f in report.findings)


# --- a capture taken while the rebalance ran, and the log after it -------------------------

DURING = status_table(
    "inventory",
    (COPY, 1, "10.0.9.13", 1, "success"),
    (COPY, 5, "10.0.9.13", 1, "running"),
    (PROMOTE, 1, "10.0.9.13", 2, "scheduled"),
    (PROMOTE, 5, "10.0.9.13", 2, "scheduled"),
)
RAN = [
    "806400100000 2026-03-06 14:00:00.100   INFO: Thread 7: Beginning rebalance of database `inventory`: 4 steps planned",
    "806400200000 2026-03-06 14:00:00.200   INFO: Thread 7: Step 1/4: copying partition inventory:1 on 10.0.9.13:3306 started",
    "806460200000 2026-03-06 14:01:00.200   INFO: Thread 7: Step 1/4: copy of partition inventory:1 on 10.0.9.13:3306 finished after 60.0 s",
    "806460400000 2026-03-06 14:01:00.400   INFO: Thread 7: Step 2/4: copying partition inventory:5 on 10.0.9.13:3306 started",
]  # fmt: skip


def test_a_capture_taken_during_the_run_takes_the_outcome_the_log_records_after_it(
    tmp_path: Path,
) -> None:
    """b5b: the only capture shows the copy of inventory:5 running and the promotes
    scheduled; the log then shows the copy finished and the promote of inventory:1
    aborted. It was: the copy phase failed at inventory:5 (the stale running row)."""
    root = tmp_path / "b"
    _log(
        root,
        "10.0.9.10_3306",
        *RAN,
        "806520400000 2026-03-06 14:02:00.400   INFO: Thread 7: Step 2/4: copy of partition inventory:5 on 10.0.9.13:3306 finished after 60.0 s",
        "806520600000 2026-03-06 14:02:00.600   INFO: Thread 7: Step 3/4: promoting partition inventory:1 on 10.0.9.13:3306 (WITH DROP) started",
        "806580800000 2026-03-06 14:03:00.800  ERROR: Thread 7: _SYNC_PARTITIONS on `inventory` timed out after 60000 ms",
        "806580850000 2026-03-06 14:03:00.850  ERROR: Thread 7: Step 3/4: promoting partition `inventory_1` on node [4] 10.0.9.13:3306 aborted: sync partitions timed out",
        "806580890000 2026-03-06 14:03:00.890  ERROR: Thread 7: Rebalance of database `inventory` failed; the remaining 1 steps were cancelled",
    )  # fmt: skip
    (root / "rebalance_status_during_copy.txt").write_text(DURING)
    report = analyze(root)
    (verdict,) = report.verdicts
    assert (verdict.status, verdict.phase, verdict.cause) == (
        "failure",
        "promote",
        "sync_partitions_timeout",
    )
    (rb,) = report.rebalances
    assert rb.failed_step is not None
    assert (rb.failed_step["action"], rb.failed_step["ordinal"]) == (PROMOTE, 1)
    assert str(rb.failure_time) == "2026-03-06 14:03:00.850000+00:00"
    statuses = dict(rb.steps.select(pl.col("action") + pl.col("ordinal").cast(pl.String), "status").rows())  # fmt: skip
    assert statuses[f"{COPY}5"] == "success" and statuses[f"{PROMOTE}5"] == "scheduled"


def test_a_running_row_stays_running_when_the_log_shows_a_retry_started_again(
    tmp_path: Path,
) -> None:
    """The log's failed attempt of the copy came before its retry started: the capture
    saying it runs is not stale, and the rebalance is still running (not failed)."""
    root = tmp_path / "b"
    _log(
        root,
        "10.0.9.10_3306",
        *RAN,
        "806470400000 2026-03-06 14:01:10.400   WARN: Thread 7: Step 2/4: copying partition inventory:5 on 10.0.9.13:3306 failed: Connection reset by peer; will retry (attempt 1 of 3)",
        "806470500000 2026-03-06 14:01:10.500   INFO: Thread 7: Step 2/4: copying partition inventory:5 on 10.0.9.13:3306 started",
    )  # fmt: skip
    (root / "rebalance_status_during_copy.txt").write_text(DURING)
    report = analyze(root)
    (rb,) = report.rebalances
    assert rb.outcome == "running"
    assert [v.status for v in report.verdicts] == ["inconclusive"]
