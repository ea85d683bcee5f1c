"""The runbook's choice of the replica to promote (step 2) and its orphans on a leaf that
is down (step 5), on small bundles as a support engineer gets them: mysql-client tables
of SHOW REBALANCE STATUS, SHOW CLUSTER STATUS, SHOW PARTITIONS, SHOW LEAVES."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from forensics.cli import main

MA = "10.20.0.10"
LSN_ERROR = "failed: WaitForLSNWithTimeout timed out after 60000 ms waiting for replica to reach LSN 0x7a3f12"


def boxed(statement: str, header: list[str], rows: list[list[Any]]) -> str:
    """``rows`` as the mysql client prints them after ``statement``."""
    cells = [header, *[["NULL" if v is None else str(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    border = "+" + "+".join("-" * (w + 2) for w in widths) + "+\n"

    def line(row: list[str]) -> str:
        return "|" + "|".join(f" {v:<{w}} " for v, w in zip(row, widths, strict=True)) + "|\n"

    body = "".join(line(r) for r in cells[1:])
    return (
        f"mysql> {statement}\n{border}{line(header)}{border}{body}{border}"
        f"{len(rows)} rows in set (0.01 sec)\n\n"
    )


def status(steps: list[tuple[str, int, str, str]]) -> str:
    header = ["Action", "Ordinal", "Target_Host", "Target_Port", "Phase", "Status",
              "Running_Time", "Estimated_Time_Remaining_Ms"]  # fmt: skip
    phase = {"COPY": 1, "PROMOTE": 2, "DROP": 3}
    rows = [
        [action, o, host, 3306, phase[action.split()[0]], state, 30000, 0]
        for action, o, host, state in steps
    ]
    return boxed("SHOW REBALANCE STATUS ON orders;", header, rows)


def cluster_status(copies: list[tuple[str, int, str, str, str | None]]) -> str:
    """(host, ordinal, role, state, position) of each copy of orders."""
    header = ["Host", "Port", "Database", "Role", "State", "Position", "Details"]
    rows = [[h, 3306, f"orders_{o}", role, st, pos or "", ""] for h, o, role, st, pos in copies]
    return boxed("SHOW CLUSTER STATUS;", header, rows)


def partitions(copies: list[tuple[str, int, str]]) -> str:
    header = ["Ordinal", "Host", "Port", "Role", "Locked"]
    rows = [[o, h, 3306, role, 0] for h, o, role in copies]
    return boxed("SHOW PARTITIONS ON orders;", header, rows)


def leaves(states: dict[str, str]) -> str:
    header = ["Host", "Port", "Availability_Group", "Pair_Host", "Pair_Port", "State"]
    rows = [[h, 3306, 1 + i % 2, None, None, st] for i, (h, st) in enumerate(states.items())]
    return boxed("SHOW LEAVES;", header, rows)


def redundancy(level: int) -> str:
    return boxed(
        "SHOW VARIABLES LIKE 'redundancy_level';",
        ["Variable_name", "Value"],
        [["redundancy_level", level]],
    )


def ma_log(step: str, error: str) -> str:
    lines = [
        "INFO: Thread 5: RebalancePartitions: REBALANCE PARTITIONS ON orders starting",
        f"INFO: Thread 5: RebalanceStep: executing {step} (phase 2)",
        f"ERROR: Thread 5: RebalanceStep: {step} {error}",
        "ERROR: Thread 5: RebalancePartitions: REBALANCE PARTITIONS ON orders failed",
    ]
    return "".join(
        f"03836{i}0000000 2026-03-14 01:31:{10 + i}.000  {line}\n" for i, line in enumerate(lines)
    )


def bundle(root: Path, tables: dict[str, str], log: str | None = None) -> Path:
    (root / "sql").mkdir(parents=True)
    for name, text in tables.items():
        (root / "sql" / name).write_text(text)
    if log is not None:
        path = root / f"{MA}_3306" / "tracelogs" / "memsql.log"
        path.parent.mkdir(parents=True)
        path.write_text(log)
    return root


def recovery(root: Path) -> dict[int, dict[str, Any]]:
    """The JSON report's runbook of ``forensics analyze``, by step number."""
    result = CliRunner().invoke(main, ["analyze", str(root), "--format", "json"])
    assert result.exit_code == 1, result.output
    return {s["step"]: s for s in json.loads(result.stdout)["recovery"]}


def settled(ordinals: range) -> list[tuple[str, int, str, str, str | None]]:
    """Master on .13, replica on .14 for each of ``ordinals``, level in the log."""
    return [
        c
        for o in ordinals
        for c in (
            ("10.20.0.13", o, "Master", "online", f"7:{2000000 + o}"),
            ("10.20.0.14", o, "Replica", "replicating", f"7:{2000000 + o}"),
        )
    ]


PROMOTE = "PROMOTE PARTITION WITH DROP orders:2 ON '10.20.0.11':3306"
PROMOTE_STEPS = [
    ("COPY PARTITION", 2, "10.20.0.11", "success"),
    ("COPY PARTITION", 2, "10.20.0.12", "success"),
    ("PROMOTE PARTITION WITH DROP", 2, "10.20.0.11", "failed"),
    ("DROP PARTITION", 2, "10.20.0.14", "cancelled"),
]


def _promote_failed(root: Path, positions: bool, target_at: str = "7:1500000") -> Path:
    """The PROMOTE WITH DROP of orders:2 to .11 dropped the old master (.13), then timed
    out waiting for .11 to reach the LSN: orders:2 has three replicas, .11 the furthest
    behind, .14 (the old sync replica) the furthest along."""
    replicas = [
        ("10.20.0.11", 2, "Replica", "replicating", target_at),
        ("10.20.0.12", 2, "Replica", "replicating", "7:1900000"),
        ("10.20.0.14", 2, "Replica", "replicating", "7:2004000"),
    ]
    copies = [*settled(range(2)), *replicas, *settled(range(3, 4))]
    snapshot = (
        {"cluster_status.txt": cluster_status(copies)}
        if positions
        else {"partitions.txt": partitions([(h, o, r) for h, o, r, _, _ in copies])}
    )
    tables = {"rebalance_status.txt": status(PROMOTE_STEPS), "vars.txt": redundancy(2)}
    return bundle(root, {**tables, **snapshot}, ma_log(PROMOTE, LSN_ERROR))


def test_the_replica_furthest_in_the_log_is_promoted_not_the_lagging_promote_target(
    tmp_path: Path,
) -> None:
    steps = recovery(_promote_failed(tmp_path / "b", positions=True))
    detail = steps[2]["detail"]
    assert "PROMOTE PARTITION orders:2 ON '10.20.0.14':3306" in detail
    assert "furthest along: 7:2004000" in detail
    assert "10.20.0.12:3306 at 7:1900000, 10.20.0.11:3306 at 7:1500000" in detail
    # the failed PROMOTE's target, whose LSN wait timed out, is named as not proposed
    assert "PROMOTE PARTITION orders:2 ON '10.20.0.11'" not in detail
    assert "Not 10.20.0.11:3306: it is the target of the failed PROMOTE PARTITION" in detail
    # the WITH DROP dropped the old master's copy: nothing to bring back online
    assert "old master's copy" not in detail
    assert "promote the working replica of partition orders:2" in steps[4]["blocked_by"]
    assert "orders:2 has no master" in steps[5]["blocked_by"]


def test_a_failed_target_shown_ahead_is_not_proposed_but_named_for_a_recheck(
    tmp_path: Path,
) -> None:
    """The snapshot shows the failed PROMOTE's target ahead of the others: it is still not
    proposed (its LSN wait timed out), but the engineer is told to compare again."""
    root = _promote_failed(tmp_path / "b", positions=True, target_at="7:2100000")
    detail = recovery(root)[2]["detail"]
    assert "PROMOTE PARTITION orders:2 ON '10.20.0.14':3306" in detail
    assert "10.20.0.11:3306 shows a later position (7:2100000)" in detail
    assert "compare the positions in SHOW CLUSTER STATUS again before choosing" in detail


def test_without_positions_the_choice_is_unverified_and_not_the_failed_target(
    tmp_path: Path,
) -> None:
    """SHOW PARTITIONS shows no log position: the first replica by name would be the
    lagging target; the proposal avoids it and says how to check."""
    detail = recovery(_promote_failed(tmp_path / "b", positions=False))[2]["detail"]
    assert "PROMOTE PARTITION orders:2 ON '10.20.0.12':3306" in detail
    assert "the choice is unverified" in detail
    assert "in SHOW CLUSTER STATUS and promote the one furthest along" in detail
    assert "Not 10.20.0.11:3306" in detail
    assert "furthest along:" not in detail


def test_the_only_replica_left_is_promoted_with_a_caution_when_it_is_the_failed_target(
    tmp_path: Path,
) -> None:
    """Redundancy 1: the PROMOTE WITH DROP dropped the old master and failed; the new copy
    on .11 is all that is left of orders:2."""
    copies = [
        ("10.20.0.13", 0, "Master", "online", "7:2000000"),
        ("10.20.0.13", 1, "Master", "online", "7:2000001"),
        ("10.20.0.11", 2, "Replica", "replicating", "7:2002000"),
    ]
    root = bundle(
        tmp_path / "b",
        {
            "rebalance_status.txt": status(PROMOTE_STEPS[:1] + PROMOTE_STEPS[2:3]),
            "cluster_status.txt": cluster_status(copies),
            "vars.txt": redundancy(1),
        },
        ma_log(PROMOTE, "failed: role change not completed within 120000 ms; old master dropped"),
    )
    detail = recovery(root)[2]["detail"]
    assert "PROMOTE PARTITION orders:2 ON '10.20.0.11':3306" in detail
    assert "the only working replica of the partition" in detail
    assert "Caution: 10.20.0.11:3306 is the target of the failed PROMOTE PARTITION" in detail
    assert "old master's copy" not in detail


def test_the_old_masters_copy_is_mentioned_only_while_it_still_exists(tmp_path: Path) -> None:
    """The master of orders:2 is on .13, which SHOW LEAVES shows offline: its copy is still
    there, and bringing the leaf back would restore the master too."""
    copies = [
        *settled(range(2)),
        ("10.20.0.13", 2, "Master", "online", "7:2002000"),
        ("10.20.0.14", 2, "Replica", "replicating", "7:2002000"),
    ]
    root = bundle(
        tmp_path / "b",
        {
            "rebalance_status.txt": status([("COPY PARTITION", 2, "10.20.0.12", "failed")]),
            "cluster_status.txt": cluster_status(copies),
            "leaves.txt": leaves({f"10.20.0.1{i}": "online" for i in range(1, 5)}
                                 | {"10.20.0.13": "offline"}),
            "vars.txt": redundancy(2),
        },
        ma_log("COPY PARTITION orders:2 ON '10.20.0.12':3306", "failed: Connection reset"),
    )  # fmt: skip
    detail = recovery(root)[2]["detail"]
    assert "PROMOTE PARTITION orders:2 ON '10.20.0.14':3306" in detail
    assert "So would the old master's copy on 10.20.0.13:3306" in detail


def _orphan_on_a_leaf_down(root: Path, also_online_orphan: bool) -> Path:
    """A COPY of orders:2 to .14 failed when .14 went offline: the half copy is an
    orphan there, offline; orders:2 keeps its master and replica."""
    copies = [
        ("10.20.0.11", o, role, st, f"7:{2000000 + o}")
        for o in range(3)
        for role, st in (("Master", "online"),)
    ] + [("10.20.0.12", o, "Replica", "replicating", f"7:{2000000 + o}") for o in range(3)]
    copies.append(("10.20.0.14", 2, "Orphan", "offline", "7:1500000"))
    if also_online_orphan:
        copies.append(("10.20.0.13", 1, "Orphan", "online", "7:1000"))
    return bundle(
        root,
        {
            "rebalance_status.txt": status([("COPY PARTITION", 2, "10.20.0.14", "failed")]),
            "cluster_status.txt": cluster_status(copies),
            "leaves.txt": leaves({"10.20.0.11": "online", "10.20.0.12": "online",
                                  "10.20.0.13": "online", "10.20.0.14": "offline"}),
            "vars.txt": redundancy(2),
        },
        ma_log("COPY PARTITION orders:2 ON '10.20.0.14':3306", "failed: Connection reset"),
    )  # fmt: skip


def test_an_orphan_on_a_leaf_that_is_down_is_not_listed_as_clearable(tmp_path: Path) -> None:
    step5 = recovery(_orphan_on_a_leaf_down(tmp_path / "a", also_online_orphan=False))[5]
    assert "preview and clear the orphans" not in step5["detail"]
    assert "Not to clear now: orders:2 on 10.20.0.14:3306" in step5["detail"]
    assert "until the leaf is back online" in step5["detail"]
    assert "CLEAR ORPHAN DATABASES runs against online leaves" in step5["detail"]
    # another orphan, on a leaf that is online, is still listed to clear; the offline one not
    step5 = recovery(_orphan_on_a_leaf_down(tmp_path / "b", also_online_orphan=True))[5]
    assert "preview and clear the orphans: orders:1 on 10.20.0.13:3306." in step5["detail"]
    assert "Not to clear now: orders:2 on 10.20.0.14:3306" in step5["detail"]
    assert step5["sql"] == ["EXPLAIN CLEAR ORPHAN DATABASES;", "CLEAR ORPHAN DATABASES;"]
