"""A leaf whose clock runs ahead of the master aggregator's (SPEC §4.4: times across nodes).

The target leaf ran out of memory at the second the copy failed, but its clock is 150 s
ahead, so its line reads 2.5 minutes after the failure: past the slack allowed for
clocks that differ a little, the line is no cause and the failure has none. The tool
says which node to suspect and the ``--skew`` that reads the line at the failure; given
that, the line is the cause, and the assumption says the times were moved.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from forensics.analysis import analyze
from forensics.cli import main

MA = "10.1.0.10_3306/tracelogs/memsql.log"
LEAF = "10.1.0.24_3306/tracelogs/memsql.log"
OTHER = "10.1.0.21_3306/tracelogs/memsql.log"

MA_LINES = [
    "1127100000000 2026-10-14 14:02:11.417   INFO: Thread 115138 (ntid 19, conn id 51207): "
    "Rebalance: started rebalance of `ledger` (3 steps)",
    "1127100054000 2026-10-14 14:02:11.471   INFO: Thread 115138 (ntid 19, conn id 51207): "
    "Rebalance: step 1 of 3 (COPY PARTITION ledger:7, target '10.1.0.24':3306) started",
    "1127473671000 2026-10-14 14:08:25.088  ERROR: Thread 115138 (ntid 19, conn id 51207): "
    "Rebalance: step 1 of 3 (COPY PARTITION ledger:7, target '10.1.0.24':3306) failed: "
    "Leaf Error (10.1.0.24:3306): partition provisioning did not complete on the target",
    "1127473808000 2026-10-14 14:08:25.225  ERROR: Thread 115138 (ntid 19, conn id 51207): "
    "Rebalance: rebalance of `ledger` aborted, 2 steps not run",
]


def _leaf(stamp: str) -> list[str]:
    """The target's out-of-memory lines, logged at ``stamp`` by its own clock."""
    return [
        "1199122078474 2026-10-14 13:59:55.001   INFO: `ledger_3` log: switched to log file 58",
        f"1203378164828 2026-10-14 {stamp}   WARN: Failed to allocate 67108864 bytes of "
        "memory from kernel. Error 12: Cannot allocate memory",
        f"1203378164856 2026-10-14 {stamp}  ERROR: Out of memory allocating transaction "
        "buffer of size 64 MB.",
    ]


OTHER_LINES = [
    "1299122078474 2026-10-14 14:01:00.000   INFO: `ledger_2` log: switched to log file 9",
]


def _bundle(root: Path, leaf_stamp: str) -> Path:
    for name, lines in {MA: MA_LINES, LEAF: _leaf(leaf_stamp), OTHER: OTHER_LINES}.items():
        path = root / "bundle" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")
    return root / "bundle"


def _run(bundle: Path, *options: str) -> dict:
    result = CliRunner().invoke(main, ["analyze", str(bundle), "--format", "json", *options])
    assert result.exit_code == 1, result.output
    return json.loads(result.stdout)


def test_a_cause_logged_by_a_clock_ahead_gets_a_skew_hint(tmp_path: Path) -> None:
    report = analyze(_bundle(tmp_path, "14:10:51.088"))  # 2m26s after the failure
    (verdict,) = report.verdicts
    assert (verdict.phase, verdict.cause) == ("copy", "unknown")
    hints = [w for w in report.warnings if "--skew" in w]
    assert hints == [
        "10.1.0.24:3306: its out_of_memory line (F1) is 2m26s after the failure of ledger, "
        "on a node of the failed step: if that node's clock runs ahead of the aggregator's, "
        "run again with --skew 10.1.0.24:3306=146"
    ]


def test_the_suggested_skew_makes_the_line_the_cause(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, "14:10:51.088")
    data = _run(bundle, "--skew", "10.1.0.24:3306=146")
    (verdict,) = data["verdicts"]
    assert (verdict["phase"], verdict["cause"]) == ("copy", "out_of_memory")
    assert verdict["confidence"] >= 0.5
    assert (
        "tracelog times of 10.1.0.24:3306 read 146 s earlier: its clock is taken to run 146 s "
        "ahead of the master aggregator's (--skew 10.1.0.24:3306=146)"
    ) in data["assumptions"]
    assert not [w for w in data["warnings"] if "--skew" in w]
    cause = next(f for f in data["findings"] if f["role"] == "cause")
    assert cause["time"].startswith("2026-10-14T14:08:25")  # read at the failure


@pytest.mark.parametrize(
    ("stamp", "why"),
    [
        ("14:08:25.100", "at the failure: it is the cause, nothing to hint"),
        ("14:40:00.000", "half an hour later: another event, not a skewed clock"),
    ],
)
def test_no_skew_hint(tmp_path: Path, stamp: str, why: str) -> None:
    report = analyze(_bundle(tmp_path, stamp))
    assert not [w for w in report.warnings if "--skew" in w], why


def test_a_skew_naming_no_node_is_a_warning_and_a_bad_one_a_usage_error(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, "14:10:51.088")
    data = _run(bundle, "--skew", "10.1.0.99:3306=30")
    assert any(w.startswith("--skew 10.1.0.99:3306=30.0: no node") for w in data["warnings"])
    result = CliRunner().invoke(main, ["analyze", str(bundle), "--skew", "10.1.0.24:3306"])
    assert result.exit_code == 2
    assert "--skew '10.1.0.24:3306': give NODE=SECONDS" in result.output


def test_a_host_names_every_node_on_it_and_a_negative_skew_moves_later(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, "14:06:25.088")  # behind by 2 minutes: inside the step
    data = _run(bundle, "--skew", "10.1.0.24=-120")
    cause = next(f for f in data["findings"] if f["role"] == "cause")
    assert cause["cause"] == "out_of_memory"
    assert cause["time"].startswith("2026-10-14T14:08:25")
    assert any("read 120 s later" in a and "behind" in a for a in data["assumptions"])


RETRY_LINES = [  # the user's retry a minute later, failing on a lock wait of its own
    "1127533808000 2026-10-14 14:09:25.225   INFO: Thread 115140 (ntid 19, conn id 51210): "
    "Rebalance: started rebalance of `ledger` (3 steps)",
    "1127533900000 2026-10-14 14:09:25.300   INFO: Thread 115140 (ntid 19, conn id 51210): "
    "Rebalance: step 1 of 3 (COPY PARTITION ledger:7, target '10.1.0.24':3306) started",
    "1127700000000 2026-10-14 14:12:11.400  ERROR: Thread 115140 (ntid 19, conn id 51210): "
    "Rebalance: step 1 of 3 (COPY PARTITION ledger:7, target '10.1.0.24':3306) failed: "
    "Lock wait timeout exceeded; try restarting transaction (error 1205)",
]


def test_a_line_in_the_next_runs_window_still_hints_for_the_run_it_explains(
    tmp_path: Path,
) -> None:
    """The target's OOM, 146 s after the first run failed, falls inside the retry's window
    (which has a cause of its own): the first run gets the hint all the same."""
    bundle = _bundle(tmp_path, "14:10:51.088")
    ma = bundle / MA
    ma.write_text(ma.read_text() + "\n".join(RETRY_LINES) + "\n")
    report = analyze(bundle)
    assert [(v.cause, v.later_run is not None) for v in report.verdicts] == [
        ("unknown", True),
        ("lock_timeout", False),
    ]
    assert any(w.endswith("--skew 10.1.0.24:3306=146") for w in report.warnings)
