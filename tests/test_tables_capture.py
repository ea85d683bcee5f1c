"""When a snapshot was captured: ``Table.captured_at`` and the frames' ``captured_at``.

Support engineers run ``SELECT NOW();`` before a SHOW statement, or their prompt or a
``date`` command prints the time: the last such time read before a table's statement
is its capture time, never one read after it.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from forensics import grammars, schemas
from forensics.parsers.tables import parse_tables, to_frames

PARTITIONS = (
    "+---------+----------+------+--------+--------+\n"
    "| Ordinal | Host     | Port | Role   | Locked |\n"
    "+---------+----------+------+--------+--------+\n"
    "|       0 | 10.0.0.2 | 3306 | Master |      0 |\n"
    "+---------+----------+------+--------+--------+\n"
)
STATUS = (
    "+----------------+---------+-------------+-------------+-------+--------+--------------+\n"
    "| Action         | Ordinal | Target_Host | Target_Port | Phase | Status | Running_Time |\n"
    "+----------------+---------+-------------+-------------+-------+--------+--------------+\n"
    "| COPY PARTITION |       0 | 10.0.0.3    |        3306 |     1 | failed |          100 |\n"
    "+----------------+---------+-------------+-------------+-------+--------+--------------+\n"
)


def _now(statement: str, value: str) -> str:
    width = max(len(statement), len(value))
    border = f"+{'-' * (width + 2)}+\n"
    return f"mysql> SELECT {statement};\n{border}| {statement.ljust(width)} |\n{border}| {value.ljust(width)} |\n{border}"


@pytest.mark.parametrize(
    "sample", grammars.load("tables")["capture_samples"], ids=lambda s: s["captured_at"]
)
def test_grammar_capture_samples(sample: dict[str, str]) -> None:
    table = parse_tables(sample["text"], "session.txt").tables[-1]
    assert table.kind == "partitions"
    assert table.captured_at == datetime.fromisoformat(sample["captured_at"])


@pytest.mark.parametrize(
    ("statement", "value", "expected"),
    [
        ("NOW()", "2026-03-14 09:31:02", datetime(2026, 3, 14, 9, 31, 2)),
        ("CURRENT_TIMESTAMP", "2026-03-14 09:31:02", datetime(2026, 3, 14, 9, 31, 2)),
        ("UTC_TIMESTAMP()", "2026-03-14 08:31:02", datetime(2026, 3, 14, 8, 31, 2)),
        ("SYSDATE(6)", "2026-03-14 09:31:02.250000", datetime(2026, 3, 14, 9, 31, 2, 250000)),
    ],
)
def test_a_clock_query_before_a_show_gives_its_capture_time(
    statement: str, value: str, expected: datetime
) -> None:
    text = _now(statement, value) + "\nmysql> SHOW PARTITIONS ON x_db;\n" + PARTITIONS
    result = parse_tables(text, "session.txt")
    assert result.tables[-1].captured_at == expected
    assert to_frames(result.tables)["partitions"]["captured_at"].to_list() == [expected]


def test_the_latest_time_before_the_statement_wins_and_none_after_it_counts() -> None:
    text = (
        "mysql> SHOW REBALANCE STATUS ON x_db;\n"  # nothing read before: unknown
        + STATUS
        + _now("NOW()", "2026-03-14 09:30:00")
        + "[2026-03-14 09:31:02] mysql> SHOW PARTITIONS ON x_db;\n"
        + PARTITIONS
        + _now("NOW()", "2026-03-14 09:45:00")  # after both: applies to neither
    )
    result = parse_tables(text, "session.txt")
    frames = to_frames(result.tables)
    assert frames["steps"]["captured_at"].to_list() == [None]
    assert frames["partitions"]["captured_at"].to_list() == [datetime(2026, 3, 14, 9, 31, 2)]


def test_date_output_before_a_batch_table_and_a_tab_separated_now() -> None:
    text = (
        "$ mysql -B -e 'SELECT NOW()'\n"
        "NOW()\n"
        "2026-03-14 09:20:00\n"
        "$ date\n"
        "Sat Mar 14 09:31:02 UTC 2026\n"
        "Ordinal\tHost\tPort\tRole\tLocked\n"
        "0\t10.0.0.2\t3306\tMaster\t0\n"
    )
    result = parse_tables(text, "partitions_x_db.tsv")
    assert result.tables[-1].kind == "partitions"
    assert result.tables[-1].captured_at == datetime(2026, 3, 14, 9, 31, 2)
    assert result.tables[0].captured_at is None  # the clock query's own table


def test_capture_time_is_carried_by_cluster_status_and_json_shell_tables() -> None:
    text = (
        "[2026-03-14 09:31:02] mysql> SHOW CLUSTER STATUS;\n"
        "Host\tPort\tDatabase\tRole\tState\n"
        "10.0.0.2\t3306\tx_db_0\tMaster\tonline\n"
        "\n"
        "Sat Mar  7 10:00:00 CET 2026\n"
        " MySQL  10.0.0.1:3306 ssl  SQL > SHOW PARTITIONS ON x_db;\n"
        '{"Ordinal": 0, "Host": "10.0.0.2", "Port": 3306, "Role": "Master"}\n'
    )
    parts = to_frames(parse_tables(text, "s.txt").tables)["partitions"]
    assert parts.select("snapshot_kind", "captured_at").rows() == [
        ("cluster_status", datetime(2026, 3, 14, 9, 31, 2)),
        ("partitions", datetime(2026, 3, 7, 10, 0, 0)),
    ]


def test_the_frames_declare_a_nullable_naive_captured_at() -> None:
    assert schemas.PARTITIONS["captured_at"] == schemas.LOCAL_US
    assert schemas.STEPS["captured_at"] == schemas.LOCAL_US
    frames = to_frames(
        parse_tables("mysql> SHOW PARTITIONS ON x_db;\n" + PARTITIONS, "p.txt").tables
    )
    assert frames["partitions"]["captured_at"].to_list() == [None]


@pytest.mark.parametrize(
    ("date", "clock"), grammars.load("snapshots")["clocks"]["samples"], ids=lambda s: s
)
def test_a_date_output_gives_its_clock(date: str, clock: str) -> None:
    """A `date` output naming a zone whose offset is sure gives that offset; one naming no
    zone, or one several zones share (CST), is a client's clock of unknown zone."""
    result = parse_tables(
        f"$ date\n{date}\nmysql> SHOW PARTITIONS ON x_db;\n" + PARTITIONS, "s.txt"
    )
    assert result.tables[-1].capture_clock == clock
    assert to_frames(result.tables)["partitions"]["capture_clock"].to_list() == [clock]


SHOW = "mysql> SHOW PARTITIONS ON x_db;\n"


@pytest.mark.parametrize(
    ("text", "clock"),
    [
        (_now("NOW()", "2026-03-14 09:31:02") + SHOW, "server"),
        (_now("CURRENT_TIMESTAMP", "2026-03-14 09:31:02") + SHOW, "server"),
        (_now("UTC_TIMESTAMP()", "2026-03-14 08:31:02") + SHOW, "UTC+00:00"),
        ("[2026-03-14 09:31:02] " + SHOW, "client"),
        (SHOW, None),
    ],
)
def test_the_clock_of_a_capture_time(text: str, clock: str | None) -> None:
    """SELECT NOW() is the server's clock, UTC_TIMESTAMP() says UTC, a prompt's stamp is
    the client's; no time, no clock."""
    parts = to_frames(parse_tables(text + PARTITIONS, "s.txt").tables)["partitions"]
    assert parts["capture_clock"].to_list() == [clock]
    assert schemas.PARTITIONS["capture_clock"] == pl.String
