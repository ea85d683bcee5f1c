"""Table captures damaged on their way into a bundle: cells holding newlines, tables
hard-wrapped by a terminal, text that opens like JSON, JSON cut short, and databases
named only by the shell command or the file's name.

Each test builds its input inline and checks what the user sees: the orphan still found
(so that cleanup stays blocked), the rows kept, the warning with its line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from forensics import load_bundle
from forensics.parsers.tables import parse_tables, sniff, to_frames

CS_COLUMNS = ["Host", "Port", "Database", "Role", "State", "Position", "Details"]
CS_ROWS = [
    ["10.0.9.11", "3306", "ledger", "Reference", "replicating", "9:6506922", ""],
    ["10.0.9.11", "3306", "ledger_0", "Master", "online", "2:3287275", ""],
    ["10.0.9.12", "3306", "ledger_1", "Replica", "replicating", "3:599437", "DETAILS"],
    ["10.0.9.13", "3306", "ledger_5", "Orphan", "online", "0:2742715", ""],
]
DETAILS = "stage: packet wait,\nstate: x_streaming,\nerr: no"


def _orphans(text: str, path: str) -> list[tuple[str, int, str]]:
    partitions = to_frames(parse_tables(text, path).tables)["partitions"]
    orphans = partitions.filter(partitions["role"] == "orphan")
    return orphans.select("database", "ordinal", "node").rows()


def _delimited(sep: str, quote: bool) -> str:
    def cell(text: str) -> str:
        text = DETAILS if text == "DETAILS" else text
        return f'"{text}"' if quote else text

    lines = [sep.join(cell(c) for c in row) for row in [CS_COLUMNS, *CS_ROWS]]
    return "\r\n".join(lines) + "\r\n"


# --- 1. a cell with a newline in tab- or comma-separated output ------------------------


@pytest.mark.parametrize(
    ("sep", "quote", "path"),
    [("\t", False, "show_cluster_status.tsv"), (",", True, "show_cluster_status.csv")],
    ids=["mysql -B --raw", "DBeaver CSV"],
)
def test_a_cell_with_newlines_keeps_the_rows_after_it(sep: str, quote: bool, path: str) -> None:
    """The Details cell of SHOW CLUSTER STATUS spans three lines; the Orphan row after it
    (the only copy of ledger:5) must still be read, or cleanup would look safe."""
    text = _delimited(sep, quote)
    result = parse_tables(text, path)
    assert result.warnings == [] and result.unparsed_lines == 0
    (table,) = result.tables
    assert table.kind == "cluster_status" and len(table.rows) == len(CS_ROWS)
    assert table.rows[2]["Details"] == DETAILS
    assert table.row_lines == [2, 3, 4, 7]
    assert _orphans(text, path) == [("ledger", 5, "10.0.9.13:3306")]


def test_a_raw_newline_in_a_middle_cell_joins_the_row() -> None:
    text = (
        "Host\tPort\tDatabase\tRole\tState\n"
        "10.0.9.12\t3306\tledger_1\tRep\n"
        "lica\tonline\n"
        "10.0.9.13\t3306\tledger_5\tOrphan\tonline\n"
    )
    result = parse_tables(text, "cs.tsv")
    assert result.warnings == []
    assert [r["Role"] for r in result.tables[0].rows] == ["Rep\nlica", "Orphan"]


def test_a_tab_separated_table_that_stops_on_an_unreadable_line_says_so() -> None:
    """Never silently: the warning names the line where the table stopped."""
    text = "Host,Port,Database,Role\n10.0.0.1,3306,x_0,Master\ngarbage\n10.0.0.3,3306,x_5,Orphan\n"
    result = parse_tables(text, "cs.csv")
    assert result.tables[0].truncated
    assert result.warnings == ["cs.csv:3: table truncated (line 3 cannot be read as a row)"]
    assert result.unparsed_lines == 2


def test_a_footer_after_a_csv_table_is_no_cut_row() -> None:
    text = "Host,Port,Database,Role\n10.0.0.1,3306,x_0,Master\n1 row in set (0.00 sec)\n"
    result = parse_tables(text, "cs.csv")
    assert result.warnings == [] and not result.tables[0].truncated


# --- 2. a wide boxed table hard-wrapped by a terminal ---------------------------------


def _boxed_cluster_status() -> list[str]:
    rows = [[c if c != "DETAILS" else "stage: packet wait, state: x_streaming, err: no" for c in r]
            for r in CS_ROWS]  # fmt: skip
    widths = [max(len(r[i]) for r in [CS_COLUMNS, *rows]) for i in range(len(CS_COLUMNS))]
    border = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(cells: list[str]) -> str:
        return "|" + "|".join(f" {c.ljust(w)} " for c, w in zip(cells, widths, strict=True)) + "|"

    return [border, line(CS_COLUMNS), border, *(line(r) for r in rows), border]


@pytest.mark.parametrize("columns", [80, 100, 61])
def test_a_boxed_table_wrapped_by_the_terminal_is_read_whole(columns: int) -> None:
    """Wrapped at 80 columns, most wraps fall in the padding of the Details cell: the
    rest of the line is ``          |``, which opens like a table line."""
    physical = [p for line in _boxed_cluster_status() for p in (line[:columns], line[columns:])]
    text = "mysql> SHOW CLUSTER STATUS;\n" + "\n".join(physical) + "\n4 rows in set (0.01 sec)\n"
    result = parse_tables(text, "cluster_status.txt")
    assert result.warnings == []
    assert [len(t.rows) for t in result.tables] == [len(CS_ROWS)]
    assert _orphans(text, "cluster_status.txt") == [("ledger", 5, "10.0.9.13:3306")]


def test_a_wrap_with_its_trailing_blanks_stripped_is_still_joined() -> None:
    physical = [p.rstrip() for line in _boxed_cluster_status() for p in (line[:80], line[80:])]
    result = parse_tables("\n".join(physical) + "\n", "cs.txt")
    assert result.warnings == [] and len(result.tables[0].rows) == len(CS_ROWS)


def test_two_short_rows_are_never_joined_into_one() -> None:
    text = (
        "+---------+-----------+------+--------+\n"
        "| Ordinal | Host      | Port | Role   |\n"
        "+---------+-----------+------+--------+\n"
        "| 0 | 10.0.0.1 | 3306 | Master |\n"
        "| 1 | 10.0.0.2 | 3306 | Master |\n"
        "+---------+-----------+------+--------+\n"
    )
    result = parse_tables(text, "p.txt")
    assert [r["Ordinal"] for r in result.tables[0].rows] == ["0", "1"]


# --- 3. text that opens like JSON, JSON cut short --------------------------------------

PARTITIONS = (
    "+---------+-----------+------+--------+--------+\n"
    "| Ordinal | Host      | Port | Role   | Locked |\n"
    "+---------+-----------+------+--------+--------+\n"
    "|       0 | 10.2.0.11 | 3306 | Master |      0 |\n"
    "|       1 | 10.2.0.14 | 3306 | Orphan |      0 |\n"
    "+---------+-----------+------+--------+--------+\n"
    "2 rows in set (0.00 sec)\n"
)


@pytest.mark.parametrize(
    "opening",
    [
        '[root@ma ~]# mysql -t -e "SHOW PARTITIONS ON inventory"\n',
        "[2026-03-14 09:31:02] mysql> SHOW PARTITIONS ON inventory;\n",
        "{noformat}\nmysql> SHOW PARTITIONS ON inventory;\n",
        "[note] partitions after failure\nmysql> SHOW PARTITIONS ON inventory;\n",
    ],
    ids=["shell prompt", "time stamp", "jira noformat", "bracket note"],
)
def test_text_opening_like_json_is_read_as_text(opening: str) -> None:
    text = opening + PARTITIONS
    assert sniff(text)
    result = parse_tables(text, "partitions.txt")
    assert [(t.kind, t.database) for t in result.tables] == [("partitions", "inventory")]
    partitions = to_frames(result.tables)["partitions"]
    assert partitions.select("database", "ordinal", "role").rows()[-1] == ("inventory", 1, "orphan")


def test_a_json_export_cut_short_keeps_the_rows_before_the_cut() -> None:
    rows = [
        f'  {{"DATABASE_NAME": "inventory", "Ordinal": {i}, "Host": "10.2.0.1{i}", '
        f'"Port": 3306, "Role": "Master"}}'
        for i in range(3)
    ]
    text = "[\n" + ",\n".join(rows) + ',\n  {"DATABASE_NAME": "in'
    result = parse_tables(text, "partitions.json")
    (table,) = result.tables
    assert table.kind == "partitions" and table.truncated and len(table.rows) == 3
    assert result.warnings[0].startswith("partitions.json:5: table truncated (JSON cut short")
    assert result.unparsed_lines == 1


# --- 4. the database named by the shell command or the file's name ---------------------


@pytest.mark.parametrize(
    "command",
    [
        '$ mysql -h 10.2.0.10 -u root -t -e "SHOW PARTITIONS ON inventory"',
        'root@ma:~# mysql -t -e "SHOW PARTITIONS ON inventory"',
        "[root@ma ~]$ /usr/bin/mysql -t --execute='SHOW PARTITIONS ON inventory'",
    ],
)
def test_the_statement_of_a_shell_command_names_the_database(command: str) -> None:
    result = parse_tables(command + "\n" + PARTITIONS, "partitions.txt")
    assert [(t.kind, t.database) for t in result.tables] == [("partitions", "inventory")]
    assert result.unparsed_lines == 0


@pytest.mark.parametrize(
    ("name", "database"),
    [
        ("_SHOW_PARTITIONS_ON_billing__202603140933.csv", "billing"),
        ("_SHOW_PARTITIONS_ON_sales_2024__202603140933.csv", "sales_2024"),
        ("partitions_billing.tsv", "billing"),
        ("show_partitions_billing.tsv", "billing"),
        ("partitions_after_failure.tsv", None),
        ("partitions_before.tsv", None),
        ("partitions.tsv", None),
        # the statement's own words are no database (probe X b02: "partitions" invented)
        ("explain_rebalance_partitions.tsv", None),
        ("show_partitions_extended.tsv", None),
    ],
)
def test_a_file_name_names_the_database_of_an_unnamed_snapshot(
    name: str, database: str | None
) -> None:
    text = "Ordinal\tHost\tPort\tRole\tLocked\n0\t10.2.0.11\t3306\tMaster\t0\n"
    (table,) = parse_tables(text, f"export/{name}").tables
    assert (table.kind, table.database) == ("partitions", database)


def test_two_databases_in_files_named_by_database_each_get_their_impact(tmp_path: Path) -> None:
    """mysql -B outputs saved as partitions_<db>.tsv in a bundle of two databases: each
    snapshot is its database's (before, neither was used)."""
    header = "Ordinal\tHost\tPort\tRole\tLocked\n"
    (tmp_path / "partitions_inventory.tsv").write_text(
        header + "0\t10.2.0.11\t3306\tMaster\t0\n1\t10.2.0.14\t3306\tOrphan\t0\n"
    )
    (tmp_path / "partitions_billing.tsv").write_text(header + "0\t10.2.0.12\t3306\tMaster\t0\n")
    parts = load_bundle(tmp_path).partitions
    assert sorted(parts.select("database", "ordinal", "role").rows()) == [
        ("billing", 0, "master"),
        ("inventory", 0, "master"),
        ("inventory", 1, "orphan"),
    ]


def test_a_json_key_that_is_the_statement_names_the_database() -> None:
    """DBeaver's JSON export keys the rows by the query that gave them."""
    text = '{"SHOW PARTITIONS ON inventory": [{"Ordinal": 0, "Host": "10.2.0.11", "Port": 3306, "Role": "Master"}]}'
    (table,) = parse_tables(text, "partitions.json").tables
    assert (table.kind, table.database) == ("partitions", "inventory")
