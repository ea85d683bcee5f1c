"""A node its peers report offline, or missing heartbeats, while its own log goes on.

Each case is a small log-only bundle of a rebalance of ``sales`` whose copy of sales:7 to
the leaf 10.0.1.16 fails at 11:04:00 on the master aggregator (10.0.1.10) on a lost
connection, after the aggregator said the leaf went offline (or missed its heartbeats).
What the leaf's own log shows decides: up through the failure (no restart, lines before
and after it) is a network partition; a restart, or no line of its own across the
failure, or no log of it at all, is the node failure its peers' lost connections are
symptoms of. The verdict and the ``why_not`` texts are read from ``forensics analyze
--json``, as a user would see them.
"""

from __future__ import annotations

from pathlib import Path

from tests.test_distractors15 import IDLE, Line, T, _analyze, _log, _why_not

MA, LEAF = "10.0.1.10", "10.0.1.16"
BOOT = "INFO: Thread 99999: Main: Starting SingleStore server, version 8.5.22"
OFFLINE = "WARN: Thread 115301: ClusterManager: Node 10.0.1.16:3306 state changed from online to offline"  # fmt: skip
ONLINE = "INFO: Thread 115146: ClusterManager: Node 10.0.1.16:3306 state changed from offline to online"  # fmt: skip
LOST = "Step 2/2: copying partition `sales_7` on node [7] 10.0.1.16:3306 aborted: Leaf Error (10.0.1.16:3306): Lost connection to MySQL server during query (2013)"  # fmt: skip
TIMEOUT = "ERROR: `sales_7` log: Provisioning from 10.0.1.14:3306 failed: recv() returned errno=110 (Connection timed out)"  # fmt: skip
#: the leaf, up all along: lines before, at and after the failure, no restart
UP = [
    ("11:03:20.000", IDLE),
    ("11:03:58.500", TIMEOUT),
    ("11:04:25.000", IDLE),
    ("11:04:41.000", "INFO: Thread 115334: ClusterManagement: reconnected to the master aggregator 10.0.1.10:3306 after it was unreachable for 44 s"),
]  # fmt: skip


def _bundle(root: Path, ma: list[Line], leaf: list[Line] | None) -> Path:
    """The aggregator copies sales:3, then sales:7 to the leaf from 11:03:00, which fails
    at 11:04:00 on a lost connection; ``ma``: its lines about the leaf; ``leaf``: the
    leaf's own log besides idle lines before 11:02 (None: no log of the leaf)."""
    steps = [
        ("11:00:00.000", f"INFO: {T}Beginning rebalance of database `sales`: 2 steps planned"),
        ("11:00:00.100", f"INFO: {T}Step 1/2: copying partition sales:3 on 10.0.1.16:3306 started"),
        ("11:01:00.100", f"INFO: {T}Step 1/2: copy of partition sales:3 on 10.0.1.16:3306 finished after 60.0 s"),
        ("11:03:00.000", f"INFO: {T}Step 2/2: copying partition sales:7 on 10.0.1.16:3306 started"),
        ("11:04:00.000", f"ERROR: {T}{LOST}"),
        ("11:04:00.100", f"ERROR: {T}Rebalance of database `sales` failed"),
    ]  # fmt: skip
    bundle = root / "bundle"
    _log(bundle / f"{MA}_3306" / "tracelogs" / "memsql.log", steps + ma)
    if leaf is not None:
        background = [(f"10:{m:02d}:07.000", IDLE) for m in range(50, 60)]
        _log(bundle / f"{LEAF}_3306" / "tracelogs" / "memsql.log", background + leaf)
    return bundle


MARKED = [("11:03:58.000", OFFLINE), ("11:04:38.000", ONLINE)]
UNANSWERED = [
    (f"11:03:{s}.000", f"WARN: Thread 115065: HeartbeatThread: {n} consecutive heartbeats unanswered by 10.0.1.16:3306")
    for n, s in ((1, 45), (2, 50), (3, 55))
]  # fmt: skip


def test_a_leaf_marked_offline_whose_own_log_goes_on_is_a_network_partition(
    tmp_path: Path,
) -> None:
    """Offline for 40 s in the aggregator's word, but the leaf logs through the failure
    (a connection timeout of its own) and never restarts: the network is the cause, the
    offline line its consequence, and its why_not says the leaf's log shows it up."""
    verdict, findings = _analyze(_bundle(tmp_path, MARKED, UP))
    assert (verdict["phase"], verdict["cause"]) == ("copy", "network_error")
    why = _why_not(findings, verdict["finding"], "node_failure")
    assert "10.0.1.16:3306's own log shows it up at the failure" in why, why


def test_heartbeats_unanswered_by_a_leaf_that_is_up_are_a_network_partition(
    tmp_path: Path,
) -> None:
    verdict, findings = _analyze(_bundle(tmp_path, UNANSWERED, UP))
    assert verdict["cause"] == "network_error"
    assert "own log shows it up" in _why_not(findings, verdict["finding"], "node_failure")


def test_a_leaf_marked_offline_that_restarted_is_still_the_node_failure(tmp_path: Path) -> None:
    """The same, but the leaf's last line is before the failure and it starts again
    40 s later: down at the failure; the stronger network findings are its symptoms,
    and their why_not says so rather than "as strong"."""
    leaf = [("11:03:20.000", IDLE), ("11:04:40.000", BOOT), ("11:04:50.000", IDLE)]
    verdict, findings = _analyze(_bundle(tmp_path, MARKED, leaf))
    assert verdict["cause"] == "node_failure"
    why = _why_not(findings, verdict["finding"], "network_error")
    assert "but a symptom of the node_failure" in why and "as strong" not in why, why


def test_a_leaf_marked_offline_and_silent_across_the_failure_is_the_node_failure(
    tmp_path: Path,
) -> None:
    """No line of the leaf's own from two minutes before the failure to two after: its
    log does not show it up, the aggregator's word stands."""
    leaf = [("11:02:00.000", IDLE), ("11:06:00.000", IDLE)]
    verdict, _ = _analyze(_bundle(tmp_path, MARKED, leaf))
    assert verdict["cause"] == "node_failure"


def test_a_leaf_marked_offline_without_its_log_is_the_node_failure(tmp_path: Path) -> None:
    verdict, _ = _analyze(_bundle(tmp_path, MARKED, None))
    assert verdict["cause"] == "node_failure"
