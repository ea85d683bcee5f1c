"""A rebalance whose master aggregator or copy source went away, seen without help.

A run with no outcome is over when the master aggregator that ran it restarted after its
last line, also when only its startup lines after a silence show it (a log without the
uptime counter), or when other nodes say the master aggregator was lost and it logged
nothing more; a leaf's restart ends no run. The copy's source named by the failure line
(``Leaf Error (host:port)``) is a node of the failed step without a partition snapshot.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from forensics import grammars
from forensics.analysis import analyze
from forensics.report.json import to_dict

MA = "10.3.0.10:3306"
CHILD = "10.3.0.9:3306"
LEAVES = ["10.3.0.11:3306", "10.3.0.12:3306", "10.3.0.13:3306"]
STARTUP = [
    ("INFO", "Log opened"),
    ("INFO", "Completed recovery of system databases.  Beginning recovery of user databases."),
    ("INFO", "Consensus node started..."),
    ("INFO", "Starting the accept loop."),
]
RUN = [
    ("10:00:00.000", "INFO", "Rebalance: executing REBALANCE PARTITIONS ON `shop` (4 steps)"),
    ("10:00:00.200", "INFO", "CopyPartition: executing partition shop:3 to '10.3.0.13':3306"),
    ("10:01:00.200", "INFO", "CopyPartition: partition shop:3 on '10.3.0.13':3306: success"),
    ("10:01:00.700", "INFO", "CopyPartition: executing partition shop:4 to '10.3.0.13':3306"),
]


def _lines(rows: list[tuple[str, str, str]]) -> list[str]:
    """Tracelog lines of 2026-03-25 without the uptime counter."""
    return [f"2026-03-25 {ts}  {level:>5}: Thread 115138: {msg}" for ts, level, msg in rows]


def _head(node: str) -> list[tuple[str, str, str]]:
    """The startup lines every log begins with, then a line of no consequence (naming the
    node: identical files are one file, a duplicate)."""
    return [("09:00:00.000", level, msg) for level, msg in STARTUP] + [
        ("09:30:00.000", "INFO", f"ReplicationManagement: verified 27 partitions ({node})")
    ]


def _bundle(root: Path, logs: dict[str, list[tuple[str, str, str]]]) -> dict[str, Any]:
    bundle = root / "bundle"
    for node, rows in logs.items():
        path = bundle / node.replace(":", "_") / "memsql.log"
        path.parent.mkdir(parents=True)
        path.write_text("\n".join(_lines(rows)) + "\n")
    aggs = "\n".join(f"| {n.split(':')[0]} | 3306 | online | {int(n == MA)} |" for n in (MA, CHILD))
    (bundle / "sql").mkdir()
    (bundle / "sql" / "aggregators.txt").write_text(
        "mysql> SHOW AGGREGATORS;\n+------+------+--------+-------------------+\n"
        "| Host | Port | State  | Master_Aggregator |\n+------+------+--------+-------------------+\n"
        f"{aggs}\n+------+------+--------+-------------------+\n"
    )
    return to_dict(analyze(bundle))


def _verdict(doc: dict[str, Any]) -> tuple[str, str | None, str | None]:
    (verdict,) = [v for v in doc["verdicts"] if v["database"] == "shop"]
    return verdict["status"], verdict["phase"], verdict["cause"]


def _leaves(extra: dict[str, list[tuple[str, str, str]]]) -> dict[str, list[tuple[str, str, str]]]:
    return {node: _head(node) + extra.get(node, []) for node in [CHILD, *LEAVES]}


LOST = ("10:01:30.000", "WARN", f"ClusterManagement: lost connection to the master aggregator {MA}")


def test_master_restart_seen_by_its_startup_lines(tmp_path: Path) -> None:
    back = [("10:04:00.000", level, msg) for level, msg in STARTUP]
    logs = {MA: _head(MA) + RUN + back, **_leaves({leaf: [LOST] for leaf in LEAVES})}
    assert _verdict(_bundle(tmp_path, logs)) == ("failure", "copy", "node_failure")


def test_master_log_stops_and_others_say_it_is_lost(tmp_path: Path) -> None:
    child = [
        ("10:01:20.000", "WARN", f"Heartbeat: master aggregator {MA} did not answer for 5 s"),
        ("10:01:45.000", "WARN", f"ClusterManagement: master aggregator {MA} is unreachable"),
    ]
    logs = {MA: _head(MA) + RUN, **_leaves({CHILD: child, **{leaf: [LOST] for leaf in LEAVES}})}
    assert _verdict(_bundle(tmp_path, logs)) == ("failure", "copy", "node_failure")


def test_master_that_logs_on_was_not_lost(tmp_path: Path) -> None:
    alive = [("10:02:30.000", "INFO", "ReplicationManagement: verified 27 partition instances")]
    logs = {MA: _head(MA) + RUN + alive, **_leaves({leaf: [LOST] for leaf in LEAVES})}
    assert _verdict(_bundle(tmp_path, logs))[0] != "failure"


def test_a_leaf_restart_is_not_the_masters(tmp_path: Path) -> None:
    back = [("10:02:00.000", level, msg) for level, msg in STARTUP]
    logs = {MA: _head(MA) + RUN, **_leaves({LEAVES[0]: back})}
    assert _verdict(_bundle(tmp_path, logs))[0] != "failure"


@pytest.mark.parametrize("sample", grammars.load("messages")["lost_node"]["lines"])
def test_lost_node_grammar_samples(sample: dict[str, Any]) -> None:
    group = grammars.load("messages")["lost_node"]
    message = sample["message"]
    for key in ("startup", "master_lost", "back"):
        assert bool(re.search(group[key], message)) == sample.get(key, False), key
    found = re.search(group["peer"], message)
    peer = found and (found.group("peer") or f"{found.group('from')}:{found.group('port')}")
    assert peer == sample.get("peer")


def test_copy_source_named_by_the_failure_line_restarted(tmp_path: Path) -> None:
    failed = (
        "10:01:30.000",
        "ERROR",
        "CopyPartition: partition shop:4 on '10.3.0.13':3306: failure, Leaf Error "
        "(10.3.0.11:3306): Lost connection to MySQL server during query",
    )
    logs = {MA: _head(MA) + RUN + [failed], **_leaves({})}
    doc_dir = tmp_path / "b"
    _bundle(doc_dir, logs)
    source = doc_dir / "bundle" / "10.3.0.11_3306" / "memsql.log"
    source.write_text(  # the source's uptime counter resets: it restarted (SIGKILL, silent)
        "5000000000000 2026-03-25 10:01:25.000   INFO: Thread 115001: ReplicationManagement: "
        "verified 27 partitions\n"
        "0001000000 2026-03-25 10:01:50.000   INFO: Thread 115001: ReplicationManagement: "
        "verified 27 partitions\n"
    )
    doc = to_dict(analyze(doc_dir / "bundle"))
    assert _verdict(doc) == ("failure", "copy", "node_failure")


def test_target_restart_shown_only_by_startup_lines_is_the_cause(tmp_path: Path) -> None:
    # no uptime counter: the target's last line before a silence, then its startup lines
    # 100 s after the failure; the MA reports a lost connection (probe N's n04)
    target = LEAVES[2]
    failed = (
        "10:01:30.000",
        "ERROR",
        f"CopyPartition: partition shop:4 on '10.3.0.13':3306 failed: Leaf Error ({target}): "
        "Lost connection to MySQL server during query (2013)",
    )
    ended = ("10:01:30.100", "ERROR", "Rebalance: REBALANCE PARTITIONS ON `shop` failed")
    last = ("10:01:05.000", "INFO", "ReplicationManagement: verified 27 partition instances")
    back = [("10:03:10.000", level, msg) for level, msg in STARTUP]
    logs = {MA: _head(MA) + RUN + [failed, ended], **_leaves({target: [last, *back]})}
    assert _verdict(_bundle(tmp_path, logs)) == ("failure", "copy", "node_failure")
