"""Cause wordings a probe found read as "unknown" or as the wrong cause.

Each case is a small log-only bundle in the probe's shape: the master aggregator's tracelog
(sdb-report folder ``10.0.1.10-MA``) with a rebalance of one step that fails, the cause's
wording either in the failure line or on a line just before it. The verdict is read from
``forensics analyze --json``, as a user would see it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from forensics.cli import main

REBALANCE = "Thread 115135 (ntid 16, conn id 21565): "  # the rebalance's own connection
BACKGROUND = "Thread 115140 (ntid 21, conn id -1): "
OPERATOR = "Thread 115388 (ntid 608, conn id 4800): "
WATCHDOG = "Thread 115390 (ntid 610, conn id 4711): "
LEAF = "Leaf Error (10.0.1.14:3306): "
STEP = {
    "copy": "COPY PARTITION {db}:3 TO '10.0.1.14':3306",
    "promote": "PROMOTE PARTITION {db}:3 ON '10.0.1.14':3306 WITH DROP",
}


def _bundle(
    root: Path, phase: str, failure: str, before: str | None = None, db: str = "sales"
) -> Path:
    """A bundle whose step on ``db``:3 fails with the text ``failure`` after the step (for
    example ``failed: <reason>``); ``before``: a "LEVEL: text" line logged 5 s earlier."""
    step = STEP[phase].format(db=db)
    lines = [
        f"500000000 2026-03-10 15:00:00.000   INFO: {REBALANCE}RebalancePartitions: REBALANCE PARTITIONS ON {db} started: 1 operations planned",
        f"501000000 2026-03-10 15:00:01.001   INFO: {REBALANCE}RebalanceStep: {step} started",
    ]  # fmt: skip
    if before is not None:
        level, text = before.split(": ", 1)
        lines.append(f"545000000 2026-03-10 15:00:45.002 {level:>6}: {text}")
    lines.append(
        f"550000000 2026-03-10 15:00:50.003  ERROR: {REBALANCE}RebalanceStep: {step} {failure}"
    )
    folder = root / "bundle" / "10.0.1.10-MA"
    folder.mkdir(parents=True)
    (folder / "10.0.1.10_3306_memsql.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root / "bundle"


def _report(bundle: Path) -> dict[str, Any]:
    out = bundle.parent / "report.json"
    result = CliRunner().invoke(main, ["analyze", str(bundle), "--json", str(out)])
    assert result.exit_code == 1, result.output  # a failure was found
    report: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return report


def _verdict(report: dict[str, Any], db: str = "sales") -> dict[str, Any]:
    verdicts: list[dict[str, Any]] = [v for v in report["verdicts"] if v["database"] == db]
    (verdict,) = verdicts
    return verdict


def _findings(report: dict[str, Any]) -> list[tuple[str, str, float]]:
    return [(f["rule"], f["cause"], f["confidence"]) for f in report["findings"]]


# (phase, expected cause, failure text after the step, line before the failure or None)
WORDINGS = [
    ("copy", "storage_error", f"failed: {LEAF}Got error 28 from storage engine", None),
    ("copy", "storage_error", f"failed: {LEAF}Error on delete of '/var/lib/memsql/data/sales_3' (Errcode: 28)", None),
    ("copy", "storage_error", f"failed: {LEAF}out of disk space on /var/lib/memsql", None),
    ("copy", "storage_error", f"failed: {LEAF}filesystem /var/lib/memsql is full", None),
    ("copy", "storage_error", "failed", f"ERROR: {BACKGROUND}LogWriter: I/O error on /var/lib/memsql/data/logs/sales_3_log_v1_0"),
    ("copy", "kill", "failed: ER_QUERY_INTERRUPTED: query interrupted", None),
    ("copy", "kill", f"failed: {LEAF}query interrupted by user", None),
    ("copy", "kill", "failed: Query was killed", None),
    ("copy", "kill", "failed: connection killed by the nightly cleanup script", None),
    ("copy", "kill", "failed: query killed by pt-kill (busy time 600 s)", None),
    ("copy", "kill", "failed", f"WARN: {OPERATOR}ProcessCommand: connection 21565 was killed by 'ops'@'10.0.9.5'"),
    ("copy", "kill", "failed", f"INFO: {OPERATOR}ProcessCommand: kill 21565 issued by 'ops'@'10.0.9.5'"),
    # a watchdog's kill of the rebalance's own connection is still the cause
    ("copy", "kill", "failed", f"WARN: {WATCHDOG}Watchdog: KILL QUERY issued for long-running query (id 21565, user 'admin', 650 s)"),
    ("copy", "out_of_memory", f"failed: {LEAF}ER_MEMSQL_OOM", None),
    ("copy", "out_of_memory", f"failed: {LEAF}mmap failed: ENOMEM", None),
    ("copy", "out_of_memory", f"failed: {LEAF}memory usage exceeded the memory limit of this node", None),
    ("copy", "network_error", f"failed: {LEAF}Got timeout reading communication packets", None),
    ("copy", "network_error", f"failed: {LEAF}Got an error reading communication packets", None),
    ("copy", "network_error", f"failed: {LEAF}ECONNABORTED: Software caused connection abort", None),
    ("copy", "network_error", f"failed: {LEAF}connection closed by remote host", None),
    ("copy", "lock_timeout", f"failed: {LEAF}waited longer than lock_wait_timeout (60 s) for a row lock", None),
    ("promote", "lsn_wait_timeout", f"failed: {LEAF}timed out waiting for LSN 0x3a8f11c0", None),
    ("promote", "lsn_wait_timeout", "failed: wait for LSN timed out after 60 s", None),
    ("promote", "sync_partitions_timeout", "failed: SYNC PARTITIONS timed out after 120 s", None),
    ("promote", "sync_partitions_timeout", "failed: SyncPartitions timed out after 120 s", None),
    ("promote", "io_saturation", "failed", f"WARN: {BACKGROUND}LogFlusher: disk I/O saturated on /var/lib/memsql: util 100%, await 850 ms"),
    ("promote", "io_saturation", "failed", f"WARN: {BACKGROUND}LogFlusher: write to log file for `sales_3` took 7210 ms"),
    ("promote", "resource_pressure", "failed", f"WARN: {BACKGROUND}ResourceMonitor: CPU utilization 98% for 300 s"),
    ("copy", "node_failure", "failed", f"WARN: {BACKGROUND}ClusterManager: Node 10.0.1.14:3306 state changed from online to offline"),
    # error numbers written `code=N` and `[N]` ([error_code] of grammars/messages.toml)
    ("copy", "lock_timeout", "failed, code=1205", None),
    ("copy", "out_of_memory", "failed [1712]", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("phase", "cause", "failure", "before"),
    WORDINGS,
    ids=[f"{w[1]}-{i}" for i, w in enumerate(WORDINGS)],
)
def test_a_wording_gives_its_cause(
    tmp_path: Path, phase: str, cause: str, failure: str, before: str | None
) -> None:
    report = _report(_bundle(tmp_path, phase, failure, before))
    verdict = _verdict(report)
    assert (verdict["phase"], verdict["cause"]) == (phase, cause), _findings(report)


# Lines near the failure that name no failure: the step's failure stays unexplained.
NEAR_MISSES = [
    ("promote", f"WARN: {BACKGROUND}ResourceMonitor: CPU utilization 45% for 300 s"),
    ("promote", f"WARN: {BACKGROUND}ResourceMonitor: CPU idle 98% for 300 s"),
    ("copy", f"WARN: {BACKGROUND}ClusterManager: Node 10.0.1.14:3306 state changed from offline to online"),
    ("copy", f"WARN: {BACKGROUND}DiskMonitor: scrub of /data finished, no I/O errors"),
    ("copy", f"INFO: {BACKGROUND}Watchdog: will kill 3 idle sessions older than 3600 s"),
    ("promote", f"WARN: {BACKGROUND}LogFlusher: write to log file for `sales_3` took 72 ms, await 8 ms"),
    ("copy", f"WARN: {BACKGROUND}ProcessCommand: Aborted connection 52011 to db: 'sales' user: 'app' host: '10.0.9.5' (Got an error reading communication packets)"),
]  # fmt: skip


@pytest.mark.parametrize(("phase", "before"), NEAR_MISSES)
def test_a_near_miss_gives_no_cause(tmp_path: Path, phase: str, before: str) -> None:
    report = _report(_bundle(tmp_path, phase, "failed", before))
    assert _verdict(report)["cause"] == "unknown", _findings(report)


@pytest.mark.parametrize(
    "failure",
    [
        "failed: timed out after 600 s",
        "failed: snapshot of `locks`.`orders` timed out after 600 s",
        "failed: timed out waiting for locks_3 on 10.0.1.14:3306",
    ],
)
def test_a_database_named_locks_is_no_lock_timeout(tmp_path: Path, failure: str) -> None:
    """LOCK02 reads the word lock near "timed out": the partition `locks:3` of a database
    named locks, or a quoted name, is not that word."""
    report = _report(_bundle(tmp_path, "copy", failure, db="locks"))
    verdict = _verdict(report, "locks")
    assert verdict["status"] == "failure"
    assert verdict["cause"] != "lock_timeout", _findings(report)


def test_a_real_lock_timeout_on_a_database_named_locks_still_counts(tmp_path: Path) -> None:
    failure = "failed: partition lock timed out after 60 s"
    report = _report(_bundle(tmp_path, "promote", failure, db="locks"))
    assert _verdict(report, "locks")["cause"] == "lock_timeout", _findings(report)


def test_a_watchdog_killing_a_users_query_is_not_the_cause(tmp_path: Path) -> None:
    """The watchdog names its victim as `(id 39001, ...)`, not the rebalance's connection
    21565: the kill is ruled out and the failure stays unexplained."""
    line = f"WARN: {WATCHDOG}Watchdog: KILL QUERY issued for long-running query (id 39001, user 'bi_reader', 650 s)"
    report = _report(_bundle(tmp_path, "copy", "failed", line))
    assert _verdict(report)["cause"] == "unknown", _findings(report)
    (kill,) = [f for f in report["findings"] if f["cause"] == "kill"]
    assert kill["confidence"] <= 0.05
