"""Tests for forensics.parsers.tables: renderings, classification, frames (SPEC §2.2, §3)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forensics import grammars, schemas
from forensics.parsers.tables import (
    NAME,
    PHASE_KINDS,
    Table,
    TablesResult,
    parse_tables,
    sniff,
    to_frames,
)
from forensics.parsers.tables_frames import FrameBuilder
from forensics.parsers.tables_vocab import vocabulary

DATA = Path(__file__).parent / "data" / "tables"
SAMPLE_FILES = sorted(p.name for p in DATA.iterdir())


def parse(name: str) -> TablesResult:
    return parse_tables((DATA / name).read_text(), name)


def frames_of(*names: str) -> dict[str, pl.DataFrame]:
    return to_frames([t for name in names for t in parse(name).tables])


def one(name: str) -> Table:
    result = parse(name)
    assert len(result.tables) == 1, result.tables
    return result.tables[0]


# --- the grammar file ----------------------------------------------------------------


@pytest.mark.parametrize("sample", grammars.load("tables")["samples"], ids=lambda s: s["kind"])
def test_grammar_samples_parse_to_their_kind(sample: dict[str, str]) -> None:
    result = parse_tables(sample["text"], "sample")
    assert [t.kind for t in result.tables] == [sample["kind"]]
    assert result.warnings == []


def test_name_and_phase_table() -> None:
    assert NAME == "tables"
    assert PHASE_KINDS == {"COPY": "copy", "PROMOTE": "promote", "DROP": "drop"}


# --- reference samples (singlestore-formats.md §2–3, verbatim) -----------------------

REFERENCE = [
    # file, kind, columns, rows, truncated, statement, database
    ("ref_2_1_show_rebalance_status_header.txt", "rebalance_status", 8, 0, True, None, None),
    ("ref_2_2_all_databases_status_v85.txt", "rebalance_status", 9, 4, True, None, None),
    (
        "ref_2_3_explain_rebalance_memsql_demo.txt",
        "rebalance_plan",
        6,
        6,
        False,
        "EXPLAIN REBALANCE PARTITIONS ON memsql_demo;",
        "memsql_demo",
    ),
    (
        "ref_3_1_show_partitions_memsql_demo.txt",
        "partitions",
        5,
        3,
        True,
        "SHOW PARTITIONS ON memsql_demo;",
        "memsql_demo",
    ),
    ("ref_3_2_cluster_status_compact.txt", "cluster_status", 7, 6, True, None, None),
    ("ref_3_7_show_leaves_doc.txt", "leaves", 8, 2, True, None, None),
    ("ref_3_7_show_leaves_gist.txt", "leaves", 8, 1, True, "SHOW LEAVES;", None),
    ("ref_3_8_show_replication_status_header.txt", None, 17, 0, True, None, None),
    ("ref_4_4_show_partitions_orphan.txt", "partitions", 5, 3, False, "SHOW PARTITIONS;", None),
]


@pytest.mark.parametrize(("name", "kind", "ncols", "nrows", "truncated", "stmt", "db"), REFERENCE)
def test_reference_samples(
    name: str,
    kind: str | None,
    ncols: int,
    nrows: int,
    truncated: bool,
    stmt: str | None,
    db: str | None,
) -> None:
    result = parse(name)
    table = one(name)
    assert (table.kind, len(table.columns), len(table.rows)) == (kind, ncols, nrows)
    assert (table.truncated, table.statement, table.database) == (truncated, stmt, db)
    assert table.line == 1 and table.path == name
    assert result.unparsed_lines == 0
    assert bool(result.warnings) == truncated
    assert all(w.startswith(f"{name}:") and "table truncated" in w for w in result.warnings)


def test_v85_collapsed_whitespace_and_cut_last_row() -> None:
    name = "ref_2_2_all_databases_status_v85.txt"
    result = parse(name)
    table = result.tables[0]
    assert table.rows[0] == {
        "Database": "x_db",
        "Action": "COPY PARTITION",
        "Ordinal": "13",
        "Target_Host": "127.0.0.1",
        "Target_Port": "10002",
        "Phase": "3",
        "Status": "success",
        "Running_Time": "4009",
        "Estimated_Time_Remaining_Ms": "0",
    }
    assert table.rows[3]["Action"] == "PROMOTE PARTITION WITH DROP FORCE"
    assert table.rows[3]["Phase"] == "5" and table.rows[3]["Status"] is None
    assert result.warnings == [f"{name}:7: table truncated (row cut at line 7)"]
    steps = to_frames(result.tables)["steps"]
    assert steps["status"].to_list() == ["success", "success", "success", "unknown"]
    assert steps["running_ms"].to_list() == [4009, 5109, 5112, None]
    last = steps.row(3, named=True)
    assert last["action"] == "PROMOTE PARTITION WITH DROP FORCE"
    assert (last["phase_kind"], last["phase"], last["database"]) == ("promote", 5, "x_db")
    assert (last["target"], last["origin"], last["source"]) == (
        "127.0.0.1:10003",
        "status",
        f"{name}:1",
    )


def test_explain_rebalance_is_a_plan_with_database_from_statement() -> None:
    steps = frames_of("ref_2_3_explain_rebalance_memsql_demo.txt")["steps"]
    assert steps["phase_kind"].to_list() == ["copy", "copy", "copy", "promote", "drop", "drop"]
    assert steps["action"][3] == "PROMOTE PARTITION WITH DROP"
    assert set(steps["origin"]) == {"plan"} and set(steps["database"]) == {"memsql_demo"}
    assert steps["phase"].to_list() == [3, 4, 4, 5, 6, 6]
    assert steps["running_ms"].null_count() == 6


def test_show_partitions_database_from_statement_and_roles() -> None:
    parts = frames_of("ref_3_1_show_partitions_memsql_demo.txt")["partitions"]
    assert parts["database"].to_list() == ["memsql_demo"] * 3
    assert parts["node"].to_list() == ["10.0.3.2:3306", "10.0.15.33:3306", "10.0.3.2:3306"]
    assert set(parts["role"]) == {"master"}
    assert set(parts["snapshot"]) == {"ref_3_1_show_partitions_memsql_demo.txt#0"}
    assert set(parts["snapshot_kind"]) == {"partitions"}


def test_cluster_status_splits_partition_databases() -> None:
    parts = frames_of("ref_3_2_cluster_status_compact.txt")["partitions"]
    assert parts.select("database", "ordinal", "node", "role", "state").rows() == [
        ("x_test", None, "127.0.0.1:10001", "reference", "replicating"),
        ("x_test", 0, "127.0.0.1:10001", "master", "online"),
        ("x_test", 1, "127.0.0.1:10001", "replica", "replicating"),
        ("x_test", None, "127.0.0.1:10002", "reference", "replicating"),
        ("x_test", 0, "127.0.0.1:10002", "replica", "replicating"),
        ("x_test", 1, "127.0.0.1:10002", "orphan", "online"),
    ]
    assert set(parts["snapshot_kind"]) == {"cluster_status"}


def test_show_leaves_frames() -> None:
    leaves = frames_of("ref_3_7_show_leaves_doc.txt", "ref_3_7_show_leaves_gist.txt")["leaves"]
    assert leaves.drop("source").rows() == [
        ("192.168.1.110:3306", 1, "192.168.1.112:3306", "online"),
        ("192.168.1.111:3306", 1, "192.168.1.113:3306", "online"),
        ("memsql-leaf1:3306", 1, "memsql-leaf3:3306", "online"),
    ]


# --- several statements in one session -----------------------------------------------


def test_multi_statement_session() -> None:
    name = "session_multi_statement.txt"
    result = parse(name)
    assert [(t.kind, t.line, t.index) for t in result.tables] == [
        ("rebalance_status", 3, 0),
        ("cluster_status", 18, 1),
        ("variables", 34, 2),
    ]
    status = result.tables[0]
    assert status.statement == "SHOW REBALANCE STATUS;"
    assert status.database == "x_db"  # from `USE x_db;`
    assert result.unparsed_lines == 1  # the ERROR 1146 line
    assert result.warnings == []
    assert result.lines == 43

    frames = to_frames(result.tables)
    assert frames["steps"]["status"].to_list() == ["success", "failed", "cancelled", "scheduled"]
    assert set(frames["steps"]["database"]) == {"x_db"}
    parts = frames["partitions"]
    assert "cluster" not in parts["database"].to_list()  # system database skipped
    assert parts.select("database", "ordinal", "role").rows() == [
        ("x_db", None, "reference"),
        ("x_db", 3, "master"),
        ("x_db", 7, "master"),
        ("x_db", 3, "replica"),  # Slave
        ("x_db", 7, "orphan"),
        ("sales_2024", None, "reference"),
        ("sales_2024", 12, "replica"),  # Async Replica, db name with digits
    ]
    assert frames["variables"].select("name", "value").rows() == [("redundancy_level", "2")]
    assert frames["variables"]["source"][0] == f"{name}:34"


def test_database_from_where_clause_and_multiline_statement() -> None:
    text = """SELECT * FROM information_schema.MV_REBALANCE_STATUS
WHERE database_name = 'x_db';
+----------------+---------+-------------+-------------+-------+--------+
| ACTION         | ORDINAL | TARGET_HOST | TARGET_PORT | PHASE | STATUS |
+----------------+---------+-------------+-------------+-------+--------+
| COPY PARTITION |       1 | 10.0.0.9    |        3306 |     1 | failed |
+----------------+---------+-------------+-------------+-------+--------+
1 row in set (0.00 sec)
"""
    result = parse_tables(text, "s.txt")
    table = result.tables[0]
    assert (table.kind, table.database, table.line) == ("rebalance_status", "x_db", 1)
    assert table.statement is not None and table.statement.endswith("database_name = 'x_db';")
    assert to_frames(result.tables)["steps"]["database"].to_list() == ["x_db"]
    assert result.unparsed_lines == 0


def test_one_line_select_with_where_clause() -> None:
    text = (
        "SELECT * FROM information_schema.MV_REBALANCE_STATUS WHERE database_name = 'x_db';\n"
        "+--------+---------+-------------+-------------+-------+---------+\n"
        "| Action | Ordinal | Target_Host | Target_Port | Phase | Status  |\n"
        "+--------+---------+-------------+-------------+-------+---------+\n"
        "| COPY PARTITION | 2 | 10.0.0.2 | 3306 | 1 | running |\n"
        "+--------+---------+-------------+-------------+-------+---------+\n"
    )
    assert parse_tables(text, "s").tables[0].database == "x_db"


def test_footer_announcing_more_rows_marks_truncation() -> None:
    text = "+---+---+\n| a | b |\n+---+---+\n| 1 | 2 |\n+---+---+\n5 rows in set (0.00 sec)\n"
    result = parse_tables(text, "f.txt")
    assert result.tables[0].truncated
    assert result.warnings == ["f.txt:6: table truncated (5 rows announced, 1 read)"]


def test_empty_set_clears_the_statement() -> None:
    text = "mysql> SHOW REBALANCE STATUS ON a;\nEmpty set (0.00 sec)\n\n| Variable_name | Value |\n+--+--+\n| x | 1 |\n+--+--+\n"
    table = parse_tables(text, "e").tables[0]
    assert table.statement is None and table.database is None and table.line == 4


# --- cells -----------------------------------------------------------------------------


def test_cells_with_spaces_pipes_nulls_and_alignment() -> None:
    text = """+----+-----------+------+
| id | note      | v    |
+----+-----------+------+
|  1 | a b  c    | NULL |
| 2  |           |    7 |
|  3 | x | y     | 8    |
+----+-----------+------+
"""
    result = parse_tables(text, "c")
    assert result.tables[0].rows == [
        {"id": "1", "note": "a b  c", "v": None},
        {"id": "2", "note": None, "v": "7"},
        {"id": "3", "note": "x | y", "v": "8"},
    ]
    assert result.warnings == [] and not result.tables[0].truncated


def test_row_with_wrong_cell_count_is_skipped_with_warning() -> None:
    text = "+---+---+\n| a | b |\n+---+---+\n| 1 | 2 | 3 | 4 |\n| 5 | 6 |\n+---+---+\n"
    result = parse_tables(text, "w")
    assert result.tables[0].rows == [{"a": "5", "b": "6"}]
    assert result.unparsed_lines == 1
    assert result.warnings == ["w:4: row has 4 cells, header has 2: skipped"]


def test_duplicate_column_names_keep_every_cell() -> None:
    table = parse_tables("| Host | Host |\n+--+--+\n| a | b |\n+--+--+\n", "d").tables[0]
    assert table.columns == ["Host", "Host (2)"]
    assert table.rows == [{"Host": "a", "Host (2)": "b"}]


def test_crlf_input() -> None:
    text = (DATA / "ref_4_4_show_partitions_orphan.txt").read_text().replace("\n", "\r\n")
    result = parse_tables(text, "crlf")
    assert len(result.tables[0].rows) == 3 and result.warnings == []


# --- other renderings ------------------------------------------------------------------


def test_tab_separated_batch_output() -> None:
    table = one("batch_mv_rebalance_status.tsv")
    assert table.kind == "rebalance_status"
    assert table.statement == "SELECT * FROM information_schema.MV_REBALANCE_STATUS;"
    assert table.rows[2]["RUNNING_TIME_MS"] is None
    steps = frames_of("batch_mv_rebalance_status.tsv")["steps"]
    assert steps.select("database", "status", "running_ms").rows() == [
        ("sales", "success", 1520),
        ("sales", "running", 98000),
        ("sales", "scheduled", None),
    ]


def test_tab_separated_escapes_and_cut_row() -> None:
    text = (
        "Variable_name\tValue\nversion_comment\tline1\\nline2\\ttab\nredundancy_level\t2\ncut_here"
    )
    result = parse_tables(text, "b.tsv")
    table = result.tables[0]
    assert table.rows[0]["Value"] == "line1\nline2\ttab"
    assert table.truncated and table.rows[-1] == {"Variable_name": "cut_here", "Value": None}
    assert result.warnings == ["b.tsv:4: table truncated (row cut at line 4)"]


def test_vertical_output() -> None:
    result = parse("vertical_show_leaves.txt")
    table = result.tables[0]
    assert (table.kind, table.statement, len(table.rows)) == ("leaves", "SHOW LEAVES\\G", 2)
    assert table.columns[0] == "Host" and table.columns[-1] == "NodeId"
    assert table.rows[1]["Average_Roundtrip_Latency_ms"] is None
    assert result.unparsed_lines == 0 and result.warnings == []
    leaves = to_frames(result.tables)["leaves"]
    assert leaves["state"].to_list() == ["online", "offline"]


def test_vertical_output_truncated_last_row() -> None:
    text = "*************************** 1. row ***************************\n a: 1\n b: 2\n*************************** 2. row ***************************\n a: 3\n"
    result = parse_tables(text, "v")
    assert result.tables[0].truncated
    assert result.tables[0].rows[1] == {"a": "3", "b": None}
    assert result.warnings == ["v:5: table truncated (last row has fewer fields than the first)"]


def test_csv_with_header() -> None:
    table = one("disk_usage_per_database.csv")
    assert (table.kind, table.columns) == ("disk_usage", ["Database", "Size (MB)"])
    usage = frames_of("disk_usage_per_database.csv")["disk_usage"]
    assert usage.select("database", "ordinal", "size_bytes").rows() == [
        ("x_db", None, 1536 * 1024**2),
        ("sales_2024", None, int(1024.5 * 1024**2)),  # not split: a lone name is a database
    ]


def test_disk_usage_per_partition_names() -> None:
    usage = frames_of("disk_usage_per_partition.csv")["disk_usage"]
    assert usage.select("database", "ordinal", "node", "size_bytes").rows() == [
        ("x_db", 3, "10.0.0.2:3306", 104857600),
        ("x_db", 7, "10.0.0.2:3306", 209715200),
        ("x_db", 7, "10.0.0.4:3306", 209715200),
    ]


# --- JSON ------------------------------------------------------------------------------


def test_json_show_partitions_nested_by_node_and_database() -> None:
    result = parse("showPartitions.json")
    assert [(t.database, t.node, t.line, t.kind) for t in result.tables] == [
        ("x_db", "A4D8B2C1E5F60718293A4B5C6D7E8F9012345678", 3, "partitions"),
        ("sales", "A4D8B2C1E5F60718293A4B5C6D7E8F9012345678", 11, "partitions"),
    ]
    parts = to_frames(result.tables)["partitions"]
    assert parts.select("database", "ordinal", "node", "role").rows() == [
        ("x_db", 0, "10.0.0.2:3306", "master"),
        ("x_db", 0, "10.0.0.3:3306", "replica"),
        ("x_db", 1, "10.0.0.3:3306", "master"),
        ("sales", 0, "10.0.0.5:3306", "master"),
    ]
    assert parts["snapshot"].to_list()[-1] == "showPartitions.json#1"


def test_json_show_variables_list_with_memsql_id() -> None:
    variables = frames_of("showVariables.json")["variables"]
    assert variables.select("name", "node").rows() == [
        ("redundancy_level", "A4D8B2C1E5F60718293A4B5C6D7E8F9012345678"),
        ("maximum_memory", "A4D8B2C1E5F60718293A4B5C6D7E8F9012345678"),
        ("redundancy_level", "B00000000000000000000000000000000000000B"),
    ]
    assert variables["source"].to_list()[-1] == "showVariables.json:5"


def test_json_cluster_topology_sections() -> None:
    result = parse("clusterTopology.json")
    assert [(t.kind, t.database, t.line) for t in result.tables] == [
        ("leaves", None, 2),
        ("aggregators", None, 9),  # SHOW AGGREGATORS: the aggregators' ports
    ]
    leaves = to_frames(result.tables)["leaves"]
    assert leaves.drop("source").rows() == [
        ("10.0.0.2:3306", 1, "10.0.0.3:3306", "online"),
        ("10.0.0.3:3306", 2, None, "recovering"),
    ]


def test_json_mv_cluster_status_node_ids_resolved_through_leaves() -> None:
    alone = frames_of("mvClusterStatus.json")["partitions"]
    assert alone["node"].to_list() == ["node_id=2", "node_id=3", "node_id=9"]
    parts = frames_of("clusterTopology.json", "mvClusterStatus.json")["partitions"]
    assert parts.select("database", "ordinal", "node", "role").rows() == [
        ("x_db", 0, "10.0.0.2:3306", "master"),
        ("x_db", 0, "10.0.0.3:3306", "orphan"),
        ("x_db", None, "node_id=9", "reference"),
    ]


def test_json_plain_row_list_with_size_units() -> None:
    usage = frames_of("databaseDiskUsage.json")["disk_usage"]
    assert usage.select("database", "ordinal", "size_bytes").rows() == [
        ("x_db", 3, int(1.5 * 1024**3)),
        ("x_db", 7, 512 * 1024**2),
        ("sales", None, 2048),
    ]


def test_truncated_json_keeps_the_rows_before_the_cut_with_a_warning() -> None:
    """SPEC §9: a truncated table comes back flagged, with a path:line warning; the
    complete rows before the cut are kept, the cut one is counted as unparsed."""
    result = parse("truncated.json")
    (table,) = result.tables
    assert table.truncated and table.rows == [{"Ordinal": "0", "Host": "10.0.0.2"}]
    assert result.unparsed_lines == 1
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("truncated.json:5: table truncated (JSON cut short")


def test_invalid_json_with_nothing_to_keep_warns_with_line() -> None:
    result = parse_tables(
        '{"columns": ["Ordinal", "Host"],\n "rows": [\n  {"Ordinal": 0, "Ho', "t.json"
    )
    assert result.tables == []
    assert result.unparsed_lines == 3
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("t.json:3: invalid JSON (")


def test_json_lines_and_list_rows() -> None:
    text = '{"columns": ["Variable_name", "Value"], "rows": [["a", 1], ["b"]]}\n{"rows": []}\n'
    result = parse_tables(text, "j")
    assert [t.line for t in result.tables] == [1, 2]
    assert result.tables[0].rows == [
        {"Variable_name": "a", "Value": "1"},
        {"Variable_name": "b", "Value": None},
    ]


# --- classification and vocabularies ---------------------------------------------------


@pytest.mark.parametrize(
    ("columns", "kind"),
    [
        (
            [
                "DATABASE_NAME",
                "ACTION",
                "ORDINAL",
                "TARGET_HOST",
                "TARGET_PORT",
                "PHASE",
                "STATUS",
                "RUNNING_TIME_MS",
            ],
            "rebalance_status",
        ),
        (["action", "ordinal", "target host", "target_port", "phase"], "rebalance_plan"),
        (
            [
                "DATABASE_ID",
                "DATABASE_NAME",
                "ORDINAL",
                "HOST",
                "PORT",
                "ROLE",
                "LOCKED",
                "NODE_ID",
                "STATE",
            ],
            "partitions",
        ),
        (
            ["NODE_ID", "HOST", "PORT", "DATABASE_NAME", "ROLE", "STATE", "POSITION"],
            "cluster_status",
        ),
        (["NODE_ID", "DATABASE_NAME", "ROLE", "STATE"], "cluster_status"),
        (["HOST", "PORT", "AVAILABILITY_GROUP", "STATE", "Extra_Col"], "leaves"),
        (["VARIABLE_NAME", "VARIABLE_VALUE"], "variables"),
        (["Database", "Size (MB)"], "disk_usage"),
        (["DATABASE_NAME", "SIZE_BYTES", "ORDINAL"], "disk_usage"),
        (["partition_database", "bytes"], "disk_usage"),
        (["Database", "Memory (MBs)"], None),
        (["Database"], None),
        (["Host", "Port", "State"], None),
    ],
)
def test_classification_with_synonyms(columns: list[str], kind: str | None) -> None:
    assert vocabulary().classify(columns) == kind


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("Master", "master"),
        ("Replica", "replica"),
        ("Slave", "replica"),
        ("Sync Replica", "replica"),
        ("Async Replica", "replica"),
        ("Orphan", "orphan"),
        ("Reference", "reference"),
        ("master", "master"),
        ("Transitioning", "transitioning"),
        ("", None),
        (None, None),
    ],
)
def test_role_normalisation(role: str | None, expected: str | None) -> None:
    assert FrameBuilder([]).role(role) == expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("success", "success"),
        ("FAILED", "failed"),
        ("running", "running"),
        ("cancelled", "cancelled"),
        ("scheduled", "scheduled"),
        ("weird", "unknown"),
        (None, "unknown"),
        # a status word followed by the reason, as some renderings and tickets give it
        ("failed: Lock wait timeout exceeded (1205)", "failed"),
        ("Failed (1205)", "failed"),
        ("error: 1205", "failed"),
        ("In progress (3/8)", "running"),
        ("failedover", "unknown"),  # a longer word is not the status word
    ],
)
def test_status_mapping(status: str | None, expected: str) -> None:
    assert FrameBuilder([]).status(status) == expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("failed", None),
        ("Failed: Leaf Error (10.7.0.5:3306): Lock wait timeout exceeded", "Leaf Error (10.7.0.5:3306): Lock wait timeout exceeded"),
        ("error: 1205", "1205"),
        ("Error 1205 (HY000): Lock wait timeout", "Error 1205 (HY000): Lock wait timeout"),
        ("Failed (1205)", "Failed (1205)"),
        ("failed:", None),
        ("weird", None),
        (None, None),
    ],
)  # fmt: skip
def test_status_detail_is_what_the_cell_says_beyond_its_word(
    status: str | None, expected: str | None
) -> None:
    assert FrameBuilder([]).status_detail(status) == expected


STATUS_WITH_ERRORS = """\
mysql> SHOW REBALANCE STATUS ON crm;
+-------------------+---------+-------------+-------------+-------+-------------------------+---------------------+
| Action            | Ordinal | Target_Host | Target_Port | Phase | Status                  | Error_Message       |
+-------------------+---------+-------------+-------------+-------+-------------------------+---------------------+
| COPY PARTITION    |       3 | 10.7.0.5    |        3306 |     1 | success                 | NULL                |
| PROMOTE PARTITION |       3 | 10.7.0.5    |        3306 |     2 | failed                  | Lock wait timeout   |
| COPY PARTITION    |       4 | 10.7.0.5    |        3306 |     1 | Failed: Out of memory   | NULL                |
| COPY PARTITION    |       5 | 10.7.0.5    |        3306 |     1 | In progress (3/8)       | NULL                |
+-------------------+---------+-------------+-------------+-------+-------------------------+---------------------+
"""


def test_steps_carry_the_error_text_and_the_line_of_their_row() -> None:
    """An error column (synonyms in grammars/tables.toml), else the text after the
    status word of a failed step; each row with its own line (status error events)."""
    steps = to_frames(parse_tables(STATUS_WITH_ERRORS, "s.txt").tables)["steps"]
    assert steps.select("ordinal", "status", "error", "row_line", "source").rows() == [
        (3, "success", None, 5, "s.txt:1"),
        (3, "failed", "Lock wait timeout", 6, "s.txt:1"),
        (4, "failed", "Out of memory", 7, "s.txt:1"),
        (5, "running", None, 8, "s.txt:1"),
    ]


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("\n\nA\tB\n1\t2\n3\t4\n", [4, 5]),  # tab-separated (after blank lines)
        ("A,B\n1,2\n\n", [2]),  # CSV
        ("*** 1. row ***\nA: 1\nB: 2\n*** 2. row ***\nA: 3\nB: 4\n", [1, 4]),  # vertical
        ("| A | B |\n| --- | --- |\n| 1 | 2 |\n| 3 | 4 |\n", [3, 4]),  # Markdown
    ],
)
def test_rows_know_their_line(text: str, lines: list[int]) -> None:
    (table,) = parse_tables(text, "t").tables
    assert table.row_lines == lines
    assert [table.row_line(i) for i in range(len(lines))] == lines


def test_headerless_rows_and_json_rows_lines() -> None:
    text = "mysql> SHOW PARTITIONS ON db;\n0\t10.0.0.1\t3306\tMaster\t0\n1\t10.0.0.2\t3306\tMaster\t0\n"
    (table,) = parse_tables(text, "t").tables
    assert table.row_lines == [2, 3]
    (table,) = parse_tables('{"columns": ["A", "B"], "rows": [{"A": "1", "B": "2"}]}', "j").tables
    assert table.row_lines == [] and table.row_line(0) == table.line  # JSON: the object's line


@pytest.mark.parametrize(
    ("name", "known", "expected"),
    [
        ("x_test_0", set(), ("x_test", 0)),
        ("sales_2024_3", set(), ("sales_2024", 3)),
        ("sales_2024", {"sales_2024"}, ("sales_2024", None)),
        # a copy on a leaf named like a database that exists: a partition of the other
        ("shop_2", {"shop", "shop_2"}, ("shop", 2)),
        ("sales_2024", {"sales", "sales_2024"}, ("sales_2024", None)),
        ("sales_2024_12", {"sales_2024"}, ("sales_2024", 12)),
        ("db", set(), ("db", None)),
    ],
)
def test_partition_database_split(
    name: str, known: set[str], expected: tuple[str, int | None]
) -> None:
    builder = FrameBuilder([])
    builder.known_dbs = known
    assert builder.split_db(name, always=True) == expected


@pytest.mark.parametrize(
    ("text", "multiplier", "expected"),
    [
        ("1.5 GB", None, 1610612736),
        ("512M", None, 536870912),
        ("100", None, 100),
        ("2", 1024, 2048),
        ("1,024", None, 1024),
        ("n/a", None, None),
        (None, None, None),
        ("3 parsecs", None, None),
    ],
)
def test_size_values(text: str | None, multiplier: int | None, expected: int | None) -> None:
    assert vocabulary().size_bytes(text, multiplier) == expected


def test_unknown_tables_are_returned_with_extra_columns() -> None:
    text = "+----+-----+\n| Id | Foo |\n+----+-----+\n| 1  | x   |\n+----+-----+\n"
    table = parse_tables(text, "u").tables[0]
    assert (table.kind, table.columns, table.rows) == (
        None,
        ["Id", "Foo"],
        [{"Id": "1", "Foo": "x"}],
    )


# --- frames contract -------------------------------------------------------------------

EXPECTED_SCHEMAS = {
    "steps": schemas.STEPS,
    "partitions": schemas.PARTITIONS,
    "leaves": schemas.LEAVES,
    "variables": schemas.VARIABLES,
    "disk_usage": schemas.DISK_USAGE,
}


def test_frames_empty_have_the_schemas() -> None:
    frames = to_frames([])
    assert set(frames) == {*EXPECTED_SCHEMAS, "aggregators"}
    for key, schema in EXPECTED_SCHEMAS.items():
        assert frames[key].schema == schema and frames[key].height == 0


def test_frames_from_every_sample_have_the_schemas() -> None:
    frames = frames_of(*SAMPLE_FILES)
    for key, schema in EXPECTED_SCHEMAS.items():
        assert frames[key].schema == schema, key
        assert frames[key].height > 0, key
    assert frames["steps"]["started_at"].null_count() == frames["steps"].height


# --- sniff -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_sniff_accepts_every_sample(name: str) -> None:
    assert sniff((DATA / name).read_text()[:4096])


@pytest.mark.parametrize(
    "head",
    [
        "",
        "03650171 2022-09-30 16:01:43.926   INFO: Completed recovery of system databases.\n"
        "03655365 2022-09-30 16:01:43.931   INFO: Initializing cluster management, at 10.0.0.2:3306\n",
        "This bundle was collected on Monday.\nNothing, really, to see here.\n",
        "\x00\x01\x02binary\x00junk|+--+|\n",
        "+------+\n| Foo |\n+------+\n| 1 |\n",  # a table, but no known column
        '{"memsqlctl": {"host": "10.0.0.2", "port": 3306, "version": "8.5"}}',  # config JSON
    ],
)
def test_sniff_rejects_non_tables(head: str) -> None:
    assert not sniff(head)


def test_verbose_batch_echo_and_blank_continuation() -> None:
    text = (
        "--------------\n"
        "SHOW VARIABLES LIKE 'redundancy_level'\n"
        "--------------\n"
        "\n"
        "Variable_name\tValue\n"
        "redundancy_level\t2\n"
        "mysql> SELECT * FROM information_schema.MV_REBALANCE_STATUS\n"
        "    -> \n"
        "    -> WHERE database_name = 'a_b_1';\n"
        "Empty set (0.00 sec)\n"
    )
    result = parse_tables(text, "v")
    assert [(t.kind, t.statement, t.line) for t in result.tables] == [
        ("variables", "SHOW VARIABLES LIKE 'redundancy_level'", 2)
    ]
    assert (result.unparsed_lines, result.warnings) == (0, [])


def test_prose_lines_are_unparsed() -> None:
    result = parse_tables("hello world\nsome notes: here\n\n", "p")
    assert (result.tables, result.unparsed_lines, result.lines) == ([], 2, 3)


# --- robustness ------------------------------------------------------------------------

_TEXTS = [(DATA / name).read_text() for name in SAMPLE_FILES]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(_TEXTS))
    for _ in range(draw(st.integers(0, 4))):
        pos = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["cut", "delete", "insert", "dup_line"]))
        if op == "cut":
            text = text[:pos]
        elif op == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 40)) :]
        elif op == "insert":
            junk = draw(st.text(alphabet='|+-*\t,\n"{}[]:\\ aZ09.\x00\r;G', max_size=30))
            text = text[:pos] + junk + text[pos:]
        else:
            lines = text.splitlines(keepends=True)
            if lines:
                i = draw(st.integers(0, len(lines) - 1))
                lines.insert(i, lines[i])
                text = "".join(lines)
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_tables_never_raise(text: str) -> None:
    result = parse_tables(text, "m.txt")
    assert isinstance(result, TablesResult)
    assert result.unparsed_lines <= max(result.lines, 1)
    assert all(w.startswith("m.txt:") for w in result.warnings)
    frames = to_frames(result.tables)
    for key, schema in EXPECTED_SCHEMAS.items():
        assert frames[key].schema == schema
    sniff(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises(text: str) -> None:
    to_frames(parse_tables(text, "a").tables)
    sniff(text)


def test_markdown_table_pasted_into_a_ticket() -> None:
    """The |---| line under the header is no data row, and no closing border is due."""
    text = (
        "mysql> SHOW REBALANCE STATUS ON sales;\n"
        "| Action | Ordinal | Target_Host | Target_Port | Phase | Status |\n"
        "|---|:---:|---|---:|---|---|\n"
        "| COPY PARTITION | 4 | 10.0.0.14 | 3306 | 1 | failed |\n"
        "\n"
        "The customer ran it twice.\n"
    )
    result = parse_tables(text, "notes.md")
    assert result.warnings == []
    steps = to_frames(result.tables)["steps"]
    assert steps.select("action", "target", "status").rows() == [
        ("COPY PARTITION", "10.0.0.14:3306", "failed")
    ]


def test_cut_row_keeps_only_its_closed_cells() -> None:
    """A row cut inside a cell ("| 33" of "| 3306 |") does not give the cut value."""
    text = (
        "+----------------+---------+-------------+-------------+\n"
        "| Action         | Ordinal | Target_Host | Target_Port |\n"
        "+----------------+---------+-------------+-------------+\n"
        "| COPY PARTITION |       3 | 10.0.8.12   |        33"
    )
    table = parse_tables(text, "s.txt").tables[0]
    assert table.truncated
    assert table.rows[0]["Target_Host"] == "10.0.8.12" and table.rows[0]["Target_Port"] is None
    whole = parse_tables(text + "06", "s.txt").tables[0]  # cut after the cell's text: kept
    assert whole.truncated and whole.rows[0]["Target_Port"] == "3306"


def test_integer_cells_beyond_64_bits_are_null_not_a_crash() -> None:
    text = (
        "mysql> SHOW PARTITIONS ON sales;\n"
        "+---------+-----------+------+--------+\n"
        "| Ordinal | Host      | Port | Role   |\n"
        "+---------+-----------+------+--------+\n"
        "| 99999999999999999999 | 10.0.0.1 | 3306 | Master |\n"
        "|       1 | 10.0.0.1  | 3306 | Master |\n"
        "+---------+-----------+------+--------+\n"
    )
    partitions = to_frames(parse_tables(text, "p.txt").tables)["partitions"]
    assert partitions["ordinal"].to_list() == [None, 1]


def test_csv_with_a_byte_order_mark() -> None:
    text = "\ufeffHOST,PORT,DATABASE_NAME,ROLE,STATE\n10.0.0.11,3306,sales_4,Master,online\n"
    assert sniff(text)
    result = parse_tables(text, "cluster_status.csv")
    assert result.tables[0].kind == "cluster_status"
    assert result.tables[0].columns[0] == "HOST"


def test_partition_database_column_names_the_database_of_each_row() -> None:
    text = (
        "| Partition_Database | Ordinal | Host      | Port | Role    |\n"
        "|---|---|---|---|---|\n"
        "| sales_0            | 0       | 10.1.0.11 | 3306 | master  |\n"
        "| crm_2              | 2       | 10.1.0.11 | 3306 | master  |\n"
    )
    partitions = to_frames(parse_tables(text, "dp.md").tables)["partitions"]
    assert partitions.select("database", "ordinal").rows() == [("sales", 0), ("crm", 2)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1,5 GB", 1610612736), ("1,024.5 MB", 1074266112), ("1,024 MB", 1073741824),
     ("12,345,678", 12345678), ("1e400 MB", None)],
)  # fmt: skip
def test_size_commas_and_overflow(text: str, expected: int | None) -> None:
    """A decimal comma ("1,5 GB") is no thousands separator; a size beyond a float is none."""
    assert vocabulary().size_bytes(text, 1) == expected


# --- probe round 11 -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["mv_analytics", "show_stats", "select_x", "lmv_a", "ShowX", "status", "plan"]
)
def test_a_database_named_like_a_section_keeps_its_partitions(name: str) -> None:
    """showPartitions.json is memsqlId -> dbName -> table: the key under a node id is a
    database whatever it looks like (probe r2: mv_analytics had disappeared)."""
    rows = '[{"Ordinal": 0, "Host": "10.0.1.11", "Port": 3306, "Role": "Master"}]'
    table = f'{{"columns": ["Ordinal", "Host", "Port", "Role"], "rows": {rows}}}'
    text = f'{{"C20077949CA91CB2E8D484B1E36AB9795FFC54EB": {{"{name}": {table}, "crm": {table}}}}}'
    partitions = to_frames(parse_tables(text, "showPartitions.json").tables)["partitions"]
    assert sorted(partitions.get_column("database").to_list()) == sorted([name, "crm"])


def test_section_keys_at_the_top_stay_sections() -> None:
    text = (
        '{"ShowLeaves": {"columns": ["Host", "Port", "Availability_Group", "State"], '
        '"rows": [{"Host": "10.0.0.2", "Port": 3306, "Availability_Group": 1, "State": "online"}]}}'
    )
    (table,) = parse_tables(text, "clusterTopology.json").tables
    assert (table.kind, table.database) == ("leaves", None)


@pytest.mark.parametrize(
    "text",
    [
        "@@redundancy_level\n1\n",
        "@@global.redundancy_level\n1\n",
        "mysql> SELECT @@redundancy_level;\n@@redundancy_level\n1\n1 row in set (0.00 sec)\n",
    ],
)
def test_single_column_batch_output_gives_the_redundancy(text: str) -> None:
    """``mysql -B -e 'SELECT @@redundancy_level'``: a header and a value, no separator."""
    result = parse_tables(text, "v.tsv")
    variables = to_frames(result.tables)["variables"]
    assert variables.select("name", "value").rows() == [("redundancy_level", "1")]
    assert result.unparsed_lines == 0 and sniff(text)


def test_a_word_on_its_own_line_is_no_single_column_table() -> None:
    result = parse_tables("hello\nworld\n", "notes.txt")
    assert result.tables == [] and result.unparsed_lines == 2


MV_NODES = (
    '{"columns": ["ID", "IP_ADDR", "PORT", "TYPE", "STATE", "AVAILABILITY_GROUP"], "rows": ['
    '{"ID": 1, "IP_ADDR": "10.0.1.10", "PORT": 3306, "TYPE": "MA", "STATE": "online", '
    '"AVAILABILITY_GROUP": null},'
    '{"ID": 2, "IP_ADDR": "10.0.1.15", "PORT": 3306, "TYPE": "CA", "STATE": "online", '
    '"AVAILABILITY_GROUP": null},'
    '{"ID": 3, "IP_ADDR": "10.0.1.11", "PORT": 3306, "TYPE": "LEAF", "STATE": "online", '
    '"AVAILABILITY_GROUP": 1}]}'
)


def test_mv_nodes_aggregators_are_no_leaves() -> None:
    frames = to_frames(parse_tables(MV_NODES, "informationSchemaMvNodes.json").tables)
    assert frames["leaves"].get_column("node").to_list() == ["10.0.1.11:3306"]
    assert frames["aggregators"].select("node", "role").rows() == [
        ("10.0.1.10:3306", "master_aggregator"),
        ("10.0.1.15:3306", "child_aggregator"),
    ]


def test_backup_history_is_no_partition_count_nor_disk_usage() -> None:
    text = (
        '{"columns": ["BACKUP_ID", "DATABASE_NAME", "NUM_PARTITIONS", "STATUS", "SIZE"], '
        '"rows": [{"BACKUP_ID": 11, "DATABASE_NAME": "sales", "NUM_PARTITIONS": 8, '
        '"STATUS": "Success", "SIZE": 98000}]}'
    )
    (table,) = parse_tables(text, "informationSchemaMvBackupHistory.json").tables
    frames = to_frames([table])
    assert table.kind is None
    assert frames["partitions"].height == 0 and frames["disk_usage"].height == 0


def test_show_aggregators_and_memsql_config_give_the_aggregator_ports() -> None:
    """ShowAggregators gives the MA's :3306 and memsqlConfig.json a node's port, which
    complete port-less MA / leaf folders of one host (``nodes.resolve_node``)."""
    from forensics.parsers.tables import config_port, known_roles

    topology = (
        '{"ShowLeaves": {"columns": ["Host", "Port", "Availability_Group", "State"], "rows": '
        '[{"Host": "10.0.2.10", "Port": 3307, "Availability_Group": 1, "State": "online"}]}, '
        '"ShowAggregators": {"columns": ["Host", "Port", "State", "Master_Aggregator"], '
        '"rows": [{"Host": "10.0.2.10", "Port": 3306, "State": "online", "Master_Aggregator": 1}]}}'
    )
    roles = known_roles(to_frames(parse_tables(topology, "clusterTopology.json").tables))
    assert roles == {"10.0.2.10:3307": "leaf", "10.0.2.10:3306": "master_aggregator"}
    config = parse_tables('{"port": 3307, "role": "LEAF"}', "memsqlConfig.json").tables
    assert config_port(config) == "3307"
