"""Attribution: the evidence of the failed step wins, distractors lose (SPEC §4.4)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest

from forensics import schemas
from forensics.diagnose import decide, group_findings, weigh_connections, zone_hints
from forensics.parsers.tracelog import parse_lines
from forensics.rules import load_rules, match
from forensics.timeline import build_timeline

MA, TARGET, OTHER = "10.0.0.1:3306", "10.0.0.5:3306", "10.0.0.9:3306"
ACTION = {
    "copy": "COPY PARTITION",
    "promote": "PROMOTE PARTITION WITH DROP",
    "drop": "DROP PARTITION",
}

# One line per cause, as a leaf or the master aggregator would log it during the step.
CAUSE_LINES = {
    "kill": (
        MA,
        "copy",
        " ERROR: Thread 115: RebalanceStep: COPY PARTITION sales:3 failed: "
        "ERROR 1317 (70100): Query execution was interrupted",
    ),
    "out_of_memory": (
        TARGET,
        "copy",
        "  ERROR: `sales_3` log: Not enough memory available to "
        "complete the current request. The request was not processed.",
    ),
    "io_saturation": (
        TARGET,
        "promote",
        "   WARN: Thread 200: LogFlusher: fsync took 4200 ms on `sales_3` (disk write stall)",
    ),
    "network_error": (
        TARGET,
        "copy",
        "   WARN: Thread 200: socket (107) ETIMEDOUT in recv from "
        "10.0.0.2:3306 while streaming `sales_3`",
    ),
    "storage_error": (
        TARGET,
        "drop",
        "  ERROR: Thread 200: DropPartition: `sales_3`: No space left on device (errno 28)",
    ),
    "lock_timeout": (
        TARGET,
        "copy",
        "  ERROR: `sales_3` log: Lock wait timeout exceeded; try restarting transaction",
    ),
    "sync_partitions_timeout": (
        MA,
        "promote",
        "  ERROR: Thread 115: _SYNC_PARTITIONS on sales timed out after 60000 ms",
    ),
    "lsn_wait_timeout": (
        TARGET,
        "promote",
        "  ERROR: Thread 200: WaitForLSNWithTimeout: timed out "
        "after 30000 ms: `sales_3` did not reach LSN 0:4867",
    ),
    "resource_pressure": (
        TARGET,
        "promote",
        "   WARN: Thread 200: CPU saturated (99% busy for 120 s), "
        "replication of `sales_3` is falling behind",
    ),
}

DISTRACTORS = [
    # an OOM hours earlier on another node
    (
        OTHER,
        "2026-03-02 06:10:00.000",
        "  ERROR: Out of memory allocating transaction buffer of size 64 MB.",
    ),
    # a lock timeout on another database, during the step
    (
        TARGET,
        "2026-03-02 10:07:30.000",
        "  ERROR: `crm_1` log: Lock wait timeout exceeded; try restarting transaction",
    ),
    # a killed user query, unrelated to the step
    (
        MA,
        "2026-03-02 10:07:40.000",
        "   INFO: Thread 300: KillQuery: KILL QUERY 8812 received from 'dbops_cron'@'10.0.9.14' (user 'bi_reader', db 'analytics', running 686 s)",
    ),
]


def _line(uptime: int, ts: str, rest: str) -> str:
    return f"{uptime:08d} {ts} {rest}"


def _events(cause: str) -> pl.DataFrame:
    node, phase, evidence = CAUSE_LINES[cause]
    action = ACTION[phase]
    ma_lines = [
        _line(
            1000,
            "2026-03-02 10:00:00.000",
            "   INFO: Thread 115: Rebalance: REBALANCE PARTITIONS ON sales started",
        ),
        _line(
            2000,
            "2026-03-02 10:05:00.000",
            f"   INFO: Thread 115: RebalanceStep: {action} sales:3 ON '10.0.0.5':3306 started",
        ),
        _line(
            3000,
            "2026-03-02 10:09:00.000",
            f"  ERROR: Thread 115: RebalanceStep: {action} sales:3 ON '10.0.0.5':3306 failed",
        ),
    ]
    frames = [parse_lines(ma_lines, path="ma/memsql.log", node=MA)]
    frames.append(
        parse_lines(
            [_line(2500, "2026-03-02 10:08:30.000", evidence)], path=f"{node}/memsql.log", node=node
        )
    )
    for dnode, ts, text in DISTRACTORS:
        frames.append(parse_lines([_line(100, ts, text)], path=f"{dnode}/d.log", node=dnode))
    return pl.concat(frames).sort("ts")


def _steps(phase: str) -> pl.DataFrame:
    row = {
        "database": "sales",
        "action": ACTION[phase],
        "phase_kind": phase,
        "ordinal": 3,
        "target": TARGET,
        "phase": 1,
        "status": "failed",
        "origin": "status",
        "source": "status.txt:1",
    }
    return schemas.conform(pl.DataFrame([row]), schemas.STEPS)


def _diagnose(cause: str):  # type: ignore[no-untyped-def]
    _, phase, _ = CAUSE_LINES[cause]
    events = _events(cause)
    rebalances = build_timeline(_steps(phase), events, schemas.empty(schemas.PARTITIONS), MA)
    rules = load_rules([])
    findings = group_findings(match(events, rules), {r.id: r for r in rules}, rebalances)
    return decide(rebalances, findings), findings


@pytest.mark.parametrize("cause", sorted(CAUSE_LINES))
def test_the_step_evidence_beats_every_distractor(cause: str) -> None:
    verdicts, findings = _diagnose(cause)
    (verdict,) = verdicts
    assert (verdict.status, verdict.phase, verdict.cause) == (
        "failure",
        CAUSE_LINES[cause][1],
        cause,
    )
    winner = next(f for f in findings if f.role == "cause")
    assert winner.time == datetime(2026, 3, 2, 10, 8, 30, tzinfo=UTC) or winner.node == MA
    for f in findings:
        if f.time is not None and f.time.hour == 6:
            assert f.role != "cause" and f.confidence < 0.1  # hours earlier, another node
        if f.database in ("crm", "analytics"):
            assert f.role != "cause" and f.confidence < 0.3  # another database


def test_alternatives_say_why_they_lost() -> None:
    _, findings = _diagnose("lsn_wait_timeout")
    winner = next(f for f in findings if f.role == "cause")
    reasons = " ".join(a["why_not"] for a in winner.alternatives)
    assert "not sales" in reasons or "before" in reasons


def test_no_evidence_means_unknown() -> None:
    events = parse_lines(
        [
            _line(
                1000,
                "2026-03-02 10:05:00.000",
                "   INFO: Thread 115: RebalanceStep: DROP PARTITION sales:3 ON '10.0.0.5':3306 started",
            ),
            _line(
                3000,
                "2026-03-02 10:09:00.000",
                "  ERROR: Thread 115: RebalanceStep: DROP PARTITION sales:3 ON '10.0.0.5':3306 failed",
            ),
        ],
        node=MA,
    )
    events = pl.concat(
        [events, *(parse_lines([_line(1, ts, t)], node=n) for n, ts, t in DISTRACTORS)]
    )
    rebalances = build_timeline(_steps("drop"), events, schemas.empty(schemas.PARTITIONS), MA)
    rules = load_rules([])
    findings = group_findings(match(events, rules), {r.id: r for r in rules}, rebalances)
    (verdict,) = decide(rebalances, findings)
    assert (verdict.status, verdict.phase, verdict.cause) == ("failure", "drop", "unknown")


def test_logs_alone_reconstruct_the_failed_step() -> None:
    events = _events("lock_timeout")
    (rb,) = build_timeline(
        schemas.empty(schemas.STEPS), events, schemas.empty(schemas.PARTITIONS), MA
    )
    assert (rb.outcome, rb.basis, rb.failed_phase) == ("failed", "log", "copy")
    assert rb.failed_step is not None and rb.failed_step["ordinal"] == 3
    assert rb.failure_time == datetime(2026, 3, 2, 10, 9, tzinfo=UTC)


def test_partition_state_is_the_last_resort() -> None:
    parts = schemas.conform(
        pl.DataFrame(
            [
                {"database": "sales", "ordinal": 0, "node": TARGET, "role": "master"},
                {"database": "sales", "ordinal": 0, "node": OTHER, "role": "orphan"},
            ]
        ),
        schemas.PARTITIONS,
    )
    events = parse_lines(
        [
            _line(
                1,
                "2026-03-02 10:09:00.000",
                "  ERROR: Thread 115: Rebalance: REBALANCE PARTITIONS ON sales failed",
            )
        ],
        node=MA,
    )
    (rb,) = build_timeline(schemas.empty(schemas.STEPS), events, parts, MA)
    assert (rb.outcome, rb.basis, rb.failed_phase) == ("failed", "partition_state", "drop")
    assert any("low confidence" in n for n in rb.notes)


def test_a_partition_copied_to_two_leaves_is_two_steps() -> None:
    """A redundancy-2 rebalance copies one ordinal to two leaves; end lines that name no
    target end the earliest open copy. The failed copy is the one to .14."""
    lines = [
        ("10:00:00.000", "   INFO", "REBALANCE PARTITIONS ON sales started"),
        ("10:00:01.000", "   INFO", "Running 'COPY PARTITION sales:2 TO \"10.0.0.13\":3306'"),
        ("10:00:40.000", "   INFO", "COPY PARTITION sales:2 finished in 39000 ms"),
        ("10:00:41.000", "   INFO", "Running 'COPY PARTITION sales:2 TO \"10.0.0.14\":3306'"),
        ("10:01:30.000", "  ERROR", "COPY PARTITION sales:2 to '10.0.0.14':3306 failed"),
        ("10:01:31.000", "  ERROR", "REBALANCE PARTITIONS ON sales failed"),
    ]
    events = parse_lines(
        [_line(1000 + i, f"2026-03-02 {t}", f"{lv}: Thread 5: Rebalancer: {text}")
         for i, (t, lv, text) in enumerate(lines)],
        path="ma/memsql.log",
        node=MA,
    )  # fmt: skip
    (rb,) = build_timeline(
        schemas.empty(schemas.STEPS), events, schemas.empty(schemas.PARTITIONS), MA
    )
    steps = rb.steps.sort("started_at").select("target", "status").rows()
    assert steps == [("10.0.0.13:3306", "success"), ("10.0.0.14:3306", "failed")]
    assert rb.failed_step is not None and rb.failed_step["target"] == "10.0.0.14:3306"
    assert str(rb.failed_step["started_at"]).startswith("2026-03-02 10:00:41")


def _ma_run(phase: str) -> list[str]:
    """The master aggregator's lines of a rebalance of sales whose step on sales:3 fails at
    10:09, run on connection 40117."""
    action = ACTION[phase]
    thread = "Thread 115 (ntid 4, conn id 40117)"
    return [
        _line(1000, "2026-03-02 10:00:00.000", f"   INFO: {thread}: REBALANCE PARTITIONS ON sales started"),
        _line(2000, "2026-03-02 10:05:00.000", f"   INFO: {thread}: RebalanceStep: {action} sales:3 ON '10.0.0.5':3306 started"),
        _line(3000, "2026-03-02 10:09:00.000", f"  ERROR: {thread}: RebalanceStep: {action} sales:3 ON '10.0.0.5':3306 failed"),
    ]  # fmt: skip


def _verdict_with(phase: str, extra: list[tuple[str, str, str]]):  # type: ignore[no-untyped-def]
    """The verdict and findings of the failed step of :func:`_ma_run` with ``extra`` lines
    (node, time, text after the time), each node's lines in a log of its own."""
    frames = [parse_lines(_ma_run(phase), path="ma/memsql.log", node=MA)]
    by_node: dict[str, list[str]] = {}
    for i, (node, ts, text) in enumerate(extra):
        up = 5000 + i if node == MA else 100 + i
        by_node.setdefault(node, []).append(_line(up, f"2026-03-02 {ts}", text))
    for node, lines in by_node.items():
        frames.append(parse_lines(lines, path=f"{node}/x.log", node=node))
    events = pl.concat(frames).sort("ts")
    rebalances = build_timeline(_steps(phase), events, schemas.empty(schemas.PARTITIONS), MA)
    rules = load_rules([])
    findings = group_findings(match(events, rules), {r.id: r for r in rules}, rebalances)
    weigh_connections(findings, rebalances, events)
    (verdict,) = decide(rebalances, findings)
    return verdict, findings


@pytest.mark.parametrize(
    "extra",
    [
        # no database named, on a leaf that has no part in the step
        [(OTHER, "10:08:30.000", "  ERROR: Thread 9: Fn: write failed: No space left on device")],
        # another partition of the database, on that leaf
        [(OTHER, "10:08:30.000", "  ERROR: `sales_2` log: Lock wait timeout exceeded; try restarting transaction")],
        # logged by the master aggregator a minute after it logged the failure
        [(MA, "10:10:00.000", "  ERROR: Thread 115: Fn: resource pool 'rebal' memory limit reached for sales: Not enough memory available")],
        # _SYNC_PARTITIONS of another database, then the failed promote (a followed_by rule)
        [(MA, "10:08:40.000", "   WARN: Thread 115: Fn: _SYNC_PARTITIONS for database `crm` timed out")],
        # a client's query on the master aggregator (another connection) hit a lock timeout
        [(MA, "10:07:00.000", "   WARN: Thread 90 (ntid 310, conn id 52877): Query sales.'UPDATE `orders` SET s = ?' failed with error 1205: Lock wait timeout exceeded")],
    ],
    ids=["no-db-other-node", "other-partition-other-node", "after-the-failure", "trigger-other-db", "client-connection"],
)  # fmt: skip
def test_evidence_that_disagrees_twice_or_comes_after_the_failure_is_no_cause(extra) -> None:
    verdict, findings = _verdict_with("promote", extra)
    assert (verdict.status, verdict.cause) == ("failure", "unknown"), [
        (f.rule, f.confidence, f.reasons) for f in findings
    ]
    assert all(f.role != "cause" for f in findings)


def test_a_client_connection_line_is_ruled_out_with_the_reason() -> None:
    verdict, findings = _verdict_with(
        "copy",
        [
            (MA, "10:07:00.000", "   WARN: Thread 90 (ntid 310, conn id 52877): Query sales.'UPDATE t SET s = ?' failed with error 1205: Lock wait timeout exceeded"),
            (TARGET, "10:08:50.000", "  ERROR: `sales_3` log: Lock wait timeout exceeded; try restarting transaction"),
        ],
    )  # fmt: skip
    assert (verdict.cause, verdict.confidence is not None) == ("lock_timeout", True)
    winner = next(f for f in findings if f.id == verdict.finding)
    assert winner.node == TARGET
    client = next(f for f in findings if f.node == MA and f.cause == "lock_timeout")
    assert client.confidence <= 0.05 and "connection 52877, a client's" in " ".join(client.reasons)


@pytest.mark.parametrize("own", [True, False], ids=["the-rebalance's", "a-BI-query's"])
def test_a_kill_of_the_rebalance_connection_is_its_cause_in_any_phase(own: bool) -> None:
    """A kill is typical of copy and drop (SPEC 4.2); during a promote, a watchdog's KILL
    of the rebalance's own connection is still conclusive, another connection's is not."""
    victim = 40117 if own else 61234
    verdict, findings = _verdict_with(
        "promote",
        [(MA, "10:08:59.500", f"   INFO: Thread 301 (ntid 9, conn id 7701): KillQuery: KILL QUERY {victim} from 'ops'@'10.0.9.4'")],
    )  # fmt: skip
    kill = next(f for f in findings if f.cause == "kill")
    if own:
        assert (verdict.cause, verdict.phase) == ("kill", "promote")
        assert kill.confidence >= 0.9, kill.reasons
        assert kill.confidence == round(kill.confidence, 2)  # (two decimals, as documented)
        assert "kills the rebalance's own connection 40117" in kill.reasons
    else:
        assert verdict.cause == "unknown" and kill.confidence <= 0.05


def test_the_step_s_own_error_names_its_cause_in_any_phase() -> None:
    """A PROMOTE failing with 'Lost connection' in its own failure line: network_error is
    atypical of a promote, but the step said it; a network line elsewhere stays weighed
    down by the phase."""
    frames = [
        parse_lines(
            [*_ma_run("promote")[:2],
             _line(3000, "2026-03-02 10:09:00.000", "  ERROR: Thread 115 (ntid 4, conn id 40117): RebalanceStep: PROMOTE PARTITION sales:3 ON '10.0.0.5':3306 failed with error 2013: Lost connection to MySQL server during query")],
            path="ma/memsql.log",
            node=MA,
        )
    ]  # fmt: skip
    events = pl.concat(frames)
    rebalances = build_timeline(_steps("promote"), events, schemas.empty(schemas.PARTITIONS), MA)
    rules = load_rules([])
    findings = group_findings(match(events, rules), {r.id: r for r in rules}, rebalances)
    weigh_connections(findings, rebalances, events)
    (verdict,) = decide(rebalances, findings)
    assert (verdict.cause, verdict.phase) == ("network_error", "promote")
    winner = next(f for f in findings if f.id == verdict.finding)
    assert winner.confidence >= 0.9
    assert "the failed step reported it itself, whatever the phase" in winner.reasons


def test_a_crash_cause_before_the_restart_wins_over_the_node_failure() -> None:
    """The target ran out of memory and restarted; the aggregator lost the connection.
    Out of memory is the cause, the restart its consequence."""
    leaf = [
        _line(9_000_000_000, "2026-03-02 10:08:20.000", "   WARN: Thread 200: Fn: maximum_memory reached, allocations failing"),
        _line(9_000_100_000, "2026-03-02 10:08:30.000", "  ERROR: `sales_3` log: Not enough memory available to complete the current request (error 1712)"),
        _line(1_000_000, "2026-03-02 10:08:50.000", "   INFO: Thread 1: Fn: SingleStore starting"),
    ]  # fmt: skip
    # the step's own failure line reports the lost connection
    failed = _ma_run("copy")[2] + ": Lost connection to leaf 10.0.0.5:3306 (ETIMEDOUT)"
    events = pl.concat(
        [
            parse_lines([*_ma_run("copy")[:2], failed], path="ma/memsql.log", node=MA),
            parse_lines(leaf, path="leaf/memsql.log", node=TARGET),
        ]
    ).sort("ts")
    rebalances = build_timeline(_steps("copy"), events, schemas.empty(schemas.PARTITIONS), MA)
    rules = load_rules([])
    findings = group_findings(match(events, rules), {r.id: r for r in rules}, rebalances)
    (verdict,) = decide(rebalances, findings)
    assert verdict.cause == "out_of_memory", [(f.rule, f.cause, f.confidence) for f in findings]
    crash = next(f for f in findings if f.cause == "node_failure")
    assert any("consequence of the out_of_memory" in r for r in crash.reasons)


def test_a_huge_log_line_is_cut_in_the_evidence_and_the_verdict() -> None:
    """A 50 MB line must not make a 50 MB report: evidence and error text are cut, and
    say how much was left out."""
    huge = "x" * 100_000
    verdict, findings = _verdict_with(
        "copy",
        [(TARGET, "10:08:30.000", f"  ERROR: `sales_3` log: Not enough memory available {huge}")],
    )
    assert verdict.cause == "out_of_memory"
    text = next(f for f in findings if f.id == verdict.finding).evidence[0]["text"]
    assert len(text) < 5000 and text.endswith("more characters]")


@pytest.mark.parametrize(
    ("extra", "zoned", "hint"),
    [
        # 2 h before the failure (10:09), on the target, nothing else there: a zone hint
        ([(TARGET, "08:09:40.000", "  ERROR: `sales_3` log: Not enough memory available")], (), "about 2h00m"),
        # India's +5:30
        ([(TARGET, "15:38:20.000", "  ERROR: `sales_3` log: Not enough memory available")], (), "about 5h30m"),
        # the node's zone was given
        ([(TARGET, "08:09:40.000", "  ERROR: `sales_3` log: Not enough memory available")], (TARGET,), None),
        # another database's error
        ([(TARGET, "08:09:40.000", "  ERROR: `crm_3` log: Not enough memory available")], (), None),
        # the node has evidence near the failure as read: its clock agrees
        ([(TARGET, "08:09:40.000", "  ERROR: `sales_3` log: Not enough memory available"),
          (TARGET, "10:08:30.000", "   WARN: socket (107) ETIMEDOUT in recv")], (), None),
        # a confident cause was found: a line two hours off on another leaf is a distractor
        ([(TARGET, "10:08:30.000", "  ERROR: `sales_3` log: Not enough memory available"),
          (OTHER, "08:09:40.000", "  ERROR: `sales_3` log: Lock wait timeout exceeded")], (), None),
    ],
    ids=["two-hours", "half-hour-zone", "zone-given", "other-database", "clock-agrees",
         "cause-found"],
)  # fmt: skip
def test_a_zone_hint_only_where_another_zone_would_explain_the_gap(extra, zoned, hint) -> None:
    _, findings = _verdict_with("copy", extra)
    runs = {id(f.run): f.run for f in findings if f.run is not None}
    hints = zone_hints(list(runs.values()), findings, zoned)
    if hint is None:
        assert hints == []
    else:
        (said,) = hints
        assert said.startswith(f"{TARGET}: its out_of_memory line") and hint in said


def test_evidence_after_the_last_line_seen_of_a_rebalance_without_a_failure_time_counts() -> None:
    """The status says the copy failed, the log shows only the rebalance's start (its step
    wording unread): the failure came at some unknown time after that line, so an error
    naming the step's partition 100 s later is still its cause."""
    thread = "Thread 115 (ntid 4, conn id 40117)"
    lines = [
        _line(1000, "2026-03-02 10:00:00.000", f"   INFO: {thread}: REBALANCE PARTITIONS ON sales started"),
        _line(2000, "2026-03-02 10:01:40.000", f"  ERROR: {thread}: Fn: work on sales:3 failed: Leaf Error (10.0.0.5:3306): errno 28 (No space left on device)"),
    ]  # fmt: skip
    events = parse_lines(lines, path="ma/memsql.log", node=MA)
    rebalances = build_timeline(_steps("copy"), events, schemas.empty(schemas.PARTITIONS), MA)
    rules = load_rules([])
    findings = group_findings(match(events, rules), {r.id: r for r in rules}, rebalances)
    (verdict,) = decide(rebalances, findings)
    assert (verdict.phase, verdict.cause) == ("copy", "storage_error")


def _timeless(evidence: str) -> list[Any]:
    """Verdicts when nothing tells when the failed step ran (a status without times, no
    rebalance line read) and one line on the step's target is the only evidence."""
    events = parse_lines([_line(100, "2026-03-02 07:00:00.000", evidence)], node=TARGET)
    rebalances = build_timeline(_steps("copy"), events, schemas.empty(schemas.PARTITIONS), MA)
    rules = load_rules([])
    findings = group_findings(match(events, rules), {r.id: r for r in rules}, rebalances)
    return decide(rebalances, findings)


def test_without_a_time_a_line_naming_no_database_is_no_cause() -> None:
    """An out-of-memory line hours before, naming no database: with no time for the step
    it could be anything (the failure stays unknown, the line an alternative); the same
    line naming the database is still the cause."""
    (verdict,) = _timeless(
        "  ERROR: Thread 9: Fn: Out of memory allocating transaction buffer of size 64 MB."
    )
    assert (verdict.phase, verdict.cause) == ("copy", "unknown")
    (verdict,) = _timeless(
        "  ERROR: `sales_3` log: Not enough memory available to complete the current request."
    )
    assert (verdict.phase, verdict.cause) == ("copy", "out_of_memory")


def test_a_cause_repeated_in_every_run_is_each_runs_cause(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A history of logs: the same COPY fails three times, hours apart, each time on a lock
    timeout its own step line tells. Every run's verdict has that cause, from its own
    line (the three lines had been one finding given to the first run, the later runs
    'unknown')."""
    import json

    from click.testing import CliRunner

    from forensics.cli import main

    lines = []
    for hour in range(3):
        at = f"2026-01-01 {hour:02d}:00"
        lines += [
            _line(1000 + hour, f"{at}:00.000", "   INFO: Thread 115: Rebalancer: REBALANCE PARTITIONS ON orders started"),
            _line(2000 + hour, f"{at}:01.000", "   INFO: Thread 115: RebalanceStep: COPY PARTITION orders:3 ON '10.0.0.5':3306 started"),
            _line(3000 + hour, f"{at}:30.000", "  ERROR: Thread 115: RebalanceStep: COPY PARTITION orders:3 ON '10.0.0.5':3306 failed: Lock wait timeout exceeded; try restarting transaction"),
        ]  # fmt: skip
    log = tmp_path / "10.0.0.10_3306" / "memsql.log"
    log.parent.mkdir()
    log.write_text("\n".join(lines) + "\n")
    done = CliRunner().invoke(main, ["analyze", str(tmp_path), "--format", "json"])
    verdicts = json.loads(done.stdout)["verdicts"]
    assert [(v["phase"], v["cause"]) for v in verdicts] == [("copy", "lock_timeout")] * 3
    assert len({v["finding"] for v in verdicts}) == 3


def test_an_attempt_a_step_got_over_explains_no_later_failure(tmp_path: Any) -> None:
    """A copy of sales:0 that failed once with a connection reset and succeeded on its
    second attempt does not explain why the copy of sales:3 failed later, with no reason:
    the verdict is unknown, the reset an alternative below the threshold."""
    from click.testing import CliRunner

    from forensics.cli import main

    thread = "Thread 115135 (ntid 16, conn id 21565): RebalanceStep: COPY PARTITION"
    lines = [
        "500000000 2026-03-10 15:00:00.000   INFO: Thread 115135 (ntid 16, conn id 21565): "
        "RebalancePartitions: REBALANCE PARTITIONS ON sales started: 2 operations planned",
        f"501000000 2026-03-10 15:00:01.001   INFO: {thread} sales:0 TO '10.0.1.14':3306 started",
        f"510000000 2026-03-10 15:00:10.002   WARN: {thread} sales:0 TO '10.0.1.14':3306 attempt 1 "
        "failed: Connection reset by peer; retrying (attempt 2 of 3)",
        f"530000000 2026-03-10 15:00:30.003   INFO: {thread} sales:0 TO '10.0.1.14':3306 succeeded "
        "on attempt 2",
        f"531000000 2026-03-10 15:00:31.004   INFO: {thread} sales:3 TO '10.0.1.14':3306 started",
        f"550000000 2026-03-10 15:00:50.005  ERROR: {thread} sales:3 TO '10.0.1.14':3306 failed",
    ]
    folder = tmp_path / "10.0.1.10-MA"
    folder.mkdir()
    (folder / "memsql.log").write_text("\n".join(lines) + "\n")
    out = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["analyze", str(tmp_path), "--json", str(out)])
    assert result.exit_code == 1, result.output
    import json

    report = json.loads(out.read_text())
    verdict = report["verdicts"][0]
    assert (verdict["phase"], verdict["cause"]) == ("copy", "unknown")
    reset = next(f for f in report["findings"] if f["cause"] == "network_error")
    assert reset["role"] == "alternative" and reset["confidence"] < 0.3


def test_a_line_about_a_leaf_outside_the_step_loses_to_the_targets_oom(tmp_path: Any) -> None:
    """The master aggregator's "query on ledger to 10.1.0.21:3306 failed: Connection reset"
    is about a leaf the copy does not use: the target's OOM 4 s before the failure wins
    (it had lost to the reset at 0.99)."""
    import json

    from click.testing import CliRunner

    from forensics.cli import main

    t = "Thread 115138 (ntid 19, conn id 51207): Rebalance:"
    step = "step 1 of 2 (COPY PARTITION ledger:7, target '10.1.0.24':3306)"
    ma = [
        f"1000000000 2026-10-14 14:04:27.088   INFO: {t} started rebalance of `ledger` (2 steps)",
        f"1000000100 2026-10-14 14:04:27.188   INFO: {t} {step} started",
        "1100000000 2026-10-14 14:06:07.088   WARN: Thread 115302 (ntid 183, conn id -1): "
        "LeafConnection: query on `ledger`.`journals` to 10.1.0.21:3306 failed: Connection "
        "reset by peer, retrying",
        f"1238000000 2026-10-14 14:08:25.088  ERROR: {t} {step} failed: Leaf Error "
        "(10.1.0.24:3306): partition copy aborted",
    ]
    leaf = [
        "2234000000 2026-10-14 14:08:21.088   WARN: Failed to allocate 67108864 bytes of memory "
        "from kernel. Error 12: Cannot allocate memory",
    ]
    for folder, lines in (("10.1.0.10_3306", ma), ("10.1.0.24_3306", leaf)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "memsql.log").write_text("\n".join(lines) + "\n")
    out = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["analyze", str(tmp_path), "--json", str(out)])
    assert result.exit_code == 1, result.output
    verdict = json.loads(out.read_text())["verdicts"][0]
    assert (verdict["phase"], verdict["cause"]) == ("copy", "out_of_memory")


def test_evidence_inside_a_failed_steps_running_time_is_not_after_it(tmp_path: Any) -> None:
    """The status says the copy failed after 238 s; the master aggregator's log has the
    step's start and no failure line: the target's OOM 234 s into the step is inside it
    (it had read as 'after the failure', the last line seen being the step's start)."""
    import json

    from click.testing import CliRunner

    from forensics.cli import main

    t = "Thread 115138 (ntid 19, conn id 51207): Rebalance:"
    ma = [
        f"1000000000 2026-10-14 14:04:27.088   INFO: {t} started rebalance of `ledger` (2 steps)",
        f"1000000100 2026-10-14 14:04:27.188   INFO: {t} step 1 of 2 (COPY PARTITION ledger:7, "
        "target '10.1.0.24':3306) started",
    ]
    leaf = [
        "2234000000 2026-10-14 14:08:21.088   WARN: Failed to allocate 67108864 bytes of memory "
        "from kernel. Error 12: Cannot allocate memory",
    ]
    rule = (
        "+----------------+---------+-------------+-------------+-------+--------+--------------+"
    )
    status = "\n".join(
        [
            "mysql> SHOW REBALANCE STATUS ON ledger;",
            rule,
            "| Action         | Ordinal | Target_Host | Target_Port | Phase | Status | Running_Time |",
            rule,
            "| COPY PARTITION |       7 | 10.1.0.24   |        3306 |     2 | failed |       238000 |",
            rule,
        ]
    )
    for folder, lines in (("10.1.0.10_3306", ma), ("10.1.0.24_3306", leaf)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "memsql.log").write_text("\n".join(lines) + "\n")
    (tmp_path / "status.txt").write_text(status + "\n")
    out = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["analyze", str(tmp_path), "--json", str(out)])
    assert result.exit_code == 1, result.output
    verdict = json.loads(out.read_text())["verdicts"][0]
    assert (verdict["phase"], verdict["cause"]) == ("copy", "out_of_memory")
