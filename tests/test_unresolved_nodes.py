"""Evidence on a node the bundle could not tie to a host:port of the cluster (SPEC §4.4).

A leaf's log named by its path (``leaf4.log``), by a host folder the cluster tables do
not spell (``sdb-leaf-4-LEAF/`` where the leaves were added by address), is not evidence
of an uninvolved node: its ENOSPC at the failure second is the cause, with less
confidence than on a known node. A node known to be outside the step still loses.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from forensics.analysis import Report, analyze
from forensics.diagnose import CAUSE_THRESHOLD

# The master aggregator's abort names no cause; the target leaf's log says why.
MA_LINES = [
    "3500000000 2026-03-11 08:06:00.100   INFO: Thread 115334 (ntid 51, conn id -1): "
    "Beginning rebalance of database `payments`: 20 steps planned",
    "3500100000 2026-03-11 08:07:01.100   INFO: Thread 115334 (ntid 51, conn id -1): "
    "Step 6/20: copying partition payments:5 on 10.20.0.24:3306 started",
    "3500200000 2026-03-11 08:08:12.600  ERROR: Thread 115334 (ntid 51, conn id -1): "
    "Step 6/20: copying partition `payments_5` on node [6] 10.20.0.24:3306 aborted: "
    "Leaf Error (10.20.0.24:3306): snapshot transfer did not complete",
    "3500200100 2026-03-11 08:08:12.700  ERROR: Thread 115334 (ntid 51, conn id -1): "
    "Rebalance of database `payments` failed; the remaining 15 steps were cancelled",
]
ENOSPC_LINES = [
    "7700000000 2026-03-11 08:07:01.400   INFO: Thread 115085 (ntid 354, conn id -1): "
    "ReplicateDatabase: `payments_5` provisioning from 10.20.0.22:3306",
    "7700100000 2026-03-11 08:08:12.529  ERROR: Thread 115085 (ntid 354, conn id -1): "
    "Error writing file '/var/lib/memsql/instance/data/snapshots/tmp_0x7f3a2c01' "
    "(errno: 28): No space left on device",
]
# An uninvolved leaf running out of memory in the same second.
OOM_LINES = [
    "9900000000 2026-03-11 08:08:12.100  ERROR: Thread 115201 (ntid 77, conn id -1): "
    "Memory used by MemSQL (59800.12 Mb) has reached the 'maximum_memory' setting "
    "(60000 Mb) on this node. Possible causes include (1) available query execution "
    "memory has been used up for table memory (in use table memory: 51234.50 Mb) and "
    "(2) the query is large and complex and requires more query execution memory than "
    "is available (in use query execution memory 8565.62 Mb)",
]

# (master aggregator's log, target leaf's log) as bundles package them, the leaf's
# identity unknown: loose files, sdb-report folders by host name while the cluster
# tables and the step use addresses, a host:port folder spelled by name.
UNRESOLVED_LAYOUTS = {
    "flat file names": ("MA-memsql.log", "leaf4.log"),
    "sdb-report host-name folders": (
        "report-2026-03-11T102205/sdb-ma-0-MA/memsqlTracelogs/memsql.log",
        "report-2026-03-11T102205/sdb-leaf-4-LEAF/memsqlTracelogs/memsql.log",
    ),
    "host-name:port folders": ("sdb-ma-0_3306/memsql.log", "sdb-leaf-4_3306/memsql.log"),
}


def _bundle(root: Path, files: dict[str, list[str]]) -> Path:
    for name, lines in files.items():
        path = root / "bundle" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")
    return root / "bundle"


def _cause(report: Report) -> tuple[str | None, str | None, float | None]:
    (verdict,) = report.verdicts
    return verdict.phase, verdict.cause, verdict.confidence


@pytest.mark.parametrize("layout", sorted(UNRESOLVED_LAYOUTS))
def test_enospc_on_an_unresolved_target_leaf_is_the_cause(tmp_path: Path, layout: str) -> None:
    ma, leaf = UNRESOLVED_LAYOUTS[layout]
    report = analyze(_bundle(tmp_path, {ma: MA_LINES, leaf: ENOSPC_LINES}))
    phase, cause, confidence = _cause(report)
    assert (phase, cause) == ("copy", "storage_error")
    # the same files where the leaf is known as 10.20.0.24:3306: more confidence
    known = analyze(
        _bundle(
            tmp_path / "known",
            {"10.20.0.10_3306/memsql.log": MA_LINES, "10.20.0.24_3306/memsql.log": ENOSPC_LINES},
        )
    )
    _, known_cause, known_confidence = _cause(known)
    assert known_cause == "storage_error"
    assert confidence is not None and known_confidence is not None
    assert CAUSE_THRESHOLD <= confidence < known_confidence
    # the runbook has something to fix before the retry
    plan = next(step for step in report.recovery if step["step"] == 3)
    assert "disk space" in plan["detail"]


def test_the_unresolved_tracelogs_are_named_in_a_warning(tmp_path: Path) -> None:
    report = analyze(_bundle(tmp_path, {"MA-memsql.log": MA_LINES, "leaf4.log": ENOSPC_LINES}))
    (warning,) = [w for w in report.warnings if "not tied to a host:port" in w]
    assert warning.startswith("1 tracelog(s) ")
    assert "leaf4.log" in warning and "--node GLOB=HOST:PORT" in warning
    # the master aggregator, found by its lines, is no unknown node
    assert "MA-memsql.log" not in warning


def test_naming_the_node_takes_the_warning_away(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, {"MA-memsql.log": MA_LINES, "leaf4.log": ENOSPC_LINES})
    report = analyze(bundle, node_overrides={"leaf4*": "10.20.0.24:3306"})
    assert _cause(report)[:2] == ("copy", "storage_error")
    assert not [w for w in report.warnings if "not tied to a host:port" in w]


def test_enospc_on_a_resolved_node_outside_the_step_is_no_cause(tmp_path: Path) -> None:
    """The same line on a leaf known by its host:port, not the step's: still a distractor."""
    bundle = _bundle(
        tmp_path,
        {"10.20.0.10_3306/memsql.log": MA_LINES, "10.20.0.29_3306/memsql.log": ENOSPC_LINES},
    )
    report = analyze(bundle)
    assert _cause(report)[:2] == ("copy", "unknown")
    (finding, *_) = [f for f in report.findings if f.cause == "storage_error"]
    assert finding.role != "cause"
    assert "on 10.20.0.29:3306, not a node of the failed step" in finding.reasons


def test_an_oom_on_a_resolved_uninvolved_node_loses_to_the_unresolved_target(
    tmp_path: Path,
) -> None:
    bundle = _bundle(
        tmp_path,
        {
            "MA-memsql.log": MA_LINES,
            "leaf4.log": ENOSPC_LINES,
            "10.20.0.29_3306/memsql.log": OOM_LINES,
        },
    )
    report = analyze(bundle)
    assert _cause(report)[:2] == ("copy", "storage_error")
    oom = next(f for f in report.findings if f.cause == "out_of_memory")
    assert oom.role == "alternative" and oom.confidence < CAUSE_THRESHOLD
