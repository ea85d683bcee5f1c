"""Renderings of SQL client output met in tickets and hand-made captures (tables parser).

Each test builds its input inline, in the rendering the client or tool really prints.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from forensics import load_bundle
from forensics.parsers.tables import decode_text, parse_tables, sniff, text_encoding, to_frames
from forensics.parsers.tables_vocab import vocabulary

STATUS_HEADER = (
    "DATABASE_NAME\tACTION\tORDINAL\tTARGET_HOST\tTARGET_PORT\tPHASE\tSTATUS\tRUNNING_TIME_MS"
)
PARTITIONS_HEADER = "DATABASE_NAME\tORDINAL\tHOST\tPORT\tROLE\tSTATE"

# --- 1. a header printed again mid-file (outputs appended by a shell loop) ------------


def test_repeated_tsv_header_starts_a_new_table_not_a_data_row() -> None:
    """``for db in a1 b1; do mysql -B -e "SELECT * FROM ...MV_REBALANCE_STATUS
    WHERE database_name='$db'" >> out.tsv; done`` prints the header once per run."""
    text = (
        f"{STATUS_HEADER}\n"
        "a1\tCOPY PARTITION\t0\t10.1.0.3\t3306\t1\tsuccess\t100\n"
        f"{STATUS_HEADER}\n"
        "b1\tCOPY PARTITION\t1\t10.1.0.3\t3306\t1\tfailed\t100\n"
    )
    result = parse_tables(text, "rebalance_status_all.tsv")
    assert [t.kind for t in result.tables] == ["rebalance_status", "rebalance_status"]
    assert [t.line for t in result.tables] == [1, 3]
    assert result.warnings == [] and result.unparsed_lines == 0
    steps = to_frames(result.tables)["steps"]
    assert steps.select("database", "ordinal", "status").rows() == [
        ("a1", 0, "success"),
        ("b1", 1, "failed"),
    ]


def test_repeated_header_matches_case_insensitively_in_csv() -> None:
    text = (
        "DATABASE_NAME,ORDINAL,HOST,PORT,ROLE,STATE\r\n"
        "a1,0,10.1.0.1,3306,Master,\r\n"
        "database_name,ordinal,host,port,role,state\r\n"
        "b1,0,10.1.0.1,3306,Master,\r\n"
        "b1,1,10.1.0.2,3306,Replica,SYNC\r\n"
    )
    result = parse_tables(text, "dp.csv")
    assert [len(t.rows) for t in result.tables] == [1, 2]
    partitions = to_frames(result.tables)["partitions"]
    assert sorted(set(partitions["database"].to_list())) == ["a1", "b1"]


# --- 2. JSON: statement fields and section keys ------------------------------------


def test_json_section_keys_are_not_databases_and_query_names_the_database() -> None:
    capture = {
        "rebalance_status": {
            "query": "SHOW REBALANCE STATUS ON iot",
            "rows": [
                {
                    "Action": "COPY PARTITION",
                    "Ordinal": 1,
                    "Target_Host": "10.6.0.3",
                    "Target_Port": 3306,
                    "Phase": 1,
                    "Status": "failed",
                    "Running_Time": 9000,
                }
            ],
        },
        "show_partitions": {
            "query": "SHOW PARTITIONS ON iot",
            "rows": [
                {"Ordinal": 0, "Host": "10.6.0.1", "Port": 3306, "Role": "Master", "Locked": 0},
                {"Ordinal": 1, "Host": "10.6.0.2", "Port": 3306, "Role": "Replica", "Locked": 0},
            ],
        },
    }
    result = parse_tables(json.dumps(capture, indent=2), "capture.json")
    assert [(t.kind, t.database) for t in result.tables] == [
        ("rebalance_status", "iot"),
        ("partitions", "iot"),
    ]
    frames = to_frames(result.tables)
    assert set(frames["steps"]["database"].to_list()) == {"iot"}
    assert set(frames["partitions"]["database"].to_list()) == {"iot"}


@pytest.mark.parametrize(
    "key",
    ["rebalance_status", "partitions", "status", "showPartitions", "SHOW PARTITIONS", "Leaves"],
)
def test_json_keys_naming_a_table_kind_or_statement_are_no_database(key: str) -> None:
    text = json.dumps({key: [{"Ordinal": 0, "Host": "h", "Port": 3306, "Role": "Master"}]})
    (table,) = parse_tables(text, "x.json").tables
    assert table.database is None


def test_json_database_keys_still_name_the_database() -> None:
    """showPartitions.json: memsqlId -> dbName -> table (sdb-report)."""
    text = json.dumps(
        {
            "A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4": {
                "iot": {"columns": ["Ordinal", "Host", "Port", "Role"], "rows": []}
            }
        }
    )
    (table,) = parse_tables(text, "showPartitions.json").tables
    assert table.database == "iot"


def test_json_query_with_columns_and_list_rows() -> None:
    text = json.dumps(
        {
            "query": "SHOW REBALANCE STATUS ON iot",
            "columns": [
                "Action",
                "Ordinal",
                "Target_Host",
                "Target_Port",
                "Phase",
                "Status",
                "Running_Time",
            ],
            "rows": [
                ["COPY PARTITION", 0, "10.6.0.3", 3306, 1, "success", 1000],
                ["DROP PARTITION", 0, "10.6.0.2", 3306, 3, "failed", 5000],
            ],
        },
        indent=1,
    )
    (table,) = parse_tables(text, "rebalance.json").tables
    assert (table.kind, table.database, table.statement) == (
        "rebalance_status",
        "iot",
        "SHOW REBALANCE STATUS ON iot",
    )
    steps = to_frames([table])["steps"]
    assert steps.select("database", "action", "status").rows() == [
        ("iot", "COPY PARTITION", "success"),
        ("iot", "DROP PARTITION", "failed"),
    ]


def test_json_array_of_statement_results() -> None:
    text = json.dumps(
        [
            {
                "sql": "SHOW REBALANCE STATUS ON crm;",
                "result": [
                    {
                        "Action": "COPY PARTITION",
                        "Ordinal": 2,
                        "Target_Host": "10.3.0.13",
                        "Target_Port": 3306,
                        "Phase": 1,
                        "Status": "failed",
                    }
                ],
            },
            {
                "statement": "SELECT * FROM information_schema.DISTRIBUTED_PARTITIONS "
                "WHERE database_name = 'crm'",
                "rows": [{"ORDINAL": 2, "HOST": "10.3.0.11", "PORT": 3306, "ROLE": "Master"}],
            },
        ],
        indent=2,
    )
    result = parse_tables(text, "captures.json")
    assert [(t.kind, t.database) for t in result.tables] == [
        ("rebalance_status", "crm"),
        ("partitions", "crm"),
    ]


# --- 3. Markdown tickets: the statement as inline code or in a fence ------------------

TICKET_TABLE = (
    "| Action | Ordinal | Target_Host | Target_Port | Phase | Status | Running_Time |\n"
    "|---|---|---|---|---|---|---|\n"
    "| COPY PARTITION | 2 | 10.0.0.3 | 3306 | 1 | failed | 30411 |\n"
)


def test_markdown_inline_code_statement_names_the_database() -> None:
    text = (
        "## Rebalance failure on `shop` (ticket #48211)\n"
        "\n"
        "`SHOW REBALANCE STATUS ON shop;`\n"
        "\n"
        f"{TICKET_TABLE}"
        "\n"
        "`SHOW PARTITIONS ON shop;`\n"
        "\n"
        "| Ordinal | Host | Port | Role | Locked |\n"
        "|--------:|------|-----:|------|-------:|\n"
        "| 2 | 10.0.0.2 | 3306 | Replica | 0 |\n"
    )
    result = parse_tables(text, "ticket.md")
    assert [(t.kind, t.database, t.line) for t in result.tables] == [
        ("rebalance_status", "shop", 3),
        ("partitions", "shop", 9),
    ]
    assert result.tables[0].statement == "SHOW REBALANCE STATUS ON shop;"


def test_markdown_fenced_statement_without_terminator() -> None:
    """The closing fence ends a statement that has no ``;`` (it is no continuation)."""
    text = f"The customer ran:\n\n```sql\nSHOW REBALANCE STATUS ON shop\n```\n\n{TICKET_TABLE}"
    result = parse_tables(text, "ticket.md")
    (table,) = result.tables
    assert (table.kind, table.database, table.statement) == (
        "rebalance_status",
        "shop",
        "SHOW REBALANCE STATUS ON shop",
    )
    assert result.unparsed_lines == 1  # the prose line; fences are markup


def test_inline_code_that_is_no_statement_is_prose() -> None:
    text = f"`shop`\n\n{TICKET_TABLE}"
    result = parse_tables(text, "ticket.md")
    assert result.tables[0].database is None
    assert result.unparsed_lines == 1


# --- 4. UTF-16 (Windows PowerShell ``>``) and other byte order marks ------------------

BOXED_SESSION = (
    "memsql> SHOW REBALANCE STATUS ON wh;\r\n"
    "+----------------+---------+-------------+-------------+-------+--------+--------------+\r\n"
    "| Action         | Ordinal | Target_Host | Target_Port | Phase | Status | Running_Time |\r\n"
    "+----------------+---------+-------------+-------------+-------+--------+--------------+\r\n"
    "| COPY PARTITION |       1 | 172.16.4.23 |        3306 |     1 | failed |        80012 |\r\n"
    "+----------------+---------+-------------+-------------+-------+--------+--------------+\r\n"
    "1 row in set (0.00 sec)\r\n"
)


@pytest.mark.parametrize(
    ("bom", "codec"),
    [
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
    ],
)
def test_bytes_with_a_byte_order_mark_are_decoded(bom: bytes, codec: str) -> None:
    data = bom + BOXED_SESSION.encode(codec)
    assert text_encoding(data) == codec
    assert decode_text(data) == BOXED_SESSION
    assert sniff(data[:-1])  # a head cut inside a character is still read
    result = parse_tables(data, "show_outputs.txt")
    assert result.warnings == []
    ((kind, database),) = [(t.kind, t.database) for t in result.tables]
    assert (kind, database) == ("rebalance_status", "wh")


def test_bytes_without_a_mark_are_utf8() -> None:
    assert text_encoding(b"Host\tPort\n") is None
    assert decode_text("Zürich\n".encode()) == "Zürich\n"
    assert decode_text(b"\xff\x00x") == "\ufffd\x00x"


# --- 5. MySQL Shell JSON: one object per row -----------------------------------------

SHELL_ROWS = [
    {
        "Action": "COPY PARTITION",
        "Ordinal": 1,
        "Target_Host": "10.3.0.13",
        "Target_Port": 3306,
        "Phase": 1,
        "Status": "success",
        "Running_Time": 1000,
    },
    {
        "Action": "COPY PARTITION",
        "Ordinal": 2,
        "Target_Host": "10.3.0.13",
        "Target_Port": 3306,
        "Phase": 1,
        "Status": "failed",
        "Running_Time": 4000,
    },
]


@pytest.mark.parametrize(
    "text",
    [
        "".join(json.dumps(r, indent=4) + "\n" for r in SHELL_ROWS),  # --result-format=json
        "".join(json.dumps(r) + "\n" for r in SHELL_ROWS),  # json/raw (NDJSON)
        "".join(json.dumps(r, indent=4) for r in SHELL_ROWS),  # back to back, no newline
    ],
    ids=["pretty", "ndjson", "adjacent"],
)
def test_mysql_shell_json_objects_are_rows_of_one_table(text: str) -> None:
    result = parse_tables(text, "rebalance_status.json")
    (table,) = result.tables
    assert (table.kind, table.line, len(table.rows)) == ("rebalance_status", 1, 2)
    steps = to_frames(result.tables)["steps"]
    assert steps["status"].to_list() == ["success", "failed"]


def test_mysql_shell_json_objects_with_other_keys_start_a_new_table() -> None:
    partition = {"Ordinal": 0, "Host": "10.3.0.11", "Port": 3306, "Role": "Master", "Locked": 0}
    lines = [json.dumps(r) for r in [*SHELL_ROWS, partition, partition]]
    result = parse_tables("\n".join(lines) + "\n", "mixed.ndjson")
    assert [(t.kind, t.line, len(t.rows)) for t in result.tables] == [
        ("rebalance_status", 1, 2),
        ("partitions", 3, 2),
    ]
    assert sniff("\n".join(lines))


# --- 6. headerless output (mysql -N) after its echoed statement ------------------------


def test_headerless_rows_after_a_statement_get_its_documented_columns() -> None:
    text = (
        "mysql> SHOW REBALANCE STATUS ON web;\n"
        "COPY PARTITION\t2\t10.1.1.7\t3306\t1\tsuccess\t5021\t0\n"
        "COPY PARTITION\t6\t10.1.1.7\t3306\t1\tfailed\t9120\t0\n"
        "\n"
        "mysql> SHOW PARTITIONS ON web;\n"
        "0\t10.1.1.5\t3306\tMaster\t0\n"
        "0\t10.1.1.6\t3306\tReplica\t0\n"
    )
    result = parse_tables(text, "session.out")
    assert [(t.kind, t.database, t.line) for t in result.tables] == [
        ("rebalance_status", "web", 1),
        ("partitions", "web", 5),
    ]
    assert result.unparsed_lines == 0
    steps = to_frames(result.tables)["steps"]
    assert steps.select("ordinal", "target", "status").rows() == [
        (2, "10.1.1.7:3306", "success"),
        (6, "10.1.1.7:3306", "failed"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        # no statement before the rows: nothing says what they are
        "COPY PARTITION\t2\t10.1.1.7\t3306\t1\tsuccess\t5021\t0\n",
        # a field count the statement's documented columns do not have
        "mysql> SHOW REBALANCE STATUS ON web;\nCOPY PARTITION\t2\t10.1.1.7\t3306\n",
        # a non-integer where an integer is documented
        "mysql> SHOW PARTITIONS ON web;\nzero\t10.1.1.5\t3306\tMaster\t0\n",
        # the statement is not right before the rows
        "mysql> SHOW PARTITIONS ON web;\nsomething else\n0\t10.1.1.5\t3306\tMaster\t0\n",
    ],
    ids=["no-statement", "count", "integers", "not-adjacent"],
)
def test_headerless_rows_are_left_unparsed_when_unsure(text: str) -> None:
    result = parse_tables(text, "x.out")
    assert result.tables == []
    assert result.unparsed_lines >= 1


def test_headerless_column_lists_classify_to_their_kind() -> None:
    vocab = vocabulary()
    for spec in vocab.raw["headerless"]:
        assert vocab.classify(spec["columns"]) == spec["kind"], spec


def test_a_utf16_status_file_from_powershell_is_read(tmp_path: Path) -> None:
    """Windows PowerShell's `>` writes UTF-16LE with a byte order mark: the status table
    in it is read, not refused as binary."""
    text = (
        "mysql> SHOW REBALANCE STATUS ON wh;\r\n"
        "+----------------+---------+-------------+-------------+-------+---------+--------------+\r\n"
        "| Action         | Ordinal | Target_Host | Target_Port | Phase | Status  | Running_Time |\r\n"
        "+----------------+---------+-------------+-------------+-------+---------+--------------+\r\n"
        "| COPY PARTITION |       2 | 10.3.0.13   |        3306 |     1 | failed  |         4000 |\r\n"
        "+----------------+---------+-------------+-------------+-------+---------+--------------+\r\n"
    )
    (tmp_path / "status.txt").write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    steps = load_bundle(tmp_path).steps
    assert steps.select("database", "action", "ordinal", "status").rows() == [
        ("wh", "COPY PARTITION", 2, "failed")
    ]


def test_is_offline_of_distributed_partitions_makes_the_copy_offline(tmp_path: Path) -> None:
    header = "DATABASE_NAME\tORDINAL\tHOST\tPORT\tROLE\tLOCKED\tNODE_ID\tIS_OFFLINE\tSTATE\n"
    rows = (
        "inv\t5\tleaf-1.db.internal\t3306\tMaster\t0\t2\t1\t\n"
        "inv\t5\tleaf-3.db.internal\t3306\tReplica\t0\t4\t0\tASYNC\n"
    )
    (tmp_path / "distributed_partitions.tsv").write_text(header + rows)
    parts = load_bundle(tmp_path).partitions
    assert parts.select("node", "role", "state").rows() == [
        ("leaf-1.db.internal:3306", "master", "offline"),
        ("leaf-3.db.internal:3306", "replica", "async"),
    ]


def test_a_table_hard_wrapped_by_a_paste_is_read_whole() -> None:
    """A ticket pasted at 100 columns: every line longer than that goes on in the next
    line, with no marker. The rows are joined back (a trailing blank before the wrap is
    part of the cell, so the row is also joined when it is shorter than the border)."""
    table = [
        "+-----------------------------+---------+-------------+-------------+-------+-----------+--------------+-----------------------------+",
        "| Action                      | Ordinal | Target_Host | Target_Port | Phase | Status    | Running_Time | Estimated_Time_Remaining_Ms |",
        "+-----------------------------+---------+-------------+-------------+-------+-----------+--------------+-----------------------------+",
        "| COPY PARTITION              |       3 | 10.20.0.13  |        3306 |     1 | failed    |        12011 |                           0 |",
        "| PROMOTE PARTITION WITH DROP |       3 | 10.20.0.13  |        3306 |     2 | cancelled |            0 |                           0 |",
        "+-----------------------------+---------+-------------+-------------+-------+-----------+--------------+-----------------------------+",
    ]
    wrapped = [piece for line in table for piece in (line[:100], line[100:])]
    text = (
        "singlestore> SHOW REBALANCE STATUS ON sales;\n"
        + "\n".join(wrapped)
        + "\n2 rows in set (0.01 sec)\n"
    )
    result = parse_tables(text, "ticket_paste.txt")
    assert result.warnings == []
    steps = to_frames(result.tables)["steps"]
    assert steps.select("database", "action", "ordinal", "status", "running_ms").rows() == [
        ("sales", "COPY PARTITION", 3, "failed", 12011),
        ("sales", "PROMOTE PARTITION WITH DROP", 3, "cancelled", 0),
    ]
    assert [t.line for t in result.tables] == [1]


def test_select_of_the_redundancy_variable_is_read_as_the_variable() -> None:
    text = (
        "singlestore> SELECT @@global.redundancy_level;\n"
        "+---------------------------+\n| @@global.redundancy_level |\n"
        "+---------------------------+\n|                         2 |\n"
        "+---------------------------+\n1 row in set (0.00 sec)\n"
    )
    variables = to_frames(parse_tables(text, "vars.txt").tables)["variables"]
    assert variables.select("name", "value").rows() == [("redundancy_level", "2")]


def test_a_status_without_its_phase_column_is_still_read() -> None:
    """A SELECT of some columns of MV_REBALANCE_STATUS (or a client that dropped Phase):
    the failed row and its error text are read; the action gives the phase kind."""
    text = (
        "mysql> SELECT ACTION, ORDINAL, TARGET_HOST, TARGET_PORT, STATUS "
        "FROM information_schema.MV_REBALANCE_STATUS WHERE DATABASE_NAME = 'metrics';\n"
        "+----------------+---------+-------------+-------------+---------------------------+\n"
        "| ACTION         | ORDINAL | TARGET_HOST | TARGET_PORT | STATUS                    |\n"
        "+----------------+---------+-------------+-------------+---------------------------+\n"
        "| COPY PARTITION |       1 | 10.1.0.16   |        3306 | failed: Errno=104 (reset) |\n"
        "| DROP PARTITION |       1 | 10.1.0.13   |        3306 | cancelled                 |\n"
        "+----------------+---------+-------------+-------------+---------------------------+\n"
    )
    result = parse_tables(text, "status.txt")
    assert [(t.kind, t.database) for t in result.tables] == [("rebalance_status", "metrics")]
    steps = to_frames(result.tables)["steps"]
    assert steps.select("phase_kind", "ordinal", "status").row(0) == ("copy", 1, "failed")
    assert "Errno=104" in str(steps.item(0, "error"))
