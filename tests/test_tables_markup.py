"""Renderings read with the standard library's parsers, and Jira wiki tables.

MySQL Shell (``--result-format=json``, ``json/raw``, ``ndjson``, ``json/array``, its
boxed and vertical output after its ``SQL >`` prompt), ``mysql --xml``, ``mysql --html``
and Jira / Confluence wiki tables pasted in a ticket. Each input is built inline, as
the client prints it.
"""

from __future__ import annotations

import json

import pytest

from forensics.parsers.tables import parse_tables, sniff, to_frames

PROMPT = " MySQL  10.2.0.10:3306 ssl  SQL > "
STATUS_ROWS = [
    ("COPY PARTITION", 1, "10.2.0.13", "success"),
    ("COPY PARTITION", 5, "10.2.0.14", "failed"),
    ("PROMOTE PARTITION WITH DROP", 5, "10.2.0.14", "cancelled"),
]
PARTITION_ROWS = [
    (0, "10.2.0.11", "Master"),
    (0, "10.2.0.12", "Replica"),
    (1, "10.2.0.12", "Master"),
]


def _status_objects() -> list[dict[str, object]]:
    return [
        {"Action": a, "Ordinal": o, "Target_Host": h, "Target_Port": 3306, "Phase": 3,
         "Status": s, "Running_Time": 10}
        for a, o, h, s in STATUS_ROWS
    ]  # fmt: skip


def _partition_objects() -> list[dict[str, object]]:
    return [
        {"Ordinal": o, "Host": h, "Port": 3306, "Role": r, "Locked": 0}
        for o, h, r in PARTITION_ROWS
    ]


def _render(objects: list[dict[str, object]], result_format: str) -> str:
    """The rows as MySQL Shell prints them with ``--result-format``."""
    if result_format == "json":  # json/pretty: 4-space indented objects one after another
        return "\n".join(json.dumps(o, indent=4) for o in objects)
    if result_format == "json/array":
        return json.dumps(objects)
    return "\n".join(json.dumps(o) for o in objects)  # json/raw, ndjson: one a line


# --- 1. MySQL Shell ------------------------------------------------------------------


@pytest.mark.parametrize("result_format", ["json", "json/raw", "ndjson", "json/array"])
def test_mysql_shell_json_after_its_prompt_is_read_as_the_statements_tables(
    result_format: str,
) -> None:
    text = (
        f"{PROMPT}SHOW REBALANCE STATUS ON inventory;\n"
        f"{_render(_status_objects(), result_format)}\n"
        "3 rows in set (0.0012 sec)\n"
        f"{PROMPT}SHOW PARTITIONS ON inventory;\n"
        f"{_render(_partition_objects(), result_format)}\n"
        "3 rows in set (0.0012 sec)\n"
    )
    result = parse_tables(text, "sql/shell.txt")
    assert [(t.kind, t.database, t.line) for t in result.tables] == [
        ("rebalance_status", "inventory", 1),
        (
            "partitions",
            "inventory",
            text.split("\n").index(f"{PROMPT}SHOW PARTITIONS ON inventory;") + 1,
        ),
    ]
    assert result.warnings == [] and result.unparsed_lines == 0
    assert sniff(text)
    frames = to_frames(result.tables)
    failed = frames["steps"].filter(status="failed")
    assert failed.select("database", "action", "ordinal", "target").rows() == [
        ("inventory", "COPY PARTITION", 5, "10.2.0.14:3306")
    ]
    assert frames["partitions"].select("database", "ordinal", "role").rows() == [
        ("inventory", 0, "master"),
        ("inventory", 0, "replica"),
        ("inventory", 1, "master"),
    ]


def test_pretty_json_at_the_end_of_a_file_leaves_no_line_unparsed() -> None:
    text = f"{PROMPT}SHOW PARTITIONS ON inventory;\n{_render(_partition_objects(), 'json')}"
    result = parse_tables(text, "shell.txt")
    assert [len(t.rows) for t in result.tables] == [3] and result.unparsed_lines == 0


def test_mysql_shell_rows_announced_but_missing_flag_the_table_truncated() -> None:
    text = (
        f"{PROMPT}SHOW PARTITIONS ON inventory;\n"
        f"{_render(_partition_objects(), 'json')}\n"
        "5 rows in set (0.0012 sec)\n"
    )
    result = parse_tables(text, "shell.txt")
    assert result.tables[0].truncated
    assert result.warnings == ["shell.txt:23: table truncated (5 rows announced, 3 read)"]


def test_mysql_shell_json_cut_mid_object_keeps_the_objects_before() -> None:
    pretty = _render(_partition_objects(), "json")
    cut = pretty[: pretty.rindex('"Role"')]
    text = f"{PROMPT}SHOW PARTITIONS ON inventory;\n{cut}"
    result = parse_tables(text, "shell.txt")
    (table,) = result.tables
    assert table.kind == "partitions" and len(table.rows) == 2 and table.truncated
    assert len(result.warnings) == 1 and "table truncated (JSON cut short" in result.warnings[0]
    assert to_frames(result.tables)["partitions"]["truncated_at"].to_list() == [table.cut_line] * 2


def test_mysql_shell_table_and_vertical_output_after_its_prompt() -> None:
    text = (
        f"{PROMPT}SHOW PARTITIONS ON inventory;\n"
        "+---------+-----------+------+--------+--------+\n"
        "| Ordinal | Host      | Port | Role   | Locked |\n"
        "+---------+-----------+------+--------+--------+\n"
        "|       0 | 10.2.0.11 | 3306 | Master |      0 |\n"
        "+---------+-----------+------+--------+--------+\n"
        "1 row in set (0.0008 sec)\n"
        " MySQL  localhost:33060+ ssl  billing  SQL > SHOW PARTITIONS ON billing\\G\n"
        "*************************** 1. row ***************************\n"
        "Ordinal: 0\n"
        "   Host: 10.2.0.12\n"
        "   Port: 3306\n"
        "   Role: Master\n"
        " Locked: 0\n"
        "1 row in set (0.0008 sec)\n"
    )
    result = parse_tables(text, "shell.txt")
    assert [(t.kind, t.database) for t in result.tables] == [
        ("partitions", "inventory"),
        ("partitions", "billing"),
    ]
    assert result.unparsed_lines == 0


def test_a_shell_prompt_in_brackets_after_json_is_no_cut_json() -> None:
    text = (
        "mysql> SHOW PARTITIONS ON inventory;\n"
        f"{_render(_partition_objects(), 'ndjson')}\n"
        "[root@ma ~]# date\n"
    )
    result = parse_tables(text, "t.txt")
    assert [len(t.rows) for t in result.tables] == [3]
    assert result.warnings == [] and not result.tables[0].truncated


# --- 2. mysql --xml ------------------------------------------------------------------

XML_HEAD = (
    '<?xml version="1.0"?>\n\n'
    '<resultset statement="SHOW PARTITIONS ON inventory\n" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
)


def _xml_row(ordinal: int, host: str | None, role: str) -> str:
    host_field = (
        '\t<field name="Host" xsi:nil="true" />\n'
        if host is None
        else f'\t<field name="Host">{host}</field>\n'
    )
    return (
        "  <row>\n"
        f'\t<field name="Ordinal">{ordinal}</field>\n'
        f"{host_field}"
        '\t<field name="Port">3306</field>\n'
        f'\t<field name="Role">{role}</field>\n'
        "  </row>\n\n"
    )


def test_mysql_xml_output_is_a_table_named_by_its_statement_attribute() -> None:
    text = XML_HEAD + "".join(_xml_row(o, h, r) for o, h, r in PARTITION_ROWS) + "</resultset>\n"
    result = parse_tables(text, "partitions.xml")
    (table,) = result.tables
    assert (table.kind, table.database, table.statement) == (
        "partitions",
        "inventory",
        "SHOW PARTITIONS ON inventory",
    )
    assert table.row_lines == [10, 17, 24]
    assert result.warnings == [] and result.unparsed_lines == 0 and not table.truncated
    assert sniff(text)
    parts = to_frames(result.tables)["partitions"]
    assert parts.select("database", "ordinal", "node", "role").rows() == [
        ("inventory", 0, "10.2.0.11:3306", "master"),
        ("inventory", 0, "10.2.0.12:3306", "replica"),
        ("inventory", 1, "10.2.0.12:3306", "master"),
    ]


def test_xsi_nil_is_null_and_a_truncated_document_keeps_its_complete_rows() -> None:
    text = XML_HEAD + _xml_row(0, None, "Master") + _xml_row(1, "10.2.0.12", "Master")
    text += '  <row>\n\t<field name="Ordinal">2</fi'
    result = parse_tables(text, "partitions.xml")
    (table,) = result.tables
    assert [r["Host"] for r in table.rows] == [None, "10.2.0.12"]
    assert table.truncated and len(result.warnings) == 1
    assert result.warnings[0].startswith("partitions.xml:20: table truncated (XML cut short")


def test_mysql_xml_entities_are_never_expanded() -> None:
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
        '<resultset statement="SHOW PARTITIONS ON x"><row><field name="Host">&b;</field>'
        "</row></resultset>\n"
    )
    result = parse_tables(bomb, "p.xml")
    assert result.tables == [] and result.unparsed_lines == 3
    assert result.warnings == ["p.xml:2: XML not read: it declares a DTD"]


def test_two_xml_documents_in_one_file_are_two_tables() -> None:
    doc = XML_HEAD + _xml_row(0, "10.2.0.11", "Master") + "</resultset>\n"
    result = parse_tables(doc + doc.replace("inventory", "billing"), "p.xml")
    assert [(t.kind, t.database) for t in result.tables] == [
        ("partitions", "inventory"),
        ("partitions", "billing"),
    ]
    assert result.warnings == []


# --- 3. mysql --html -----------------------------------------------------------------


def _html(rows: list[tuple[str, ...]]) -> str:
    head = "".join(f"<TH>{c}</TH>" for c in ("Ordinal", "Host", "Port", "Role", "Locked"))
    body = "".join("<TR>" + "".join(f"<TD>{c}</TD>" for c in r) + "</TR>" for r in rows)
    return f"<TABLE BORDER=1><TR>{head}</TR>{body}</TABLE>"


def test_mysql_html_output_is_a_table_its_empty_and_null_cells_null() -> None:
    text = (
        "mysql> SHOW PARTITIONS ON inventory;\n"
        + _html(
            [
                ("0", "10.2.0.11", "3306", "Master", "0"),
                ("0", "10.2.0.12", "3306", "Replica", ""),
                ("1", "10.2.0.12", "3306", "Master", "NULL"),
                ("2", "a&amp;b", "3306", "Master", "0"),
            ]
        )
        + "\n4 rows in set (0.00 sec)\n"
    )
    result = parse_tables(text, "partitions.html")
    (table,) = result.tables
    assert (table.kind, table.database) == ("partitions", "inventory")
    assert [r["Locked"] for r in table.rows] == ["0", None, None, "0"]
    assert table.rows[3]["Host"] == "a&b"
    assert result.warnings == [] and result.unparsed_lines == 0
    assert sniff(text)


def test_mysql_html_without_a_statement_takes_the_files_database() -> None:
    text = _html([("0", "10.2.0.11", "3306", "Master", "0")]) + "\n"
    (table,) = parse_tables(text, "partitions_billing.html").tables
    assert (table.kind, table.database, len(table.rows)) == ("partitions", "billing", 1)


def test_a_cut_html_table_keeps_its_complete_rows_with_a_warning() -> None:
    whole = _html(
        [("0", "10.2.0.11", "3306", "Master", "0"), ("1", "10.2.0.12", "3306", "Master", "0")]
    )
    result = parse_tables(whole[: whole.rindex("<TD>10.2.0.12")], "p.html")
    (table,) = result.tables
    assert len(table.rows) == 1 and table.truncated
    assert result.warnings == ["p.html:1: table truncated (HTML cut short: no closing </TABLE>; "
                               "the rows before it are read)"]  # fmt: skip


# --- 4. Jira / Confluence wiki tables -------------------------------------------------


def test_a_jira_table_among_prose_is_read_whole() -> None:
    text = (
        "Customer ran this just after the failure:\n"
        "SHOW PARTITIONS ON inventory;\n"
        "||Ordinal||Host||Port||Role||Locked||\n"
        "|0|10.2.0.11|3306|Master|0|\n"
        "|0|10.2.0.12|3306|Replica|0|\n"
        "|1|10.2.0.12|3306|Master| |\n"
        "Ordinal 1 looks odd to me.\n"
    )
    result = parse_tables(text, "ticket.txt")
    (table,) = result.tables
    assert (table.kind, table.database, len(table.rows)) == ("partitions", "inventory", 3)
    assert table.columns == ["Ordinal", "Host", "Port", "Role", "Locked"]
    assert not table.truncated and result.warnings == []
    assert table.rows[2]["Locked"] is None
    parts = to_frames(result.tables)["partitions"]
    assert parts.filter(role="master")["ordinal"].to_list() == [0, 1]
