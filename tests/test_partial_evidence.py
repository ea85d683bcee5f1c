"""Bundles with part of the evidence missing: no master aggregator's log (a restart of the
failed step's target is still its cause), a REBALANCE rejected before it ran (no run, no
failure), logs that do not reach back to the failure, leaves logging in another zone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import forensics
from forensics import grammars
from forensics.parsers.tracelog import parse_lines

BORDER = (
    "+----------------+---------+-------------+-------------+-------+-----------+--------------+\n"
)
HEADER = (
    "| Action         | Ordinal | Target_Host | Target_Port | Phase | Status    | Running_Time |\n"
)


def _status(rows: list[tuple[str, int, str, int, str, int]], db: str = "ledger") -> str:
    body = "".join(
        f"| {a:<14} | {o:7d} | {h:<11} | {3306:11d} | {p:5d} | {s:<9} | {ms:12d} |\n"
        for a, o, h, p, s, ms in rows
    )
    return f"mysql> SHOW REBALANCE STATUS ON {db};\n{BORDER}{HEADER}{BORDER}{body}{BORDER}"


def _partitions(db: str = "ledger", extra: tuple[int, ...] = (1,)) -> str:
    border = "+---------+------------+------+---------+--------+\n"
    rows = ""
    for o in range(8):
        master, replica = (
            ("10.20.0.21", "10.20.0.22") if o % 2 == 0 else ("10.20.0.22", "10.20.0.21")
        )
        rows += f"| {o:7d} | {master} | 3306 | Master  |      0 |\n"
        rows += f"| {o:7d} | {replica} | 3306 | Replica |      0 |\n"
        if o in extra:
            rows += f"| {o:7d} | 10.20.0.23 | 3306 | Replica |      0 |\n"
    head = "| Ordinal | Host       | Port | Role    | Locked |\n"
    return f"mysql> SHOW PARTITIONS ON {db};\n{border}{head}{border}{rows}{border}"


def _log(root: Path, node: str, lines: list[tuple[int, str, str]]) -> None:
    """``lines``: (uptime counter, time of 2026-04-14, text after the time)."""
    path = root / node / "tracelogs" / "memsql.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{up} 2026-04-14 {ts}{text}\n" for up, ts, text in lines))


def _no_ma_restart(root: Path, *, status: str, node: str = "10.20.0.24_3306",
                   said: str = "`ledger_6`") -> Path:  # fmt: skip
    """No master aggregator's log; the status says COPY ledger:6 -> 10.20.0.24 failed;
    ``node`` logs it receives ``said`` (a partition), then restarts; the source leaf logs
    the stream's connection reset."""
    (root / "status.txt").write_text(
        _status(
            [
                ("COPY PARTITION", 1, "10.20.0.23", 1, "success", 41125),
                ("COPY PARTITION", 6, "10.20.0.24", 1, status, 18860),
                ("COPY PARTITION", 1, "10.20.0.24", 2, "cancelled", 0),
            ]
        )
    )
    (root / "partitions.txt").write_text(_partitions())
    _log(root, node, [
        (508300000000, "07:42:40.000", "   INFO: Thread 7: `crm_2` log: replica at node 1 acknowledged position 6:8"),
        (508321900701, "07:43:01.212", f"   INFO: Thread 115288: ReplicaProvisioning: receiving snapshot of {said} from 10.20.0.21:3306, 61% done"),
        (1200000, "07:43:46.212", "   INFO: Starting SingleStore 8.7.12 (memsqld)"),
        (13200000, "07:43:58.212", "   INFO: Replaying logs for database `ledger_6` (recovery)"),
    ])  # fmt: skip
    _log(root, "10.20.0.21_3306", [
        (349600000000, "07:42:00.000", "   INFO: Thread 8: `ledger_0` log: replica at node 2 acknowledged position 4:5"),
        (349617998882, "07:43:07.212", "   WARN: Thread 115190: ReplicaProvisioning: stream of `ledger_6` to 10.20.0.24:3306 ended: Connection reset by peer (errno 104)"),
    ])  # fmt: skip
    return root


def _verdicts(report: forensics.Report) -> list[tuple[str | None, str, str | None, str | None]]:
    return [(v.database, v.status, v.phase, v.cause) for v in report.verdicts]


@pytest.mark.parametrize(
    "status",
    [
        "failed",
        "Failed: Leaf Error (10.20.0.24:3306): Lost connection to MySQL server during query (2013)",
    ],
    ids=["plain", "lost_connection"],
)
def test_the_failed_steps_target_restarting_on_its_partition_is_the_cause(
    tmp_path: Path, status: str
) -> None:
    """No line dates the failure (no master aggregator's log, no times in the status); the
    target's last line before its restart names the failing partition: node_failure, and
    the lost connections its peers report are its symptoms."""
    report = forensics.analyze(_no_ma_restart(tmp_path, status=status))
    assert _verdicts(report) == [("ledger", "failure", "copy", "node_failure")]
    assert report.exit_code == 1
    (verdict,) = report.verdicts
    cause = next(f for f in report.findings if f.id == verdict.finding)
    assert (cause.node, cause.database, cause.ordinal) == ("10.20.0.24:3306", "ledger", 6)
    assert report.findings[0] is cause  # (numbered best first once re-scored)


@pytest.mark.parametrize(
    ("node", "said"),
    [
        ("10.20.0.25_3306", "`ledger_6`"),  # a node with no part in the step
        ("10.20.0.24_3306", "`ledger_3`"),  # the target, busy with another partition
    ],
    ids=["uninvolved_node", "other_partition"],
)
def test_a_restart_not_tied_to_the_failed_step_does_not_win(
    tmp_path: Path, node: str, said: str
) -> None:
    report = forensics.analyze(_no_ma_restart(tmp_path, status="failed", node=node, said=said))
    assert _verdicts(report) == [("ledger", "failure", "copy", "network_error")]


def _ma_log(root: Path, failed_at: str) -> None:
    _log(root, "10.20.0.10_3306", [
        (900000000000, "10:43:00.000", "   INFO: Thread 5: RebalancePartitions: REBALANCE PARTITIONS ON `ledger` started, 3 operations"),
        (900001000000, "10:43:01.000", "   INFO: Thread 5: RebalancePartitions: COPY PARTITION ledger:6 to '10.20.0.24':3306 starting"),
        (900020000000, failed_at, "  ERROR: Thread 5: RebalancePartitions: COPY PARTITION ledger:6 to '10.20.0.24':3306 failed: Leaf Error (10.20.0.24:3306): Lost connection to MySQL server during query (2013)"),
    ])  # fmt: skip


def test_a_restart_hours_before_a_dated_failure_does_not_win(tmp_path: Path) -> None:
    """With the master aggregator's log the failure has a time: the target's restart
    three hours before it, on the same partition, is not its cause."""
    bundle = _no_ma_restart(tmp_path, status="failed")
    _ma_log(bundle, "10:43:20.000")
    report = forensics.analyze(bundle)
    assert _verdicts(report) == [("ledger", "failure", "copy", "network_error")]


def _rejected_line(ts: str) -> tuple[int, str, str]:
    return (
        440635686908,
        ts,
        "  ERROR: Thread 115012: Query crm.'REBALANCE PARTITIONS ON crm' failed: ERROR 1706 "
        "(HY000): Feature 'REBALANCE PARTITIONS on a child aggregator' is not supported by "
        "MemSQL. Run it on the master aggregator.",
    )


def test_a_rebalance_rejected_on_a_child_aggregator_is_no_failure(tmp_path: Path) -> None:
    """Nothing ran: no verdict of failure, exit 0, and a warning saying where and why."""
    _log(tmp_path, "10.20.0.11_3306", [_rejected_line("06:35:57.126")])
    _log(tmp_path, "10.20.0.21_3306", [(5000, "06:30:00.000", "   WARN: Thread 9: Fn: slow query")])
    (tmp_path / "status.txt").write_text(
        "mysql> SHOW REBALANCE STATUS ON crm;\nEmpty set (0.01 sec)\n"
    )
    (tmp_path / "partitions.txt").write_text(_partitions("crm", extra=()))
    report = forensics.analyze(tmp_path)
    assert all(v.status == "no_failure" for v in report.verdicts), _verdicts(report)
    assert report.exit_code == 0
    (said,) = [w for w in report.warnings if "rejected" in w]
    assert "crm" in said and "10.20.0.11_3306/tracelogs/memsql.log:1" in said and "1706" in said


def test_a_client_transcript_of_a_rejected_rebalance_is_no_failure(tmp_path: Path) -> None:
    (tmp_path / "session.txt").write_text(
        "mysql> REBALANCE PARTITIONS ON crm;\nERROR 1706 (HY000): Feature 'REBALANCE "
        "PARTITIONS on a child aggregator' is not supported by MemSQL. Run it on the master "
        "aggregator.\n"
    )
    report = forensics.analyze(tmp_path)
    assert report.exit_code == 0 and not report.failed, _verdicts(report)


def test_a_rebalance_that_ran_and_failed_beside_a_rejected_one_stays_a_failure(
    tmp_path: Path,
) -> None:
    _log(tmp_path, "10.20.0.11_3306", [_rejected_line("06:35:57.126")])
    _log(tmp_path, "10.20.0.10_3306", [
        (900000000000, "07:00:00.000", "   INFO: Thread 5: RebalancePartitions: REBALANCE PARTITIONS ON crm started"),
        (900090000000, "07:01:30.000", "  ERROR: Thread 5: RebalancePartitions: REBALANCE PARTITIONS ON crm failed: COPY PARTITION crm:3 TO '10.20.0.23':3306: Leaf Error (10.20.0.23:3306): Lock wait timeout exceeded; try restarting transaction"),
    ])  # fmt: skip
    report = forensics.analyze(tmp_path)
    assert _verdicts(report) == [("crm", "failure", "copy", "lock_timeout")]
    assert report.exit_code == 1


STEP_EVENT = grammars.load("messages")["step_event"]


@pytest.mark.parametrize(
    "sample", STEP_EVENT["rejected_samples"], ids=lambda s: str(s["message"])[:50]
)
def test_rejected_samples(sample: dict[str, object]) -> None:
    """`rejected` matches the samples marked so, and the tracelog grammar gives those no
    step_event (it is removed, as `none` is, before the outcome tokens are tested); the
    near misses keep theirs."""
    text = str(sample["message"])
    assert bool(re.search(STEP_EVENT["rejected"], text)) is sample["rejected"]
    (row,) = parse_lines([f"12345678 2024-03-04 10:00:00.000  ERROR: {text}"]).iter_rows(named=True)
    if sample["rejected"]:
        assert row["step_event"] is None
    elif "REBALANCE PARTITIONS ON" in text:
        assert row["step_event"] in ("rebalance_failure", "step_failure")


def test_rejected_samples_hold_near_misses() -> None:
    assert {s["rejected"] for s in STEP_EVENT["rejected_samples"]} == {True, False}


def test_logs_that_do_not_reach_back_to_the_failure_are_not_called_missing(
    tmp_path: Path,
) -> None:
    """An aggregator's log (a node that holds no partition) is in the bundle, with no line
    of the rebalance: it may start after the failure (rotated away); ask for the rotated
    files rather than saying the master aggregator's log is likely missing."""
    (tmp_path / "status.txt").write_text(
        _status([("COPY PARTITION", 1, "10.20.0.23", 1, "failed", 4000)])
    )
    (tmp_path / "partitions.txt").write_text(_partitions())
    _log(tmp_path, "10.20.0.10_3306", [(5000, "06:00:11.000", "   WARN: Thread 9: Fn: slow query")])
    _log(tmp_path, "10.20.0.21_3306", [(6000, "06:00:12.000", "   WARN: Thread 9: Fn: slow query")])
    report = forensics.analyze(tmp_path)
    (said,) = [w for w in report.warnings if "holds a line of the rebalance" in w]
    assert "10.20.0.10:3306" in said and "do not cover the failure" in said
    assert "memsql.log.N" in said and "likely missing" not in said


def test_leaves_whose_logs_end_hours_before_the_aggregators_get_a_zone_hint(
    tmp_path: Path,
) -> None:
    """The leaves log in UTC-5, read as UTC: their logs end 5 h before the master
    aggregator's. The cause is found on the failure line (confidently), and the hint is
    still given: the leaves' lines are read 5 h off."""
    (tmp_path / "partitions.txt").write_text(_partitions())
    _log(tmp_path, "10.20.0.10_3306", [
        (900000000000, "07:40:00.000", "   INFO: Thread 5: RebalancePartitions: REBALANCE PARTITIONS ON `ledger` started, 1 operations"),
        (900001000000, "07:40:01.000", "   INFO: Thread 5: RebalancePartitions: COPY PARTITION ledger:1 to '10.20.0.23':3306 starting"),
        (900060000000, "07:41:00.000", "  ERROR: Thread 5: RebalancePartitions: COPY PARTITION ledger:1 to '10.20.0.23':3306 failed: Leaf Error (10.20.0.23:3306): ERROR 1712 (HY000): Not enough memory available"),
        (909000000000, "13:50:21.000", "   INFO: Thread 5: Fn: `ledger_1` log: replica at node 3 acknowledged position 1:2"),
    ])  # fmt: skip
    for i, node in enumerate(("10.20.0.21_3306", "10.20.0.23_3306")):
        _log(tmp_path, node, [
            (100000000 + i, "02:41:00.000", f"   INFO: Thread 7: `ledger_{i}` log: replica at node 3 acknowledged position 1:1"),
            (200000000 + i, f"08:50:0{i}.000", f"   INFO: Thread 7: `ledger_{i}` log: replica at node 3 acknowledged position 1:9"),
        ])  # fmt: skip
    report = forensics.analyze(tmp_path)
    assert _verdicts(report) == [("ledger", "failure", "copy", "out_of_memory")]
    (hint,) = [w for w in report.warnings if "--tz" in w]
    assert hint.startswith("10.20.0.21:3306, 10.20.0.23:3306: their logs end 5h00m before")
