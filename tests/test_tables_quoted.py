"""Quoted and indented client output (grammars/tables.toml [quoting]).

A customer forwards the outputs in an e-mail reply, every line quoted with ``> `` (``>``
with no blank, ``>>`` for a reply to a reply), or a ticket indents the paste by blanks or
a tab. Such a file was classed "unrecognised content", or its tables read with no
statement (the database unnamed): the quoted status of a failed COPY went unread and the
verdict was inconclusive. The prefix a run of lines shares is now removed first; a boxed
table, a vertical row's fields and tab-separated rows keep their own layout.
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
from forensics.parsers.tables_text import split_lines
from forensics.parsers.tables_vocab import vocabulary

STATUS = """\
singlestore> SHOW REBALANCE STATUS ON orders;
+----------------+---------+-------------+-------------+-------+-----------+--------------+
| Action         | Ordinal | Target_Host | Target_Port | Phase | Status    | Running_Time |
+----------------+---------+-------------+-------------+-------+-----------+--------------+
| COPY PARTITION |       2 | 10.0.1.14   |        3306 |     1 | success   |        30000 |
| COPY PARTITION |       5 | 10.0.1.14   |        3306 |     1 | failed    |        45123 |
| COPY PARTITION |       6 | 10.0.1.14   |        3306 |     1 | cancelled |            0 |
+----------------+---------+-------------+-------------+-------+-----------+--------------+
3 rows in set (0.04 sec)

And the partitions right now:

singlestore> SHOW PARTITIONS ON orders;
+---------+-----------+------+---------+--------+
| Ordinal | Host      | Port | Role    | Locked |
+---------+-----------+------+---------+--------+
|       0 | 10.0.1.11 | 3306 | Master  |      0 |
|       0 | 10.0.1.12 | 3306 | Replica |      0 |
|       1 | 10.0.1.12 | 3306 | Master  |      0 |
|       1 | 10.0.1.11 | 3306 | Replica |      0 |
+---------+-----------+------+---------+--------+
4 rows in set (0.01 sec)
"""
INTRO = "Hi, forwarding the outputs from our DBA.\n\n-----Original Message-----\n"


def quoted(text: str, marker: str) -> str:
    """``text`` as a mail client quotes it: ``marker`` on every line (alone on an empty one)."""
    return "".join(f"{marker}{line}".rstrip() + "\n" for line in text.splitlines())


def indented(text: str, prefix: str) -> str:
    return "".join(f"{prefix}{line}\n" if line else "\n" for line in text.splitlines())


def read(text: str) -> list[tuple[str | None, str | None, int, int]]:
    """(kind, database, line, rows) of each table read from ``text``."""
    result = parse_tables(text, "reply.txt")
    return [(t.kind, t.database, t.line, len(t.rows)) for t in result.tables]


#: What STATUS reads as (its first line is line 1).
EXPECTED = [("rebalance_status", "orders", 1, 3), ("partitions", "orders", 13, 4)]


def shifted(lines: int) -> list[tuple[str | None, str | None, int, int]]:
    return [(kind, db, line + lines, rows) for kind, db, line, rows in EXPECTED]


# --- the grammar's samples ------------------------------------------------------------


@pytest.mark.parametrize("sample", grammars.load("tables")["quoting_samples"])
def test_grammar_quoting_samples(sample: dict[str, str]) -> None:
    quoting = vocabulary().quoting
    lines = quoting.unquote(split_lines(sample["text"]), sample["text"])
    assert lines == split_lines(sample["plain"])


def test_unquoted_text_reads_as_before() -> None:
    assert read(STATUS) == EXPECTED


# --- e-mail quoting -------------------------------------------------------------------


@pytest.mark.parametrize("marker", ["> ", ">", ">> ", "> > ", ">>"])
def test_quoted_reply_reads_its_tables_and_statements(marker: str) -> None:
    text = INTRO + quoted(STATUS, marker)
    assert sniff(text.encode())  # no longer "unrecognised content"
    assert read(text) == shifted(3)  # line numbers are the file's


def test_quoted_reply_with_crlf_and_unquoted_commentary() -> None:
    # commentary written between quoted blocks (an inline reply) splits nothing
    status, partitions = STATUS.split("And the partitions right now:\n")
    text = quoted(status, "> ") + "See the failed COPY above.\n" + quoted(partitions, "> ")
    assert read(text.replace("\n", "\r\n")) == shifted(0)


def test_quoted_client_error_is_the_rebalance_failure() -> None:
    text = INTRO + quoted(
        "mysql> REBALANCE PARTITIONS ON sales;\n"
        "ERROR 1205 (HY000): Lock wait timeout exceeded; try restarting transaction\n",
        "> ",
    )
    [error] = parse_tables(text, "reply.txt").client_errors
    assert (error.database, error.code, error.line) == ("sales", 1205, 5)


# --- indentation ----------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["    ", "\t", "  "])
def test_indented_paste_names_its_database(prefix: str) -> None:
    text = "Here is what we see:\n\n" + indented(STATUS, prefix)
    assert read(text) == shifted(2)


def test_indented_prompt_right_under_prose_is_a_statement() -> None:
    # no blank line opens the indented block: the prompt is still read as one
    text = "Output:\n" + indented(STATUS, "   ")
    assert read(text) == shifted(1)


def test_quoted_and_indented() -> None:
    text = INTRO + quoted(indented(STATUS, "    "), "> ")
    assert read(text) == shifted(3)


def test_indented_vertical_output_keeps_its_fields() -> None:
    vertical = (
        "mysql> SHOW LEAVES\\G\n"
        "*************************** 1. row ***************************\n"
        "              Host: 10.0.1.11\n"
        "              Port: 3306\n"
        "Availability_Group: 1\n"
        "             State: online\n"
    )
    [table] = parse_tables("Leaves:\n\n" + indented(vertical, "    "), "t.txt").tables
    assert table.kind == "leaves"
    assert table.rows == [
        {"Host": "10.0.1.11", "Port": "3306", "Availability_Group": "1", "State": "online"}
    ]


def test_tab_separated_rows_with_an_empty_first_cell_keep_it() -> None:
    # after a blank line, a `mysql -B` row whose first cell is empty opens with a tab
    for text in (
        "\n\tOrdinal\tHost\tPort\tRole\n\t0\t10.0.1.11\t3306\tMaster\n",
        "Note\tOrdinal\tHost\tPort\tRole\n\n\t0\t10.0.1.11\t3306\tMaster\n",
    ):
        lines = vocabulary().quoting.unquote(split_lines(text), text)
        assert lines == split_lines(text)


# --- what the user sees ---------------------------------------------------------------


def analyze(tmp_path: Path, text: str) -> tuple[int, dict[str, Any]]:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "RE_ case 00483001.txt").write_text(text)
    out = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["analyze", str(bundle), "--json", str(out)])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(out.read_text())


def test_quoted_reply_alone_gives_the_failed_copy_and_its_impact(tmp_path: Path) -> None:
    code, report = analyze(tmp_path, INTRO + quoted(STATUS, "> "))
    assert code == 1
    [verdict] = report["verdicts"]
    assert (verdict["database"], verdict["status"], verdict["phase"]) == (
        "orders",
        "failure",
        "copy",
    )
    [impact] = report["impact"]["databases"]
    assert impact["database"] == "orders"
    [read_file] = report["input"]["files"]
    assert read_file["kind"] == "partitions,rebalance_status"
