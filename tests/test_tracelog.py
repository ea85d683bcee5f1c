"""Tracelog (memsql.log) parser: layout, keep filter, counts, restarts, robustness."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forensics import grammars, schemas
from forensics.errors import UsageError
from forensics.parsers import tracelog
from forensics.parsers.tracelog import parse_lines, parse_tracelog, sniff


def _load_generator():
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "gen_tracelog.py"
    spec = importlib.util.spec_from_file_location("gen_tracelog", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_tracelog"] = module
    spec.loader.exec_module(module)
    return module


gen_tracelog = _load_generator()

# --------------------------------------------------------------------------- reference samples
# singlestore-formats.md §1.2, verbatim, with the viewers' prefixes still on (stripped below).

DOCKER_PREFIX = re.compile(
    r"^(?:tc-singlestore-1  \| |\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} (?=\d+ \d{4}-))"
)

REFERENCE = [
    # (a) 2018 quickstart
    (
        "382261827 2018-11-06 22:10:52.277   WARN: Failed to allocate 67108864 bytes of memory from kernel. Error 12: Cannot allocate memory",
        dict(
            uptime_us=382261827,
            ts=datetime(2018, 11, 6, 22, 10, 52, 277000, tzinfo=UTC),
            level="WARN",
            thread=None,
            component=None,
            error_code=12,
        ),
    ),
    (
        "382261855 2018-11-06 22:10:52.277  ERROR: Out of memory allocating transaction buffer of size 64 MB.",
        dict(
            uptime_us=382261855,
            level="ERROR",
            message="Out of memory allocating transaction buffer of size 64 MB.",
        ),
    ),
    # (b) 2022 dev image, docker-compose prefix
    (
        "tc-singlestore-1  | 03880903 2022-09-30 16:01:44.154   INFO: Query information_schema.'SELECT @@memsql_version' submitted 130 milliseconds ago, queued for 22 milliseconds, compiled asynchronously in 108 milliseconds",
        dict(
            uptime_us=3880903,
            level="INFO",
            component=None,
            database=None,
            message="Query information_schema.'SELECT @@memsql_version' submitted 130 milliseconds ago, queued for 22 milliseconds, compiled asynchronously in 108 milliseconds",
        ),
    ),
    (
        "tc-singlestore-1  | 03650171 2022-09-30 16:01:43.926   INFO: Completed recovery of system databases.  Beginning recovery of user databases.",
        dict(uptime_us=3650171, level="INFO", step_event=None),
    ),
    (
        "tc-singlestore-1  | 03655365 2022-09-30 16:01:43.931   INFO: Initializing cluster management.",
        dict(message="Initializing cluster management."),
    ),
    (
        "tc-singlestore-1  | 03655413 2022-09-30 16:01:43.931   INFO: Consensus node started...",
        dict(component=None),
    ),
    (
        "tc-singlestore-1  | 03655974 2022-09-30 16:01:43.931   INFO: Thread 115029: Fn: Initializing Replication Management Thread",
        dict(
            thread=115029,
            component="Fn",
            message="Thread 115029: Fn: Initializing Replication Management Thread",
        ),
    ),
    (
        "tc-singlestore-1  | 03656188 2022-09-30 16:01:43.932   INFO: Starting the accept loop.",
        dict(ts=datetime(2022, 9, 30, 16, 1, 43, 932000, tzinfo=UTC)),
    ),
    (
        "tc-singlestore-1  | 03668121 2022-09-30 16:01:43.944   INFO: Query information_schema.'SELECT @@memsql_id' submitted for asynchronous compilation",
        dict(component=None),
    ),
    (
        "tc-singlestore-1  | 03785955 2022-09-30 16:01:44.061   INFO: Query information_schema.'SELECT node_id FROM INFORMATION_SCHEMA.lmv_nodes' submitted for asynchronous compilation",
        dict(database=None, ordinal=None),
    ),
    (
        "tc-singlestore-1  | 03798763 2022-09-30 16:01:44.074   INFO: Query information_schema.'SELECT @@memsql_version' submitted for asynchronous compilation",
        dict(uptime_us=3798763),
    ),
    # (c) 2023 dev image, Docker Desktop viewer prefix; (ntid, conn id) designator and context prefixes
    (
        "2023-01-24 01:09:04 05553922 2023-01-24 06:09:04.338   INFO: Thread 115120 (ntid 100, conn id -1): OnAsyncCompileCompleted: Query information_schema.'SELECT node_id FROM INFORMATION_SCHEMA.lmv_nodes' submitted 148 milliseconds ago, queued for 10 milliseconds, compiled asynchronously in 138 milliseconds",
        dict(
            uptime_us=5553922,
            ts=datetime(2023, 1, 24, 6, 9, 4, 338000, tzinfo=UTC),
            thread=115120,
            component="OnAsyncCompileCompleted",
        ),
    ),
    (
        "2023-01-24 01:09:04 05557792 2023-01-24 06:09:04.342   INFO: Thread 115120 (ntid 100, conn id -1): OnAsyncCompileCompleted: Query information_schema.'SELECT @@memsql_version' submitted 140 milliseconds ago, queued for 11 milliseconds, compiled asynchronously in 129 milliseconds",
        dict(thread=115120, component="OnAsyncCompileCompleted"),
    ),
    (
        "2023-01-24 01:09:04 05584337 2023-01-24 06:09:04.368   INFO: Replaying logs for db `cluster`: filename `logs/cluster_log_v1_0`: offset 0x1a0fa: Thread 115092 (ntid 161, conn id -1): SetLicenseV4: Build Hash = 24c29906ad574437950c01845abaa2a0",
        dict(
            thread=115092,
            component="SetLicenseV4",
            database="cluster",
            ordinal=None,
            message="Replaying logs for db `cluster`: filename `logs/cluster_log_v1_0`: offset 0x1a0fa: Thread 115092 (ntid 161, conn id -1): SetLicenseV4: Build Hash = 24c29906ad574437950c01845abaa2a0",
        ),
    ),
    (
        "2023-01-24 01:09:04 05584362 2023-01-24 06:09:04.368   INFO: Replaying logs for db `cluster`: filename `logs/cluster_log_v1_0`: offset 0x1a0fa: Thread 115092 (ntid 161, conn id -1): SetLicenseV4: Expiration = unlimited",
        dict(thread=115092, component="SetLicenseV4"),
    ),
    (
        "2023-01-24 01:09:04 05584369 2023-01-24 06:09:04.368   INFO: Replaying logs for db `cluster`: filename `logs/cluster_log_v1_0`: offset 0x1a0fa: Thread 115092 (ntid 161, conn id -1): SetLicenseV4: Capacity = 4 units",
        dict(thread=115092, component="SetLicenseV4"),
    ),
    # (d) Datadog pipeline samples (some without the uptime counter)
    (
        "2021-09-13 09:25:04.266   INFO: Query information_schema.'SELECT WITH(binary_serialization=1, binary_serialization_internal=1) `remote_0`.`NODE_ID` AS `NODE_ID`, `remote_0`.`INTERFACE` AS `INTERFACE`, `remote_0`.`RECEIVED_CUMULATIVE_B` AS `RECEIVED_CUMULATIVE_B`, `remote_0`.`TRANSMITTED_CUMULATIVE_B` AS `TRANSMITTED_CUMULATIVE_B` FROM `_MV_SYSINFO_NET` as `remote_0`  /*!90623 OPTION(NO_QUERY_REWRITE=1, INTERPRETER_MODE=INTERPRET_FIRST)*/' submitted 222 milliseconds ago, queued for 16 milliseconds, compiled asynchronously in 206 milliseconds",
        dict(uptime_us=None, level="INFO", database=None, ordinal=None, component=None),
    ),
    (
        "2021-09-13 12:15:02.159   INFO: Found 8 incomplete .ver files (generated by an old server version). These are treated as stale plans.",
        dict(uptime_us=None, component=None),
    ),
    (
        "12345678 2021-09-12 12:25:13.538  ERROR: `main_1` log: Disconnecting slave at node 5 because of connection error.",
        dict(
            uptime_us=12345678,
            level="ERROR",
            database="main",
            ordinal=1,
            thread=None,
            component=None,
            message="`main_1` log: Disconnecting slave at node 5 because of connection error.",
        ),
    ),
    (
        "2021-09-12 12:25:13.500   INFO: Thread 114994: AddInstance: Adding new partition instance (partition main:2, instance id 11, site id 1) on node [5] node-memsql-cluster-leaf-ag2-0.svc-memsql-cluster:3306 on site 1.  It is a master, database replication type: sync, slave state: async, term 32, and is online.",
        dict(
            thread=114994,
            component="AddInstance",
            database="main",
            ordinal=2,
            target="node-memsql-cluster-leaf-ag2-0.svc-memsql-cluster:3306",
            action=None,
        ),
    ),
    (
        "2021-09-13 12:55:07.664   WARN: socket (107) ETIMEDOUT in recv",
        dict(level="WARN", error_code=None, message="socket (107) ETIMEDOUT in recv"),
    ),
]


def strip_viewer_prefix(line: str) -> str:
    return DOCKER_PREFIX.sub("", line)


@pytest.mark.parametrize(
    ("line", "expected"), REFERENCE, ids=[f"ref{i}" for i in range(len(REFERENCE))]
)
def test_reference_line(line, expected):
    events = parse_lines([strip_viewer_prefix(line)])
    assert events.height == 1, line
    row = events.row(0, named=True)
    assert row["line"] == 1
    for name, value in expected.items():
        assert row[name] == value, name


def test_reference_lines_are_all_parsed_and_match_documented_layout():
    lines = [strip_viewer_prefix(line) for line, _ in REFERENCE]
    result = parse_tracelog(["\n".join(lines).encode()], path="m.log", node="n:1", keep_all=True)
    assert result.parsed_lines == result.lines == len(lines)
    assert result.unparsed_lines == 0
    # The named-group layout in tracelog.toml agrees with what the parser extracted.
    full = re.compile(_line_regex())
    for line, row in zip(
        lines,
        result.events.filter(pl.col("component").ne_missing("forensics")).iter_rows(named=True),
        strict=True,
    ):
        m = full.match(line)
        assert m, line
        assert m["message"] == row["message"]
        assert (int(m["uptime"]) if m["uptime"] else None) == row["uptime_us"]


def _line_regex() -> str:
    levels = grammars.load("tracelog")["levels"]
    alternation = "|".join(sorted(map(re.escape, levels), key=len, reverse=True))
    return grammars.load("tracelog")["layout"]["line"].replace("@LEVELS@", alternation)


# --------------------------------------------------------------------------- schemas


def test_schemas_exact():
    result = parse_tracelog([b"1 2024-01-01 00:00:00.000   WARN: x\n"], path="p", node="n:1")
    assert result.events.schema == schemas.EVENTS
    assert result.counts.schema == schemas.LINE_COUNTS
    assert parse_lines([]).schema == schemas.EVENTS
    empty = parse_tracelog([], path="p", node="n:1")
    assert empty.events.schema == schemas.EVENTS and empty.counts.schema == schemas.LINE_COUNTS
    assert (empty.lines, empty.unparsed_lines, empty.first_ts, empty.restarts) == (0, 0, None, 0)


def test_node_and_file_columns():
    result = parse_tracelog(
        [b"2024-01-01 00:00:00.000  ERROR: x\n"], path="a/memsql.log", node="10.0.0.3:3306"
    )
    assert result.events.select("node", "file").row(0) == ("10.0.0.3:3306", "a/memsql.log")
    assert result.counts.select("node", "file").unique().rows() == [
        ("10.0.0.3:3306", "a/memsql.log")
    ]


# --------------------------------------------------------------------------- layout variants


@pytest.mark.parametrize(
    ("line", "level", "uptime", "ts"),
    [
        (
            "2024-01-01 10:00:00.123   INFO: x",
            "INFO",
            None,
            datetime(2024, 1, 1, 10, 0, 0, 123000, tzinfo=UTC),
        ),
        (
            "00000042 2024-01-01 10:00:00.123456   WARN: x",
            "WARN",
            42,
            datetime(2024, 1, 1, 10, 0, 0, 123456, tzinfo=UTC),
        ),
        ("42 2024-01-01 10:00:00.123 WARNING: x", "WARN", 42, None),
        ("42 2024-01-01 10:00:00.123 FAILURE: x", "FAILURE", 42, None),
        ("42\t2024-01-01 10:00:00.123\tERROR: x", "ERROR", 42, None),
        ("42 2024-01-01 10:00:00.123   INFO: x\r", "INFO", 42, None),
        (
            "42 2024-01-01 10:00:00   INFO: x",
            "INFO",
            42,
            datetime(2024, 1, 1, 10, 0, 0, tzinfo=UTC),
        ),
    ],
)
def test_layout_variants(line, level, uptime, ts):
    events = parse_lines([line])
    row = events.row(0, named=True)
    assert (row["level"], row["uptime_us"], row["message"]) == (level, uptime, "x")
    if ts is not None:
        assert row["ts"] == ts


@pytest.mark.parametrize(
    "line",
    [
        "2024-02-30 10:00:00.123   INFO: no such day",
        "2024-01-01 25:00:00.123   INFO: no such hour",
        "2024-01-01 10:00:00.123   DEBUG: unknown level",
        "2024-01-01 10:00:00.123 INFO no colon",
        "INFO: 2024-01-01 10:00:00.123 wrong order",
        "| 2024-01-01 10:00:00.123 | INFO | boxed table |",
    ],
)
def test_not_the_layout_is_unparsed_not_an_error(line):
    result = parse_tracelog([line.encode()], path="p", node="n:1")
    assert (result.lines, result.unparsed_lines, result.events.height) == (1, 1, 0)
    assert result.unparsed_samples == [(1, line[:200])]


def test_component_is_conservative_without_thread():
    events = parse_lines(
        [
            "2024-01-01 10:00:00.000   WARN: OnAsyncCompileCompleted: took long",
            "2024-01-01 10:00:00.000   WARN: Warning: SSE4.2 is not supported.",
            "2024-01-01 10:00:00.000   WARN: Query information_schema.'SELECT 1' failed",
            "2024-01-01 10:00:00.000   WARN: WaitForLSNWithTimeout: timed out",
        ]
    )
    assert events.get_column("component").to_list() == [
        "OnAsyncCompileCompleted",
        None,
        None,
        "WaitForLSNWithTimeout",
    ]
    assert events.get_column("message")[3] == "WaitForLSNWithTimeout: timed out"


# --------------------------------------------------------------------------- keep filter and counts


NOISE = "05553922 2023-01-24 06:09:04.338   INFO: Thread 115120 (ntid 100, conn id -1): OnAsyncCompileCompleted: Query information_schema.'SELECT 1' submitted 1 milliseconds ago"


def test_keep_filter_drops_info_noise_but_counts_it():
    lines = [
        NOISE,
        "05553923 2023-01-24 06:09:04.339   INFO: REBALANCE PARTITIONS ON sales started",
        "05553924 2023-01-24 06:10:04.339   WARN: anything at all",
        "05553925 2023-01-24 06:10:05.339   INFO: Lock wait timeout exceeded",
        NOISE.replace("06:09", "06:11"),
    ]
    result = parse_tracelog(["\n".join(lines).encode()], path="p", node="n:1")
    assert result.events.get_column("line").to_list() == [2, 3, 4]
    counts = {
        (m.minute, lvl): n
        for m, lvl, n in result.counts.select(
            pl.col("minute").dt.time().alias("minute"), "level", "lines"
        ).iter_rows()
    }
    assert sum(counts.values()) == result.lines == 5
    assert result.counts.filter(pl.col("level") == "INFO").get_column("lines").sum() == 4
    assert parse_lines(lines).height == 5  # keep_all


def test_counts_put_continuation_and_unparsed_in_the_previous_minute():
    data = b"1 2024-01-01 10:00:59.000   INFO: a\n  at frame 1\n\ngarbage\n2 2024-01-01 10:01:00.000   INFO: b\n"
    result = parse_tracelog([data], path="p", node="n:1")
    rows = result.counts.select(pl.col("minute").dt.minute(), "level", "lines").rows()
    assert sorted(rows) == [
        (0, "CONTINUATION", 2),
        (0, "INFO", 1),
        (0, "UNPARSED", 1),
        (1, "INFO", 1),
    ]
    assert (result.parsed_lines, result.continuation_lines, result.unparsed_lines) == (2, 2, 1)


def test_time_zone_conversion():
    line = b"1 2024-07-01 12:00:00.000   WARN: x\n"
    result = parse_tracelog([line], path="p", node="n:1", tz="Europe/Berlin")
    assert result.events.get_column("ts")[0] == datetime(2024, 7, 1, 10, 0, tzinfo=UTC)
    assert result.first_ts == result.last_ts == datetime(2024, 7, 1, 10, 0, tzinfo=UTC)
    assert result.counts.get_column("minute")[0] == datetime(2024, 7, 1, 10, 0, tzinfo=UTC)
    with pytest.raises(UsageError):
        parse_tracelog([line], path="p", node="n:1", tz="Mars/Olympus")


def test_nonexistent_local_time_is_warned():
    line = b"1 2024-03-31 02:30:00.000   WARN: in the DST gap\n"
    result = parse_tracelog([line], path="p", node="n:1", tz="Europe/Berlin")
    assert any("does not exist" in w for w in result.warnings)


# --------------------------------------------------------------------------- restarts and order


def test_restart_detected_as_synthetic_event():
    lines = [
        "912345678 2024-01-01 10:00:00.000   INFO: Thread 1: Fn: running",
        "912345999 2024-01-01 10:00:01.000   INFO: noise",
        "00012345 2024-01-01 10:05:00.000   INFO: noise after restart",
        "00012399 2024-01-01 10:05:00.100   INFO: noise",
        "00012350 2024-01-01 10:05:00.200   INFO: small jitter is not a restart",
    ]
    result = parse_tracelog(["\n".join(lines).encode()], path="p", node="n:1")
    assert result.restarts == 1
    row = result.events.filter(pl.col("step_event") == "node_restart").row(0, named=True)
    assert row["line"] == 3 and row["level"] == "INFO" and row["component"] == "forensics"
    # placed when the node was last seen alive: the crash lies between that line and the reset
    assert row["ts"] == datetime(2024, 1, 1, 10, 0, 1, tzinfo=UTC)
    assert row["message"] == (
        "node restart detected: last line before it at 2024-01-01 10:00:01.000, back at "
        "2024-01-01 10:05:00.000; uptime counter went from 912345999 to 12345"
    )
    assert row["uptime_us"] == 12345


def test_restart_rows_come_before_the_kept_line():
    lines = ["900000000 2024-01-01 10:00:00.000   WARN: a", "5 2024-01-01 10:00:01.000   WARN: b"]
    events = parse_lines(lines)
    assert events.select("line", "step_event").rows() == [(1, None), (2, "node_restart"), (2, None)]


def test_out_of_order_counted_and_warned():
    lines = [
        "1 2024-01-01 10:00:02.000   INFO: a",
        "2 2024-01-01 10:00:01.000   INFO: b",
        "3 2024-01-01 10:00:03.000   INFO: c",
        "4 2024-01-01 10:00:00.500   INFO: d",
    ]
    result = parse_tracelog(["\n".join(lines).encode()], path="x/memsql.log", node="n:1")
    assert "x/memsql.log:2: 2 lines out of time order" in result.warnings
    assert result.first_ts == datetime(2024, 1, 1, 10, 0, 0, 500000, tzinfo=UTC)
    assert result.last_ts == datetime(2024, 1, 1, 10, 0, 3, tzinfo=UTC)


# --------------------------------------------------------------------------- broken bytes


def test_invalid_utf8_nul_crlf_truncated():
    data = (
        b"1 2024-01-01 10:00:00.000   WARN: bad \xff\xfe bytes\r\n"
        b"2 2024-01-01 10:00:01.000   WARN: nul \x00 inside\r\n"
        b"3 2024-01-01 10:00:02.000   WARN: truncated last li"
    )
    result = parse_tracelog([data], path="p", node="n:1")
    assert result.lines == result.parsed_lines == 3
    assert result.events.get_column("message").to_list() == [
        "bad \ufffd\ufffd bytes",
        "nul \x00 inside",
        "truncated last li",
    ]
    assert "p: invalid UTF-8 replaced in 1 lines" in result.warnings
    assert "p: NUL bytes in 1 lines" in result.warnings


def test_very_long_line_and_empty_input():
    long = (
        b"1 2024-01-01 10:00:00.000   WARN: "
        + b"x" * 5_000_000
        + b"\n2 2024-01-01 10:00:01.000   WARN: y\n"
    )
    result = parse_tracelog(
        [long[i : i + 65536] for i in range(0, len(long), 65536)],
        path="p",
        node="n:1",
        chunk_bytes=1 << 20,
    )
    assert result.lines == 2 and result.events.height == 2
    assert len(result.events.get_column("message")[0]) == 5_000_000
    for empty in ([], [b""], [b"", b""]):
        r = parse_tracelog(empty, path="p", node="n:1")
        assert (r.lines, r.events.height, r.counts.height) == (0, 0, 0)
    assert parse_tracelog([b"\n"], path="p", node="n:1").continuation_lines == 1


def test_binary_garbage_never_raises():
    garbage = bytes(range(256)) * 50
    result = parse_tracelog([garbage], path="p", node="n:1")
    assert result.lines == result.parsed_lines + result.unparsed_lines + result.continuation_lines


def test_all_separator_candidates_present_falls_back():
    every_control = bytes(range(1, 32)).replace(b"\n", b"")
    data = (
        b"1 2024-01-01 10:00:00.000   WARN: "
        + every_control
        + b"\n2 2024-01-01 10:00:01.000   WARN: ok\n"
    )
    result = parse_tracelog([data], path="p", node="n:1")
    assert result.lines == 2 and result.events.height == 2


# --------------------------------------------------------------------------- chunking


def _sample_log() -> bytes:
    lines = list(gen_tracelog.lines(60_000, seed=3))
    lines[40] = "   continuation of something"
    lines[41] = "garbage line"
    lines[120] = "00000005 2024-03-04 09:00:09.000   INFO: restarted"
    at = 200  # an error whose detail is on continuation lines (across piece boundaries too)
    lines[at] = lines[at].split("   INFO: ")[0] + "  ERROR: COPY PARTITION sales:3 failed"
    lines[at + 1] = "    Leaf error (10.0.0.5:3306): Out of memory"
    lines[at + 2] = "\tat frame 2"
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize(("piece", "chunk_bytes"), [(7, 64), (1000, 4096), (65536, 1 << 20)])
def test_chunk_boundaries_do_not_change_the_result(piece, chunk_bytes):
    data = _sample_log()
    whole = parse_tracelog([data], path="p", node="n:1")
    split = parse_tracelog(
        [data[i : i + piece] for i in range(0, len(data), piece)],
        path="p",
        node="n:1",
        chunk_bytes=chunk_bytes,
    )
    assert split.events.equals(whole.events)
    assert split.counts.sort("minute", "level").equals(whole.counts.sort("minute", "level"))
    assert (split.lines, split.unparsed_lines, split.restarts, split.unparsed_samples) == (
        whole.lines,
        whole.unparsed_lines,
        whole.restarts,
        whole.unparsed_samples,
    )
    assert split.warnings == whole.warnings
    assert whole.lines == data.count(b"\n")
    assert whole.restarts == 1 and whole.unparsed_samples == [(42, "garbage line")]
    failed = whole.events.filter(pl.col("line") == 201).get_column("message").item()
    assert (
        failed
        == "COPY PARTITION sales:3 failed\n    Leaf error (10.0.0.5:3306): Out of memory\n\tat frame 2"
    )


def _continued_log(extra: int) -> bytes:
    lines = [
        "2024-03-04 09:00:00.000  ERROR: Thread 12: CopyPartition: copy of `sales`:3 failed:",
        "    Leaf error (10.0.0.5:3306): Out of memory",
        *[f"\t  frame {i}" for i in range(extra)],
        "2024-03-04 09:00:01.000   INFO: Heartbeat answered",
        "    detail of a line that is not kept",
        "2024-03-04 09:00:02.000   WARN: slow disk",
        "",
        "    after an empty line: not part of the warning",
        "2024-03-04 09:00:03.000   WARN: last",
        "   ",
        "    after a line of blanks: not part of it either",
    ]
    return ("\n".join(lines) + "\n").encode()


def test_continuation_lines_are_part_of_the_kept_line_before_them():
    result = parse_tracelog([_continued_log(2)], path="p", node="n:1")
    messages = result.events.get_column("message").to_list()
    assert messages == [
        "Thread 12: CopyPartition: copy of `sales`:3 failed:\n"
        "    Leaf error (10.0.0.5:3306): Out of memory\n\t  frame 0\n\t  frame 1",
        "slow disk",
        "last",
    ]
    # the first line is the event's line; the others are still counted as continuation
    assert result.events.get_column("line").to_list() == [1, 7, 10]
    assert result.events.get_column("component").to_list() == ["CopyPartition", None, None]
    assert result.continuation_lines == 8


@pytest.mark.parametrize("path", ["polars", "compiled", "lean"])
def test_unindented_detail_lines_are_part_of_the_kept_line_before_them(monkeypatch, path):
    """A line that does not start with a digit (every line of the layout does) continues
    the line before it (singlestore-formats.md §1.3: tolerate continuation lines that do
    not start with digits): its text is part of the event, and it is still counted as
    unparsed. A line led by a digit is not such a line. The same in every parse path."""
    lines = [
        "1000000 2024-03-04 09:00:00.000  ERROR: Thread 12: CopyPartition: copy of `sales`:3 failed:",
        "Leaf Error (10.0.0.5:3306): Not enough memory available",
        "query: COPY PARTITION sales:3",
        *[f"1{i:06d}00 2024-03-04 09:00:01.000   INFO: Heartbeat answered" for i in range(300)],
        "1500000000 2024-03-04 09:00:02.000   WARN: slow disk",
        "2024 was a year: led by a digit, not part of the warning",
    ]
    data = ("\n".join(lines) + "\n").encode()
    lean = path == "lean"
    if path != "polars":
        small = dataclasses.replace(tracelog._layout(), fast_min_bytes=0)
        monkeypatch.setattr(tracelog, "_layout", lambda: small)
    result = parse_tracelog([data], path="p", node="n:1", lean=lean)
    assert result.events.get_column("message").to_list() == [
        "Thread 12: CopyPartition: copy of `sales`:3 failed:\n"
        "Leaf Error (10.0.0.5:3306): Not enough memory available\n"
        "query: COPY PARTITION sales:3",
        "slow disk",
    ]
    assert result.events.get_column("line").to_list() == [1, 304]
    if not lean:  # (the lean pass does not measure unparsed lines)
        assert result.unparsed_lines == 3


def test_a_long_backtrace_is_cut_at_the_configured_number_of_lines():
    limit = tracelog._layout().continuation_lines
    result = parse_tracelog([_continued_log(limit + 5)], path="p", node="n:1")
    first = result.events.get_column("message").item(0)
    assert first.count("\n") == limit and first.endswith(f"frame {limit - 2}")


def test_generator_buries_a_rebalance_failure():
    data = "\n".join(gen_tracelog.lines(200_000)).encode()
    events = parse_tracelog([data], path="p", node="n:1").events
    steps = events.filter(pl.col("step_event").is_not_null()).select(
        "step_event", "database", "ordinal", "action", "target", "error_code"
    )
    assert steps.rows() == [
        ("rebalance_start", "sales", None, None, None, None),
        ("step_start", "sales", 7, "COPY PARTITION", "10.0.0.4:3306", None),
        ("step_failure", "sales", 7, "COPY PARTITION", "10.0.0.4:3306", 1317),
        ("rebalance_failure", "sales", None, None, None, None),
    ]


def test_generator_is_deterministic(tmp_path):
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    gen_tracelog.write(a, 0.05)
    gen_tracelog.write(b, 0.05)
    assert a.read_bytes() == b.read_bytes()
    assert sniff(a.read_bytes()[:4096])


# --------------------------------------------------------------------------- sniff


def test_sniff():
    assert sniff(b"382261827 2018-11-06 22:10:52.277   WARN: Failed to allocate\n")
    assert sniff(b"\n\n2021-09-13 12:55:07.664   WARN: socket (107) ETIMEDOUT in recv\n")
    assert sniff(b"\xef\xbb\xbf2021-09-13 12:55:07.664   WARN: x\r\n")
    assert not sniff(b"")
    assert not sniff(bytes(range(256)) * 20)
    assert not sniff(b"+------+------+\n| Host | Port |\n+------+------+\n| h1   | 3306 |\n")
    assert not sniff(b"Host\tPort\tRole\nh1\t3306\tMaster\n")
    assert not sniff(b'{"columns": ["a"], "rows": []}')
    assert tracelog.NAME == "memsql_log"


# --------------------------------------------------------------------------- property


LINE = st.sampled_from(
    [strip_viewer_prefix(line) for line, _ in REFERENCE] + ["  cont", "", "junk"]
)


@st.composite
def mutated_logs(draw):
    lines = draw(st.lists(LINE, max_size=12))
    data = bytearray("\n".join(lines).encode())
    for _ in range(draw(st.integers(0, 6))):
        if data:
            pos = draw(st.integers(0, len(data) - 1))
            data[pos] = draw(st.integers(0, 255))
    data += draw(st.binary(max_size=40))
    return bytes(data)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated_logs(), piece=st.integers(1, 64))
def test_property_never_raises_and_lines_add_up(data, piece):
    pieces = [data[i : i + piece] for i in range(0, len(data), piece)]
    result = parse_tracelog(pieces, path="p", node="n:1", chunk_bytes=32)
    assert result.lines == result.parsed_lines + result.unparsed_lines + result.continuation_lines
    expected = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    assert result.lines == expected
    assert result.counts.get_column("lines").sum() == result.lines
    assert result.events.schema == schemas.EVENTS
    whole = parse_tracelog([data], path="p", node="n:1")
    assert whole.events.equals(result.events)


@pytest.mark.parametrize("start", [b"(\xb5/\xfd", b"\x1f\x8b", b"x^ "])
def test_text_that_starts_like_compressed_data_is_read_as_lines(start):
    """The line splitter must not try to decompress a piece that starts with a gzip,
    zstd or zlib magic number (found by the property test below)."""
    data = start + b"junk\n2026-02-11 01:12:55.373   WARN: after the junk\n"
    result = parse_tracelog([data], path="p", node="n:1", chunk_bytes=8)
    assert (result.lines, result.unparsed_lines) == (2, 1)
    assert result.events.get_column("message").to_list() == ["after the junk"]


def test_a_log_written_as_json_lines_is_read_from_the_field_holding_the_line(tmp_path):
    """Docker's json-file driver and log shippers write one JSON object per line; the
    tracelog line is its "log" (or "message") field. The events are those of the bare
    lines, with the file's own line numbers; a line that is no JSON object is counted
    as unparsed, not lost."""
    import json

    from forensics.loader import load_bundle

    bare = [strip_viewer_prefix(line) for line, _ in REFERENCE]
    bare.append('06000000 2023-01-24 06:09:05.000   WARN: Thread 7: Fn: say "hi" \\ bye')

    def load(lines: list[str], name: str):
        path = tmp_path / name / "memsql.log"
        path.parent.mkdir()
        path.write_text("\n".join(lines) + "\n")
        return load_bundle([path])

    expected = load(bare, "bare").events.drop("file", "node")
    docker = [json.dumps({"log": f"{line}\n", "stream": "stdout", "time": "t"}) for line in bare]
    shipper = [json.dumps({"@timestamp": "t", "message": line, "host": "h"}) for line in bare]
    for name, lines in (("docker", docker), ("shipper", shipper)):
        got = load(lines, name)
        assert got.files.get_column("kind").to_list() == ["memsql_log"], name
        assert got.events.drop("file", "node").equals(expected), name
    broken = load([*docker[:3], "not json", *docker[3:]], "broken")
    assert broken.files.get_column("unparsed_lines").to_list() == [1]
    assert broken.events.get_column("line").to_list()[-1] == len(bare) + 1


def test_lines_captured_through_a_log_viewer_are_read_as_the_tracelog(tmp_path):
    """kubectl/docker timestamps, docker-compose names and Docker Desktop's own time in
    front of every line (singlestore-formats.md §1.2b, §1.2c): the same events as the
    bare lines, with the file's own line numbers."""
    from forensics.loader import load_bundle

    warn = "06000000 2023-01-24 06:09:05.000   WARN: Thread 7: Fn: partition copy stalled"
    compose = [line for line, _ in REFERENCE if line.startswith("tc-singlestore-1  | ")]
    compose.append(f"tc-singlestore-1  | {warn}")
    desktop = [
        line for line, _ in REFERENCE if re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \d+ ", line)
    ]
    desktop.append(f"2023-01-24 01:09:05 {warn}")
    bare = [strip_viewer_prefix(line) for line in compose]
    kubectl = [f"2026-03-05T14:10:{i:02d}.{i:09d}Z {line}" for i, line in enumerate(bare)]
    # the container runtime's own file (CRI): time, stream and a full-line tag
    cri = [f"2026-03-05T14:10:{i:02d}.{i:09d}Z stdout F {line}" for i, line in enumerate(bare)]
    assert compose and desktop

    def events(lines: list[str], name: str) -> pl.DataFrame:
        path = tmp_path / name / "memsql.log"
        path.parent.mkdir()
        path.write_text("\n".join(lines) + "\n")
        bundle = load_bundle([path])
        assert bundle.files.get_column("skipped_reason").to_list() == [None]
        return bundle.events.drop("file", "node")

    for name, lines, plain in (
        ("compose", compose, [strip_viewer_prefix(line) for line in compose]),
        ("desktop", desktop, [strip_viewer_prefix(line) for line in desktop]),
        ("kubectl", kubectl, bare),
        ("cri", cri, bare),
    ):
        expected = events(plain, f"{name}-bare")
        got = events(lines, name)
        assert got.height and got.equals(expected), name
