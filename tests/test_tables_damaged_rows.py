"""Rows of a table damaged one by one (SPEC §9): one damaged row is one row lost, said
with its file and line, and the rows after it are still read; a CSV row one field short
is read when only one place fits its missing cell; many damaged rows make one warning per
table; a table echoed after a known statement that lacks the columns its kind needs
says which.

Each test builds its input inline and checks what the user sees: the rows read, the
warning with its line, the verdict's phase.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import forensics
from forensics import grammars
from forensics.parsers.tables import parse_tables, to_frames
from forensics.parsers.tables_vocab import vocabulary
from forensics.report.json import to_dict

COLUMNS = ["Database", "Action", "Ordinal", "Target_Host", "Target_Port", "Phase", "Status"]
STEPS = [
    ["hr", "COPY PARTITION", "1", "10.0.7.13", "3306", "3", "success"],
    ["hr", "COPY PARTITION", "7", "10.0.7.13", "3306", "3", "success"],
    ["hr", "PROMOTE PARTITION", "1", "10.0.7.13", "3306", "5", "success"],
    ["hr", "DROP PARTITION", "1", "10.0.7.11", "3306", "6", "success"],
    ["hr", "DROP PARTITION", "2", "10.0.7.12", "3306", "6", "failed"],
    ["hr", "DROP PARTITION", "7", "10.0.7.11", "3306", "6", "cancelled"],
]
STATEMENT = "mysql> SHOW REBALANCE ALL DATABASES STATUS;"


def _boxed(columns: list[str], rows: list[list[str]], bang: int | None = None) -> str:
    """A boxed result with its statement and footer; row ``bang`` has ``!`` for its
    first three bars (line ``bang + 5`` of the text)."""
    widths = [max(len(c), *(len(r[n]) for r in rows)) for n, c in enumerate(columns)]
    border = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(cells: list[str]) -> str:
        return "|" + "|".join(f" {c:<{w}} " for c, w in zip(cells, widths, strict=True)) + "|"

    body = [line(r) for r in rows]
    if bang is not None:
        body[bang] = body[bang].replace("|", "!", 3)
    footer = f"{len(rows)} rows in set (0.01 sec)"
    return "\n".join([STATEMENT, border, line(columns), border, *body, border, footer]) + "\n"


def _steps(text: str, path: str) -> list[tuple[str, int, str]]:
    steps = to_frames(parse_tables(text, path).tables)["steps"]
    return steps.select("action", "ordinal", "status").rows()


# --- 1. a damaged row between good rows is one row lost -----------------------------


def test_a_boxed_row_with_damaged_bars_loses_that_row_only() -> None:
    result = parse_tables(_boxed(COLUMNS, STEPS, bang=1), "status_all.txt")
    (table,) = result.tables
    assert len(table.rows) == 5 and not table.truncated
    assert ("DROP PARTITION", 2, "failed") in _steps(_boxed(COLUMNS, STEPS, bang=1), "s.txt")
    assert result.unparsed_lines == 1
    assert result.warnings == [
        "status_all.txt:6: line is no row of the table (it does not open with '|'): skipped"
    ]  # (and the footer's "6 rows" counts the damaged row: no "rows announced" warning)


def test_a_damaged_last_row_before_the_closing_border_is_no_cut_table() -> None:
    result = parse_tables(_boxed(COLUMNS, STEPS, bang=5), "s.txt")
    (table,) = result.tables
    assert len(table.rows) == 5 and not table.truncated
    assert result.warnings == [
        "s.txt:10: line is no row of the table (it does not open with '|'): skipped"
    ]


def test_prose_before_the_next_table_still_ends_a_table_without_closing_border() -> None:
    first = _boxed(COLUMNS, STEPS[:2]).splitlines()[:-2]  # closing border and footer lost
    second = _boxed(COLUMNS, STEPS[2:]).splitlines()[1:]  # no statement of its own
    result = parse_tables("\n".join([*first, "then, an hour later:", *second]) + "\n", "s.txt")
    assert [len(t.rows) for t in result.tables] == [2, 4]
    assert result.warnings == ["s.txt:6: table truncated (no closing border)"]


def test_the_failed_step_after_a_damaged_row_gives_the_verdicts_phase(tmp_path: Path) -> None:
    (tmp_path / "status_all.txt").write_text(_boxed(COLUMNS, STEPS, bang=1))
    doc = to_dict(forensics.analyze(str(tmp_path)))
    assert [(v["database"], v["phase"]) for v in doc["verdicts"]] == [("hr", "drop")]
    assert any(
        w.endswith(
            "status_all.txt:6: line is no row of the table (it does not open with '|'): skipped"
        )
        for w in doc["warnings"]
    )


# --- 2. a CSV row one field short --------------------------------------------------------

CSV_HEADER = ",".join([*COLUMNS, "Running_Time"])


def test_a_csv_row_short_of_its_last_field_is_read_with_a_warning() -> None:
    text = (
        "\n".join(
            [
                CSV_HEADER,
                "hr,COPY PARTITION,1,10.0.7.13,3306,3,success,109216",
                "hr,DROP PARTITION,2,10.0.7.12,3306,6,failed",
                "hr,PROMOTE PARTITION,3,10.0.7.11,3306,5,success,1262",
            ]
        )
        + "\n"
    )
    result = parse_tables(text, "status.csv")
    (table,) = result.tables
    assert table.row_lines == [2, 3, 4] and not table.truncated
    assert table.rows[1]["Status"] == "failed" and table.rows[1]["Running_Time"] is None
    assert result.unparsed_lines == 0
    assert result.warnings == [
        "status.csv:3: row has 7 fields, header has 8: read with Running_Time empty"
    ]


def test_a_missing_empty_cell_inside_a_tab_row_goes_to_the_column_that_has_empty_cells() -> None:
    text = (
        "Host\tPort\tLocked\tRole\n"
        "10.0.0.1\t3306\t\tMaster\n"
        "10.0.0.2\t3306\t1\tReplica\n"
        "10.0.0.3\t3306\tOrphan\n"  # its empty Locked lost (two tabs made one)
        "10.0.0.4\t3306\t\tReplica\n"
    )
    result = parse_tables(text, "p.tsv")
    rows = result.tables[0].rows
    assert rows[2] == {"Host": "10.0.0.3", "Port": "3306", "Locked": None, "Role": "Orphan"}
    assert result.warnings == ["p.tsv:4: row has 3 fields, header has 4: read with Locked empty"]


def test_a_row_one_field_short_that_fits_two_ways_is_skipped() -> None:
    """b holds empty cells, c text: "p,q" may lack either."""
    text = "a,b,c\nx,,z\nx,y,z\np,q\nx,y,z\n"
    result = parse_tables(text, "t.csv")
    assert len(result.tables[0].rows) == 3 and result.unparsed_lines == 1
    assert result.warnings == ["t.csv:4: row has 2 fields, header has 3: skipped"]


def test_a_row_cut_by_the_end_of_the_file_is_still_a_cut_row() -> None:
    text = f"{CSV_HEADER}\nhr,COPY PARTITION,1,10.0.7.13,3306,3,success,109216\nhr,DROP PART"
    result = parse_tables(text, "status.csv")
    assert result.tables[0].truncated and len(result.tables[0].rows) == 2
    assert result.warnings == ["status.csv:3: table truncated (row cut at line 3)"]


# --- 3. many damaged rows: one warning per table -------------------------------------------


def test_many_damaged_rows_make_one_warning_and_the_last_one_is_no_cut_row() -> None:
    rows = [f"hr,COPY PARTITION,{n},10.0.7.13,3306,3" for n in range(2000)]
    good = "hr,DROP PARTITION,2,10.0.7.12,3306,6,failed,1894"
    result = parse_tables("\n".join([CSV_HEADER, good, *rows]) + "\n", "status.csv")
    (table,) = result.tables
    assert len(table.rows) == 1 and not table.truncated
    assert result.unparsed_lines == 2000
    assert result.warnings == [
        "status.csv:3: 2000 rows damaged in status.csv (first at line 3: row has 6 fields, "
        "header has 8; lines 3, 4, 5, 6, 7 and 1995 more): skipped"
    ]


def test_damaged_rows_of_two_tables_give_a_warning_each() -> None:
    text = "Host,Port,Role\n1,2,3,4\n5,6,7\n9,9,9,9\n\nVariable_name,Value\n4,5\n1,2,3\n"
    result = parse_tables(text, "t.csv")
    assert [len(t.rows) for t in result.tables] == [1, 1]
    assert len(result.warnings) == 2
    assert result.warnings[0].startswith("t.csv:2: 2 rows damaged in t.csv (first at line 2: ")
    assert result.warnings[1] == "t.csv:8: row has 3 fields, header has 2: skipped"


# --- 4. a known statement's table without the columns its kind needs ---------------------


def test_a_status_table_without_ordinal_and_target_says_what_it_lacks() -> None:
    keep = [0, 1, 5, 6]
    columns = [COLUMNS[n] for n in keep]
    text = _boxed(columns, [[r[n] for n in keep] for r in STEPS])
    result = parse_tables(text, "out/status_all.txt")
    assert result.tables[0].kind is None
    assert result.warnings == [
        "out/status_all.txt:1: the result of SHOW REBALANCE ALL DATABASES STATUS lacks "
        "column(s) Ordinal, Target_Host, Target_Port that a rebalance_status table needs: "
        "its rows not read"
    ]


def test_a_select_of_some_columns_and_a_complete_table_give_no_such_warning() -> None:
    some = "mysql> SELECT Action, Phase FROM information_schema.MV_REBALANCE_STATUS;\n"
    some += "+--------+-------+\n| Action | Phase |\n+--------+-------+\n| COPY   | 3     |\n"
    some += "+--------+-------+\n"
    assert parse_tables(some, "s.txt").warnings == []
    assert parse_tables(_boxed(COLUMNS, STEPS), "s.txt").warnings == []


@pytest.mark.parametrize(
    "entry", grammars.load("tables")["statement_kinds"], ids=lambda e: str(e["kind"])
)
def test_statement_kinds_match_their_examples_and_name_known_kinds(entry: dict[str, Any]) -> None:
    vocab = vocabulary()
    assert entry["kind"] in {k.name for k in vocab.kinds}
    assert entry["examples"]
    for example in entry["examples"]:
        assert re.match(entry["statement"], example), example
        assert vocab.statement_kind(example) == entry["kind"]
