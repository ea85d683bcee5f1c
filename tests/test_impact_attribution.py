"""Which copies a failed rebalance left over: the copy a DROP was to remove is the extra
one (its node and its size); copies its COPY steps made do not raise an inferred
redundancy; an orphan further in the log than its master (positions from SHOW CLUSTER
STATUS when SHOW PARTITIONS gives the masters) is no leftover."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from forensics.cli import main

REDUNDANCY_2 = """\
mysql> SHOW VARIABLES LIKE 'redundancy_level';
+------------------+-------+
| Variable_name    | Value |
+------------------+-------+
| redundancy_level | 2     |
+------------------+-------+
1 row in set (0.00 sec)
"""

DROP_FAILED = """\
mysql> SHOW REBALANCE STATUS ON kv;
+-------------------+---------+-------------+-------------+-------+---------+--------------+-----------------------------+
| Action            | Ordinal | Target_Host | Target_Port | Phase | Status  | Running_Time | Estimated_Time_Remaining_Ms |
+-------------------+---------+-------------+-------------+-------+---------+--------------+-----------------------------+
| COPY PARTITION    |       1 | 10.20.0.13  |        3306 |     1 | success |        40000 |                           0 |
| PROMOTE PARTITION |       1 | 10.20.0.13  |        3306 |     2 | success |         4000 |                           0 |
| DROP PARTITION    |       1 | 10.20.0.12  |        3306 |     3 | failed  |          700 |                           0 |
+-------------------+---------+-------------+-------------+-------+---------+--------------+-----------------------------+
3 rows in set (0.01 sec)

{redundancy_2}
mysql> SHOW PARTITIONS ON kv;
+---------+------------+------+---------+--------+
| Ordinal | Host       | Port | Role    | Locked |
+---------+------------+------+---------+--------+
|       0 | 10.20.0.11 | 3306 | Master  |      0 |
|       0 | 10.20.0.12 | 3306 | Replica |      0 |
|       1 | 10.20.0.13 | 3306 | Master  |      0 |
|       1 | 10.20.0.11 | 3306 | Replica |      0 |
|       1 | 10.20.0.12 | 3306 | Replica |      0 |
+---------+------------+------+---------+--------+
5 rows in set (0.01 sec)

mysql> SELECT database_name AS `Database`, ordinal AS Ordinal, host AS Host, port AS Port, size AS Size FROM du;
+----------+---------+------------+------+------+
| Database | Ordinal | Host       | Port | Size |
+----------+---------+------------+------+------+
| kv       |       0 | 10.20.0.11 | 3306 | 3G   |
| kv       |       0 | 10.20.0.12 | 3306 | 3G   |
| kv       |       1 | 10.20.0.13 | 3306 | 2G   |
| kv       |       1 | 10.20.0.11 | 3306 | 2G   |
| kv       |       1 | 10.20.0.12 | 3306 | 9G   |
+----------+---------+------------+------+------+
5 rows in set (0.01 sec)
""".replace("{redundancy_2}", REDUNDANCY_2)

COPIED_PARTITIONS = """\
mysql> SHOW PARTITIONS ON metrics;
+---------+------------+------+---------+--------+
| Ordinal | Host       | Port | Role    | Locked |
+---------+------------+------+---------+--------+
|       0 | 10.20.0.11 | 3306 | Master  |      0 |
|       0 | 10.20.0.13 | 3306 | Replica |      0 |
|       1 | 10.20.0.12 | 3306 | Master  |      0 |
|       1 | 10.20.0.13 | 3306 | Replica |      0 |
|       2 | 10.20.0.11 | 3306 | Master  |      0 |
|       2 | 10.20.0.13 | 3306 | Replica |      0 |
|       3 | 10.20.0.12 | 3306 | Master  |      0 |
|       3 | 10.20.0.13 | 3306 | Replica |      0 |
|       4 | 10.20.0.11 | 3306 | Master  |      0 |
|       5 | 10.20.0.12 | 3306 | Master  |      0 |
+---------+------------+------+---------+--------+
10 rows in set (0.06 sec)

"""

COPIED_STATUS = """\
mysql> SHOW REBALANCE STATUS ON metrics;
+-----------------------------+---------+-------------+-------------+-------+-----------+--------------+-----------------------------+
| Action                      | Ordinal | Target_Host | Target_Port | Phase | Status    | Running_Time | Estimated_Time_Remaining_Ms |
+-----------------------------+---------+-------------+-------------+-------+-----------+--------------+-----------------------------+
| COPY PARTITION              |       0 |  10.20.0.13 |        3306 |     1 | success   |         4000 |                           0 |
| COPY PARTITION              |       1 |  10.20.0.13 |        3306 |     1 | success   |         4000 |                           0 |
| COPY PARTITION              |       2 |  10.20.0.13 |        3306 |     1 | success   |         4000 |                           0 |
| COPY PARTITION              |       3 |  10.20.0.13 |        3306 |     1 | success   |         4000 |                           0 |
| COPY PARTITION              |       4 |  10.20.0.13 |        3306 |     1 | failed    |         2400 |                           0 |
| PROMOTE PARTITION WITH DROP |       0 |  10.20.0.13 |        3306 |     2 | cancelled |            0 |                           0 |
| PROMOTE PARTITION WITH DROP |       1 |  10.20.0.13 |        3306 |     2 | cancelled |            0 |                           0 |
| PROMOTE PARTITION WITH DROP |       2 |  10.20.0.13 |        3306 |     2 | cancelled |            0 |                           0 |
| PROMOTE PARTITION WITH DROP |       3 |  10.20.0.13 |        3306 |     2 | cancelled |            0 |                           0 |
| PROMOTE PARTITION WITH DROP |       4 |  10.20.0.13 |        3306 |     2 | cancelled |            0 |                           0 |
+-----------------------------+---------+-------------+-------------+-------+-----------+--------------+-----------------------------+
10 rows in set (0.04 sec)

"""


STATE = """\
{redundancy_2}
mysql> SHOW PARTITIONS ON sales;
+---------+------------+------+---------+--------+
| Ordinal | Host       | Port | Role    | Locked |
+---------+------------+------+---------+--------+
|       0 | 10.20.0.11 | 3306 | Master  |      0 |
|       0 | 10.20.0.12 | 3306 | Replica |      0 |
|       1 | 10.20.0.14 | 3306 | Master  |      0 |
|       1 | 10.20.0.13 | 3306 | Replica |      0 |
+---------+------------+------+---------+--------+
4 rows in set (0.01 sec)

mysql> SHOW CLUSTER STATUS;
+------------+------+----------+---------+-------------+-----------+---------+
| Host       | Port | Database | Role    | State       | Position  | Details |
+------------+------+----------+---------+-------------+-----------+---------+
| 10.20.0.11 | 3306 | sales_0  | Master  | online      | 3:1000    |         |
| 10.20.0.12 | 3306 | sales_0  | Replica | replicating | 3:1000    |         |
| 10.20.0.12 | 3306 | sales_1  | Orphan  | online      | {orphan} |         |
| 10.20.0.13 | 3306 | sales_1  | Replica | replicating | 11:900000 |         |
| 10.20.0.14 | 3306 | sales_1  | Master  | online      | 11:900000 |         |
+------------+------+----------+---------+-------------+-----------+---------+
5 rows in set (0.01 sec)
""".replace("{redundancy_2}", REDUNDANCY_2)


def analyse(folder: Path, files: dict[str, str]) -> tuple[int, dict[str, Any]]:
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["analyze", str(folder), "--format", "json"])
    return result.exit_code, json.loads(result.stdout)


def test_a_failed_drop_charges_the_copy_it_was_to_remove(tmp_path: Path) -> None:
    """kv:1 has copies on .13 (master, 2G), .11 (2G) and .12 (9G); the failed DROP names
    .12: the 9 GiB there are what is left to reclaim, on that leaf."""
    _, report = analyse(tmp_path, {"state.txt": DROP_FAILED})
    (db,) = report["impact"]["databases"]
    assert db["over_redundant"] == [1] and db["extra_copies"] == 1
    assert db["extra_bytes_estimate"] == 9 * 2**30
    assert db["per_node_extra_bytes"] == {"10.20.0.12:3306": 9 * 2**30}


def test_copies_a_failed_rebalance_made_do_not_make_redundancy_2(tmp_path: Path) -> None:
    """No redundancy_level: partitions 0-3 have two copies only because their COPY
    succeeded before COPY 4 failed; the cluster is redundancy 1 with 4 extra copies."""
    code, report = analyse(
        tmp_path, {"partitions.txt": COPIED_PARTITIONS, "status.txt": COPIED_STATUS}
    )
    (db,) = report["impact"]["databases"]
    assert db["redundancy"] == 1 and db["redundancy_assumed"]
    assert db["under_redundant"] == []
    assert db["over_redundant"] == [0, 1, 2, 3] and db["extra_copies"] == 4
    steps = {s["step"]: s["blocked_by"] for s in report["recovery"]}
    assert steps[5] is None  # the extra copies are explained: no "maybe redundancy 2"
    assert code == 1  # the rebalance failed


def blocked(report: dict[str, Any]) -> dict[int, bool]:
    return {s["step"]: bool(s["blocked_by"]) for s in report["recovery"]}


def test_an_orphan_ahead_of_a_master_shown_by_show_partitions_blocks_cleanup(
    tmp_path: Path,
) -> None:
    code, report = analyse(tmp_path, {"state.txt": STATE.format(orphan="12:500000")})
    db = report["impact"]["databases"][0]
    assert db["orphans"] == [{"ordinal": 1, "node": "10.20.0.12:3306", "ahead_of_master": True}]
    assert db["extra_copies"] == 0  # not a leftover: it may hold the latest writes
    assert blocked(report)[4] and blocked(report)[5]
    assert "CLEAR ORPHAN DATABASES would delete it" in report["recovery"][4]["blocked_by"]
    assert code == 1
    markdown = CliRunner().invoke(main, ["analyze", str(tmp_path), "--format", "markdown"])
    assert "| 1@10.20.0.12:3306 (ahead of master) |" in markdown.stdout


def test_an_orphan_behind_its_master_is_a_leftover(tmp_path: Path) -> None:
    code, report = analyse(tmp_path, {"state.txt": STATE.format(orphan="10:4000   ")})
    db = report["impact"]["databases"][0]
    assert db["orphans"] == [{"ordinal": 1, "node": "10.20.0.12:3306", "ahead_of_master": False}]
    assert db["extra_copies"] == 1
    assert not blocked(report)[5]
    assert code == 0


HALF_PROMOTED = """\
mysql> SHOW VARIABLES LIKE 'redundancy_level';
+------------------+-------+
| Variable_name    | Value |
+------------------+-------+
| redundancy_level | 2     |
+------------------+-------+

mysql> SHOW REBALANCE STATUS ON orders;
+-------------------+---------+-------------+-------------+-------+---------+
| Action            | Ordinal | Target_Host | Target_Port | Phase | Status  |
+-------------------+---------+-------------+-------------+-------+---------+
| COPY PARTITION    |       0 | 10.20.0.13  |        3306 |     1 | success |
| COPY PARTITION    |       1 | 10.20.0.13  |        3306 |     1 | success |
| PROMOTE PARTITION |       0 | 10.20.0.13  |        3306 |     2 | success |
| PROMOTE PARTITION |       1 | 10.20.0.13  |        3306 |     2 | failed  |
| DROP PARTITION    |       0 | 10.20.0.11  |        3306 |     3 | pending |
| DROP PARTITION    |       1 | 10.20.0.11  |        3306 |     3 | pending |
+-------------------+---------+-------------+-------------+-------+---------+

mysql> SHOW PARTITIONS ON orders;
+---------+------------+------+---------+--------+
| Ordinal | Host       | Port | Role    | Locked |
+---------+------------+------+---------+--------+
|       0 | 10.20.0.13 | 3306 | Master  |      0 |
|       0 | 10.20.0.11 | 3306 | Replica |      0 |
|       0 | 10.20.0.12 | 3306 | Replica |      0 |
|       1 | 10.20.0.11 | 3306 | Master  |      0 |
|       1 | 10.20.0.12 | 3306 | Replica |      0 |
|       1 | 10.20.0.13 | 3306 | Replica |      0 |
+---------+------------+------+---------+--------+
"""


def test_a_half_done_promote_tells_the_promoted_partitions_apart(tmp_path: Path) -> None:
    """PROMOTE of orders:0 succeeded, of orders:1 failed: 0 serves from its new master and
    its extra copy is the old one (on .11, which its DROP names); 1 keeps its old master
    and its extra copy is the new, unpromoted replica."""
    _, report = analyse(tmp_path, {"state.txt": HALF_PROMOTED})
    (db,) = report["impact"]["databases"]
    said = " ".join(db["phase_statements"])
    assert "Promoted before the failure, serving from the new placement: 1 partition" in said
    assert "(ordinals 1) — the copy phase succeeded" in said
    assert "promoted before the failure (ordinals 0) still has the old copy" in said
    assert "the cluster keeps using the old placement" not in said
    assert sorted(db["per_node_extra_bytes"]) == ["10.20.0.11:3306", "10.20.0.13:3306"]
