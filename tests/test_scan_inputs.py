"""forensics scan over support archives as they come: what is one input, links, damaged
data, time zones, re-uploads, re-runs (SPEC §7)."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from forensics.cli import main
from forensics.scan import content_hash, find_inputs, stats_path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
KILL = next((FIXTURES / "copy_kill_script").glob("*.tar.gz"))  # sales / copy / kill
LSN = next((FIXTURES / "promote_lsn_timeout").glob("*.tar.gz"))  # sales / promote / lsn

COPY_FAILED = (
    "COPY PARTITION ledger:4 to '10.1.1.13':3306 failed: Leaf Error (10.1.1.13:3306): "
    "Lost connection to MySQL server during query"
)
DROP_FAILED = (
    "DROP PARTITION ledger:5 on '10.1.1.11':3306 failed: Leaf Error (10.1.1.11:3306): "
    "Error writing file (errno: 28)"
)


def _history(days: list[tuple[str, str | None]], noise: int = 0) -> str:
    """A node's tracelog over months: a run of ledger on each day (failed with the given
    line, or completed), and ``noise`` heartbeat lines between them."""
    lines = []
    for day, failed in days:
        lines.append(
            f"2026-{day} 02:00:00.000   INFO: Thread 5: REBALANCE PARTITIONS ON ledger started"
        )
        lines += [
            f"2026-{day} 02:01:00.000   INFO: Thread 9: heartbeat {i:08d}" for i in range(noise)
        ]
        if failed:
            lines.append(f"2026-{day} 02:04:05.000  ERROR: Thread 5: {failed}")
            lines.append(
                f"2026-{day} 02:04:05.300  ERROR: Thread 5: REBALANCE PARTITIONS ON ledger failed"
            )
        else:
            lines.append(
                f"2026-{day} 02:04:05.300   INFO: Thread 5: REBALANCE PARTITIONS ON ledger completed"
            )
    return "\n".join(lines) + "\n"


HISTORY = _history([("01-12", COPY_FAILED), ("02-10", None), ("03-09", DROP_FAILED)])
NOISE = "".join(f"2026-03-01 00:00:{s:02d}.000   INFO: Thread 9: heartbeat\n" for s in range(30))


def _scan(*args: str | Path) -> tuple[pl.DataFrame, pl.DataFrame, str]:
    """Run ``forensics scan ARGS`` (the last two: -o OUT) and read both tables."""
    result = CliRunner().invoke(main, ["scan", *map(str, args), "--jobs", "1"])
    assert result.exit_code == 0, result.output  # incidents are rows, not an exit code
    out = Path(args[-1])
    return pl.read_parquet(out), pl.read_parquet(stats_path(out)), result.output


def _causes(incidents: pl.DataFrame, name: Path) -> list[tuple[str, str, str]]:
    rows = incidents.filter(pl.col("input") == str(name)).sort("time")
    return rows.select("database", "phase", "cause").rows()


# ---------------------------------------------------------------- what is one input


def test_two_tickets_beside_a_loose_log_are_three_inputs(tmp_path: Path) -> None:
    """A loose node log beside a folder of two sdb-report archives of two clusters:
    each archive keeps its own verdict; the loose log is an input of its own."""
    support = tmp_path / "support"
    (support / "tickets").mkdir(parents=True)
    (support / "10.0.0.11_3306_memsql.log").write_text(NOISE)
    shutil.copyfile(KILL, support / "tickets" / "A.tar.gz")
    shutil.copyfile(LSN, support / "tickets" / "B.tgz")
    incidents, stats, _ = _scan(support, "-o", tmp_path / "x.parquet")
    assert sorted(stats["input"].to_list()) == sorted(
        str(p)
        for p in (
            support / "10.0.0.11_3306_memsql.log",
            support / "tickets/A.tar.gz",
            support / "tickets/B.tgz",
        )
    )
    assert _causes(incidents, support / "tickets/A.tar.gz") == [("sales", "copy", "kill")]
    assert _causes(incidents, support / "tickets/B.tgz") == [
        ("sales", "promote", "lsn_wait_timeout")
    ]


def test_a_loose_log_at_the_top_does_not_merge_the_history_with_tickets(tmp_path: Path) -> None:
    """A loose rotated log beside hist/ (one node's months of logs) and tickets/: the
    history is an input of its own, with the incidents it has when scanned alone."""
    alone = tmp_path / "alone" / "10.1.1.10_3306"
    alone.mkdir(parents=True)
    (alone / "memsql.log").write_text(HISTORY)
    root = tmp_path / "root"
    shutil.copytree(alone.parent, root / "hist")
    (root / "tickets").mkdir()
    shutil.copyfile(KILL, root / "tickets" / "T1002.tar.gz")
    shutil.copyfile(LSN, root / "tickets" / "T1003.tgz")
    with gzip.open(root / "old-node9_memsql.log.3.gz", "wt") as fh:
        fh.write(NOISE)
    incidents, stats, _ = _scan(root, "-o", tmp_path / "x.parquet")
    assert stats.height == 4
    single, _, _ = _scan(alone.parent, "-o", tmp_path / "alone.parquet")
    columns = ["database", "time", "phase", "cause", "confidence"]
    assert (
        incidents.filter(pl.col("input") == str(root / "hist"))
        .select(columns)
        .equals(single.select(columns))
    )
    assert _causes(incidents, root / "hist") == [
        ("ledger", "copy", "network_error"),
        ("ledger", "drop", "storage_error"),
    ]


def test_archives_beside_a_node_folder_are_inputs_of_their_own(tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    (incoming / "leaf7_3306").mkdir(parents=True)
    (incoming / "leaf7_3306" / "memsql.log").write_text(NOISE)
    shutil.copyfile(KILL, incoming / "ticketA.tar.gz")
    shutil.copyfile(LSN, incoming / "ticketB.tgz")
    assert [i.name for i in find_inputs([incoming])] == [
        str(incoming / "leaf7_3306"),
        str(incoming / "ticketA.tar.gz"),
        str(incoming / "ticketB.tgz"),
    ]


def test_loose_rotated_logs_beside_an_archive_are_read_together(tmp_path: Path) -> None:
    """Several rotated files of one node beside a ticket: one input of loose logs, not
    merged with the archive, not one input per file."""
    folder = tmp_path / "node9"
    folder.mkdir()
    shutil.copyfile(KILL, folder / "ticket.tar.gz")
    (folder / "memsql.log").write_text(_history([("03-09", DROP_FAILED)]))
    (folder / "memsql.log.1").write_text(_history([("01-12", COPY_FAILED)]))
    inputs = {i.name: i.paths for i in find_inputs([folder])}
    logs = f"{folder}/{{memsql.log,memsql.log.1}}"
    assert inputs == {
        logs: (folder / "memsql.log", folder / "memsql.log.1"),
        str(folder / "ticket.tar.gz"): (folder / "ticket.tar.gz",),
    }
    incidents, _, _ = _scan(folder, "-o", tmp_path / "x.parquet")
    causes = incidents.filter(pl.col("input") == logs).sort("time")["cause"].to_list()
    assert causes == ["network_error", "storage_error"]


def test_a_bundle_folder_with_node_folders_stays_one_input(tmp_path: Path) -> None:
    """Node folders, a folder of tables and one copied node folder: one cluster's bundle."""
    bundle = tmp_path / "case"
    shutil.copytree(FIXTURES / "copy_out_of_memory", bundle)
    shutil.copytree(bundle / "10.0.1.11_3306", bundle / "copied_again" / "10.0.1.11_3306")
    assert [i.name for i in find_inputs([tmp_path])] == [str(bundle)]


def test_two_ticket_folders_and_a_loose_log_are_three_inputs(tmp_path: Path) -> None:
    for name in ("T1", "T2"):
        shutil.copytree(FIXTURES / "copy_out_of_memory", tmp_path / name)
    (tmp_path / "memsql.log").write_text(NOISE)
    assert sorted(Path(i.name).name for i in find_inputs([tmp_path])) == ["T1", "T2", "memsql.log"]


def _tar(archive: Path, files: dict[str, Path]) -> Path:
    """A .tar.gz holding each file under the given member name."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz") as tar:
        for name, source in files.items():
            tar.add(source, arcname=name)
    return archive


def _verdicts(fixture: Path) -> list[tuple[str, str, str]]:
    """The failures a fixture's expected.json names: (database, phase, cause)."""
    expected = json.loads((fixture / "expected.json").read_text())["verdicts"]
    return [(v["database"], v["phase"], v["cause"]) for v in expected if v["status"] == "failure"]


def _incidents_of_one_input(folder: Path, tmp_path: Path) -> list[tuple[str, str, str]]:
    """scan of a folder that must be one input: its incidents (database, phase, cause)."""
    incidents, stats, _ = _scan(folder, "-o", tmp_path / "x.parquet")
    assert stats["input"].to_list() == [str(folder)]
    return _causes(incidents, folder)


def test_per_node_archives_beside_the_sql_outputs_are_one_bundle(tmp_path: Path) -> None:
    """One archive per node named <host>_<port>.tar.gz (memsql.log at its root) beside
    sql/: the parts of one cluster's bundle, one input, one incident as analyze says."""
    fixture, bundle = FIXTURES / "copy_out_of_memory", tmp_path / "case"
    for node in sorted(fixture.glob("10.*_3306")):
        _tar(bundle / f"{node.name}.tar.gz", {"memsql.log": node / "tracelogs" / "memsql.log"})
    shutil.copytree(fixture / "sql", bundle / "sql")
    assert [i.name for i in find_inputs([bundle])] == [str(bundle)]
    assert _incidents_of_one_input(bundle, tmp_path) == _verdicts(fixture)  # one, as analyze


def test_a_report_of_per_host_archives_is_one_bundle(tmp_path: Path) -> None:
    """sdb-report merged per host: report-<date>/<host>/report-<host>-<date>.tar.gz, each
    holding <host>-ROLE/memsqlTracelogs/, the MA's folder also queries/: one input, one
    incident (drop / storage_error), not one per host folder."""
    fixture = FIXTURES / "drop_storage_error"
    report = tmp_path / "upload" / "report-2026-03-11T10-22-05"
    for node in sorted(fixture.glob("sdb-*_3306")):
        host = node.name.removesuffix("_3306")
        role = "MA" if "agg" in host else "LEAF"
        member = f"{host}-{role}/memsqlTracelogs/{node.name}_memsql.log"
        _tar(
            report / host / f"report-{host}-2026-03-11T10-21-40.tar.gz",
            {member: node / "memsql.log"},
        )
    shutil.copytree(fixture / "captures", report / "sdb-agg-1" / "queries")
    assert [i.name for i in find_inputs([tmp_path / "upload"])] == [str(report)]
    assert _incidents_of_one_input(report, tmp_path) == _verdicts(fixture)  # one, as analyze


def test_small_tickets_of_one_node_each_stay_apart(tmp_path: Path) -> None:
    """Two ticket archives, each one node's log with its own cluster's SQL outputs: two
    bundles, not the nodes of one; nor a ticket alone in a folder named by the ticket."""
    fixture = FIXTURES / "copy_out_of_memory"
    tables = {f"sql/{t.name}": t for t in sorted((fixture / "sql").iterdir())}
    for ticket, node in (("case-1234", "10.0.1.10_3306"), ("case-1250", "10.0.1.11_3306")):
        log = {f"{node}/memsql.log": fixture / node / "tracelogs" / "memsql.log"}
        _tar(tmp_path / "tickets" / f"{ticket}.tar.gz", {**log, **tables})
        _tar(tmp_path / "held" / ticket / f"{ticket}-orders.tar.gz", {**log, **tables})
    for folder in ("tickets", "held"):
        assert len(find_inputs([tmp_path / folder])) == 2, folder


#: Folders of a cluster's bundle whose names tell no node, one node's tracelogs in each.
NODE_NAMES = ["aggregator-master", "aggregator-child", "leaf-a", "leaf-b", "leaf-c"]
UUID = "45b30dc0-100d-4ef3-9fc4-2b5c28919aa5"
HEARTBEAT = (
    "1036815373488 2026-02-11 01:12:55.373   INFO: Thread 115175: Heartbeat: node [4] "
    "10.0.1.13:3306 answered in 0.588 ms\n"
)


def _nodes_in_plain_folders(bundle: Path, layout: str) -> Path:
    """copy_out_of_memory with each node's log in a folder named by no node
    (``leaf-a/<layout>memsql.log``) and its SQL outputs loose beside them."""
    fixture = FIXTURES / "copy_out_of_memory"
    nodes = sorted(fixture.glob("10.*_3306"))
    for name, node in zip(NODE_NAMES, nodes, strict=True):
        log = bundle / name / layout / "memsql.log"
        log.parent.mkdir(parents=True)
        shutil.copyfile(node / "tracelogs" / "memsql.log", log)
        (log.parent / "query.log").write_text("2026-03-11 08:00:00.000 1 payments SELECT 1\n")
    for table in (fixture / "sql").iterdir():
        shutil.copyfile(table, bundle / table.name)
    return bundle


def test_node_folders_named_by_no_node_are_one_bundle(tmp_path: Path) -> None:
    """aggregator-master/, leaf-a/ ... each holding one memsql.log, the tables loose
    beside them: one cluster's bundle, one incident as analyze gives, not one input per
    folder and one for the tables."""
    bundle = _nodes_in_plain_folders(tmp_path / "upload" / "case", "")
    assert [i.name for i in find_inputs([tmp_path / "upload"])] == [str(bundle)]
    assert _incidents_of_one_input(bundle, tmp_path) == _verdicts(FIXTURES / "copy_out_of_memory")


@pytest.mark.parametrize("layout", ["tracelogs", "logs", f"var/lib/memsql/{UUID}/tracelogs"])
def test_node_folders_with_layout_folders_are_one_bundle(tmp_path: Path, layout: str) -> None:
    """``sdb-leaf-1/var/lib/memsql/<id>/tracelogs/memsql.log`` (a query.log beside it)
    ... and sql/: one input, not one per ``tracelogs`` folder."""
    bundle = _nodes_in_plain_folders(tmp_path / "case", layout)
    (bundle / "sql").mkdir()
    for table in bundle.glob("*.txt"):
        table.rename(bundle / "sql" / table.name)
    assert [i.name for i in find_inputs([bundle])] == [str(bundle)]


def test_a_node_folder_of_rotated_logs_is_one_node(tmp_path: Path) -> None:
    """memsql.log, memsql.log.1 and memsql.log.2.gz are one node's: two such folders and
    the tables are one bundle."""
    bundle = tmp_path / "case"
    for name in ("leaf-a", "leaf-b"):
        (bundle / name).mkdir(parents=True)
        (bundle / name / "memsql.log").write_text(HEARTBEAT)
        (bundle / name / "memsql.log.1").write_text(HEARTBEAT)
        with gzip.open(bundle / name / "memsql.log.2.gz", "wt") as fh:
            fh.write(HEARTBEAT)
    shutil.copyfile(FIXTURES / "copy_out_of_memory/sql/rebalance_status.txt", bundle / "rs.txt")
    assert [i.name for i in find_inputs([bundle])] == [str(bundle)]


def _two_nodes(ticket: Path) -> None:
    """A ticket of two nodes' logs, loose."""
    for node in ("10.0.1.10_3306", "10.0.1.11_3306"):
        (ticket / f"{node}_memsql.log").write_text(HEARTBEAT)


def _two_nodes_in_tracelogs(ticket: Path) -> None:
    """Two logs that are not rotations of one: two nodes, under a layout folder."""
    (ticket / "tracelogs").mkdir()
    (ticket / "tracelogs" / "memsql.log").write_text(HEARTBEAT)
    (ticket / "tracelogs" / "leaf2_memsql.log").write_text(HEARTBEAT)


def _log_and_tables(ticket: Path) -> None:
    """A ticket of one node's log and its own cluster's tables."""
    (ticket / "memsql.log").write_text(HEARTBEAT)
    shutil.copyfile(FIXTURES / "copy_out_of_memory/sql/rebalance_status.txt", ticket / "rs.txt")


def _one_node_under_its_folder(ticket: Path) -> None:
    """One node's log in a folder that is not a layout folder (a node's copy kept in a
    ticket): the ticket is not the node's folder."""
    (ticket / "leaf-a").mkdir()
    (ticket / "leaf-a" / "memsql.log").write_text(HEARTBEAT)
    (ticket / "leaf-a" / "memsql.log.1").write_text(HEARTBEAT)


@pytest.mark.parametrize(
    "make", [_two_nodes, _two_nodes_in_tracelogs, _log_and_tables, _one_node_under_its_folder]
)
def test_ticket_folders_that_are_not_one_node_stay_apart(
    tmp_path: Path, make: Callable[[Path], None]
) -> None:
    """A folder of two tickets, each more than one node's tracelogs: two inputs."""
    tickets = tmp_path / "tickets"
    for name in ("T1", "T2"):
        (tickets / name).mkdir(parents=True)
        make(tickets / name)
    inputs = [Path(i.name) for i in find_inputs([tickets])]  # T1, or T1/tracelogs
    assert [p.relative_to(tickets).parts[0] for p in inputs] == ["T1", "T2"]


# ---------------------------------------------------------------- links


def test_links_are_followed_and_loops_are_listed(tmp_path: Path) -> None:
    """A link to a bundle folder and a link to an archive are scanned; a link that loops
    and a link to nothing get a row saying so; a folder reached twice is scanned once."""
    elsewhere = tmp_path / "elsewhere" / "T1001"
    shutil.copytree(FIXTURES / "copy_out_of_memory", elsewhere)
    c = tmp_path / "c"
    c.mkdir()
    (c / "T1001").symlink_to(elsewhere, target_is_directory=True)
    (c / "T1002.tar.gz").symlink_to(KILL)
    shutil.copyfile(LSN, c / "T1003.tgz")
    (c / "gone.tgz").symlink_to(tmp_path / "nowhere.tgz")
    (c / "up").symlink_to(c, target_is_directory=True)
    incidents, stats, output = _scan(c, elsewhere.parent, "-o", tmp_path / "x.parquet")
    skipped = dict(zip(stats["input"], stats["skipped"], strict=True))
    assert "symbolic link to nothing" in skipped[str(c / "gone.tgz")]
    assert "holds it" in skipped[str(c / "up")]
    assert (
        skipped[str(elsewhere)] == f"same content as {c / 'T1001'}"
        or skipped[str(c / "T1001")] == f"same content as {elsewhere}"
    )
    assert _causes(incidents, c / "T1002.tar.gz") == [("sales", "copy", "kill")]
    oom = incidents.filter(pl.col("cause") == "out_of_memory")
    assert oom.height == 1 and oom.item(0, "input") in (str(c / "T1001"), str(elsewhere))
    assert "2 not followed" in output


# ---------------------------------------------------------------- what the table says


def test_truncated_data_is_a_warning_in_the_statistics(tmp_path: Path) -> None:
    data = gzip.compress(HISTORY.encode() * 40)
    cut = tmp_path / "in" / "memsql.log.3.gz"
    cut.parent.mkdir()
    cut.write_bytes(data[: len(data) // 2])
    _, stats, _ = _scan(cut, "-o", tmp_path / "x.parquet")
    assert stats.item(0, "error") is None
    warnings = stats.item(0, "warnings").to_list()
    assert any("truncated or corrupt compressed data" in w for w in warnings), warnings


def test_tz_is_the_zone_of_the_timestamps_and_is_recorded(tmp_path: Path) -> None:
    """--tz as for analyze: the incidents' times move, the zone is in the statistics,
    and a re-run with another zone analyses again instead of skipping."""
    log = tmp_path / "in" / "10.1.1.10_3306" / "memsql.log"
    log.parent.mkdir(parents=True)
    log.write_text(HISTORY)
    out = tmp_path / "x.parquet"
    utc, stats, _ = _scan(tmp_path / "in", "-o", out)
    assert stats["timezone"].to_list() == ["UTC"]
    paris, stats, output = _scan(tmp_path / "in", "--tz", "Europe/Paris", "-o", out)
    assert "0 skipped as already scanned" in output
    assert stats["timezone"].to_list() == ["Europe/Paris"]
    shift = (utc["time"] - paris["time"]).to_list()
    assert shift and all(s.total_seconds() == 3600 for s in shift)  # CET in Jan and Mar
    _, stats, _ = _scan(tmp_path / "in", "--tz", "10.1.1.10:3306=+02:00", "-o", out)
    assert stats["timezone"].to_list() == ["UTC; 10.1.1.10:3306=Etc/GMT-2"]


def test_an_unknown_zone_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "scan",
            str(FIXTURES / "rebalance_success"),
            "--tz",
            "Mars/Olympus",
            "-o",
            str(tmp_path / "x.parquet"),
        ],
    )
    assert result.exit_code == 2 and "Mars/Olympus" in result.output


def test_a_reupload_gets_its_own_row_and_no_incidents(tmp_path: Path) -> None:
    tickets = tmp_path / "tickets"
    tickets.mkdir()
    shutil.copyfile(KILL, tickets / "T1002-sales.tar.gz")
    shutil.copyfile(KILL, tickets / "T1002-sales-reupload.tar.gz")
    first, second = tickets / "T1002-sales.tar.gz", tickets / "T1002-sales-reupload.tar.gz"
    os.utime(first, (1_700_000_000, 1_700_000_000))  # uploaded first
    out = tmp_path / "x.parquet"
    incidents, stats, output = _scan(tickets, "-o", out)
    assert "0 skipped as already scanned" in output
    assert "1 with the same content as another input" in output
    skipped = dict(zip(stats["input"], stats["skipped"], strict=True))
    assert skipped == {str(first): None, str(second): f"same content as {first}"}
    assert incidents["input"].to_list() == [str(first)]
    _, again, output = _scan(tickets, "-o", out)  # the copy is counted as one again
    assert "1 skipped as already scanned" in output and again.equals(stats)
    assert "1 with the same content as another input" in output


def test_a_same_size_edit_in_the_middle_is_scanned_again(tmp_path: Path) -> None:
    """A 3 MB log whose cause changes in the middle, size kept: a new hash, a rescan."""
    days = [("01-12", COPY_FAILED), ("02-10", None), ("03-09", DROP_FAILED)]
    text = _history(days, noise=20_000)
    assert len(text) > 2_500_000
    log = tmp_path / "in" / "10.1.1.10_3306" / "memsql.log"
    log.parent.mkdir(parents=True)
    log.write_text(text)
    before = content_hash(log.parent)
    out = tmp_path / "x.parquet"
    incidents, _, _ = _scan(tmp_path / "in", "-o", out)
    assert "network_error" in incidents["cause"].to_list()
    lost = "Lost connection to MySQL server during query"
    edited = text.replace(lost, "Error writing file (errno: 28)".ljust(len(lost)))
    assert text.index(lost) > 1_100_000  # past the first MB, far from the last one
    assert len(edited) == len(text)
    log.write_text(edited)
    assert content_hash(log.parent) != before
    incidents, stats, output = _scan(tmp_path / "in", "-o", out)
    assert "0 skipped as already scanned" in output and stats.height == 1
    assert "network_error" not in incidents["cause"].to_list()


def test_an_input_that_failed_is_tried_again(tmp_path: Path) -> None:
    bad = tmp_path / "in" / "broken.tar.gz"
    bad.parent.mkdir()
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage")
    out = tmp_path / "x.parquet"
    _, stats, _ = _scan(bad, "-o", out)
    assert stats.item(0, "error")
    _, stats, output = _scan(bad, "-o", out)
    assert "0 skipped as already scanned" in output and "1 unreadable" in output
    assert stats.height == 1


@pytest.mark.parametrize("column", ["warnings", "timezone", "skipped"])
def test_a_table_of_an_earlier_version_is_still_read(tmp_path: Path, column: str) -> None:
    """A table written before the newer columns existed is extended, not refused."""
    out = tmp_path / "x.parquet"
    _, stats, _ = _scan(FIXTURES / "rebalance_success", "-o", out)
    stats.drop("skipped", "warnings", "timezone", "stamp").write_parquet(stats_path(out))
    _, again, _ = _scan(FIXTURES / "rebalance_success", "-o", out)
    assert column in again.columns and again.height == 1


def test_every_failed_run_of_a_database_is_an_incident(tmp_path: Path) -> None:
    """Months of one node's log: ledger failed, then succeeded, then failed again. scan
    gives one row per failed run, each with its own cause, and counts the three runs
    (the run that succeeded too) in the statistics."""
    log = tmp_path / "in" / "10.1.1.10_3306" / "memsql.log"
    log.parent.mkdir(parents=True)
    log.write_text(HISTORY)
    out = tmp_path / "x.parquet"
    result = CliRunner().invoke(main, ["scan", str(tmp_path / "in"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = pl.read_parquet(out).sort("time")
    assert rows.select("database", "phase", "cause", "later_run").rows() == [
        ("ledger", "copy", "network_error", "succeeded"),  # (the run of 02-10)
        ("ledger", "drop", "storage_error", None),
    ]
    stats = pl.read_parquet(stats_path(out))
    assert stats.select("rebalances", "incidents").rows() == [(3, 2)]


STATUS = """mysql> SHOW REBALANCE STATUS ON {db};
+----------------+---------+-------------+-------------+-------+---------+
| Action         | Ordinal | Target_Host | Target_Port | Phase | Status  |
+----------------+---------+-------------+-------------+-------+---------+
| COPY PARTITION | 3       | 10.0.1.14   | 3306        | 1     | {state} |
+----------------+---------+-------------+-------------+-------+---------+
"""


def test_tickets_of_pasted_tables_are_inputs_of_their_own(tmp_path: Path) -> None:
    """A folder of tickets, two holding a pasted status each and one a leaf's log: three
    inputs (the status tickets had been read as one bundle, one failure the other's
    'earlier attempt'); a bundle's before/ and after/ folders of tables stay one."""
    tickets = tmp_path / "tickets"
    for name, state in (("caseA", "failed "), ("caseB", "success")):
        (tickets / name).mkdir(parents=True)
        (tickets / name / "status.txt").write_text(STATUS.format(db="sales", state=state))
    (tickets / "caseC").mkdir()
    log = FIXTURES / "copy_out_of_memory"
    shutil.copy(next(log.rglob("*memsql.log*")), tickets / "caseC" / "memsql.log")
    assert sorted(Path(i.name).name for i in find_inputs([tickets])) == ["caseA", "caseB", "caseC"]
    bundle = tmp_path / "bundle"
    for name, state in (("before", "running"), ("after", "failed ")):
        (bundle / name).mkdir(parents=True)
        (bundle / name / "status.txt").write_text(STATUS.format(db="sales", state=state))
    (one,) = find_inputs([bundle])
    assert sorted(p.name for p in one.paths) == ["after", "before"]
