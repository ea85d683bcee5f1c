"""Several statements in one client run, and statements written around a table.

``mysql -H -e "A; B; C"`` writes its HTML tables back to back (on one line),
``mysql -B -e "A; B"`` its tab-separated results with no blank line between them, and
MySQL Shell in batch mode (``mysqlsh ... -e "A"``) a JSON array a run. The n-th
statement that returns a result is the statement of the n-th table: each table belongs
to the database its own statement names, never to the one the whole text ends with.
Jira's ``{{SHOW ...}}`` before a wiki table is its statement; client banners are known
text, not unparsed lines. Each input is built inline, as the client prints it.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from forensics.cli import main
from forensics.parsers.tables import parse_tables, to_frames
from forensics.parsers.tables_text import split_statements

LEAVES = ("10.2.0.11", "10.2.0.12")
STATUS_COLUMNS = ["Action", "Ordinal", "Target_Host", "Target_Port", "Phase", "Status"]
STATUS_ROWS = [
    ["COPY PARTITION", "1", "10.2.0.13", "3306", "1", "success"],
    ["COPY PARTITION", "5", "10.2.0.13", "3306", "1", "failed"],
    ["PROMOTE PARTITION WITH DROP", "1", "10.2.0.13", "3306", "2", "cancelled"],
]


def _partition_rows(count: int) -> list[list[str]]:
    """A master and a replica of each of ``count`` partitions on the two leaves."""
    rows = []
    for o in range(count):
        first, second = LEAVES if o % 2 == 0 else LEAVES[::-1]
        rows += [[str(o), first, "3306", "Master", "0"], [str(o), second, "3306", "Replica", "0"]]
    return rows


PARTITION_COLUMNS = ["Ordinal", "Host", "Port", "Role", "Locked"]
RESULTS = {  # statement -> (columns, rows)
    "SHOW PARTITIONS ON shop": (PARTITION_COLUMNS, _partition_rows(8)),
    "SHOW PARTITIONS ON crm": (PARTITION_COLUMNS, _partition_rows(4)),
    "SHOW REBALANCE STATUS ON shop": (STATUS_COLUMNS, STATUS_ROWS),
    "SHOW VARIABLES LIKE 'redundancy_level'": (["Variable_name", "Value"], [["redundancy_level", "2"]]),
}  # fmt: skip
#: crm before shop: read as one text ending in "ON shop", crm's 4 partitions were shop's
#: and shop's partitions 4..7 had no master.
ORDER = [
    "SHOW PARTITIONS ON shop",
    "SHOW PARTITIONS ON crm",
    "SHOW REBALANCE STATUS ON shop",
    "SHOW VARIABLES LIKE 'redundancy_level'",
]


def _html(statement: str) -> str:
    columns, rows = RESULTS[statement]
    head = "".join(f"<TH>{c}</TH>" for c in columns)
    body = "".join("<TR>" + "".join(f"<TD>{c}</TD>" for c in row) + "</TR>" for row in rows)
    return f"<TABLE BORDER=1><TR>{head}</TR>{body}</TABLE>"


def _tsv(statement: str) -> str:
    columns, rows = RESULTS[statement]
    return "\n".join("\t".join(line) for line in [columns, *rows])


def _json_array(statement: str) -> str:
    columns, rows = RESULTS[statement]
    objects = [json.dumps(dict(zip(columns, row, strict=True))) for row in rows]
    return "[\n" + ",\n".join(objects) + "\n]"


def _run(flag: str, statements: list[str]) -> str:
    return f'$ mysql -h 10.2.0.10 -u root {flag} -e "{"; ".join(statements)}"'


def _read(text: str, path: str = "sql/cluster.txt") -> list[tuple[str | None, str | None, int]]:
    """kind, database and row count of each table read."""
    return [(t.kind, t.database, len(t.rows)) for t in parse_tables(text, path).tables]


EXPECTED = [
    ("partitions", "shop", 16),
    ("partitions", "crm", 8),
    ("rebalance_status", "shop", 3),
    ("variables", None, 1),
]


def _analyze(tmp_path: Path, text: str) -> dict[str, Any]:
    (tmp_path / "cluster.txt").write_text(text + "\n")
    result = CliRunner().invoke(main, ["analyze", str(tmp_path), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


# --- several statements, several results ----------------------------------------------


def test_statements_are_split_on_terminators_outside_quotes() -> None:
    text = 'SELECT \'a;b\', "c\\";d"; SHOW PARTITIONS ON `x;y`\\G SHOW LEAVES;'
    assert split_statements(text) == [
        'SELECT \'a;b\', "c\\";d"',
        "SHOW PARTITIONS ON `x;y`",
        "SHOW LEAVES",
    ]


def test_html_tables_of_one_run_each_take_their_own_statement() -> None:
    """mysql -H writes the four tables on one line: crm's table is crm's, not shop's."""
    text = _run("-H", ORDER) + "\n" + "".join(_html(s) for s in ORDER) + "\n"
    result = parse_tables(text, "sql/cluster.html")
    assert [(t.kind, t.database, len(t.rows)) for t in result.tables] == EXPECTED
    assert [t.statement for t in result.tables] == ORDER
    assert result.unparsed_lines == 0 and result.warnings == []


def test_a_run_of_two_databases_leaves_each_partition_with_its_master(tmp_path: Path) -> None:
    """The user sees shop's 8 partitions all with a master and crm listed apart: no data
    at risk invented from crm's shorter table."""
    text = _run("-H", ORDER) + "\n" + "".join(_html(s) for s in ORDER)
    report = _analyze(tmp_path, text)
    impact = {d["database"]: d for d in report["impact"]["databases"]}
    assert impact["shop"]["partitions"] == 8
    assert impact["shop"]["partitions_without_master"] == []
    assert impact["crm"]["partitions"] == 4
    assert impact["crm"]["partitions_without_master"] == []
    assert not any("only database" in w for w in report["warnings"])


def test_tab_separated_results_back_to_back_are_separate_tables() -> None:
    """mysql -B -e "A; B; C; D": each result opens with its own header line."""
    text = _run("-B", ORDER) + "\n" + "\n".join(_tsv(s) for s in ORDER) + "\n"
    result = parse_tables(text, "sql/cluster.tsv")
    assert [(t.kind, t.database, len(t.rows)) for t in result.tables] == EXPECTED
    assert result.unparsed_lines == 0 and result.warnings == []
    steps = to_frames(result.tables)["steps"]
    assert steps["database"].unique().to_list() == ["shop"]


def test_tab_separated_results_without_a_statement_still_split_at_each_header() -> None:
    text = "\n".join(_tsv(s) for s in ORDER[1:]) + "\n"
    kinds = [(kind, rows) for kind, _, rows in _read(text)]
    assert kinds == [("partitions", 8), ("rebalance_status", 3), ("variables", 1)]


def test_use_in_a_run_names_the_database_of_the_statements_after_it() -> None:
    text = '$ mysql -B -e "USE crm; SHOW PARTITIONS"\n' + _tsv("SHOW PARTITIONS ON crm") + "\n"
    assert _read(text) == [("partitions", "crm", 8)]


def test_a_clock_query_in_a_run_dates_the_results_after_it() -> None:
    text = (
        '$ mysql -B -e "SELECT NOW(); SHOW PARTITIONS ON crm"\n'
        "NOW()\n2026-03-14 09:31:02\n" + _tsv("SHOW PARTITIONS ON crm") + "\n"
    )
    table = parse_tables(text, "sql/cluster.tsv").tables[-1]
    assert (table.kind, table.database) == ("partitions", "crm")
    assert table.captured_at == datetime(2026, 3, 14, 9, 31, 2)


def test_an_empty_set_in_a_run_takes_its_statement_without_a_table() -> None:
    """mysql> A; B; prints "Empty set" for A: B's table is B's."""
    columns, rows = RESULTS["SHOW PARTITIONS ON crm"]
    border = "+---------+-----------+------+---------+--------+"
    lines = [f"| {r[0]:>7} | {r[1]:<9} | {r[2]} | {r[3]:<7} | {r[4]:>6} |" for r in rows]
    header = "| " + " | ".join(c.ljust(w) for c, w in zip(columns, (7, 9, 4, 7, 6), strict=True))
    text = "\n".join(
        [
            "mysql> SHOW PARTITIONS ON shop; SHOW PARTITIONS ON crm;",
            "Empty set (0.00 sec)",
            "",
            border,
            header + " |",
            border,
            *lines,
            border,
            "8 rows in set (0.00 sec)",
        ]
    )
    assert _read(text) == [("partitions", "crm", 8)]


def test_results_that_do_not_match_the_statements_name_no_database() -> None:
    """Two statements, one result (the other printed nothing): which one it answers is
    unknown. The text names two databases: the table is given neither, with a warning."""
    statements = ["SHOW PARTITIONS ON shop", "SHOW PARTITIONS ON crm"]
    text = _run("-B", statements) + "\n" + _tsv("SHOW PARTITIONS ON crm") + "\n"
    result = parse_tables(text, "sql/cluster.tsv")
    assert [(t.kind, t.database, len(t.rows)) for t in result.tables] == [("partitions", None, 8)]
    assert result.tables[0].statement == "; ".join(statements)
    assert any("could not be matched" in w for w in result.warnings)


def test_unmatched_results_keep_the_one_database_the_text_names() -> None:
    statements = ["SHOW PARTITIONS ON shop", "SHOW VARIABLES LIKE 'redundancy_level'"]
    text = _run("-B", statements) + "\n" + _tsv("SHOW PARTITIONS ON shop") + "\n"
    assert _read(text) == [("partitions", "shop", 16)]


# --- MySQL Shell in batch mode ----------------------------------------------------------


def test_mysqlsh_batch_runs_name_the_database_of_each_json_array() -> None:
    """$ mysqlsh ... -e "SHOW PARTITIONS ON crm": the statement of the array after it;
    the password warning is known text."""
    runs = [
        f'$ mysqlsh --sql root@10.2.0.10:3306 --result-format=json/array -e "{s}"\n'
        "WARNING: Using a password on the command line interface can be insecure.\n"
        + _json_array(s)
        for s in ORDER
    ]
    result = parse_tables("\n".join(runs) + "\n", "sql/mysqlsh_batch.txt")
    assert [(t.kind, t.database, len(t.rows)) for t in result.tables] == EXPECTED
    assert result.unparsed_lines == 0


def test_the_singlestore_client_at_a_shell_is_read_like_mysql() -> None:
    text = '$ singlestore -h 10.2.0.10 -B -e "SHOW PARTITIONS ON crm"\n'
    text += _tsv("SHOW PARTITIONS ON crm") + "\n"
    assert _read(text) == [("partitions", "crm", 8)]


def test_mysql_shell_banner_and_shell_commands_are_no_unparsed_lines() -> None:
    text = "\n".join(
        [
            "$ date",
            "Sat Mar 14 09:31:02 UTC 2026",
            "$ mysqlsh --sql root@10.2.0.10:3306",
            "MySQL Shell 8.0.36",
            "",
            "Copyright (c) 2016, 2023, Oracle and/or its affiliates.",
            "Oracle is a registered trademark of Oracle Corporation and/or its affiliates.",
            "Other names may be trademarks of their respective owners.",
            "",
            "Type '\\help' or '\\?' for help; '\\quit' to exit.",
            "Creating a session to 'root@10.2.0.10:3306'",
            "Fetching schema names for auto-completion... Press ^C to stop.",
            "Your MySQL connection id is 4321",
            "Server version: 5.7.32 SingleStoreDB source distribution (compatible)",
            "No default schema selected; type \\use <schema> to set one.",
            " MySQL  10.2.0.10:3306 ssl  JS > \\sql",
            "Switching to SQL mode... Commands end with ;",
            " MySQL  10.2.0.10:3306 ssl  SQL > SHOW PARTITIONS ON crm;",
            _tsv("SHOW PARTITIONS ON crm"),
            "Warning (code 1287): 'X' is deprecated and will be removed in a future release.",
            " MySQL  10.2.0.10:3306 ssl  SQL > \\q",
            "Bye!",
        ]
    )
    result = parse_tables(text + "\n", "sql/session.txt")
    assert [(t.kind, t.database, len(t.rows)) for t in result.tables] == [("partitions", "crm", 8)]
    assert result.tables[0].captured_at == datetime(2026, 3, 14, 9, 31, 2)
    assert result.unparsed_lines == 0


# --- Jira wiki markup -------------------------------------------------------------------


def _wiki(statement: str) -> str:
    columns, rows = RESULTS[statement]
    head = "|| " + " || ".join(columns) + " ||"
    return "\n".join([head, *("| " + " | ".join(row) + " |" for row in rows)])


def test_jira_monospace_statement_names_the_database_of_the_wiki_table_after_it() -> None:
    text = "\n".join(
        [
            "h3. Output collected by the customer",
            "{{SHOW PARTITIONS ON shop}}",
            _wiki("SHOW PARTITIONS ON shop"),
            "",
            "{code:sql}SHOW PARTITIONS ON crm;{code}",
            _wiki("SHOW PARTITIONS ON crm"),
            "",
            "{code:sql}",
            "SHOW REBALANCE STATUS ON shop",
            "{code}",
            _wiki("SHOW REBALANCE STATUS ON shop"),
        ]
    )
    assert _read(text + "\n", "ticket/SUP-1.txt") == [
        ("partitions", "shop", 16),
        ("partitions", "crm", 8),
        ("rebalance_status", "shop", 3),
    ]


def test_an_unmatched_table_of_two_databases_invents_no_partition_without_master(
    tmp_path: Path,
) -> None:
    """-e "SHOW PARTITIONS ON shop; SHOW PARTITIONS ON crm" with one table printed, and
    shop's rebalance status in another run: the table may be crm's 4 partitions. Read
    as shop's (the bundle's only other database) it would leave shop's 4..7 without a
    master; it is used as nobody's, and the warning names both databases."""
    statements = ["SHOW PARTITIONS ON shop", "SHOW PARTITIONS ON crm"]
    status = "SHOW REBALANCE STATUS ON shop"
    text = "\n".join(
        [
            _run("-B", statements),
            _tsv("SHOW PARTITIONS ON crm"),
            _run("-B", [status]),
            _tsv(status),
        ]
    )
    report = _analyze(tmp_path, text)
    for database in (report["impact"] or {}).get("databases", []):
        assert database["partitions_without_master"] == []
    assert not any("only database" in w for w in report["warnings"])
    warnings = parse_tables(text, "cluster.txt").warnings
    assert any("names crm, shop: read as no one of them" in w for w in warnings)


def test_a_prompt_line_between_two_tab_runs_ends_the_first_table() -> None:
    """`[root@ma ~]$ mysql -B -e "SHOW PARTITIONS ON billing"` after inventory's rows: the
    prompt line must not be glued to the next header as a row whose cell holds a newline
    (billing's 8 rows had been read as inventory's, making two masters of a partition)."""
    head = "Ordinal\tHost\tPort\tRole\tLocked"
    text = "\n".join(
        [
            '[root@ma ~]$ mysql -h 10.2.0.10 -u root -B -e "SHOW PARTITIONS ON inventory"',
            head,
            "0\t10.2.0.11\t3306\tMaster\t0",
            "0\t10.2.0.12\t3306\tReplica\t0",
            '[root@ma ~]$ mysql -h 10.2.0.10 -u root -B -e "SHOW PARTITIONS ON billing"',
            head,
            "0\t10.2.0.12\t3306\tMaster\t0",
            "0\t10.2.0.13\t3306\tReplica\t0",
            "1\t10.2.0.13\t3306\tMaster\t0",
        ]
    )
    tables = parse_tables(text, "session.txt").tables
    assert [(t.database, len(t.rows)) for t in tables] == [("inventory", 2), ("billing", 3)]


def test_a_next_header_as_wide_as_the_table_opens_a_new_table() -> None:
    """mysql -B -e "SHOW PARTITIONS ON crm; SELECT ... FROM DISTRIBUTED_PARTITIONS": the
    second header has the first one's five fields; it was read as a row of crm's table,
    and the second result's rows as crm's partitions."""
    other = ["DATABASE_NAME", "ORDINAL", "HOST", "PORT", "ROLE"]
    rows = [["shop", str(o), LEAVES[o % 2], "3306", "Master"] for o in range(4)]
    second = "\n".join("\t".join(r) for r in [other, *rows])
    statements = [
        "SHOW PARTITIONS ON crm",
        "SELECT DATABASE_NAME, ORDINAL, HOST, PORT, ROLE FROM information_schema.DISTRIBUTED_PARTITIONS",
    ]  # fmt: skip
    text = _run("-B", statements) + "\n" + _tsv("SHOW PARTITIONS ON crm") + "\n" + second + "\n"
    result = parse_tables(text, "sql/cluster.tsv")
    assert [(t.kind, len(t.rows)) for t in result.tables] == [("partitions", 8), ("partitions", 4)]
    assert result.tables[0].database == "crm"
    assert result.unparsed_lines == 0 and result.warnings == []
