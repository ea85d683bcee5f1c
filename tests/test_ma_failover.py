"""A master aggregator lost or replaced during a rebalance, and the roles of SHOW AGGREGATORS.

The bundle's node roles are the ones at its capture: SHOW AGGREGATORS (or MV_NODES) names
the current master and the child aggregators, also after a failover; the rebalance's own
master aggregator stays the node that ran its steps. A rebalance does not outlive its
master aggregator: when the orchestrator's log ends in a step and another node takes over
as master after it, the run failed in that step (not "still running"), its cause the lost
master (node_failure); a failover before the run, whose new master ran it, ends nothing.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from forensics import grammars
from forensics.analysis import analyze
from forensics.report.json import to_dict
from forensics.timeline import master_takeovers

OLD_MA, NEW_MA, CHILD = "10.1.0.10:3306", "10.1.0.20:3306", "10.1.0.30:3306"
LEAVES = ["10.1.0.11:3306", "10.1.0.12:3306", "10.1.0.15:3306", "10.1.0.16:3306"]


def _log(start_uptime: int, lines: list[tuple[str, str, str]]) -> list[str]:
    """Tracelog lines (time of 2026-03-12, level, message), the uptime counter rising."""
    return [
        f"{start_uptime + n * 1_000_000:013d} 2026-03-12 {ts}  {level:>5}: Thread 115050: {msg}"
        for n, (ts, level, msg) in enumerate(lines)
    ]


def _run_lines(steps_done: int = 1) -> list[tuple[str, str, str]]:
    """The orchestrator's lines of a rebalance of ``sales``: copies done, then one started."""
    lines = [("02:00:00.080", "INFO", "Beginning rebalance of database `sales`: 4 steps planned")]
    copies = [(4, "10.1.0.15:3306"), (7, "10.1.0.16:3306")]
    for n, (ordinal, target) in enumerate(copies[: steps_done + 1], start=1):
        lines.append(
            (
                f"02:0{n}:01.000",
                "INFO",
                f"Step {n}/4: copying partition sales:{ordinal} on {target} started",
            )
        )
        if n <= steps_done:
            lines.append(
                (
                    f"02:0{n}:30.000",
                    "INFO",
                    f"Step {n}/4: copy of partition sales:{ordinal} on {target} finished "
                    "after 29.0 s",
                )
            )
    return lines


TAKEOVER = [
    ("02:02:38.740", "WARN", f"Heartbeat: master aggregator {OLD_MA} did not answer for 5 s"),
    (
        "02:03:36.740",
        "INFO",
        "Query information_schema.'AGGREGATOR SET AS MASTER' started by 'admin'@'10.9.0.4'",
    ),
    ("02:03:37.740", "INFO", f"ClusterManagement: this node {NEW_MA} is now the master aggregator"),
]
REPORTED = (
    "02:03:39.740",
    "ERROR",
    f"Rebalance of database `sales` failed: its master aggregator {OLD_MA} was lost during "
    "COPY PARTITION sales:7 on 10.1.0.16:3306; 2 steps not run",
)
QUIET = [("01:30:00.000", "INFO", "ReplicationManagement: verified 27 partition instances")]


def _quiet(node: str) -> list[tuple[str, str, str]]:
    """A line of no consequence, of one node (identical files are one file, a duplicate)."""
    return [(ts, level, f"{msg} ({node})") for ts, level, msg in QUIET]


def _topology(*aggregator_tables: list[tuple[str, int]]) -> str:
    """SHOW LEAVES, then one SHOW AGGREGATORS per table ((node, Master_Aggregator) rows)."""
    rows = "\n".join(
        f"| {n.split(':')[0]} | 3306 | {1 + i % 2} | online |" for i, n in enumerate(LEAVES)
    )
    text = (
        "mysql> SHOW LEAVES;\n+------+------+--------------------+--------+\n"
        "| Host | Port | Availability_Group | State  |\n+------+------+--------------------+--------+\n"
        f"{rows}\n+------+------+--------------------+--------+\n\n"
    )
    for table in aggregator_tables:
        rows = "\n".join(f"| {n.split(':')[0]} | 3306 | online | {m} |" for n, m in table)
        text += (
            "mysql> SHOW AGGREGATORS;\n+------+------+--------+-------------------+\n"
            "| Host | Port | State  | Master_Aggregator |\n+------+------+--------+-------------------+\n"
            f"{rows}\n+------+------+--------+-------------------+\n\n"
        )
    return text


def _analyze(root: Path, logs: dict[str, list[str]], topology: str) -> dict[str, Any]:
    """The JSON report of a bundle of ``<ip>_<port>`` folders and sql/topology.txt."""
    bundle = root / "bundle"
    for folder, lines in logs.items():
        path = bundle / folder / "tracelogs" / "memsql.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")
    (bundle / "sql").mkdir(parents=True, exist_ok=True)
    (bundle / "sql" / "topology.txt").write_text(topology)
    return to_dict(analyze(bundle))


def _folder(node: str) -> str:
    return node.replace(":", "_")


def _failover_bundle(root: Path, new_ma_lines: list[tuple[str, str, str]]) -> dict[str, Any]:
    logs = {
        _folder(OLD_MA): _log(2_000_000_000, _quiet(OLD_MA) + _run_lines()),
        _folder(NEW_MA): _log(3_000_000_000, _quiet(NEW_MA) + new_ma_lines),
        _folder(CHILD): _log(4_000_000_000, _quiet(CHILD)),
        **{_folder(leaf): _log(5_000_000_000, _quiet(leaf)) for leaf in LEAVES},
    }
    after = [(NEW_MA, 1), (OLD_MA, 0), (CHILD, 0)]
    return _analyze(root, logs, _topology(after))


def _roles(doc: dict[str, Any]) -> dict[str, str]:
    return {n["node"]: n["role"] for n in doc["nodes"]}


def _sales(doc: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    (verdict,) = [v for v in doc["verdicts"] if v["database"] == "sales"]
    (rebalance,) = [r for r in doc["rebalances"] if r["database"] == "sales"]
    return verdict, rebalance


def test_new_master_reports_the_lost_master(tmp_path: Path) -> None:
    doc = _failover_bundle(tmp_path, [*TAKEOVER, REPORTED])
    roles = _roles(doc)
    # the roles at the capture: SHOW AGGREGATORS, after the failover
    assert roles[NEW_MA] == "master_aggregator"
    assert roles[OLD_MA] == roles[CHILD] == "child_aggregator"
    assert all(roles[leaf] == "leaf" for leaf in LEAVES)
    verdict, rebalance = _sales(doc)
    assert (verdict["status"], verdict["phase"], verdict["cause"]) == (
        "failure",
        "copy",
        "node_failure",
    )
    assert rebalance["master_aggregator"] == OLD_MA  # who ran the steps


def test_orchestrator_log_ends_and_another_node_takes_over(tmp_path: Path) -> None:
    doc = _failover_bundle(tmp_path, TAKEOVER)  # no node logs the rebalance's failure
    verdict, rebalance = _sales(doc)
    assert (verdict["status"], verdict["phase"]) == ("failure", "copy")
    assert verdict["cause"] in ("node_failure", "unknown")
    assert rebalance["outcome"] == "failed"
    assert rebalance["master_aggregator"] == OLD_MA
    assert "is now the master aggregator" in verdict["error"]
    # not blocked as "still running": the run is over
    reasons = [s["blocked_by"] or "" for s in doc["recovery"]]
    assert not any("still running" in reason for reason in reasons)


def test_failover_before_the_run_ends_nothing(tmp_path: Path) -> None:
    # the old master failed at 01:10; the new one ran the rebalance, still going
    takeover = [(f"01:1{n}:00.000", level, msg) for n, (_, level, msg) in enumerate(TAKEOVER)]
    logs = {
        _folder(OLD_MA): _log(
            2_000_000_000, [("01:00:00.000", "INFO", "Consensus: lease renewed")]
        ),
        _folder(NEW_MA): _log(3_000_000_000, takeover + _run_lines()),
        **{_folder(leaf): _log(5_000_000_000, _quiet(leaf)) for leaf in LEAVES},
    }
    doc = _analyze(tmp_path, logs, _topology([(OLD_MA, 0), (NEW_MA, 1)]))
    verdict, rebalance = _sales(doc)
    assert rebalance["master_aggregator"] == NEW_MA
    assert rebalance["outcome"] == "running"
    assert verdict["status"] != "failure"
    assert _roles(doc)[OLD_MA] == "child_aggregator"


def test_latest_aggregator_capture_decides_the_master(tmp_path: Path) -> None:
    # two captures in one transcript: before the failover (.10 master), then after it
    logs = {
        _folder(OLD_MA): _log(2_000_000_000, _quiet(OLD_MA)),
        _folder(NEW_MA): _log(3_000_000_000, _quiet(NEW_MA)),
        _folder(LEAVES[0]): _log(5_000_000_000, _quiet(LEAVES[0])),
    }
    before, after = [(OLD_MA, 1), (NEW_MA, 0)], [(NEW_MA, 1)]
    roles = _roles(_analyze(tmp_path, logs, _topology(before, after)))
    assert roles == {
        OLD_MA: "child_aggregator",
        NEW_MA: "master_aggregator",
        LEAVES[0]: "leaf",
    }


def test_folder_roles_keep_precedence(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    for folder, start in (("10.1.0.10-MA", 2_000_000_000), ("10.1.0.20-CA", 3_000_000_000)):
        path = bundle / folder / "memsqlTracelogs" / "memsql.log"
        path.parent.mkdir(parents=True)
        path.write_text("\n".join(_log(start, _quiet(folder))) + "\n")
    (bundle / "sql").mkdir()
    # (an older capture that says otherwise: the folders are the collector's word)
    (bundle / "sql" / "topology.txt").write_text(_topology([(NEW_MA, 1), (OLD_MA, 0)]))
    roles = _roles(to_dict(analyze(bundle)))
    assert roles[OLD_MA] == "master_aggregator"
    assert roles[NEW_MA] == "child_aggregator"


def test_current_master_without_its_log(tmp_path: Path) -> None:
    # the bundle holds the old master's log, not the new one's: the tables still decide
    # the roles, and the run is the old master's
    failed = (
        "02:02:30.000",
        "ERROR",
        "Step 2/4: copying partition `sales_7` on node [8] 10.1.0.16:3306 aborted: Leaf Error "
        "(10.1.0.16:3306): ERROR 1712 (HY000): Not enough memory available to complete the "
        "current request. The request was not processed.",
    )
    logs = {
        _folder(OLD_MA): _log(2_000_000_000, _quiet(OLD_MA) + _run_lines() + [failed]),
        **{_folder(leaf): _log(5_000_000_000, _quiet(leaf)) for leaf in LEAVES},
    }
    doc = _analyze(tmp_path, logs, _topology([(NEW_MA, 1), (OLD_MA, 0)]))
    assert _roles(doc)[OLD_MA] == "child_aggregator"
    verdict, rebalance = _sales(doc)
    assert rebalance["master_aggregator"] == OLD_MA
    assert (verdict["status"], verdict["phase"], verdict["cause"]) == (
        "failure",
        "copy",
        "out_of_memory",
    )


@pytest.mark.parametrize("sample", grammars.load("messages")["takeover"]["lines"])
def test_takeover_grammar_samples(sample: dict[str, Any]) -> None:
    events = pl.DataFrame(
        {
            "ts": [datetime(2026, 3, 1, 10, 0)],
            "level": ["WARN"],
            "message": [sample["message"]],
        }
    )
    assert master_takeovers(events).height == int(sample["takeover"])
