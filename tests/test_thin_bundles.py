"""Thin bundles with no rebalance found in them (no status output, no line of the master
aggregator's): what still says one may have failed makes the verdict inconclusive, exit 1,
not "nothing failed" with exit 0 (SPEC §4.4: a verdict the inputs cannot support)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from forensics.cli import main


def _analyze(root: Path) -> tuple[int, dict[str, Any]]:
    out = root.parent / "report.json"
    result = CliRunner().invoke(main, ["analyze", str(root), "--json", str(out)])
    assert result.exit_code in (0, 1), result.output
    report: dict[str, Any] = json.loads(out.read_text())
    return result.exit_code, report


def _partitions(extra: list[tuple[int, str]]) -> str:
    """SHOW PARTITIONS ON sales: 8 partitions on three leaves, plus ``extra`` replicas."""
    rows = []
    for o in range(8):
        master, replica = f"10.0.1.1{1 + o % 3}", f"10.0.1.1{1 + (o + 1) % 3}"
        rows += [(o, master, "Master"), (o, replica, "Replica")]
    rows += [(o, host, "Replica") for o, host in extra]
    body = "\n".join(f"| {o:>7} | {h} | 3306 | {r:<7} |      0 |" for o, h, r in sorted(rows))
    rule = "+---------+-----------+------+---------+--------+"
    head = "| Ordinal | Host      | Port | Role    | Locked |"
    return f"mysql> SHOW PARTITIONS ON sales;\n{rule}\n{head}\n{rule}\n{body}\n{rule}\n"


def test_leftover_copies_with_no_rebalance_found_are_inconclusive(tmp_path: Path) -> None:
    """Before/after snapshots only: partitions 3 and 7 have a third copy on a new leaf,
    what an interrupted copy phase leaves."""
    root = tmp_path / "ticket"
    root.mkdir()
    (root / "show_partitions_before.txt").write_text(_partitions([]))
    (root / "show_partitions_after.txt").write_text(
        _partitions([(3, "10.0.1.14"), (7, "10.0.1.14")])
    )
    code, report = _analyze(root)
    assert code == 1
    (verdict,) = report["verdicts"]
    assert (verdict["database"], verdict["status"]) == ("sales", "inconclusive")
    assert "extra copies of partition(s) 3, 7" in verdict["summary"]
    assert "Nothing failed" not in report["recovery"][0]["detail"]


def test_a_leafs_out_of_memory_on_a_partition_is_inconclusive(tmp_path: Path) -> None:
    """Only a leaf's log, out of memory while applying a partition's snapshot: a step may
    have failed there; the master aggregator's log may be missing."""
    root = tmp_path / "ticket"
    root.mkdir()
    (root / "10.0.1.14_3306_memsql.log").write_text(
        "5000000000 2026-03-14 02:18:30.001   INFO: Thread 9 (ntid 3, conn id -1): Heartbeat: "
        "node [1] 10.0.1.10:3306 answered in 0.4 ms\n"
        "5004670000 2026-03-14 02:18:34.672  ERROR: Thread 9 (ntid 3, conn id -1): "
        "ReplicateDatabase: `sales_7`: Not enough memory available to complete the current "
        "request (error 1712) while applying snapshot from 10.0.1.12:3306\n"
    )
    code, report = _analyze(root)
    assert code == 1
    (verdict,) = report["verdicts"]
    assert (verdict["database"], verdict["status"]) == ("sales", "inconclusive")
    assert "out_of_memory" in verdict["summary"] and "sales:7" in verdict["summary"]


def test_a_clean_snapshot_and_no_rebalance_is_still_no_failure(tmp_path: Path) -> None:
    root = tmp_path / "ticket"
    root.mkdir()
    (root / "show_partitions.txt").write_text(_partitions([]))
    code, report = _analyze(root)
    assert code == 0
    assert [v["status"] for v in report["verdicts"]] == ["no_failure"]
