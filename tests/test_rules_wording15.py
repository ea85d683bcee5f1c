"""Timeout and crash wordings a probe found read as "unknown" or as the wrong cause.

Each case is a small log-only bundle: the master aggregator's tracelog (10.0.1.10) runs a
rebalance of one step on ``sales``:3 that fails, and the step's target leaf (10.0.1.14)
may log lines of its own (without the uptime column, as some collectors keep them). The
verdict is read from ``forensics analyze --json``, as a user would see it.

- a _SYNC_PARTITIONS that "gave up waiting", then a failure that names its step only by
  number (SYNC01, SYNC02);
- a wait for LSN that "expired" / is "still short of" on the leaf, a promote that "did not
  reach the required log position before the promotion deadline" on the aggregator, and
  a leaf's plain WaitForLSN line with the aggregator's promote failure (LSN01, LSN03);
- a leaf that crashed (FATAL signal, no uptime column) or "transitioned to offline", seen by
  the aggregator as a lost connection: the crash, not the network (NODE04, NODE02); and
  the distractors that must not win (a crash hours earlier on another node, a SIGHUP).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from forensics.cli import main

MA, LEAF, OTHER = "10.0.1.10", "10.0.1.14", "10.0.1.12"
T = "Thread 115138: Rebalancer: "
STEPS = {
    "copy": "Step 1: copying partition sales_3 to 10.0.1.14:3306",
    "promote": "Step 1: promoting partition sales_3 on 10.0.1.14:3306 (with drop of old master)",
}
LOST = "Step 1 failed: Leaf Error (10.0.1.14:3306): Lost connection to leaf during query"


def _bundle(
    root: Path,
    phase: str,
    failure: str,
    ma: tuple[str, ...] = (),
    leaf: tuple[str, ...] = (),
    other: tuple[str, ...] = (),
) -> Path:
    """The aggregator starts the rebalance at 15:00:00, step 1 at 15:00:01 and logs
    ``failure`` (an ERROR of its rebalancer) at 15:00:50; ``ma``: its "SS.mmm LEVEL: text"
    lines in between; ``leaf`` / ``other``: "HH:MM:SS.mmm LEVEL: text" lines of the
    target leaf and of another leaf, logged without the uptime column."""
    lines = [
        f"500000000 2026-03-10 15:00:00.000   INFO: {T}Beginning rebalance of database sales (1 steps)",
        f"501000000 2026-03-10 15:00:01.000   INFO: {T}{STEPS[phase]}",
    ]  # fmt: skip
    for entry in ma:
        at, level, text = entry.split(" ", 2)
        lines.append(f"5{at.replace('.', '')}000 2026-03-10 15:00:{at} {level:>6}: {text}")
    lines.append(f"550000000 2026-03-10 15:00:50.000  ERROR: {T}{failure}")
    lines.append(f"550100000 2026-03-10 15:00:50.100  ERROR: {T}Rebalance of database sales failed")
    bundle = root / "bundle"
    bundle.mkdir()
    (bundle / f"{MA}_3306_memsql.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for host, own in ((LEAF, leaf), (OTHER, other)):
        if own:
            text = "".join(
                f"2026-03-10 {a} {lv:>6}: {m}\n" for a, lv, m in (e.split(" ", 2) for e in own)
            )
            (bundle / f"{host}_3306_memsql.log").write_text(text, encoding="utf-8")
    return bundle


def _verdict(bundle: Path) -> tuple[dict[str, Any], list[tuple[str, str, float]]]:
    out = bundle.parent / "report.json"
    result = CliRunner().invoke(main, ["analyze", str(bundle), "--json", str(out)])
    assert result.exit_code == 1, result.output  # a failure was found
    report = json.loads(out.read_text(encoding="utf-8"))
    (verdict,) = [v for v in report["verdicts"] if v["database"] == "sales"]
    findings = [(f["rule"], f["cause"], f["confidence"]) for f in report["findings"]]
    return verdict, findings


CASES = [
    pytest.param(
        "promote", "sync_partitions_timeout", "Step 1 failed: promotion aborted, partition map could not be synchronized",
        (f"45.000 ERROR {T}_SYNC_PARTITIONS on sales gave up waiting after 120000 ms: 1 of 4 leaves did not answer",), (), (),
        id="sync-gave-up",
    ),
    pytest.param(
        # no timeout word at all: the pending sync, then the promote failed by step number
        "promote", "sync_partitions_timeout", "Step 1 failed: promotion aborted",
        (f"02.000 INFO {T}issuing _SYNC_PARTITIONS for sales",), (), (),
        id="sync-pending-then-step-failed",
    ),
    pytest.param(
        "promote", "lsn_wait_timeout", "Step 1 failed: Leaf Error (10.0.1.14:3306): promotion failed", (),
        ("15:00:49.700 WARN WaitForLSNWithTimeout: `sales_3` replica at LSN 0x2a:88120 still short of 0x2a:91200 when the 30000 ms wait expired",), (),
        id="lsn-wait-expired-on-leaf",
    ),
    pytest.param(
        "promote", "lsn_wait_timeout",
        "Step 1 failed: Leaf Error (10.0.1.14:3306): replica did not reach the required log position before the promotion deadline",
        (), (), (),
        id="lsn-log-position-deadline",
    ),
    pytest.param(
        # the leaf's wait error names no timeout; the aggregator's failure is on another node
        "promote", "lsn_wait_timeout", "Step 1 failed: Leaf Error (10.0.1.14:3306): promotion failed", (),
        ("15:00:49.500 ERROR WaitForLSNWithTimeout: `sales_3` replica at LSN 0x2a:88120 lags 0x2a:91200, aborting the promote",), (),
        id="lsn-wait-on-leaf-then-promote-failed",
    ),
    pytest.param(
        "copy", "node_failure", LOST, (),
        ("15:00:48.000 FATAL Caught signal 11 (SIGSEGV) in thread 115244; writing core to /var/lib/memsql/crash",
         "15:02:20.000 INFO Starting SingleStore version 8.7.12 on 10.0.1.14:3306"), (),
        id="leaf-crash-signal-no-uptime",
    ),
    pytest.param(
        "copy", "node_failure", LOST,
        ("49.400 WARN Thread 115395: HeartbeatThread: Node 10.0.1.14:3306 transitioned from online to offline after 3 consecutive heartbeat checks went unanswered",),
        (), (),
        id="leaf-transitioned-offline",
    ),
    pytest.param(
        # distractors: a crash hours earlier on another leaf, a SIGHUP on the target
        "copy", "network_error", LOST, (),
        ("15:00:48.000 WARN Received SIGHUP, reopening log files",),
        ("11:10:00.000 FATAL Caught signal 6 (SIGABRT) in thread 115244",),
        id="distractor-crash-elsewhere-and-sighup",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("phase", "cause", "failure", "ma", "leaf", "other"), CASES)
def test_a_wording_gives_its_cause(
    tmp_path: Path,
    phase: str,
    cause: str,
    failure: str,
    ma: tuple[str, ...],
    leaf: tuple[str, ...],
    other: tuple[str, ...],
) -> None:
    verdict, findings = _verdict(_bundle(tmp_path, phase, failure, ma, leaf, other))
    assert (verdict["phase"], verdict["cause"]) == (phase, cause), findings


def test_a_timeout_setting_on_an_info_line_is_no_cause(tmp_path: Path) -> None:
    """A sync announced with its timeout setting, then a promote failed for another
    reason: the setting is not a timeout."""
    bundle = _bundle(
        tmp_path,
        "promote",
        "Step 1 failed: Leaf Error (10.0.1.14:3306): Lock wait timeout exceeded; try restarting transaction",
        (f"45.000 INFO {T}_SYNC_PARTITIONS on sales completed in 35 ms, timeout 120000 ms",),
    )
    verdict, findings = _verdict(bundle)
    assert verdict["cause"] == "lock_timeout", findings
