"""Client transcripts of a failed rebalance statement (grammars/tables.toml [client_error]).

A bundle may hold no more than what the operator's terminal showed: the REBALANCE
statement and the error the client printed for it. That error is read as the failure of
the database's rebalance (its cause by the normal rules, its time unknown), and it is
never a table line: its text holds ";" (error 1205), which once made it a CSV header
that swallowed the next statement.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from forensics import grammars
from forensics.cli import main
from forensics.parsers.tables import parse_tables, sniff

LOCK_1205 = (
    "ERROR 1205 (HY000): Leaf Error (10.0.1.14:3306): Lock wait timeout exceeded; "
    "try restarting transaction"
)
OOM_1712 = (
    "ERROR 1712 (HY000): Leaf Error (10.0.1.14:3306): Not enough memory available to "
    "complete the current request. The request was not processed."
)
STATUS = """\
mysql> SHOW REBALANCE STATUS ON sales;
+----------------+---------+-------------+-------------+-------+-----------+--------------+
| Action         | Ordinal | Target_Host | Target_Port | Phase | Status    | Running_Time |
+----------------+---------+-------------+-------------+-------+-----------+--------------+
| COPY PARTITION |       3 | 10.0.1.14   |        3306 |     1 | success   |       212044 |
| COPY PARTITION |       7 | 10.0.1.14   |        3306 |     1 | failed    |       187310 |
| COPY PARTITION |      11 | 10.0.1.14   |        3306 |     2 | cancelled |            0 |
+----------------+---------+-------------+-------------+-------+-----------+--------------+
3 rows in set (0.01 sec)
"""
PARTITIONS = """\
mysql> SHOW PARTITIONS ON sales;
+---------+-----------+------+---------+--------+
| Ordinal | Host      | Port | Role    | Locked |
+---------+-----------+------+---------+--------+
|       0 | 10.0.1.11 | 3306 | Master  |      0 |
|       0 | 10.0.1.12 | 3306 | Replica |      0 |
|       1 | 10.0.1.12 | 3306 | Master  |      0 |
|       1 | 10.0.1.11 | 3306 | Replica |      0 |
|       1 | 10.0.1.14 | 3306 | Replica |      0 |
+---------+-----------+------+---------+--------+
5 rows in set (0.01 sec)
"""


def analyze(tmp_path: Path, files: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """``forensics analyze --json`` on a bundle of these files: exit code and report."""
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    for name, text in files.items():
        (bundle / name).write_text(text)
    out = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["analyze", str(bundle), "--json", str(out)])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(out.read_text())


def verdict(report: dict[str, Any]) -> dict[str, Any]:
    [only] = report["verdicts"]
    return only


# --- the grammar's samples ------------------------------------------------------------


@pytest.mark.parametrize(
    "sample",
    grammars.load("tables")["client_error_samples"],
    ids=lambda s: s["text"].strip().splitlines()[-1][:40],
)
def test_grammar_client_error_samples(sample: dict[str, Any]) -> None:
    result = parse_tables(sample["text"], "session.txt")
    [error] = result.client_errors
    assert error.event == sample["event"]
    assert error.database == (sample["database"] or None)
    assert error.code == (sample["code"] or None)
    assert error.line == len(sample["text"].strip("\n").splitlines())
    assert result.unparsed_lines == 0


# --- a transcript alone -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        (LOCK_1205, "lock_timeout"),
        ("ERROR 1317 (70100): Query execution was interrupted", "kill"),
        (OOM_1712, "out_of_memory"),
    ],
    ids=["1205", "1317", "1712"],
)
def test_a_transcript_alone_is_a_failure_of_its_database(
    tmp_path: Path, error: str, cause: str
) -> None:
    text = f"mysql> REBALANCE PARTITIONS ON sales;\n{error}\n"
    code, report = analyze(tmp_path, {"rebalance_error.txt": text})
    assert code == 1
    got = verdict(report)
    assert (got["database"], got["status"], got["cause"]) == ("sales", "failure", cause)
    assert got["phase"] is None  # the transcript does not say which step failed
    assert got["error"] == error
    assert report["findings"][0]["evidence"][0]["line"] == 2


def test_ctrl_c_then_1317_is_a_kill(tmp_path: Path) -> None:
    text = (
        "mysql> REBALANCE PARTITIONS ON sales;\n"
        "^C^C -- query aborted\n"
        "ERROR 1317 (70100): Query execution was interrupted\n"
        "mysql> SHOW REBALANCE STATUS ON sales;\n"
        "Empty set (0.01 sec)\n"
    )
    code, report = analyze(tmp_path, {"terminal.txt": text})
    got = verdict(report)
    assert (code, got["database"], got["status"], got["cause"]) == (1, "sales", "failure", "kill")
    assert report["input"]["files"][0]["unparsed_lines"] == 0


def test_all_databases_names_no_database(tmp_path: Path) -> None:
    text = (
        "Hi,\nwe ran this during the maintenance window:\n\n"
        f"mysql> REBALANCE ALL DATABASES;\n{OOM_1712}\n\nCluster is 4 leaves now.\n"
    )
    code, report = analyze(tmp_path, {"rebalance.txt": text})
    got = verdict(report)
    assert (code, got["database"], got["status"]) == (1, None, "failure")
    assert got["error"] == OOM_1712
    assert "out_of_memory" in {f["cause"] for f in report["findings"]}


def test_all_databases_cause_from_the_error(tmp_path: Path) -> None:
    text = f"mysql> REBALANCE ALL DATABASES;\n{OOM_1712}\n"
    _, report = analyze(tmp_path, {"rebalance.txt": text})
    assert verdict(report)["cause"] == "out_of_memory"


def test_use_then_rebalance_in_one_run(tmp_path: Path) -> None:
    text = (
        '$ mysql -h 10.0.1.10 -u root -e "USE sales; REBALANCE PARTITIONS"\n'
        "ERROR 1205 (HY000) at line 1: Lock wait timeout exceeded; try restarting transaction\n"
    )
    _, report = analyze(tmp_path, {"s.txt": text})
    got = verdict(report)
    assert (got["database"], got["status"], got["cause"]) == ("sales", "failure", "lock_timeout")


def test_a_step_run_by_hand_is_a_failure_of_that_step(tmp_path: Path) -> None:
    text = f"mysql> COPY PARTITION sales:7 TO '10.0.1.14':3306;\n{LOCK_1205}\n"
    _, report = analyze(tmp_path, {"s.txt": text})
    got = verdict(report)
    assert (got["database"], got["phase"], got["cause"]) == ("sales", "copy", "lock_timeout")


# --- a transcript with other output ------------------------------------------------------


def test_plan_then_the_error(tmp_path: Path) -> None:
    text = (
        "mysql> EXPLAIN REBALANCE PARTITIONS ON sales;\n"
        "+----------------+---------+-------------+-------------+-------+\n"
        "| Action         | Ordinal | Target_Host | Target_Port | Phase |\n"
        "+----------------+---------+-------------+-------------+-------+\n"
        "| COPY PARTITION |       3 | 10.0.1.14   |        3306 |     1 |\n"
        "+----------------+---------+-------------+-------------+-------+\n"
        "1 row in set (0.05 sec)\n\n"
        f"mysql> REBALANCE PARTITIONS ON sales;\n{LOCK_1205}\nmysql> exit\nBye\n"
    )
    code, report = analyze(tmp_path, {"session.txt": text})
    got = verdict(report)
    assert (code, got["database"], got["status"]) == (1, "sales", "failure")
    assert got["cause"] == "lock_timeout"


def test_error_then_partitions(tmp_path: Path) -> None:
    text = f"mysql> REBALANCE PARTITIONS ON sales;\n{LOCK_1205}\n{PARTITIONS}"
    code, report = analyze(tmp_path, {"session.log": text})
    got = verdict(report)
    assert (code, got["database"], got["status"]) == (1, "sales", "failure")
    assert got["cause"] == "lock_timeout"
    [impact] = report["impact"]["databases"]
    assert impact["database"] == "sales"  # the SHOW PARTITIONS after the error is read
    assert impact["over_redundant"] == [1]


@pytest.mark.parametrize(
    ("error", "cause"), [(LOCK_1205, "lock_timeout"), (OOM_1712, "out_of_memory")]
)
def test_error_then_status(tmp_path: Path, error: str, cause: str) -> None:
    text = f"mysql> REBALANCE PARTITIONS ON sales;\n{error}\n{STATUS}"
    code, report = analyze(tmp_path, {"session.txt": text})
    got = verdict(report)
    assert (code, got["database"], got["status"], got["phase"]) == (1, "sales", "failure", "copy")
    assert got["cause"] == cause
    assert "sales:7" in got["summary"]


# --- an error line is no table line -------------------------------------------------------


def test_a_1205_line_is_no_csv_header() -> None:
    """Its "; try restarting" once made it a two-column header, and the next statement
    its row: the status table then named no database."""
    result = parse_tables(f"mysql> REBALANCE PARTITIONS ON sales;\n{LOCK_1205}\n{STATUS}", "s.txt")
    [status] = result.tables
    assert (status.kind, status.database) == ("rebalance_status", "sales")
    assert status.statement == "SHOW REBALANCE STATUS ON sales;"
    assert result.unparsed_lines == 0


def test_an_error_line_ends_a_tab_table() -> None:
    text = (
        "Ordinal\tHost\tPort\tRole\tLocked\n"
        "0\t10.0.1.11\t3306\tMaster\t0\n"
        f"mysql> REBALANCE PARTITIONS ON sales;\n{LOCK_1205}\n"
    )
    result = parse_tables(text, "partitions_sales.tsv")
    [table] = result.tables
    assert len(table.rows) == 1 and not table.truncated
    assert [e.database for e in result.client_errors] == ["sales"]


def test_an_error_line_ends_a_bare_statement() -> None:
    result = parse_tables(f"REBALANCE PARTITIONS ON sales\n{OOM_1712}\n", "ticket.txt")
    [error] = result.client_errors
    assert (error.statement, error.code) == ("REBALANCE PARTITIONS ON sales", 1712)


@pytest.mark.parametrize(
    "text",
    [
        # the error of another statement
        "mysql> SHOW REBALANCE STATUS ON sales;\nERROR 1049 (42000): Unknown database 'sales'\n",
        # the rebalance had its answer: a later error is not its
        "mysql> REBALANCE PARTITIONS ON sales;\nQuery OK, 0 rows affected (1 min 2.00 sec)\n\n"
        "ERROR 2013 (HY000): Lost connection to MySQL server during query\n",
        # a sentence of a ticket, no statement
        f"We ran REBALANCE PARTITIONS ON sales from our script and got\n\n{LOCK_1205}\n",
        "REBALANCE PARTITIONS ON sales from our deploy script around 02:10 UTC and it failed\n\n"
        f"{LOCK_1205}\n",
    ],
    ids=["other_statement", "answered", "prose", "prose_opening_with_rebalance"],
)
def test_no_rebalance_failure_without_its_statement(text: str) -> None:
    result = parse_tables(text, "s.txt")
    assert result.client_errors == []
    assert not sniff(text)


def test_a_transcript_alone_is_sniffed_as_a_table_file() -> None:
    assert sniff(f"mysql> REBALANCE PARTITIONS ON sales;\n{LOCK_1205}\n")
