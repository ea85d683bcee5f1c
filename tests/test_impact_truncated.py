"""A partition snapshot cut short or damaged in the middle: the rows it lacks are unknown,
not absent (SPEC §9). A cut SHOW PARTITIONS must not make a partition "without master"
that a complete SHOW CLUSTER STATUS shows with one, and a broken border line must not
end the table.

Each test builds its bundle inline and checks what the user sees: data at risk or not,
the partitions without a master, the blocked steps, the warning naming the file and line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from forensics.cli import main
from forensics.parsers.tables import parse_tables, to_frames

BORDER = "+---------+-----------+------+---------+--------+"
HEADER = "| Ordinal | Host      | Port | Role    | Locked |"
CS_BORDER = "+-----------+------+----------+---------+-------------+-----------+"
CS_HEADER = "| Host      | Port | Database | Role    | State       | Position  |"
STATUS = """mysql> SHOW REBALANCE STATUS ON db1;
+----------------+---------+-------------+-------------+-------+--------+
| Action         | Ordinal | Target_Host | Target_Port | Phase | Status |
+----------------+---------+-------------+-------------+-------+--------+
| COPY PARTITION |       2 | 10.0.0.4    |        3306 |     2 | failed |
+----------------+---------+-------------+-------------+-------+--------+
1 row in set (0.01 sec)
"""


def _row(ordinal: int, host: str, role: str) -> str:
    return f"| {ordinal:>7} | {host:<9} | 3306 | {role:<7} |      0 |"


def _cs_row(host: str, name: str, role: str) -> str:
    state = "online" if role in ("Master", "Orphan") else "replicating"
    return f"| {host:<9} | 3306 | {name:<8} | {role:<7} | {state:<11} | 1:100     |"


def _copies(partitions: int, orphan: int | None = None) -> list[tuple[int, str, str]]:
    """Two copies a partition (master alternating between two leaves); ``orphan``: that
    ordinal has no master or replica, only an orphan on a third leaf."""
    out = []
    for o in range(partitions):
        if o == orphan:
            out.append((o, "10.0.0.4", "Orphan"))
            continue
        first, second = ("10.0.0.2", "10.0.0.3") if o % 2 == 0 else ("10.0.0.3", "10.0.0.2")
        out += [(o, first, "Master"), (o, second, "Replica")]
    return out


def _partitions(copies: list[tuple[int, str, str]], keep: int, closed: bool = False) -> str:
    """SHOW PARTITIONS ON db1 with the first ``keep`` rows (orphans are not listed)."""
    rows = [_row(o, h, r) for o, h, r in copies if r != "Orphan"][:keep]
    tail = [BORDER, f"{len(rows)} rows in set"] if closed else []
    return "\n".join(["mysql> SHOW PARTITIONS ON db1;", BORDER, HEADER, BORDER, *rows, *tail])


def _cluster_status(copies: list[tuple[int, str, str]]) -> str:
    rows = [_cs_row(h, f"db1_{o}", r) for o, h, r in sorted(copies, key=lambda c: (c[1], c[0]))]
    body = [CS_BORDER, CS_HEADER, CS_BORDER, *rows, CS_BORDER]
    return "\n".join(["mysql> SHOW CLUSTER STATUS;", *body, f"{len(rows)} rows in set"])


def _analyze(tmp_path: Path, files: dict[str, str]) -> dict[str, Any]:
    for name, text in files.items():
        (tmp_path / name).write_text(text + "\n")
    result = CliRunner().invoke(main, ["analyze", str(tmp_path), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _db(report: dict[str, Any]) -> dict[str, Any]:
    (db,) = report["impact"]["databases"]
    return db


def _blocked(report: dict[str, Any]) -> list[int]:
    return [s["step"] for s in report["recovery"] if s["blocked_by"]]


# --- a cut SHOW PARTITIONS next to a complete SHOW CLUSTER STATUS ------------------------


def test_a_cut_partitions_table_takes_the_missing_rows_from_the_cluster_status(
    tmp_path: Path,
) -> None:
    """SHOW PARTITIONS stops after 3 of 8 rows; SHOW CLUSTER STATUS in the same file
    lists a master and a replica of all 4 partitions: nothing is at risk, the retry and
    the cleanup stay open, and an assumption names where the table was cut."""
    copies = _copies(4)
    sql = "\n\n".join([_partitions(copies, keep=3), _cluster_status(copies), STATUS])
    report = _analyze(tmp_path, {"sql.txt": sql})
    db = _db(report)
    assert report["impact"]["data_at_risk"] is False
    assert (db["partitions"], db["partitions_without_master"], db["under_redundant"]) == (4, [], [])
    assert _blocked(report) == []
    assert "sql.txt:7: table truncated (no closing border)" in " ".join(report["warnings"])
    assert any("is cut (" in a and "sql.txt:7" in a for a in report["impact"]["assumptions"])


def test_a_table_cut_in_the_middle_of_a_long_database_is_made_up_for(tmp_path: Path) -> None:
    """16 partitions, the table cut after 23 of 32 rows, mid-way through ordinal 11."""
    copies = _copies(16)
    sql = "\n\n".join([_partitions(copies, keep=23), _cluster_status(copies), STATUS])
    db = _db(report := _analyze(tmp_path, {"sql.txt": sql}))
    assert (db["partitions_without_master"], db["under_redundant"], db["over_redundant"]) == (
        [],
        [],
        [],
    )
    assert report["impact"]["data_at_risk"] is False


def test_an_orphan_that_may_be_the_only_copy_still_blocks_cleanup(tmp_path: Path) -> None:
    """The complete cluster status shows ordinal 3 held by an orphan only: made up for
    from it, the partition is still without a master, its orphan kept, the cleanup blocked."""
    copies = _copies(4, orphan=3)
    sql = "\n\n".join([_partitions(copies, keep=3), _cluster_status(copies), STATUS])
    report = _analyze(tmp_path, {"sql.txt": sql})
    db = _db(report)
    assert db["partitions_without_master"] == [3]
    assert db["orphans"] == [{"ordinal": 3, "node": "10.0.0.4:3306", "ahead_of_master": False}]
    assert report["impact"]["data_at_risk"] is True
    assert {4, 5} <= set(_blocked(report))


def test_a_cut_table_with_nothing_to_make_up_for_it_says_so(tmp_path: Path) -> None:
    """No cluster status: nothing shows the rows the cut took, and the impact must not
    read as complete: a warning names the cut, the ordinals it may hide and what to re-run."""
    copies = _copies(4)
    report = _analyze(tmp_path, {"sql.txt": _partitions(copies, keep=3) + "\n\n" + STATUS})
    warning = next(w for w in report["warnings"] if "is cut" in w)
    assert "sql.txt:7)" in warning and "ordinal 1 and later" in warning
    assert "SHOW PARTITIONS ON db1 again" in warning


def test_the_runbook_calls_partitions_past_the_cut_unseen_not_lost(tmp_path: Path) -> None:
    """The cut took partition 3's rows: step 2 and step 4 say to take the capture again,
    not to bring back a leaf that nothing shows is down."""
    copies = _copies(4)
    cut = _partitions(copies, keep=7)[:-30]  # the last row cut after its ordinal (3)
    report = _analyze(tmp_path, {"sql.txt": cut + "\n\n" + STATUS})
    assert _db(report)["partitions_without_master"] == [3]
    steps = {s["step"]: s for s in report["recovery"]}
    assert "db1: ordinals 3: no copy is visible because the capture is cut" in steps[2]["detail"]
    assert "no copy at all" not in steps[2]["detail"]
    assert "take SHOW PARTITIONS again" in steps[4]["blocked_by"]
    assert "back online" not in steps[4]["blocked_by"]
    assert _blocked(report) == [4, 5]


def test_a_cluster_status_named_as_taken_before_does_not_make_up_for_the_cut(
    tmp_path: Path,
) -> None:
    """A master the older capture shows may be lost since: the cut rows stay unknown."""
    copies = _copies(4)
    report = _analyze(
        tmp_path,
        {
            "partitions_after.txt": _partitions(copies, keep=3),
            "cluster_status_before.txt": _cluster_status(copies),
            "status.txt": STATUS,
        },
    )
    assert _db(report)["partitions_without_master"] == [2, 3]
    assert any("partitions_after.txt:7" in w and "is cut" in w for w in report["warnings"])


def test_a_whole_table_gives_no_truncation_column() -> None:
    copies = _copies(2)
    frame = to_frames(parse_tables(_partitions(copies, keep=4, closed=True), "p.txt").tables)
    assert frame["partitions"].get_column("truncated_at").null_count() == 4


# --- a broken border line in the middle of a boxed table ---------------------------------


def _broken(copies: list[tuple[int, str, str]], at: int, width: int = 34) -> str:
    """A complete SHOW PARTITIONS whose row ``at`` is followed by a border cut short
    after ``width`` characters."""
    rows = [_row(o, h, r) for o, h, r in copies if r != "Orphan"]
    rows.insert(at, BORDER[:width])
    body = [BORDER, HEADER, BORDER, *rows, BORDER, f"{len(copies)} rows in set (0.01 sec)"]
    return "\n".join(["mysql> SHOW PARTITIONS ON db1;", *body])


@pytest.mark.parametrize("width", [34, 30], ids=["cut in the dashes", "cut after a +"])
def test_a_broken_border_mid_table_does_not_end_the_table(width: int) -> None:
    """The rows after the damaged line are rows of the table, the line itself is counted
    as unparsed with a warning naming it, and the row count matches the footer."""
    copies = _copies(16)
    result = parse_tables(_broken(copies, at=20, width=width), "sql.txt")
    (table,) = result.tables
    assert len(table.rows) == 32 and not table.truncated
    assert result.unparsed_lines == 1
    assert result.warnings == ["sql.txt:25: broken border line inside the table: skipped"]


def test_a_broken_border_mid_table_leaves_no_partition_without_master(tmp_path: Path) -> None:
    copies = _copies(16)
    report = _analyze(tmp_path, {"sql.txt": _broken(copies, at=20) + "\n\n" + STATUS})
    db = _db(report)
    assert (db["partitions"], db["partitions_without_master"]) == (16, [])
    assert report["impact"]["data_at_risk"] is False


def test_a_broken_border_before_a_header_still_ends_the_table() -> None:
    """A damaged top border of a next table (header, then its border) is no row line."""
    copies = _copies(2)
    rows = [_row(o, h, r) for o, h, r in copies]
    text = "\n".join([BORDER, HEADER, BORDER, *rows, BORDER[:20], HEADER, BORDER, *rows, BORDER])
    result = parse_tables(text, "sql.txt")
    assert [len(t.rows) for t in result.tables] == [4, 4]
    assert result.tables[0].truncated


def test_a_cut_cluster_status_blocks_clearing_orphans(tmp_path: Path) -> None:
    """SHOW CLUSTER STATUS is where orphans are read from: cut short, the orphans in its
    lost rows are unknown (one may be the only copy), so CLEAR ORPHAN DATABASES waits for
    a whole capture; the masters the complete SHOW PARTITIONS shows stay as they are."""
    copies = _copies(4)
    status = _cluster_status(copies).splitlines()[:7]  # statement, border, header, 3 rows
    sql = "\n\n".join([_partitions(copies, keep=8, closed=True), "\n".join(status), STATUS])
    report = _analyze(tmp_path, {"sql.txt": sql})
    assert _db(report)["partitions_without_master"] == []
    steps = {s["step"]: s for s in report["recovery"]}
    assert "cut short (" in steps[5]["blocked_by"] and "sql.txt:" in steps[5]["blocked_by"]
    (tmp_path / "whole").mkdir()
    sql = "\n\n".join([_partitions(copies, keep=8, closed=True), _cluster_status(copies), STATUS])
    whole = _analyze(tmp_path / "whole", {"sql.txt": sql})
    assert not next(s for s in whole["recovery"] if s["step"] == 5)["blocked_by"]
