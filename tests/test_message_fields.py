"""Message wordings a probe found misread (grammars/messages.toml), checked where a user
sees them: the fields of the events, and the verdict of ``analyze`` on a small bundle.

* a REBALANCE statement echoed as a query (``Query sales.'REBALANCE ...' failed with
  error 1712``) is the rebalance's own failure line, for its database;
* a table of a partition database (``SnapshotTable: `sales_4`.`orders`: ...``) names the
  database and ordinal;
* a statement a client ran on its own connection (a manual ``DROP PARTITION``) is no
  step of a rebalance.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from forensics.analysis import Report, analyze
from forensics.diagnose import Finding
from forensics.parsers.tracelog import parse_lines

MA = "10.1.0.10_3306"
TARGET = "10.1.0.14_3306"  # the leaf the step copies to
REBALANCE = "Thread 115092 (ntid 18, conn id 26001): "  # the rebalance's own connection
CLIENT = "Thread 115114 (ntid 45, conn id 3321): "  # a user's connection
ECHO = "Thread 115054 (ntid 20, conn id 31002): "  # the connection that ran REBALANCE
OOM = (
    "Leaf Error (10.1.0.14:3306): Not enough memory available to complete the current "
    "request. The request was not processed."
)
LOCK = "Lock wait timeout exceeded; try restarting transaction (error 1205)"


def _line(second: int, level: str, text: str) -> str:
    """A tracelog line at 2026-11-26 10:MM:SS (``second`` from 10:00:00)."""
    minute, sec = divmod(second, 60)
    stamp = f"2026-11-26 10:{minute:02d}:{sec:02d}.000"
    return f"{1936800000000 + second * 1_000_000} {stamp} {level:>6}: {text}"


def _bundle(root: Path, logs: dict[str, list[str]]) -> Path:
    for node, lines in logs.items():
        folder = root / "bundle" / node
        folder.mkdir(parents=True)
        (folder / "memsql.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root / "bundle"


def _fields(messages: list[str]) -> list[dict[str, object]]:
    events = parse_lines([_line(i, "INFO", m) for i, m in enumerate(messages)])
    return events.select(
        "database", "ordinal", "action", "phase_kind", "step_event", "target", "error_code"
    ).to_dicts()


def _finding(report: Report, finding_id: str | None) -> Finding:
    (finding,) = [f for f in report.findings if f.id == finding_id]
    return finding


# ------------------------------------------------------------------- REBALANCE echoed


ECHOED = [
    _line(0, "INFO", f"{ECHO}ExecuteQuery: connection 31002 ('root'@'10.1.9.2') started "
                     "REBALANCE PARTITIONS ON sales"),
    _line(60, "WARN", f"{ECHO}Query sales.'REBALANCE PARTITIONS ON sales' has been running "
                      "for 60 seconds"),
    _line(116, "ERROR", f"{ECHO}Query sales.'REBALANCE PARTITIONS ON sales' failed with "
                        f"error 1712: {OOM}"),
]  # fmt: skip


def test_a_rebalance_statement_echoed_as_a_query_is_the_rebalances_line() -> None:
    start, running, failed = (
        parse_lines(ECHOED)
        .select("database", "step_event", "target", "error_code", "action")
        .rows(named=True)
    )
    assert start == {
        "database": "sales",
        "step_event": "rebalance_start",
        "target": None,
        "error_code": None,
        "action": None,
    }
    assert running["database"] == "sales"
    assert failed == {
        "database": "sales",
        "step_event": "rebalance_failure",
        "target": "10.1.0.14:3306",
        "error_code": 1712,
        "action": None,
    }


def test_a_rebalance_failing_as_an_echoed_query_is_out_of_memory(tmp_path: Path) -> None:
    report = analyze(_bundle(tmp_path, {MA: ECHOED}))
    (rebalance,) = report.rebalances
    assert (rebalance.database, rebalance.outcome) == ("sales", "failed")
    (verdict,) = report.verdicts
    assert (verdict.database, verdict.status, verdict.cause) == (
        "sales",
        "failure",
        "out_of_memory",
    )
    assert verdict.confidence is not None and verdict.confidence >= 0.9
    evidence = _finding(report, verdict.finding).evidence[0]
    assert "Query sales.'REBALANCE PARTITIONS ON sales' failed with error 1712" in evidence["text"]


def test_other_queries_keep_their_text_masked() -> None:
    """Only the REBALANCE statement is kept: a user's query names no partition, and a
    statement no keyword tells gives no database."""
    rows = _fields(
        [
            "Query sales.'UPDATE `orders` SET x = 1 WHERE src = 'crm_3'' failed with error 1205",
            "Query sales.'/* etl */ MERGE INTO `orders_3` ...' submitted 12 milliseconds ago",
            "Query sales.'SELECT * FROM rebalance_history' failed with error 1205",
        ]
    )
    assert [(r["database"], r["ordinal"], r["step_event"]) for r in rows] == [
        ("sales", None, None),
        (None, None, None),
        ("sales", None, None),
    ]


# ------------------------------------------------------- a partition database's table


def test_a_partition_databases_table_names_database_and_ordinal() -> None:
    rows = _fields(
        [
            f"SnapshotTable: `sales_4`.`orders`: {LOCK} while taking snapshot",
            f"`sales_4` log: {LOCK}",
            f"SnapshotTable: `crm`.`accounts`: {LOCK}",
            "ProcessCommand: OPTIMIZE TABLE sales_4.orders FULL started",
            # a query's alias and its column (no component colon nor preposition before)
            "Lost connection to leaf1:3306 while reading `remote_0`.`NODE_ID`",
        ]
    )
    assert [(r["database"], r["ordinal"]) for r in rows] == [
        ("sales", 4),
        ("sales", 4),
        ("crm", None),
        ("sales", 4),
        (None, None),
    ]


def test_a_lock_timeout_on_the_partitions_table_is_the_cause(tmp_path: Path) -> None:
    step = "COPY PARTITION sales:4 TO '10.1.0.14':3306"
    ma = [
        _line(0, "INFO", f"{REBALANCE}RebalancePartitions: REBALANCE PARTITIONS ON sales "
                         "started: 1 operations planned"),
        _line(1, "INFO", f"{REBALANCE}RebalanceStep: {step} started"),
        _line(56, "ERROR", f"{REBALANCE}RebalanceStep: {step} failed: copy did not complete"),
        _line(57, "ERROR", f"{REBALANCE}RebalancePartitions: REBALANCE PARTITIONS ON sales "
                           "failed"),
    ]  # fmt: skip
    leaf = [
        _line(55, "ERROR", f"Thread 115028: SnapshotTable: `sales_4`.`orders`: {LOCK} while "
                           "applying the snapshot of the new replica"),
        # an anonymous connection reset at the same time names no partition
        _line(55, "ERROR", "Thread 115030: socket (104) Connection reset by peer in recv"),
    ]  # fmt: skip
    report = analyze(_bundle(tmp_path, {MA: ma, TARGET: leaf}))
    (verdict,) = report.verdicts
    assert (verdict.database, verdict.phase, verdict.cause) == ("sales", "copy", "lock_timeout")
    assert verdict.confidence is not None and verdict.confidence >= 0.9
    finding = _finding(report, verdict.finding)
    assert (finding.database, finding.ordinal) == ("sales", 4)


# ---------------------------------------------------------- a client's own statement


MANUAL_DROP = [
    _line(0, "INFO", f"{CLIENT}ExecuteQuery: connection 3321 ('dba'@'10.1.9.2') started "
                     "DROP PARTITION archive:3 ON '10.1.0.13':3306"),
    _line(1, "ERROR", f"{CLIENT}ExecuteQuery: DROP PARTITION archive:3 ON '10.1.0.13':3306 "
                      "failed: Error 1789: Cannot drop partition archive:3 on 10.1.0.13:3306 "
                      "because it is a master partition"),
]  # fmt: skip


def test_a_clients_own_statement_is_no_step_line() -> None:
    started, failed = _fields([m.split(": ", 1)[1] for m in MANUAL_DROP])
    for row in (started, failed):
        assert (row["action"], row["phase_kind"], row["step_event"]) == (None, None, None)
        assert (row["database"], row["ordinal"]) == ("archive", 3)  # its database stays
    assert failed["error_code"] == 1789  # and its error, for the cause rules


def test_the_rebalances_step_lines_are_read_as_before() -> None:
    rows = _fields(
        [
            f"{REBALANCE}RebalanceStep: DROP PARTITION sales:6 ON '10.1.0.13':3306 failed: "
            "Leaf Error (10.1.0.13:3306): Read-only file system",
            "Rebalance: step 2 of 4 (DROP PARTITION sales:7, target 10.1.0.12:3306) started",
            "DROP PARTITION sales:2 on 10.0.0.3:3306 failed: Query execution was interrupted",
            # a killer's identity is no client statement
            f"{REBALANCE}RebalanceStep: COPY PARTITION sales:3 TO '10.1.0.14':3306 failed: "
            "connection killed by 'ops'@'10.0.9.5'",
        ]
    )
    assert [(r["database"], r["ordinal"], r["phase_kind"], r["step_event"]) for r in rows] == [
        ("sales", 6, "drop", "step_failure"),
        ("sales", 7, "drop", "step_start"),
        ("sales", 2, "drop", "step_failure"),
        ("sales", 3, "copy", "step_failure"),
    ]


def test_a_manual_drop_partition_is_no_rebalance(tmp_path: Path) -> None:
    report = analyze(_bundle(tmp_path, {MA: MANUAL_DROP}))
    assert [r.database for r in report.rebalances] == []
    assert not report.failed
    assert [v.status for v in report.verdicts] == ["no_failure"]
    events = report.bundle.events.filter(pl.col("database") == "archive")
    assert events.height == 2
    assert events.get_column("step_event").null_count() == 2


def test_a_step_line_on_the_clients_connection_is_the_clients(tmp_path: Path) -> None:
    """The engine's own line for the client's statement (no client identity, but on the
    connection that ran it, for the same partition) is no rebalance step either; the
    rebalance's lines on its own connection, also for that database, still are."""
    ma = [
        _line(0, "INFO", f"{CLIENT}ExecuteQuery: connection 3321 ('dba'@'10.1.9.2') executed "
                         "DROP PARTITION archive:3 ON '10.1.0.13':3306"),
        _line(1, "INFO", "Thread 115154 (ntid 118, conn id 3321): DROP PARTITION archive:3 ON "
                         "'10.1.0.13':3306 completed in 812 ms"),
        _line(10, "INFO", f"{REBALANCE}RebalancePartitions: REBALANCE PARTITIONS ON archive "
                          "started: 1 operations planned"),
        _line(11, "INFO", f"{REBALANCE}RebalanceStep: DROP PARTITION archive:3 ON "
                          "'10.1.0.12':3306 started"),
        _line(12, "INFO", f"{REBALANCE}RebalanceStep: DROP PARTITION archive:3 ON "
                          "'10.1.0.12':3306 completed in 90 ms"),
    ]  # fmt: skip
    events = parse_lines(ma)
    assert events.get_column("step_event").to_list() == [
        None,
        None,
        "rebalance_start",
        "step_start",
        "step_success",
    ]
    report = analyze(_bundle(tmp_path, {MA: ma[:2]}))
    assert [r.database for r in report.rebalances] == []
