"""Attribution: the evidence of the failed step wins, distractors lose (SPEC §4.4)."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from forensics import schemas
from forensics.diagnose import decide, group_findings
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
