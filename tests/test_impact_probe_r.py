"""Cleanup gates the probe found open (docs/CONTRACTS.md "Impact arithmetic"): a copy SHOW
CLUSTER STATUS shows down while SHOW PARTITIONS lists it without a state, a partition the
rebalance's steps name that no snapshot lists, and a redundancy inferred from the working
copies only. Each bundle is built inline from boxed mysql-client tables; each test checks
what the engineer sees in `forensics analyze --format json`: the impact numbers and
whether recovery step 5 (CLEAR ORPHAN DATABASES) is blocked."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.test_impact_truncated import _analyze as analyse
from tests.test_impact_truncated import _db as only_database

STATUS_COLUMNS = ("Action", "Ordinal", "Target_Host", "Target_Port", "Phase", "Status")


def boxed(statement: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """``statement``'s output as the mysql client prints it."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(str(col)), *(len(r[i]) for r in cells)) for i, col in enumerate(columns)]
    border = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(values: Sequence[str]) -> str:
        return "|" + "|".join(f" {v:<{w}} " for v, w in zip(values, widths, strict=True)) + "|"

    body = [line(r) for r in cells]
    return "\n".join(
        [f"mysql> {statement};", border, line(columns), border, *body, border,
         f"{len(rows)} rows in set (0.01 sec)", ""]
    )  # fmt: skip


def show_partitions(database: str, copies: Sequence[tuple[int, str, str]]) -> str:
    rows = [(o, host, 3306, role, 0) for o, host, role in copies]
    columns = ("Ordinal", "Host", "Port", "Role", "Locked")
    return boxed(f"SHOW PARTITIONS ON {database}", columns, rows)


def cluster_status(copies: Sequence[tuple[str, str, str, str, str]]) -> str:
    """SHOW CLUSTER STATUS rows: host, database instance (``ledger_1``), role, state, position."""
    rows = [(host, 3306, name, role, state, pos, "") for host, name, role, state, pos in copies]
    columns = ("Host", "Port", "Database", "Role", "State", "Position", "Details")
    return boxed("SHOW CLUSTER STATUS", columns, rows)


def rebalance_status(database: str, steps: Sequence[tuple[str, int, str, int, str]]) -> str:
    rows = [(action, o, host, 3306, phase, status) for action, o, host, phase, status in steps]
    return boxed(f"SHOW REBALANCE STATUS ON {database}", STATUS_COLUMNS, rows)


def redundancy(level: int) -> str:
    return boxed(
        "SHOW VARIABLES LIKE 'redundancy_level'",
        ("Variable_name", "Value"),
        [("redundancy_level", level)],
    )


def step_5_blocked(report: dict[str, Any]) -> bool:
    (step,) = [s for s in report["recovery"] if s["step"] == 5]
    return bool(step["blocked_by"])


#: A COPY of ledger:1 to 10.20.0.13 failed: the copy it left is an orphan there.
COPY_1_FAILED = rebalance_status("ledger", [("COPY PARTITION", 1, "10.20.0.13", 1, "failed")])
LEDGER_MASTERS = show_partitions(
    "ledger", [(0, "10.20.0.11", "Master"), (1, "10.20.0.12", "Master")]
)


def _status_with_master_1(state: str) -> str:
    return cluster_status(
        [
            ("10.20.0.11", "ledger_0", "Master", "online", "7:2000000"),
            ("10.20.0.12", "ledger_1", "Master", state, "7:2001000"),
            ("10.20.0.13", "ledger_1", "Orphan", "online", "7:2000500"),
        ]
    )


@pytest.mark.parametrize("state", ["unrecoverable", "offline"])
@pytest.mark.parametrize("partitions_file", ["partitions_after.txt", "parts.txt"])
def test_a_master_cluster_status_shows_down_is_no_master(
    tmp_path: Path, state: str, partitions_file: str
) -> None:
    """SHOW PARTITIONS (no state; named as the later capture or not) lists ledger:1's
    master, SHOW CLUSTER STATUS shows that very copy unrecoverable (or offline) and an
    orphan of ledger:1: the partition has no working master, the orphan may hold its only
    good copy, and CLEAR ORPHAN DATABASES must stay blocked."""
    report = analyse(
        tmp_path,
        {
            partitions_file: LEDGER_MASTERS,
            "cluster_status.txt": _status_with_master_1(state),
            "status.txt": COPY_1_FAILED,
            "vars.txt": redundancy(1),
        },
    )
    db = only_database(report)
    assert db["partitions_without_master"] == [1]
    assert [(o["ordinal"], o["node"]) for o in db["orphans"]] == [(1, "10.20.0.13:3306")]
    assert db["extra_copies"] == 0  # (the orphan is no leftover: it may be the only copy)
    assert report["impact"]["data_at_risk"] is True
    assert step_5_blocked(report)
    (note,) = [a for a in report["impact"]["assumptions"] if "counted as not working" in a]
    assert f"ledger:1 on 10.20.0.12:3306 {state} (master)" in note


def test_a_master_cluster_status_shows_online_keeps_the_cleanup_open(tmp_path: Path) -> None:
    """The same bundle with the master online: the orphan (behind it in the log) is a
    leftover, nothing is at risk, and step 5 clears it."""
    report = analyse(
        tmp_path,
        {
            "partitions_after.txt": LEDGER_MASTERS,
            "cluster_status.txt": _status_with_master_1("online"),
            "status.txt": COPY_1_FAILED,
            "vars.txt": redundancy(1),
        },
    )
    db = only_database(report)
    assert db["partitions_without_master"] == []
    assert db["extra_copies"] == 1
    assert report["impact"]["data_at_risk"] is False
    assert not step_5_blocked(report)
    assert not any("counted as not working" in a for a in report["impact"]["assumptions"])


def test_a_partition_only_the_steps_name_has_no_master(tmp_path: Path) -> None:
    """The failed COPY (and the cancelled PROMOTE) name ledger:2, which SHOW PARTITIONS no
    longer lists (its only copy was lost): three partitions, 2 without a master, a
    warning naming it, data at risk, cleanup blocked."""
    steps = [
        ("COPY PARTITION", 2, "10.20.0.13", 1, "failed"),
        ("PROMOTE PARTITION WITH DROP", 2, "10.20.0.13", 2, "cancelled"),
    ]
    report = analyse(
        tmp_path,
        {
            "partitions.txt": LEDGER_MASTERS,
            "status.txt": rebalance_status("ledger", steps),
            "vars.txt": redundancy(1),
        },
    )
    db = only_database(report)
    assert db["partitions"] == 3
    assert db["partitions_without_master"] == [2]
    assert report["impact"]["data_at_risk"] is True
    assert step_5_blocked(report)
    assert any(
        "steps name ordinal(s) 2" in w and "no partition snapshot lists" in w
        for w in report["impact"]["warnings"]
    )


def test_a_step_of_a_listed_partition_adds_none(tmp_path: Path) -> None:
    """Steps naming only listed ordinals add no partition and no warning."""
    report = analyse(
        tmp_path,
        {
            "partitions.txt": LEDGER_MASTERS,
            "status.txt": COPY_1_FAILED,
            "vars.txt": redundancy(1),
        },
    )
    db = only_database(report)
    assert (db["partitions"], db["partitions_without_master"]) == (2, [])
    assert not any("steps name" in w for w in report["impact"]["warnings"])


def _orders_status(replica_state: str) -> str:
    """Every partition of orders with a master and a replica (the replicas' leaf in
    ``replica_state``), and an orphan of orders:1 left by the failed COPY."""
    return cluster_status(
        [
            ("10.20.0.11", "orders_0", "Master", "online", "7:2000000"),
            ("10.20.0.11", "orders_1", "Master", "online", "7:2001000"),
            ("10.20.0.12", "orders_0", "Replica", replica_state, "7:2000000"),
            ("10.20.0.12", "orders_1", "Replica", replica_state, "7:2001000"),
            ("10.20.0.13", "orders_1", "Orphan", "online", "7:2000500"),
        ]
    )


ORDERS_COPY_1_FAILED = rebalance_status(
    "orders", [("COPY PARTITION", 1, "10.20.0.13", 1, "failed")]
)


def test_redundancy_is_inferred_from_every_listed_copy(tmp_path: Path) -> None:
    """No SHOW VARIABLES, no SHOW LEAVES: each partition lists a master and a replica, the
    replicas offline. Two copies are listed per partition, so redundancy 2 (not the 1 the
    working copies alone would give), every partition is under-redundant, and the orphan
    must not be cleared while they are."""
    report = analyse(
        tmp_path,
        {"cluster_status.txt": _orders_status("offline"), "status.txt": ORDERS_COPY_1_FAILED},
    )
    db = only_database(report)
    assert db["redundancy"] == 2 and db["redundancy_assumed"] is True
    assert db["under_redundant"] == [0, 1]
    assert db["partitions_without_master"] == []
    assert report["impact"]["data_at_risk"] is False
    assert step_5_blocked(report)
    assert any("assumed 2" in a for a in report["impact"]["assumptions"])


def test_working_replicas_give_the_same_redundancy_and_open_the_cleanup(tmp_path: Path) -> None:
    """The same cluster with its replicas online: redundancy 2, nothing under-redundant,
    the orphan a leftover that step 5 clears."""
    report = analyse(
        tmp_path,
        {"cluster_status.txt": _orders_status("online"), "status.txt": ORDERS_COPY_1_FAILED},
    )
    db = only_database(report)
    assert db["redundancy"] == 2
    assert db["under_redundant"] == []
    assert db["extra_copies"] == 1
    assert not step_5_blocked(report)
