"""forensics scan over a share of ticket folders: each ticket is an input of its own,
whatever it holds (one node's logs, a pasted status, another program's logs), and a
cluster's node folders named by no node stay one bundle (SPEC §7)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from forensics.cli import main
from forensics.scan import _names_ticket, find_inputs, stats_path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
KILL = next((FIXTURES / "copy_kill_script").glob("*.tar.gz"))  # sales / copy / kill

LOCK = "Leaf Error (10.11.0.11:3306): Lock wait timeout exceeded; try restarting transaction"
LOST = "Leaf Error (10.1.1.13:3306): Lost connection to MySQL server during query"


def _log(day: str, db: str, failed: str | None, uptime: int = 700_000) -> str:
    """A node's tracelog of one day: heartbeats, a rebalance of ``db`` at 02:00 that
    failed with the given error (or completed), heartbeats until 04:00."""
    beat = "INFO: Thread 9: Heartbeat: node [2] answered in 0.5 ms"
    rows = [(f"01:{m:02d}:00.000", "  ", beat) for m in range(0, 60, 10)]
    rows.append(("02:00:00.000", "  ", f"INFO: Thread 5: REBALANCE PARTITIONS ON {db} started"))
    if failed:
        copy = f"COPY PARTITION {db}:4 to '10.1.1.13':3306 failed: {failed}"
        rows += [("02:04:05.000", " ", f"ERROR: Thread 5: {copy}")]
        rows += [("02:04:05.300", " ", f"ERROR: Thread 5: REBALANCE PARTITIONS ON {db} failed")]
    else:
        rows += [("02:04:05.300", "  ", f"INFO: Thread 5: REBALANCE PARTITIONS ON {db} completed")]
    rows += [(f"03:{m:02d}:00.000", "  ", beat) for m in range(0, 60, 10)]
    return "".join(
        f"{uptime + i * 1000} 2026-{day} {t} {pad}{text}\n" for i, (t, pad, text) in enumerate(rows)
    )


STATUS = """Hi team, the rebalance on web failed last night:

mysql> SHOW REBALANCE STATUS ON web;
+-----------------------------+---------+-------------+-------------+-------+---------+
| Action                      | Ordinal | Target_Host | Target_Port | Phase | Status  |
+-----------------------------+---------+-------------+-------------+-------+---------+
| COPY PARTITION              |       5 | 10.9.0.14   |        3306 |     2 | success |
| PROMOTE PARTITION WITH DROP |       5 | 10.9.0.14   |        3306 |     4 | failed  |
+-----------------------------+---------+-------------+-------------+-------+---------+
2 rows in set (0.01 sec)
"""
NGINX = '10.20.1.181 - - [10/Jun/2026:08:00:20 +0000] "GET /api/v1/orders/154 HTTP/1.1" 200 4\n'


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


def _scan(*args: str | Path) -> tuple[pl.DataFrame, pl.DataFrame, str]:
    """Run ``forensics scan ARGS`` (the last two: -o OUT) and read both tables."""
    result = CliRunner().invoke(main, ["scan", *map(str, args), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    out = Path(args[-1])
    return pl.read_parquet(out), pl.read_parquet(stats_path(out)), result.output


def _names(root: Path) -> list[str]:
    return [Path(i.name).relative_to(root).as_posix() for i in find_inputs([root])]


def _bundle(folder: Path) -> None:
    """A small cluster bundle: two node folders named by host, ledger failed."""
    _write(folder / "10.1.1.10_3306" / "memsql.log", _log("03-09", "ledger", LOST))
    _write(folder / "10.1.1.11_3306" / "memsql.log", _log("03-09", "ledger", None, 50_000))


def _tickets(root: Path) -> Path:
    """tickets/: a bundle, one node's rotated logs, a pasted status, one rotated .gz
    of another node, another program's logs, each in its ticket's folder."""
    tickets = root / "tickets"
    _bundle(tickets / "CS-1240" / "memsql-diag")
    _write(tickets / "CS-1240" / "notes.txt", "Customer: Globex. Rebalance of ledger failed.\n")
    _write(tickets / "CS-1251" / "memsql.log", _log("11-18", "sessions", LOCK, 9_000_000))
    _write(tickets / "CS-1251" / "memsql.log.1", _log("11-04", "orders", LOST, 2_000_000))
    _write(tickets / "CS-1270" / "pasted_from_customer.txt", STATUS)
    _write(tickets / "CS-1360" / "memsql.log.3.gz", _log("09-01", "payments", LOST, 100_000))
    _write(tickets / "CS-1301" / "access.log", NGINX * 20)
    _write(tickets / "CS-1301" / "error.log", NGINX * 5)
    return tickets


def test_ticket_folders_are_inputs_of_their_own(tmp_path: Path) -> None:
    """One node's logs, a pasted status and a loose rotated log, each in a ticket folder
    beside other tickets: three inputs, not one read as one node's rotations (which
    invented a restart between them and blamed it for web's failure)."""
    tickets = _tickets(tmp_path)
    assert _names(tickets) == [
        "CS-1240/memsql-diag",
        "CS-1251",
        "CS-1270",
        "CS-1301",
        "CS-1360",
    ]
    incidents, stats, _ = _scan(tickets, "-o", tmp_path / "x.parquet")
    found = {
        (Path(i).name, db, cause)
        for i, db, cause in incidents.select("input", "database", "cause").iter_rows()
    }
    assert ("CS-1270", "web", "unknown") in found  # a pasted status alone: no cause
    assert {(i, db) for i, db, _ in found} == {
        ("memsql-diag", "ledger"),
        ("CS-1251", "orders"),
        ("CS-1251", "sessions"),
        ("CS-1270", "web"),
        ("CS-1360", "payments"),
    }
    errors = dict(zip(stats["input"], stats["error"], strict=True))
    assert "unrecognised content" in errors[str(tickets / "CS-1301")]  # one row, not two
    assert sum(str(tickets / "CS-1301") in name for name in errors) == 1


@pytest.mark.parametrize("names", [("CS-2001", "CS-2002"), ("alpha", "beta")])
def test_two_customers_of_one_node_each_are_two_inputs(
    tmp_path: Path, names: tuple[str, str]
) -> None:
    """Two folders of one MA log each, two days apart, both of a database orders: two
    inputs (by the ticket names, or else by the times the logs cover), so the failure
    of the first is not 'succeeded later' by the other customer's run."""
    tickets = tmp_path / "tickets"
    _write(tickets / names[0] / "memsql.log", _log("12-01", "orders", LOCK))
    _write(tickets / names[1] / "memsql.log", _log("12-03", "orders", None))
    assert _names(tickets) == list(names)
    incidents, stats, _ = _scan(tickets, "-o", tmp_path / "x.parquet")
    assert stats.height == 2
    assert incidents.select("input", "database", "phase", "later_run").rows() == [
        (str(tickets / names[0]), "orders", "copy", None)
    ]


@pytest.mark.parametrize("rotated_only", [False, True])
def test_plain_node_folders_of_one_cluster_stay_one_bundle(
    tmp_path: Path, rotated_only: bool
) -> None:
    """agg/, leaf1/, leaf2/ each holding a node's memsql.log of the same hours: one
    bundle. A folder of compressed rotations only tells no time: no evidence to divide."""
    bundle = tmp_path / "bundle"
    _write(bundle / "agg" / "memsql.log", _log("03-09", "ledger", LOST))
    _write(bundle / "leaf1" / "memsql.log", _log("03-09", "ledger", None, 10_000))
    leaf2 = "memsql.log.1.gz" if rotated_only else "memsql.log"
    _write(bundle / "leaf2" / leaf2, _log("01-02", "ledger", None, 20_000))
    _write(bundle / "leaf2" / "memsql.log", _log("03-09", "ledger", None, 20_000))
    if rotated_only:
        (bundle / "leaf2" / "memsql.log").unlink()
    assert [i.name for i in find_inputs([tmp_path])] == [str(bundle)]


def test_a_node_whose_log_ends_early_is_apart_only_when_it_overlaps_none(tmp_path: Path) -> None:
    """Three plain folders: two overlapping, one days before both: that one is an
    input of its own, the two stay one bundle."""
    bundle = tmp_path / "b"
    _write(bundle / "agg" / "memsql.log", _log("03-09", "ledger", LOST))
    _write(bundle / "leaf1" / "memsql.log", _log("03-09", "ledger", None, 10_000))
    _write(bundle / "leaf2" / "memsql.log", _log("03-01", "ledger", None, 20_000))
    assert _names(bundle) == ["leaf2", "{agg,leaf1}"]


def test_snapshots_and_outputs_stay_with_the_loose_parts(tmp_path: Path) -> None:
    """In a folder that also holds a ticket's archive: before/ and after/ (one bundle's
    snapshots) are read together, and a sql/ folder with the loose logs beside it."""
    snapshots = tmp_path / "T1"
    snapshots.mkdir()
    shutil.copyfile(KILL, snapshots / "T1.tar.gz")
    for name in ("before", "after"):
        _write(snapshots / name / "status.txt", STATUS)
    assert _names(snapshots) == ["T1.tar.gz", "{after,before}"]
    loose = tmp_path / "T2"
    loose.mkdir()
    shutil.copyfile(KILL, loose / "T2.tar.gz")
    _write(loose / "memsql.log", _log("03-09", "web", None))
    _write(loose / "sql" / "status.txt", STATUS)
    assert _names(loose) == ["T2.tar.gz", "{memsql.log,sql}"]


def test_a_folder_given_with_nothing_usable_says_so(tmp_path: Path) -> None:
    nginx = tmp_path / "CS-1301"
    _write(nginx / "access.log", NGINX * 3)
    _write(nginx / "old" / "access.log.1", NGINX)
    _, stats, output = _scan(nginx, "-o", tmp_path / "x.parquet")
    assert stats["input"].to_list() == [str(nginx)]
    assert "nothing usable" in stats.item(0, "error")
    assert "in 1 input(s)" in output and "1 unreadable" in output
    (tmp_path / "empty").mkdir()
    _, stats, _ = _scan(tmp_path / "empty", "-o", tmp_path / "y.parquet")
    assert "no files" in stats.item(0, "error")


@pytest.mark.parametrize(
    ("name", "ticket"),
    [
        ("CS-1234", True),
        ("case_00123", True),
        ("SR-99", True),
        ("ticket-7", True),
        ("48213", True),
        ("INC20417", True),
        ("ESC-4411", True),
        ("CS-1234-globex", True),
        ("leaf1", False),
        ("leaf-2", False),
        ("LEAF-101", False),
        ("agg", False),
        ("node-3", False),
        ("sdb-leaf-03", False),
        ("memsql-diag-2026-04-11", False),
        ("123", False),
        ("20260301", False),
        ("support-2026-03-01", False),
    ],
)
def test_ticket_names(name: str, ticket: bool) -> None:
    assert _names_ticket(name) is ticket
