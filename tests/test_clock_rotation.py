"""A log rotated inside the hour that the end of daylight saving time repeats.

``memsql.log.1`` shows the leaf's clock fall back (01:58 EDT, then 01:01 EST); the newer
``memsql.log`` then holds only times of the repeated hour, which alone read as their
first pass, an hour early. The uptime counter goes on from one file to the other: one
process, so the newer file continues after the fall-back. Its lock timeout, 2.5 s before
the aggregator's failure, is the cause; no restart, no overlap of the two files.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from forensics.analysis import analyze
from forensics.loader import load_bundle
from forensics.parsers.tracelog import parse_tracelog

MA_LINES = [
    "1000000000 2026-11-01 01:55:29.597   INFO: Thread 115138 (ntid 19, conn id 51207): "
    "Rebalance: started rebalance of `ledger` (1 steps, phases 3-3)",
    "1000000100 2026-11-01 01:55:29.697   INFO: Thread 115138 (ntid 19, conn id 51207): "
    "Rebalance: step 1 of 1 (PROMOTE PARTITION WITH DROP ledger:4, target '10.1.0.24':3306) "
    "started",
    "1200000000 2026-11-01 01:58:49.597   INFO: Thread 115138 (ntid 19, conn id -1): "
    "Heartbeat: node [5] 10.1.0.24:3306 answered in 0.4 ms",
    "1400000000 2026-11-01 01:02:09.597   INFO: Thread 115138 (ntid 19, conn id -1): "
    "Heartbeat: node [5] 10.1.0.24:3306 answered in 0.4 ms",
    "1700000000 2026-11-01 01:07:09.597  ERROR: Thread 115138 (ntid 19, conn id 51207): "
    "Rebalance: step 1 of 1 (PROMOTE PARTITION WITH DROP ledger:4, target '10.1.0.24':3306) "
    "failed: Leaf Error (10.1.0.24:3306): error 1970 (HY000): role change did not complete",
]
ROTATED = [  # memsql.log.1: the clock falls back inside it
    "5000000000 2026-11-01 01:58:00.000   INFO: `ledger_4` log: replica at node 2 "
    "acknowledged position 3:100",
    "5200000000 2026-11-01 01:01:20.000   INFO: `ledger_4` log: replica at node 2 "
    "acknowledged position 3:200",
]
CURRENT = [  # memsql.log: after the rotation, every time in the repeated hour
    "5300000000 2026-11-01 01:03:00.000   INFO: `ledger_4` log: replica at node 2 "
    "acknowledged position 3:300",
    "5547000000 2026-11-01 01:07:07.097  ERROR: Thread 115247 (ntid 128, conn id 51207): "
    "ReplicationManagement: `ledger_4`: Lock wait timeout exceeded; try restarting "
    "transaction (error 1205) while acquiring the partition lock for the role change",
]


def _write_logs(root: Path, logs: dict[str, list[str]]) -> Path:
    for name, lines in logs.items():
        path = root / "bundle" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")
    return root / "bundle"


def _bundle(root: Path, current: list[str], rotated: list[str] = ROTATED) -> Path:
    return _write_logs(
        root,
        {
            "10.1.0.10_3306/memsql.log": MA_LINES,
            "10.1.0.24_3306/memsql.log.1": rotated,
            "10.1.0.24_3306/memsql.log": current,
        },
    )


def test_the_newer_log_continues_after_the_fall_back(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, CURRENT)
    report = analyze(bundle, tz="America/New_York")
    (verdict,) = report.verdicts
    assert (verdict.phase, verdict.cause) == ("promote", "lock_timeout")
    assert verdict.confidence is not None and verdict.confidence >= 0.9
    nodes = report.bundle.nodes.filter(pl.col("node") == "10.1.0.24:3306")
    assert nodes.get_column("restarts").to_list() == [0]
    assert not [w for w in report.warnings if "overlaps" in w]
    cause = next(f for f in report.findings if f.role == "cause")
    assert cause.time is not None and cause.time.isoformat().startswith("2026-11-01T06:07:07")


def test_a_log_rotated_before_the_fall_back_keeps_its_first_pass(tmp_path: Path) -> None:
    """Rotated at 01:40 EDT, before the clock fell back: the newer log holds 01:45 EDT,
    then (the clock back) 01:03 EST. Only its lines after the fall-back are the second
    reading; its first ones stay EDT."""
    early = [ROTATED[0].replace("01:58:00", "01:40:00", 1)]
    current = [
        "5300000000 2026-11-01 01:45:00.000   INFO: `ledger_4` log: replica at node 2 "
        "acknowledged position 3:250",
        *CURRENT,
    ]
    current[1] = current[1].replace("5300000000", "6400000000", 1)
    current[2] = current[2].replace("5547000000", "6647000000", 1)
    loaded = load_bundle(_bundle(tmp_path, current, rotated=early), tz="America/New_York")
    leaf = loaded.events.filter(pl.col("file").str.ends_with("10.1.0.24_3306/memsql.log"))
    assert [t.strftime("%H:%M") for t in leaf.get_column("ts")] == ["05:45", "06:03", "06:07"]


def test_the_whole_repeated_hour_after_the_fall_back_is_its_second_pass() -> None:
    """01:45 EST is less than half an hour below the 01:50 EDT seen before the fall-back:
    it is still the second pass, as the 01:10 EST before it."""
    lines = [
        "1000000000 2026-11-01 01:50:00.000  ERROR: before the fall-back",
        "1002400000 2026-11-01 01:10:00.000  ERROR: after it",
        "1004500000 2026-11-01 01:45:00.000  ERROR: the end of the repeated hour",
        "1005500000 2026-11-01 02:05:00.000  ERROR: standard time",
    ]
    result = parse_tracelog(
        ["\n".join(lines).encode() + b"\n"], path="p", node="n:1", tz="America/New_York"
    )
    stamps = [t.strftime("%H:%M") for t in result.events.get_column("ts")]
    assert stamps == ["05:50", "06:10", "06:45", "07:05"]
    assert result.warnings == []  # the clock falling back is no line out of order


def test_a_log_holding_only_the_second_pass_gets_a_fixed_offset_hint(tmp_path: Path) -> None:
    """No rotated file: nothing in the leaf's log says which pass its 01:07 is. The hint
    names the fixed offset of the other one, and following it finds the cause."""
    logs = {"10.1.0.10_3306/memsql.log": MA_LINES, "10.1.0.24_3306/memsql.log": CURRENT}
    bundle = _write_logs(tmp_path, logs)
    report = analyze(bundle, tz="America/New_York")
    assert [v.cause for v in report.verdicts] == ["unknown"]
    hint = "run again with --tz 10.1.0.24:3306=UTC-05:00"
    assert any(w.endswith(hint) and "daylight saving" in w for w in report.warnings)
    again = analyze(bundle, tz="America/New_York", node_tz={"10.1.0.24:3306": "Etc/GMT+5"})
    assert [v.cause for v in again.verdicts] == ["lock_timeout"]
