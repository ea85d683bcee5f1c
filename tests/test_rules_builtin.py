"""The built-in rule pack: examples pass, vocabulary covered, catalogue up to date."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from forensics.rules import CAUSES, FACTORS, check_rules, load_rules, render_catalogue
from forensics.rules.catalogue import DOC_PATH

# the shared specification folder sits beside the project checkout
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "singlestore-formats.md"
# A full tracelog line in the real layout (formats §1.3), with the uptime counter.
TRACELOG_LINE = re.compile(
    r"^\d{8,} \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} +(INFO|WARN|ERROR|FAILURE): "
)

RULES = load_rules()


def test_every_builtin_example_behaves() -> None:
    failures = check_rules(RULES)
    assert not failures, "\n".join(map(str, failures))


def test_every_cause_and_factor_has_a_rule() -> None:
    assert {r.cause for r in RULES if r.cause} == set(CAUSES)
    assert {r.factor for r in RULES if r.factor} == set(FACTORS)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_has_enough_examples_in_the_real_layout(rule) -> None:
    matches = [e for e in rule.examples if e.should_match]
    misses = [e for e in rule.examples if not e.should_match]
    assert len(matches) >= 2 and len(misses) >= 2
    for example in rule.examples:
        for line in example.lines:
            assert TRACELOG_LINE.match(line), line


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_references_are_singlestore_docs(rule) -> None:
    assert rule.references
    for url in rule.references:
        assert url.startswith("https://docs.singlestore.com/")
        if REFERENCE.exists():
            assert url in REFERENCE.read_text(encoding="utf-8"), url


def test_rule_ids_are_unique_and_stable_looking() -> None:
    assert len(set(RULES.ids)) == len(RULES)
    assert all(re.fullmatch(r"[A-Z]{2,6}\d{2}", i) for i in RULES.ids)


def test_committed_catalogue_is_generated() -> None:
    # Regenerate with: python -m forensics.rules.catalogue
    assert DOC_PATH.read_text(encoding="utf-8") == render_catalogue(RULES)


def test_catalogue_lists_every_rule() -> None:
    text = render_catalogue(RULES)
    for rule in RULES:
        assert f"## {rule.id}\n" in text


# --------------------------------------------------------------------------------------
# Wordings seen in realistic logs (probe bundles): one line on a node of the failed step,
# naming its partition, must give the cause; near misses must not. Each runs the whole
# analysis over a small log-only bundle, as `forensics analyze` would.

MA_NODE, TARGET_NODE = "10.0.1.10:3306", "10.0.1.22:3306"
REBALANCE = "Thread 115201 (ntid 421, conn id 40117): "
OTHER_THREAD = "Thread 115330 (ntid 550, conn id -1): "
OPERATOR = "Thread 115388 (ntid 608, conn id 52904): "
STEP_VERB = {"copy": "copying partition", "promote": "promoting partition"}
START, FAILURE = "02:05:00.000", "02:06:20.447"


def _tracelog(lines: list[tuple[str, str, str]]) -> str:
    """(time, level, message) lines in the real layout, in time order, with an uptime
    counter that only grows (no restart)."""
    out = []
    for ts, level, text in sorted(lines):
        h, m, s = ts.split(":")
        uptime = int(((int(h) - 1) * 3600 + int(m) * 60 + float(s)) * 1e6)
        out.append(f"{uptime:010d} 2026-03-10 {ts} {level:>6}: {text}")
    return "\n".join(out) + "\n"


def _analyze(bundle: Path, phase: str, extra: list[tuple[str, str, str, str]]):  # type: ignore[no-untyped-def]
    """The report of a rebalance of sales whose step on sales:5 (target 10.0.1.22) fails at
    02:06:20 in ``phase``, run by the master aggregator on connection 40117, with ``extra``
    lines (node, time, level, message)."""
    import forensics

    verb = STEP_VERB[phase]
    step = f"Step 1/2: {verb} sales:5 on {TARGET_NODE}"
    logs: dict[str, list[tuple[str, str, str]]] = {
        MA_NODE: [
            ("02:00:00.071", "INFO", REBALANCE + "Beginning rebalance of database `sales`: 2 steps planned (REBALANCE PARTITIONS ON sales)"),
            (START, "INFO", REBALANCE + f"{step} started"),
            (FAILURE, "ERROR", REBALANCE + f"{step} failed: Leaf Error ({TARGET_NODE}): sales_5 did not complete (see leaf tracelog)"),
        ]
    }  # fmt: skip
    for node, ts, level, text in extra:
        logs.setdefault(node, []).append((ts, level, text))
    for node, lines in logs.items():
        folder = bundle / node.replace(":", "_")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "memsql.log").write_text(_tracelog(lines), encoding="utf-8")
    return forensics.analyze(bundle)


def _sales_verdict(report):  # type: ignore[no-untyped-def]
    (verdict,) = [v for v in report.verdicts if v.database == "sales"]
    return verdict


LEAF = f"{OTHER_THREAD}`sales_5` log: "
WORDINGS = [
    ("copy", "network_error", TARGET_NODE, "ERROR", LEAF + "connect to 10.0.1.13:3306 failed: No route to host (errno 113)"),
    ("copy", "network_error", TARGET_NODE, "ERROR", LEAF + "Provisioning from 10.0.1.13:3306 failed: ERROR 2003 (HY000): Can't connect to MySQL server on '10.0.1.13' (111)"),
    ("copy", "network_error", TARGET_NODE, "ERROR", LEAF + "replication stream from 10.0.1.13:3306 failed: recv() returned errno=104"),
    ("copy", "network_error", TARGET_NODE, "ERROR", LEAF + "Network is unreachable while streaming snapshot from 10.0.1.13:3306"),
    ("copy", "storage_error", TARGET_NODE, "ERROR", LEAF + "snapshot write failed: errno=28"),
    ("copy", "storage_error", TARGET_NODE, "ERROR", LEAF + "write to /data/db_files/sales_5/snapshot_12 failed: Disk quota exceeded (errno 122)"),
    ("copy", "out_of_memory", TARGET_NODE, "ERROR", LEAF + "snapshot apply failed: std::bad_alloc"),
    ("copy", "out_of_memory", TARGET_NODE, "ERROR", LEAF + "OOM: memory allocation of 268435456 bytes refused"),
    ("copy", "kill", MA_NODE, "WARN", OPERATOR + "ProcessCommand: KILL 40117 issued by 'ops_cleanup'@'10.0.9.5'"),
    ("copy", "kill", MA_NODE, "WARN", OPERATOR + "ProcessCommand: killing connection 40117 (COPY PARTITION sales:5) on request of 'ops_cleanup'"),
    ("copy", "lock_timeout", TARGET_NODE, "ERROR", LEAF + "snapshot failed: ER_LOCK_WAIT_TIMEOUT acquiring table lock on `orders`"),
    ("promote", "io_saturation", TARGET_NODE, "WARN", LEAF + "log flush took 5200 ms (disk latency 480 ms avg)"),
    ("promote", "io_saturation", TARGET_NODE, "WARN", LEAF + "write to transaction log blocked for 4100 ms waiting on disk"),
    ("promote", "resource_pressure", TARGET_NODE, "WARN", OTHER_THREAD + "CpuMonitor: load average 64.2 on 16 cores, replication apply of `sales_5` delayed"),
    ("copy", "node_failure", MA_NODE, "WARN", OTHER_THREAD + f"ClusterMonitor: node {TARGET_NODE} failed heartbeat check 3 times, marking it offline"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("phase", "cause", "node", "level", "text"),
    WORDINGS,
    ids=[f"{w[1]}-{i}" for i, w in enumerate(WORDINGS)],
)
def test_a_realistic_wording_gives_its_cause(
    tmp_path: Path, phase: str, cause: str, node: str, level: str, text: str
) -> None:
    report = _analyze(tmp_path, phase, [(node, "02:06:19.000", level, text)])
    verdict = _sales_verdict(report)
    assert (verdict.phase, verdict.cause) == (phase, cause), [
        (f.rule, f.cause, f.confidence, f.reasons) for f in report.findings
    ]


NEAR_MISSES = [
    ("copy", TARGET_NODE, "INFO", OTHER_THREAD + "NetMonitor: no route changes in the last 60 s, 0 errors"),
    ("copy", TARGET_NODE, "ERROR", LEAF + "snapshot write failed: errno=280"),
    ("copy", TARGET_NODE, "INFO", LEAF + "OOM protection enabled, memory allocation of 64 MB succeeded"),
    ("copy", MA_NODE, "INFO", OTHER_THREAD + "Watchdog: will kill 3 idle sessions older than 3600 s"),
    ("promote", TARGET_NODE, "WARN", LEAF + "log flush took 12 ms (disk latency 4 ms avg)"),
    ("promote", TARGET_NODE, "INFO", OTHER_THREAD + "CpuMonitor: load average 1.2 on 16 cores"),
    ("copy", MA_NODE, "WARN", OTHER_THREAD + f"ClusterMonitor: node {TARGET_NODE} heartbeat check passed, missed 0 heartbeats"),
]  # fmt: skip


@pytest.mark.parametrize(("phase", "node", "level", "text"), NEAR_MISSES)
def test_a_near_miss_wording_gives_no_cause(
    tmp_path: Path, phase: str, node: str, level: str, text: str
) -> None:
    report = _analyze(tmp_path, phase, [(node, "02:06:19.000", level, text)])
    assert _sales_verdict(report).cause == "unknown", [(f.rule, f.reasons) for f in report.findings]


def test_the_new_kill_wording_of_another_connection_is_ruled_out(tmp_path: Path) -> None:
    """The wording "killing connection N" names the connection it kills ([connections]
    `killed`): a kill of a user's connection does not explain the rebalance's failure."""
    line = OPERATOR + "ProcessCommand: killing connection 7781 on request of 'ops_cleanup'"
    report = _analyze(tmp_path, "copy", [(MA_NODE, "02:06:19.000", "WARN", line)])
    assert _sales_verdict(report).cause == "unknown"
    (kill,) = [f for f in report.findings if f.cause == "kill"]
    assert "kills connection 7781" in " ".join(kill.reasons)


# --------------------------------------------------------------------------------------
# Contributing factors are jobs running during the rebalance (SPEC §4.2): a job that
# reports its end before the rebalance started did not overlap it.

OPTIMIZE_ENDED = "Thread 115095 (ntid 315, conn id 52990): ProcessCommand: OPTIMIZE TABLE sales.orders FULL completed in 412 s"
BACKUP_ENDED = "Thread 115096 (ntid 316, conn id 52991): Backup: BACKUP DATABASE sales TO S3 'backups/sales/2026-03-10' completed successfully in 1840 s"
OOM = LEAF + "snapshot apply failed: ERROR 1712 (HY000): Not enough memory available"


def _contributing(report) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.factor for f in report.findings if f.role == "contributing" and f.factor}


@pytest.mark.parametrize(
    ("optimize_at", "backup_at", "contributing"),
    [
        ("01:57:00.000", "01:58:30.000", set()),  # ended before the rebalance started
        # ended after it started: they were running when it started
        ("02:03:00.000", "02:04:30.000", {"concurrent_ddl", "backup_overlap"}),
    ],
    ids=["ended-before", "ended-during"],
)
def test_jobs_contribute_only_when_they_ended_after_the_rebalance_started(
    tmp_path: Path, optimize_at: str, backup_at: str, contributing: set[str]
) -> None:
    report = _analyze(
        tmp_path,
        "copy",
        [
            (MA_NODE, optimize_at, "INFO", OPTIMIZE_ENDED),
            (MA_NODE, backup_at, "INFO", BACKUP_ENDED),
            (TARGET_NODE, "02:06:19.000", "ERROR", OOM),
        ],
    )
    assert _sales_verdict(report).cause == "out_of_memory"
    assert _contributing(report) == contributing


def test_a_job_started_just_before_the_rebalance_still_contributes(tmp_path: Path) -> None:
    started = "Thread 115096 (ntid 316, conn id 52991): ProcessCommand: BACKUP DATABASE sales TO S3 'backups/sales/2026-03-10' started"
    report = _analyze(
        tmp_path,
        "copy",
        [(MA_NODE, "01:58:30.000", "INFO", started), (TARGET_NODE, "02:06:19.000", "ERROR", OOM)],
    )
    (backup,) = [f for f in report.findings if f.factor == "backup_overlap"]
    assert (backup.role, backup.database) == ("contributing", "sales")


def test_examples_parsed_together_give_the_events_each_gives_alone() -> None:
    """check_rules parses all examples as one log: each example's share of it must be what
    the example parsed on its own gives (a restart found only because the example before
    had a larger uptime counter is no event of it)."""
    from forensics.parsers.tracelog import parse_lines
    from forensics.rules.testing import _parse_together

    examples = [ex for rule in RULES for ex in rule.examples]
    together = _parse_together(examples, parse_lines)
    for example, events in zip(examples, together, strict=True):
        alone = parse_lines(
            list(example.lines), path="<example>", node="example:3306", tz="UTC", keep_all=True
        )
        assert events.equals(alone), example.lines
