"""Renderings whose cells are separated otherwise than mysql's: ``;``-separated CSV,
Markdown without outer pipes or with an escaped ``\\|`` in a cell, psql/usql tables; and
the line a cut snapshot carries into the partitions frame.

Each test checks what the impact is built from: the orphan found (it keeps cleanup
blocked or names the leftover), every row read, nothing counted as unparsed.
"""

from __future__ import annotations

import polars as pl
import pytest

from forensics.parsers.tables import parse_tables, to_frames

CS = [
    ("10.0.9.11", "ledger", "Reference", "replicating", ""),
    ("10.0.9.11", "ledger_0", "Master", "online", ""),
    ("10.0.9.12", "ledger_0", "Replica", "replicating", "stage: packet wait, err: no"),
    ("10.0.9.13", "ledger_5", "Orphan", "online", ""),
]
COLUMNS = ("Host", "Port", "Database", "Role", "State", "Details")


def _copies(text: str, path: str) -> list[tuple[str, int, str, str]]:
    result = parse_tables(text, path)
    assert result.unparsed_lines == 0 and result.warnings == []
    parts = to_frames(result.tables)["partitions"].filter(pl.col("role") != "reference")
    return sorted(parts.select("database", "ordinal", "node", "role").rows())


WANT = [
    ("ledger", 0, "10.0.9.11:3306", "master"),
    ("ledger", 0, "10.0.9.12:3306", "replica"),
    ("ledger", 5, "10.0.9.13:3306", "orphan"),
]


def test_a_semicolon_separated_csv_is_read_with_its_commas_in_cells() -> None:
    lines = [";".join(COLUMNS)] + [";".join((h, "3306", d, r, s, x)) for h, d, r, s, x in CS]
    assert _copies("\r\n".join(lines) + "\r\n", "export/cluster_status.csv") == WANT


@pytest.mark.parametrize("outer", [False, True], ids=["no outer pipes", "outer pipes"])
def test_a_markdown_table_with_an_escaped_pipe_keeps_every_row(outer: bool) -> None:
    """GFM allows a table without outer pipes; ``\\|`` is a bar inside a cell."""

    def line(cells: tuple[str, ...]) -> str:
        text = " | ".join(cells)
        return f"| {text} |" if outer else text

    rows = [line((h, "3306", d, r, s, x.replace(",", " \\|"))) for h, d, r, s, x in CS]
    separator = line(("---",) * len(COLUMNS))
    text = "\n".join(["SHOW CLUSTER STATUS output:", "", line(COLUMNS), separator, *rows])
    result = parse_tables(text, "ticket.md")
    (table,) = result.tables
    assert table.rows[2]["Details"] == "stage: packet wait | err: no"
    assert _copies(text, "ticket.md") == WANT


def test_a_psql_table_is_read_and_its_footer_is_no_unparsed_line() -> None:
    text = """SHOW PARTITIONS ON ledger;
 Ordinal |    Host   | Port |   Role  | Locked
---------+-----------+------+---------+--------
       0 | 10.0.9.11 | 3306 | Master  |      0
       0 | 10.0.9.12 | 3306 | Replica |      0
(2 rows)
"""
    assert _copies(text, "out.txt") == WANT[:2]


def test_a_psql_footer_announcing_more_rows_flags_the_table_truncated() -> None:
    text = " Ordinal | Host | Port | Role\n---------+------+------+------\n 0 | a | 1 | Master\n(3 rows)\n"
    result = parse_tables(text, "out.txt")
    assert result.tables[0].truncated
    assert result.warnings == ["out.txt:4: table truncated (3 rows announced, 1 read)"]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("+---+------+\n| a | Role |\n+---+------+\n| 0 | x    |\n", 4),
        ("+---------+\n| Ordinal |\n+---------+\n| 0       |\n+---------+\n5 rows in set\n", 6),
        (
            '{"rows": [{"Ordinal": 0, "Host": "h", "Port": 1, "Role": "Master"},\n{"Ordinal": 1, "Ho',
            2,
        ),
    ],
    ids=["no closing border", "fewer rows than announced", "JSON cut short"],
)
def test_the_partitions_frame_tells_where_a_snapshot_was_cut(text: str, line: int) -> None:
    """The impact reads the rows a cut snapshot lacks as unknown: it needs to know it."""
    header = "Ordinal,Host,Port,Role\n"
    tables = parse_tables(text, "p.txt").tables
    for table in tables:
        table.kind, table.database = "partitions", "db"
    frame = to_frames(tables)["partitions"]
    assert frame.height and frame.get_column("truncated_at").to_list() == [line] * frame.height
    whole = to_frames(parse_tables(header + "0,h,1,Master\n", "partitions_db.csv").tables)
    assert whole["partitions"].get_column("truncated_at").to_list() == [None]
