"""Cell values of SQL client output: sizes in information_schema.TABLE_STATISTICS, and bad
values (a negative size, a NULL ordinal, an empty port) that must be refused or completed
with a warning naming file and line, never taken or lost silently (SPEC §3, §5.1, §9).

Each test writes boxed mysql-client tables in ``tmp_path`` and checks what the engineer
sees: the JSON report's impact, the frames of ``load_bundle``, and the ``path:line``
warnings the frames are built with.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
from click.testing import CliRunner

from forensics.cli import main
from forensics.loader import load_bundle
from forensics.parsers.tables import parse_tables, to_frames
from forensics.parsers.tables_vocab import vocabulary


def box(statement: str, columns: list[str], rows: list[list[str]]) -> str:
    """A result as the mysql client prints it: echoed statement, boxed table, footer."""
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    border = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(cells: list[str]) -> str:
        return "|" + "|".join(f" {c:>{w}} " for c, w in zip(cells, widths, strict=True)) + "|"

    body = [border, line(columns), border, *(line(r) for r in rows), border]
    return "\n".join([f"mysql> {statement}", *body, f"{len(rows)} rows in set (0.01 sec)", ""])


STATUS = box(
    "SHOW REBALANCE STATUS ON ledger;",
    ["Action", "Ordinal", "Target_Host", "Target_Port", "Phase", "Status", "Running_Time"],
    [
        ["COPY PARTITION", "1", "10.20.0.14", "3306", "1", "success", "20000"],
        ["COPY PARTITION", "2", "10.20.0.14", "3306", "1", "failed", "25000"],
        ["PROMOTE PARTITION WITH DROP", "1", "10.20.0.14", "3306", "2", "cancelled", "0"],
        ["PROMOTE PARTITION WITH DROP", "2", "10.20.0.14", "3306", "2", "cancelled", "0"],
    ],
)
VARIABLES = box(
    "SHOW VARIABLES LIKE 'redundancy_level';",
    ["Variable_name", "Value"],
    [["redundancy_level", "1"]],
)
PARTITION_COLUMNS = ["Ordinal", "Host", "Port", "Role", "Locked"]
# partition 1 has an extra replica on 10.20.0.14, left by the failed rebalance
PARTITIONS = box(
    "SHOW PARTITIONS ON ledger;",
    PARTITION_COLUMNS,
    [
        ["0", "10.20.0.11", "3306", "Master", "0"],
        ["1", "10.20.0.12", "3306", "Master", "0"],
        ["1", "10.20.0.14", "3306", "Replica", "0"],
        ["2", "10.20.0.13", "3306", "Master", "0"],
    ],
)
STATISTICS_COLUMNS = [
    "DATABASE_NAME", "TABLE_NAME", "ORDINAL", "HOST", "PORT", "NODE_TYPE", "PARTITION_TYPE",
    "ROWS", "MEMORY_USE", "STORAGE_TYPE",
]  # fmt: skip
ORDERS_1, ITEMS_1 = 786419752, 337037036


def statistics_row(table: str, ordinal: str, host: str, kind: str, memory: int) -> list[str]:
    return [
        "ledger", table, ordinal, host, "3306", "LEAF", kind, "1001", str(memory),
        "INMEMORY_ROWSTORE",
    ]  # fmt: skip


TABLE_STATISTICS = box(
    "SELECT * FROM information_schema.TABLE_STATISTICS WHERE DATABASE_NAME = 'ledger';",
    STATISTICS_COLUMNS,
    [
        statistics_row("orders", "0", "10.20.0.11", "Master", 700000000),
        statistics_row("items", "0", "10.20.0.11", "Master", 300000000),
        statistics_row("orders", "1", "10.20.0.12", "Master", ORDERS_1),
        statistics_row("items", "1", "10.20.0.12", "Master", ITEMS_1),
        statistics_row("orders", "1", "10.20.0.14", "Slave", ORDERS_1),
        statistics_row("items", "1", "10.20.0.14", "Slave", ITEMS_1),
        statistics_row("orders", "2", "10.20.0.13", "Master", 872839504),
        statistics_row("items", "2", "10.20.0.13", "Master", 374074073),
        # a reference table: a copy on every node, no partition's
        ["ledger", "countries", "NULL", "10.20.0.11", "3306", "LEAF", "Reference", "200", "65536",
         "INMEMORY_ROWSTORE"],
    ],
)  # fmt: skip


def pl_ordinal(ordinal: int) -> pl.Expr:
    return pl.col("ordinal") == ordinal


def write(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def analyze(bundle: Path) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["analyze", str(bundle), "--format", "json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def frame_warnings(bundle: Path) -> list[str]:
    """The ``path:line`` warnings the frames are built with, for the tables of ``bundle``."""
    tables = [
        table
        for path in sorted(bundle.glob("*.txt"))
        for table in parse_tables(path.read_text(), path.name).tables
        if table.kind
    ]
    warnings: list[str] = []
    to_frames(tables, warnings)
    return warnings


def ledger(report: dict[str, Any]) -> dict[str, Any]:
    (found,) = [d for d in report["impact"]["databases"] if d["database"] == "ledger"]
    return found


# --- TABLE_STATISTICS ----------------------------------------------------------------------


def test_table_statistics_is_read_as_partition_sizes_not_as_nodes() -> None:
    vocab = vocabulary()
    assert vocab.classify(STATISTICS_COLUMNS) == "disk_usage"
    # MV_NODES is still MV_NODES; the per-index and per-column views are no partition sizes
    assert vocab.classify(["ID", "IP_ADDR", "PORT", "TYPE", "STATE", "AVAILABILITY_GROUP"]) == (
        "nodes"
    )
    index_statistics = ["DATABASE_NAME", "TABLE_NAME", "INDEX_NAME", "ORDINAL", "HOST", "PORT",
                        "NODE_TYPE", "PARTITION_TYPE", "MEMORY_USE"]  # fmt: skip
    assert vocab.classify(index_statistics) is None
    assert (
        vocab.classify([c if c != "INDEX_NAME" else "COLUMN_NAME" for c in index_statistics])
        is None
    )


def test_table_statistics_give_the_bytes_of_the_extra_copy(tmp_path: Path) -> None:
    bundle = write(
        tmp_path,
        {
            "status.txt": STATUS,
            "partitions.txt": PARTITIONS,
            "vars.txt": VARIABLES,
            "table_statistics.txt": TABLE_STATISTICS,
        },
    )
    loaded = load_bundle(str(bundle))
    sizes = loaded.disk_usage.filter(pl_ordinal(1))
    assert sorted(sizes["node"].to_list()) == ["10.20.0.12:3306"] * 2 + ["10.20.0.14:3306"] * 2
    assert loaded.disk_usage["ordinal"].null_count() == 0  # the reference table is no partition
    assert loaded.leaves.height == 0  # its NODE_TYPE column makes no node list
    report = analyze(bundle)
    db = ledger(report)
    assert db["over_redundant"] == [1]
    assert db["extra_copies"] == 1
    assert db["extra_bytes_estimate"] == ORDERS_1 + ITEMS_1 == 1_123_456_788
    assert report["impact"]["per_node_extra_bytes"] == {"10.20.0.14:3306": 1_123_456_788}
    assert not any("no disk usage" in w for w in report["warnings"])


# --- bad values ------------------------------------------------------------------------------

SIZES = box(
    "SELECT * FROM partition_sizes;",
    ["Database", "Ordinal", "Size_Bytes"],
    [["ledger", "0", "N/A"], ["ledger", "1", "-5"], ["ledger", "2", "1.5 GB"]],
)


def test_a_negative_size_is_unknown_with_a_warning(tmp_path: Path) -> None:
    bundle = write(
        tmp_path,
        {"status.txt": STATUS, "parts.txt": PARTITIONS, "vars.txt": VARIABLES, "disk.txt": SIZES},
    )
    loaded = load_bundle(str(bundle))
    assert loaded.disk_usage.filter(pl_ordinal(1))["size_bytes"].to_list() == [None]
    report = analyze(bundle)
    db = ledger(report)
    assert db["extra_copies"] == 1
    assert db["extra_bytes_estimate"] is None  # not -5
    assert report["impact"]["extra_bytes_estimate"] is None
    assert report["impact"]["per_node_extra_bytes"] == {"10.20.0.14:3306": None}
    # line 6 of disk.txt: statement, border, header, border, "ledger 0", "ledger 1"
    warnings = frame_warnings(bundle)
    assert [w for w in warnings if w.startswith("disk.txt:")] == [
        "disk.txt:6: Size_Bytes '-5' is a negative size: ledger:1 taken as of unknown size"
    ]  # "N/A" says it is unknown: no warning; "1.5 GB" is a size


def test_sizes_that_are_no_sizes_are_warned_about() -> None:
    vocab = vocabulary()
    assert vocab.read_size("-5", None) == (None, "is a negative size")
    assert vocab.read_size("-0.5 GB", None) == (None, "is a negative size")
    assert vocab.read_size("12 parsecs", None)[0] is None
    assert vocab.read_size("12 parsecs", None)[1] is not None
    assert vocab.read_size("N/A", None) == (None, None)
    assert vocab.read_size("0", None) == (0, None)
    assert vocab.read_size("1.5 GB", None) == (1610612736, None)


def partitions_bundle(tmp_path: Path, rows: list[list[str]], status: bool = True) -> Path:
    """A bundle of SHOW PARTITIONS ON ledger with ``rows`` (line 7 is the third row), the
    redundancy, and the rebalance status unless not ``status``."""
    parts = box("SHOW PARTITIONS ON ledger;", PARTITION_COLUMNS, rows)
    files = {"parts.txt": parts, "vars.txt": VARIABLES} | ({"status.txt": STATUS} if status else {})
    return write(tmp_path, files)


def test_a_null_ordinal_row_is_kept_and_warned_about(tmp_path: Path) -> None:
    bundle = partitions_bundle(
        tmp_path,
        [
            ["0", "10.20.0.11", "3306", "Master", "0"],
            ["1", "10.20.0.12", "3306", "Master", "0"],
            ["NULL", "10.20.0.13", "3306", "Master", "0"],
            ["2", "10.20.0.13", "3306", "Master", "0"],
        ],
    )
    loaded = load_bundle(str(bundle))
    kept = loaded.partitions.filter(pl.col("ordinal").is_null() & (pl.col("database") == "ledger"))
    assert kept.select("node", "role").rows() == [("10.20.0.13:3306", "master")]
    assert frame_warnings(bundle) == [
        "parts.txt:7: no ordinal on the master row of 10.20.0.13:3306 (ledger): kept as a copy"
        " of an unknown partition, which counts in no partition's copies"
    ]


def test_an_empty_port_takes_the_one_port_of_its_host(tmp_path: Path) -> None:
    bundle = partitions_bundle(
        tmp_path,
        [
            ["0", "10.20.0.11", "3306", "Master", "0"],
            ["1", "10.20.0.12", "3306", "Master", "0"],
            ["1", "10.20.0.13", "3306", "Replica", "0"],
            ["2", "10.20.0.13", "", "Master", "0"],
        ],
    )
    loaded = load_bundle(str(bundle))
    masters = loaded.partitions.filter(pl_ordinal(2))
    assert masters["node"].to_list() == ["10.20.0.13:3306"]
    assert frame_warnings(bundle) == []
    copies = ledger(analyze(bundle))["copies"]
    assert {"ordinal": 2, "node": "10.20.0.13:3306", "role": "master"} in copies


def test_an_empty_port_of_a_host_with_several_ports_stays_the_host(tmp_path: Path) -> None:
    bundle = partitions_bundle(
        tmp_path,
        [
            ["0", "10.20.0.11", "3306", "Master", "0"],
            ["1", "10.20.0.13", "3306", "Master", "0"],
            ["2", "10.20.0.13", "3307", "Master", "0"],
            ["3", "10.20.0.13", "", "Master", "0"],
        ],
        status=False,
    )
    loaded = load_bundle(str(bundle))
    assert loaded.partitions.filter(pl_ordinal(3))["node"].to_list() == ["10.20.0.13"]
    assert frame_warnings(bundle) == [
        "parts.txt:8: Port of host 10.20.0.13 is empty and the bundle gives it ports 3306, 3307:"
        " the node is read as the host alone"
    ]


def test_value_warnings_reach_the_report(tmp_path: Path) -> None:
    bundle = write(
        tmp_path,
        {"status.txt": STATUS, "parts.txt": PARTITIONS, "vars.txt": VARIABLES, "disk.txt": SIZES},
    )
    warnings = analyze(bundle)["warnings"]
    assert any("disk.txt:6: Size_Bytes '-5' is a negative size" in w for w in warnings)
