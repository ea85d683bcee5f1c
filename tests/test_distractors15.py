"""Distractors a probe found winning, or losing only by the severity tie-break.

Each case is a small log-only bundle of a rebalance of ``sales`` whose last step fails at
11:04:00 on the master aggregator (10.0.1.10); the step's target leaf (10.0.1.16) logs
lines of its own, some of them distractors. The verdict and the ``why_not`` texts are read
from ``forensics analyze --json``, as a user would see them.

- a leaf whose own error on the failed partition at the failure ties its clock to the
  aggregator's, then goes on logging and is restarted a minute later: the restart is after
  the failure, not its cause (a crash at the failure still is);
- a client's statement on the failed partition (``ExecuteQuery:`` on ``conn id N``) that
  timed out on a lock or was interrupted: the client's own fate;
- a retried attempt of an earlier, successful step of the failed partition;
- a line on a partition whose step had succeeded before it says so.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

import forensics
from forensics.cli import main
from forensics.diagnose import _best_finding, clock_tied, group_findings
from forensics.rules import load_rules, match
from forensics.timeline import build_timeline

MA, LEAF = "10.0.1.10", "10.0.1.16"
DAY = "2026-03-10"
T = "Thread 115334: "
COPY = "Step 2/3: copying partition sales:7 on 10.0.1.16:3306"
PROMOTE = "Step 3/3: promoting partition sales:7 on 10.0.1.16:3306 WITH DROP"
RESET = "ERROR: Thread 115219: Replication: `sales_7` snapshot stream from 10.0.1.14:3306 closed: Connection reset by peer (errno 104)"  # fmt: skip
IDLE = "INFO: Thread 115114: ReplicationManagement: verified 75 partition instances on 6 nodes, nothing to do"  # fmt: skip
BOOT = "INFO: Thread 99999: Main: Starting SingleStore server, version 8.5.22"

Line = tuple[str, str]  # (HH:MM:SS.mmm, "LEVEL: text")


def _log(path: Path, lines: list[Line]) -> None:
    """A tracelog with its uptime column: counting from days ago, from zero again at a
    ``Starting SingleStore server`` line (a restart)."""
    boot = datetime.fromisoformat(f"{DAY} 00:00:00") - timedelta(days=9)
    out = []
    for at, text in sorted(lines):
        ts = datetime.fromisoformat(f"{DAY} {at}")
        if "Starting SingleStore server" in text:
            boot = ts - timedelta(milliseconds=200)
        level, message = text.split(": ", 1)
        uptime = (ts - boot) // timedelta(microseconds=1)
        out.append(f"{uptime} {DAY} {at} {level:>6}: {message}\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(out), encoding="utf-8")


def _bundle(root: Path, last: str, failure: str, ma: list[Line], leaf: list[Line]) -> Path:
    """The aggregator copies sales:3, then runs ``last`` (COPY or PROMOTE of sales:7 on
    the leaf; a PROMOTE after the COPY of sales:7 succeeded) from 11:03:00, which fails
    with ``failure`` at 11:04:00; ``ma`` / ``leaf``: more lines of each node."""
    steps = [
        ("11:00:00.000", f"INFO: {T}Beginning rebalance of database `sales`: 3 steps planned"),
        ("11:00:00.100", f"INFO: {T}Step 1/3: copying partition sales:3 on 10.0.1.16:3306 started"),
        ("11:01:00.100", f"INFO: {T}Step 1/3: copy of partition sales:3 on 10.0.1.16:3306 finished after 60.0 s"),
    ]  # fmt: skip
    if last == "promote":
        steps += [
            ("11:01:00.500", f"INFO: {T}{COPY} started"),
            ("11:02:50.000", f"INFO: {T}Step 2/3: copy of partition sales:7 on 10.0.1.16:3306 finished after 109.5 s"),
        ]  # fmt: skip
    steps += [
        ("11:03:00.000", f"INFO: {T}{PROMOTE if last == 'promote' else COPY} started"),
        ("11:04:00.000", f"ERROR: {T}{failure}"),
        ("11:04:00.100", f"ERROR: {T}Rebalance of database `sales` failed"),
    ]
    bundle = root / "bundle"
    _log(bundle / f"{MA}_3306" / "tracelogs" / "memsql.log", steps + ma)
    background = [(f"10:{m:02d}:07.000", IDLE) for m in range(50, 60)]
    _log(bundle / f"{LEAF}_3306" / "tracelogs" / "memsql.log", background + leaf)
    return bundle


def _analyze(bundle: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The verdict of ``sales`` and the findings by id."""
    out = bundle.parent / "report.json"
    result = CliRunner().invoke(main, ["analyze", str(bundle), "--json", str(out)])
    assert result.exit_code == 1, result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    (verdict,) = [v for v in report["verdicts"] if v["database"] == "sales"]
    return verdict, {f["id"]: f for f in report["findings"]}


def _why_not(findings: dict[str, dict[str, Any]], winner: str, cause: str) -> str:
    """The winner's why_not text for its alternative of ``cause``."""
    texts = [
        a["why_not"]
        for a in findings[winner]["alternatives"]
        if findings[a["finding"]]["cause"] == cause
    ]
    assert texts, findings[winner]["alternatives"]
    return " | ".join(texts)


LOST = "Step 2/3: copying partition `sales_7` on node [7] 10.0.1.16:3306 aborted: Leaf Error (10.0.1.16:3306): Lost connection to MySQL server during query (2013)"  # fmt: skip
GENERIC = "Step 2/3: copying partition `sales_7` on node [7] 10.0.1.16:3306 aborted: Leaf Error (10.0.1.16:3306): snapshot transfer aborted"  # fmt: skip
#: the leaf keeps logging for a minute after its reset, is shut down and starts again
AFTER = [(f"11:04:{s:02d}.270", IDLE) for s in range(9, 60, 10)] + [
    ("11:05:04.270", "INFO: Thread 115001: Main: received shutdown request from memsqlctl (operator 'ops'), stopping"),
    ("11:05:49.470", BOOT),
    ("11:06:14.270", "INFO: Thread 99999: Main: Server ready for connections"),
    ("11:06:23.800", IDLE),
]  # fmt: skip


def test_a_restart_a_minute_after_the_failure_on_a_leaf_whose_clock_agrees_is_no_cause(
    tmp_path: Path,
) -> None:
    """The leaf's reset of sales_7 0.4 s before the aggregator's "aborted" ties its clock:
    its restart 65 s after the failure (within the slack for an unknown clock) is after
    it. The network error is the verdict, and the restart's why_not says so."""
    leaf = [("11:03:59.600", RESET), *AFTER]
    verdict, findings = _analyze(_bundle(tmp_path, "copy", LOST, [], leaf))
    assert (verdict["phase"], verdict["cause"]) == ("copy", "network_error")
    why = _why_not(findings, verdict["finding"], "node_failure")
    assert "after the failure" in why and "its clock agrees" in why, why
    assert "symptom" not in " ".join(
        a["why_not"] for a in findings[verdict["finding"]]["alternatives"]
    )


def test_a_leaf_that_went_down_at_the_failure_is_still_its_cause(tmp_path: Path) -> None:
    """The same leaf, but its last line is its reset of sales_7 and it is back 40 s later:
    it went down at the failure; the lost connection is a symptom of the node failure."""
    leaf = [
        ("11:03:59.600", RESET),
        ("11:04:40.000", BOOT),
        ("11:04:50.000", IDLE),
    ]
    verdict, _ = _analyze(_bundle(tmp_path, "copy", LOST, [], leaf))
    assert (verdict["phase"], verdict["cause"]) == ("copy", "node_failure")


def test_a_client_statement_s_lock_timeout_on_the_partition_is_not_the_promote_s(
    tmp_path: Path,
) -> None:
    """A client's UPDATE on sales_7 (conn id 51234) times out on a lock while the promote
    runs, between the leaf's fsync stalls: the stalls are the cause, the lock timeout the
    client's own (most likely waiting on the promote's lock); no tie-break decides."""
    leaf = [
        ("11:03:54.000", "WARN: Thread 115300: Log: `sales_7` fsync took 5860 ms, disk writes stalled"),
        ("11:03:56.000", "WARN: Thread 115300: Log: `sales_7` fsync took 5240 ms, disk writes stalled"),
        ("11:03:58.500", "ERROR: Thread 115290 (ntid 77, conn id 51234): ExecuteQuery: UPDATE on `sales_7` rolled back: Lock wait timeout exceeded; try restarting transaction (error 1205)"),
    ]  # fmt: skip
    failure = "Step 3/3: promoting partition `sales_7` on node [7] 10.0.1.16:3306 aborted: Leaf Error (10.0.1.16:3306): promotion failed"  # fmt: skip
    verdict, findings = _analyze(_bundle(tmp_path, "promote", failure, [], leaf))
    assert (verdict["phase"], verdict["cause"]) == ("promote", "io_saturation")
    why = _why_not(findings, verdict["finding"], "lock_timeout")
    assert "a client's statement on connection 51234" in why and "as strong" not in why, why


def test_the_rebalance_s_own_statement_s_lock_timeout_stays_its_cause(tmp_path: Path) -> None:
    """The REBALANCE statement itself runs on conn id 31337 (``ExecuteQuery:``) and fails
    with a lock timeout: that is no client's statement."""
    ma = [
        ("10:59:59.700", "INFO: Thread 115334 (ntid 5, conn id 31337): ExecuteQuery: REBALANCE PARTITIONS ON sales"),
        ("11:03:59.900", "ERROR: Thread 115334 (ntid 5, conn id 31337): ExecuteQuery: REBALANCE PARTITIONS ON sales failed: Leaf Error (10.0.1.16:3306): Lock wait timeout exceeded; try restarting transaction (error 1205)"),
    ]  # fmt: skip
    verdict, _ = _analyze(_bundle(tmp_path, "copy", GENERIC, ma, []))
    assert (verdict["phase"], verdict["cause"]) == ("copy", "lock_timeout")


def test_a_client_s_query_interrupted_after_the_failure_is_no_cause(tmp_path: Path) -> None:
    """COPY sales:7 fails generically; the target's reset 0.4 s before is the cause. A
    client's SELECT on sales_7 interrupted 30 s later on that leaf (its KILL on the
    aggregator a second before) is after the failure and the client's own."""
    ma = [("11:04:29.000", "INFO: Thread 115410 (ntid 93, conn id 40990): ExecuteQuery: KILL QUERY 40991")]  # fmt: skip
    leaf = [
        ("11:03:59.600", RESET),
        ("11:04:30.000", "ERROR: Thread 115241 (ntid 70, conn id 40991): ExecuteQuery: SELECT on `sales_7` aborted: Query execution was interrupted (error 1317)"),
    ]  # fmt: skip
    verdict, findings = _analyze(_bundle(tmp_path, "copy", GENERIC, ma, leaf))
    assert (verdict["phase"], verdict["cause"]) == ("copy", "network_error")
    why = _why_not(findings, verdict["finding"], "kill")
    assert "30s after the failure" in why and "a client's statement on connection 40991" in why
    assert "as strong" not in why, why


def test_a_retried_attempt_of_the_partition_s_earlier_copy_explains_no_failed_promote(
    tmp_path: Path,
) -> None:
    """The COPY of sales:7 hit a lock timeout, was retried and succeeded; the PROMOTE of
    sales:7 then fails with no detail while the target's CPU is saturated (lines naming
    no database): the CPU saturation is the cause, the lock timeout an error the
    rebalance got over."""
    ma = [("11:02:00.000", f"WARN: {T}Step 2/3: COPY PARTITION sales:7 TO '10.0.1.16':3306: Lock wait timeout exceeded (error 1205); will retry (attempt 1 of 3)")]  # fmt: skip
    leaf = [
        ("11:03:40.000", "WARN: Thread 115020: Monitor: CPU usage at 100% for 45 s (load average 63.2 on 16 cores)"),
        ("11:03:55.000", "WARN: Thread 115020: Monitor: CPU saturated: 16 of 16 cores busy for 60 s"),
    ]  # fmt: skip
    failure = "Step 3/3: promoting partition `sales_7` on node [7] 10.0.1.16:3306 aborted: Leaf Error (10.0.1.16:3306): promotion failed"  # fmt: skip
    verdict, findings = _analyze(_bundle(tmp_path, "promote", failure, ma, leaf))
    assert (verdict["phase"], verdict["cause"]) == ("promote", "resource_pressure")
    why = _why_not(findings, verdict["finding"], "lock_timeout")
    assert "COPY PARTITION sales:7, a step that succeeded 50s after it" in why, why


def test_a_line_on_a_partition_whose_step_had_succeeded_says_before(tmp_path: Path) -> None:
    """An out-of-memory line naming sales_3 two minutes after its copy finished: the
    why_not says the step had succeeded before it (no retried attempt)."""
    leaf = [
        ("11:03:01.000", "ERROR: Thread 115087: `sales_3` log: snapshot apply stopped: Not enough memory available to complete the current request."),
        ("11:03:59.600", RESET),
    ]  # fmt: skip
    verdict, findings = _analyze(_bundle(tmp_path, "copy", LOST, [], leaf))
    assert verdict["cause"] == "network_error"
    why = _why_not(findings, verdict["finding"], "out_of_memory")
    assert "whose COPY PARTITION step had succeeded 2m00s before it" in why, why
    assert "after it" not in why


def test_the_reference_agrees_when_a_clock_is_tied(tmp_path: Path) -> None:
    """The row-by-row reference, given the tied clocks, scores as the vectorised path."""
    leaf = [("11:03:59.600", RESET), *AFTER]
    bundle = forensics.load_bundle(_bundle(tmp_path, "copy", LOST, [], leaf))
    rebalances = build_timeline(bundle.steps, bundle.events, bundle.partitions, None)
    failed = [rb for rb in rebalances if rb.outcome == "failed"]
    ruleset = load_rules([])
    rules = {r.id: r for r in ruleset}
    matches = match(bundle.events, ruleset)
    tied = [clock_tied(matches, rb) for rb in failed]
    assert [f"{LEAF}:3306" in nodes for nodes in tied] == [True]
    vectorised = {
        (f.rule, f.node): (f.confidence, f.evidence[0]["line"])
        for f in group_findings(matches, rules, rebalances)
    }
    reference = {}
    for (rule_id, _node), group in matches.group_by(["rule", "node"], maintain_order=True):
        rows = group.sort(["ts", "file", "line"]).to_dicts()
        f = _best_finding(rules[str(rule_id)], rows, failed, tied)
        reference[(f.rule, f.node)] = (f.confidence, f.evidence[0]["line"])
    assert vectorised == reference
    assert vectorised[("NODE01", f"{LEAF}:3306")][0] < 0.3
