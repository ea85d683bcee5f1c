"""A filtered query's result (WHERE on something else than the database, LIMIT) is a
look at some rows, not a snapshot of the cluster: read as one, the partitions it leaves
out would be without a master (grammars/snapshots.toml [filter])."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from forensics import grammars
from forensics.cli import main
from forensics.parsers.tables_frames import filter_of

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

ORPHANS_ONLY = """\
mysql> SELECT * FROM information_schema.MV_CLUSTER_STATUS WHERE ROLE = 'Orphan';
+-----------+------+-----------+--------+--------+-----------+---------+
| Host      | Port | Database  | Role   | State  | Position  | Details |
+-----------+------+-----------+--------+--------+-----------+---------+
| 10.0.1.14 | 3306 | orders_7  | Orphan | online | 4:2836468 |         |
+-----------+------+-----------+--------+--------+-----------+---------+
1 row in set (0.01 sec)
"""

SOME_ORDINALS = """\
mysql> SELECT * FROM information_schema.DISTRIBUTED_PARTITIONS WHERE DATABASE_NAME = 'orders' AND ORDINAL IN (6, 7);
+---------+-----------+------+---------+--------+
| Ordinal | Host      | Port | Role    | Locked |
+---------+-----------+------+---------+--------+
|       6 | 10.0.1.11 | 3306 | Master  |      0 |
|       6 | 10.0.1.14 | 3306 | Replica |      0 |
|       7 | 10.0.1.12 | 3306 | Master  |      0 |
|       7 | 10.0.1.11 | 3306 | Replica |      0 |
+---------+-----------+------+---------+--------+
4 rows in set (0.02 sec)
"""


@pytest.mark.parametrize(("statement", "kept"), grammars.load("snapshots")["filter"]["samples"])
def test_the_grammar_samples_give_their_filters(statement: str, kept: str) -> None:
    assert filter_of(statement) == kept


@pytest.mark.parametrize("later", [ORPHANS_ONLY, SOME_ORDINALS])
def test_a_later_filtered_look_does_not_replace_the_snapshot(tmp_path: Path, later: str) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(FIXTURES / "copy_out_of_memory", bundle)
    # named to sort last and read "after": it would be taken as the latest snapshot
    (bundle / "sql" / "zz_check_after.txt").write_text(later)
    out = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["analyze", str(bundle), "--json", str(out)])
    report = json.loads(out.read_text())
    expected = json.loads((FIXTURES / "copy_out_of_memory" / "expected.json").read_text())
    assert result.exit_code == 1
    assert report["impact"]["data_at_risk"] is False
    orders = next(d for d in report["impact"]["databases"] if d["database"] == "orders")
    want = next(d for d in expected["impact"]["databases"] if d["database"] == "orders")
    assert orders["partitions_without_master"] == []
    assert orders["over_redundant"] == want["over_redundant"]
    assert any(
        "zz_check_after.txt:1: its query keeps some rows only" in w for w in report["warnings"]
    )
