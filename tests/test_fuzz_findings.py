"""Inputs a mutation fuzzer of the fixtures turned up that crashed the analysis (exit 3)
or broke the report's schema; each must now be read, with a warning where data is set
aside (SPEC §9)."""

from __future__ import annotations

import json
from pathlib import Path

from forensics import analyze
from forensics.parsers.tables_text import MAX_HEADER_CHARS, box_header
from forensics.parsers.tracelog import parse_lines
from forensics.report.json import to_dict, validate

SIZES = """mysql> SELECT database_name AS `Database`, ordinal AS Ordinal, host AS Host, port AS Port, disk_bytes AS Size_Bytes FROM partition_sizes;
+----------+---------+-----------+------+---------------------+
| Database | Ordinal | Host      | Port | Size_Bytes          |
+----------+---------+-----------+------+---------------------+
| orders   |       {ordinal} | 10.0.1.11 | 3306 | {size} |
+----------+---------+-----------+------+---------------------+
"""


def _node_log(folder: Path, *lines: str) -> Path:
    """``folder`` holding one node's log of ``lines``."""
    log = folder / "10.0.0.1_3306" / "memsql.log"
    log.parent.mkdir()
    log.write_text("".join(f"{line}\n" for line in lines))
    return folder


def _report(folder: Path) -> dict:  # type: ignore[type-arg]
    doc = to_dict(analyze(folder))
    validate(doc)
    return doc


def test_a_leap_second_at_the_end_of_year_9999_is_no_time() -> None:
    """:60 rolls over; into year 10000 it had crashed the time order check."""
    events = parse_lines(
        [
            "100 9999-12-31 23:59:60.999999999   INFO: partition x copied",
            "200 2026-01-01 00:00:00.000   INFO: partition y copied",
        ]
    )
    assert events.get_column("message").to_list() == ["partition y copied"]


def test_logs_at_the_last_second_of_the_calendar_are_analysed(tmp_path: Path) -> None:
    _node_log(
        tmp_path,
        "100 9999-12-31 23:59:59.000   INFO: Thread 1: REBALANCE PARTITIONS ON db1 started",
        "200 9999-12-31 23:59:59.500   ERROR: Thread 1: COPY PARTITION db1:3 failed: "
        "Not enough memory available (error 1712)",
        "300 9999-12-31 23:59:59.900   ERROR: Thread 1: REBALANCE PARTITIONS ON db1 failed",
    )
    assert _report(tmp_path)["exit_code"] == 1


def test_numbers_too_long_or_too_large_for_a_cell_are_set_aside(tmp_path: Path) -> None:
    (tmp_path / "showVariables.json").write_text(
        json.dumps({"columns": ["Variable_name", "Value"]})[:-1]
        + ', "rows": [{"Variable_name": "redundancy_level", "Value": '
        + "9" * 5000
        + "}]}"
    )
    (tmp_path / "sizes.txt").write_text(SIZES.format(ordinal=" 0", size=2**63))
    doc = _report(tmp_path)
    assert any("out of range for a 64-bit integer" in w for w in doc["warnings"])


def test_a_negative_ordinal_or_redundancy_is_no_number(tmp_path: Path) -> None:
    (tmp_path / "sizes.txt").write_text(SIZES.format(ordinal="-3", size=1000))
    (tmp_path / "variables.tsv").write_text("Variable_name\tValue\nredundancy_level\t-9\n")
    doc = _report(tmp_path)
    assert any("is no partition number" in w for w in doc["warnings"])


def test_a_megabyte_of_bars_is_no_table_header() -> None:
    assert box_header("|" * (MAX_HEADER_CHARS + 1)) is None
    assert box_header("| Database | Ordinal |") == ["Database", "Ordinal"]


def test_logs_at_the_first_moments_of_the_calendar_are_analysed(tmp_path: Path) -> None:
    """Year 1 (a zeroed clock): dating a restart around the failure had overflowed."""
    _node_log(
        tmp_path,
        "900000000 0001-01-01 00:00:00.000   INFO: Thread 1: REBALANCE PARTITIONS ON db1 started",
        "900000100 0001-01-01 00:00:00.100   INFO: Thread 1: COPY PARTITION db1:3 started",
        "100 0001-01-01 00:00:01.000   INFO: Thread 1: starting",
        "200 0001-01-01 00:00:02.000   ERROR: Thread 1: REBALANCE PARTITIONS ON db1 failed",
    )
    assert _report(tmp_path)["exit_code"] == 1


def test_a_zone_offset_of_seconds_is_written_in_utc() -> None:
    """London's local mean time (-00:01:15, before 1847) is no ISO 8601 offset the schema
    takes: such a time is written in UTC."""
    from datetime import UTC, datetime

    from forensics.analysis import display_zone, iso

    with display_zone("Europe/London"):
        assert iso(datetime(1, 2, 3, 20, 43, 49, tzinfo=UTC)) == "0001-02-03T20:43:49+00:00"
        assert iso(datetime(2026, 6, 1, tzinfo=UTC)) == "2026-06-01T01:00:00+01:00"


def test_times_of_year_one_west_of_greenwich_are_written() -> None:
    """St John's is 3.5 h behind: year 1's first hours have no local time (an overflow),
    and strftime wrote year 1 as '1', which the timeline could not read back."""
    from datetime import UTC, datetime

    from forensics.analysis import display_zone, iso
    from forensics.report.wording import fmt_time

    first = datetime(1, 1, 1, tzinfo=UTC)
    with display_zone("America/St_Johns"):
        assert iso(first) == "0001-01-01T00:00:00+00:00"
    assert fmt_time(datetime(1, 2, 11, 2, 57, 11, 300000, tzinfo=UTC)) == "0001-02-11 02:57:11.300"


def test_a_failure_at_the_calendar_s_ends_is_drawn_and_zoned(tmp_path: Path) -> None:
    """The timeline padded its span past year 9999 (the HTML crashed); a zone that moves
    a stamp past the calendar made loading crash."""
    from forensics.report.html import render

    log = tmp_path / "memsql.log"
    log.write_text(
        "1043992955176 9999-12-31 23:59:59.999  ERROR: Thread 1: "
        "Rebalance of database `orders` failed; 3 steps cancelled\n"
    )
    assert "<html" in render(analyze(log)).lower()
    assert analyze(log, tz="Etc/GMT+12").exit_code in (0, 1)
