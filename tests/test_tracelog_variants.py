"""Tracelogs rewritten by log shippers or written in slightly other layouts
(grammars/tracelog.toml): level words in lower or title case or in square brackets (the
colon then optional), the ISO 8601 `T`, a zone after the time, a comma before the
fraction. Every path reads them alike."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from forensics.parsers import layout, linescan, tracelog
from forensics.parsers.tracelog import parse_lines, parse_tracelog, sniff

WALL = datetime(2026, 3, 10, 2, 0, 30, 902348)


def _utc(wall: datetime, hours: float = 0) -> datetime:
    return (wall - timedelta(hours=hours)).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("line", "level", "uptime", "ts"),
    [
        ("2026-03-10 02:00:30.902348   error: x", "ERROR", None, _utc(WALL)),
        ("7 2026-03-10 02:00:30.902348  Error: x", "ERROR", 7, _utc(WALL)),
        ("2026-03-10 02:00:30.902348   warn: x", "WARN", None, _utc(WALL)),
        ("2026-03-10 02:00:30.902348   warning: x", "WARN", None, _utc(WALL)),
        ("2026-03-10 02:00:30.902348   Warning: x", "WARN", None, _utc(WALL)),
        ("2026-03-10 02:00:30.902348   info: x", "INFO", None, _utc(WALL)),
        ("2026-03-10 02:00:30.902348   fatal: x", "FAILURE", None, _utc(WALL)),
        ("2026-03-10T02:00:30.902348   INFO: x", "INFO", None, _utc(WALL)),
        ("2026-03-10T02:00:30.902348Z   INFO: x", "INFO", None, _utc(WALL)),
        ("2026-03-10T02:00:30.902348+01:00 ERROR: x", "ERROR", None, _utc(WALL, 1)),
        ("2026-03-10T02:00:30.902348+0100 ERROR: x", "ERROR", None, _utc(WALL, 1)),
        ("2026-03-10T02:00:30.902348-05:30 ERROR: x", "ERROR", None, _utc(WALL, -5.5)),
        ("9 2026-03-10T02:00:30.902348-0530\tERROR: x", "ERROR", 9, _utc(WALL, -5.5)),
        ("2026-03-10 02:00:30.902348 UTC   INFO: x", "INFO", None, _utc(WALL)),
        ("2026-03-10 02:00:30.902348 GMT   INFO: x", "INFO", None, _utc(WALL)),
        ("2026-03-10 02:00:30,902   INFO: x", "INFO", None, _utc(WALL.replace(microsecond=902000))),
        ("2026-03-10T02:00:30,902+01:00 warn: x", "WARN", None, _utc(WALL.replace(microsecond=902000), 1)),
        ("2026-03-10T02:00:30 error: x", "ERROR", None, _utc(WALL.replace(microsecond=0))),
        ("2026-03-10T00:30:00+01:00 error: x", "ERROR", None, datetime(2026, 3, 9, 23, 30, tzinfo=UTC)),
        ("7 2026-03-10 02:00:30.902348 [WARN] x", "WARN", 7, _utc(WALL)),
        ("7 2026-03-10 02:00:30.902348 [ERROR]: x", "ERROR", 7, _utc(WALL)),
        ("2026-03-10T02:00:30.902348Z [error] x", "ERROR", None, _utc(WALL)),
        ("2026-03-10T02:00:30.902348+01:00\t[Warning]: x", "WARN", None, _utc(WALL, 1)),
        ("2026-03-10 02:00:30,902 UTC   [info] x", "INFO", None, _utc(WALL.replace(microsecond=902000))),
        ("2026-03-10 02:00:30.902348 [FATAL]:\tx", "FAILURE", None, _utc(WALL)),
        ("2026-03-10 02:00:30.902 [INFO ] x", "INFO", None, _utc(WALL.replace(microsecond=902000))),
        ("2026-03-10 02:00:30.902348 [WARN ] x", "WARN", None, _utc(WALL)),
        ("7 2026-03-10 02:00:30.902348 [ WARN]: x", "WARN", 7, _utc(WALL)),
        ("2026-03-10T02:00:30.902348Z [ error ] x", "ERROR", None, _utc(WALL)),
        ("2026-03-10 02:00:30.902348 [Info   ]\tx", "INFO", None, _utc(WALL)),
    ],
)  # fmt: skip
def test_variant_lines(line, level, uptime, ts):
    row = parse_lines([line]).row(0, named=True)
    assert (row["level"], row["uptime_us"], row["message"], row["ts"]) == (level, uptime, "x", ts)


@pytest.mark.parametrize(
    "line",
    [
        "2026-03-10T02:00:30.902+24:00 ERROR: no such offset",
        "2026-03-10T02:00:30.902+01:60 ERROR: no such offset",
        "2026-03-10T02:00:30.902 CET ERROR: not a zone word read",
        "2026-03-10T02:00:30.902z ERROR: lower-case z",
        "2026-03-10 02:00:30.902UTC ERROR: the zone word needs a blank",
        "2026-03-10t02:00:30.902 ERROR: lower-case t",
        "2026-03-10 02:00:30.902 eRROR: neither lower, title nor upper case",
        "0001-01-01T00:00:00+01:00 ERROR: before year 1 in UTC",
        "2026-03-10 02:00:30.902 [ERROR no closing bracket",
        "2026-03-10 02:00:30.902 [ERROR: no closing bracket",
        "2026-03-10 02:00:30.902 ERROR] no opening bracket",
        "2026-03-10 02:00:30.902 ERROR neither brackets nor colon",
        "2026-03-10 02:00:30.902 [[ERROR]] doubled brackets",
        "2026-03-10 02:00:30.902 [\tERROR] a tab inside the brackets",
        "2026-03-10 02:00:30.902 [ERROR : blank, no closing bracket",
        "2026-03-10 02:00:30.902 ERROR ] blank, no opening bracket",
    ],
)
def test_not_a_variant_is_unparsed(line):
    result = parse_tracelog([line.encode()], path="p", node="n:1")
    assert (result.lines, result.unparsed_lines, result.events.height) == (1, 1, 0)


def test_an_offset_overrides_the_time_zone_option():
    lines = [
        "2026-03-10 02:00:00.000   ERROR: read in --tz",
        "2026-03-10T02:00:00.000+01:00   ERROR: its own offset",
        "2026-03-10T02:00:00.000Z   ERROR: UTC",
        "2026-03-10 02:00:00.000 GMT   ERROR: UTC",
    ]
    ts = parse_lines(lines, tz="America/New_York").get_column("ts").to_list()
    assert ts == [
        datetime(2026, 3, 10, 6, 0, tzinfo=UTC),  # EDT from 2026-03-08: UTC-4
        datetime(2026, 3, 10, 1, 0, tzinfo=UTC),
        datetime(2026, 3, 10, 2, 0, tzinfo=UTC),
        datetime(2026, 3, 10, 2, 0, tzinfo=UTC),
    ]


@pytest.mark.parametrize(
    "head",
    [
        b"345629907123 2026-03-10 02:00:29.907   info: Thread 1: ReplicationManagement: ok\n",
        b"2026-03-10 02:00:29.907   Warning: x\n",
        b"2026-03-10T02:00:30.902348+01:00   INFO: Thread 1: x\n",
        b"2026-03-10T02:00:30.902348Z   INFO: x\n",
        b"2026-03-10 02:00:30.902348 UTC   INFO: x\n",
        b"2026-03-10 02:00:30,902   INFO: x\n",
        b"5407130092 2026-03-14 06:00:00.000 [WARN] Thread 115262: x\n",
        b"2026-03-14T06:00:00.000Z [error]: x\n",
        b"2026-03-14 08:00:00.394 [INFO ] Thread 115001: StatsCollector: sampled 16 tables\n",
        b"2026-03-14 08:00:00.394 [ INFO] Thread 115001: x\n",
    ],
)
def test_sniff_recognises_the_variants(head):
    assert sniff(head)
    assert layout.viewer_prefix(b"2026-03-05T14:10:00.1Z " + head) is not None


def test_a_variant_file_among_canonical_ones_is_loaded(tmp_path):
    """A file in a variant layout beside canonical ones is read, not skipped."""
    from forensics.loader import load_bundle

    files = {
        "10.0.0.10_3306": "2026-03-10 02:05:42.300  ERROR: Rebalance: step 1 failed\n",
        "10.0.0.14_3306": "2026-03-10T03:05:41.300+01:00  error: write failed: No space left\n",
    }
    bundle = load_bundle(_node_logs(tmp_path, files))
    assert bundle.files.get_column("skipped_reason").to_list() == [None, None]
    events = bundle.events.sort("ts")
    assert events.get_column("level").to_list() == ["ERROR", "ERROR"]
    assert events.get_column("ts").to_list() == [
        datetime(2026, 3, 10, 2, 5, 41, 300000, tzinfo=UTC),
        datetime(2026, 3, 10, 2, 5, 42, 300000, tzinfo=UTC),
    ]


# --------------------------------------------------------------------------- property

_SPELLINGS = {
    "INFO": ["INFO", "info", "Info"],
    "WARN": ["WARN", "warn", "Warn", "WARNING", "warning", "Warning"],
    "ERROR": ["ERROR", "error", "Error"],
    "FAILURE": ["FAILURE", "failure", "Failure", "FATAL", "fatal", "Fatal"],
}


@st.composite
def variant_lines(draw):
    """A line in any layout variant and the level and UTC time it must give."""
    wall = draw(st.datetimes(datetime(1990, 1, 1), datetime(2100, 1, 1)))
    level = draw(st.sampled_from(sorted(_SPELLINGS)))
    word = draw(st.sampled_from(_SPELLINGS[level]))
    digits = draw(st.integers(0, 9))
    separator = draw(st.sampled_from([" ", "T"]))
    comma = draw(st.sampled_from([".", ","]))
    text = wall.strftime(f"%Y-%m-%d{separator}%H:%M:%S")
    fraction = f"{wall.microsecond:06d}{draw(st.integers(0, 999)):03d}"[:digits]
    if digits:
        text += comma + fraction
    kept = int((fraction + "000000")[:6]) if digits else 0
    zone = draw(st.sampled_from(["", "Z", " UTC", " GMT", "offset", "compact"]))
    offset = timedelta(0)
    if zone in ("offset", "compact"):
        minutes = draw(st.integers(-23 * 60 - 59, 23 * 60 + 59))
        offset = timedelta(minutes=minutes)
        sign, hh, mm = "-" if minutes < 0 else "+", abs(minutes) // 60, abs(minutes) % 60
        zone = f"{sign}{hh:02d}:{mm:02d}" if zone == "offset" else f"{sign}{hh:02d}{mm:02d}"
    counter = draw(st.sampled_from(["", "12345 "]))
    pad = draw(st.sampled_from([" ", "   ", "\t"]))
    form = draw(st.sampled_from(["{}:", "[{}]", "[{}]:", "[{} ]", "[ {}]:", "[  {}  ]"]))
    line = f"{counter}{text}{zone}{pad}{form.format(word)} partition copy"
    utc = wall.replace(microsecond=kept, tzinfo=timezone(offset)).astimezone(UTC)
    return line, level, utc


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(variant_lines(), min_size=1, max_size=12))
def test_variants_give_the_expected_level_and_time(rows):
    events = parse_lines([line for line, _, _ in rows])
    assert events.get_column("level").to_list() == [level for _, level, _ in rows]
    assert events.get_column("ts").to_list() == [ts for _, _, ts in rows]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(variant_lines(), min_size=1, max_size=12),
    canonical=st.integers(0, 40),
    tz=st.sampled_from(["UTC", "Europe/Paris"]),
)
def test_every_path_gives_the_same_events(rows, canonical, tz):
    """Compiled path (variants as slow rows), lean pass and Polars path: same events."""
    if not linescan.available(tracelog._layout().vocabulary):
        pytest.skip("Hyperscan not installed")
    lines = [f"2026-03-10 02:00:{i % 60:02d}.{i:03d}   INFO: copy {i}" for i in range(canonical)]
    lines += [line for line, _, _ in rows]
    text = "\n".join(lines).encode()
    small = dataclasses.replace(tracelog._layout(), fast_min_bytes=0)
    args = {"path": "m.log", "node": "n:1", "tz": tz}
    with pytest.MonkeyPatch.context() as m:
        m.setattr(tracelog, "_layout", lambda: small)
        fast = parse_tracelog([text], **args)
        lean = parse_tracelog([text], lean=True, **args)
        m.setattr(linescan, "have_hyperscan", lambda: False)
        slow = parse_tracelog([text], **args)
    assert_frame_equal(fast.events, slow.events)
    assert_frame_equal(lean.events, slow.events)
    assert_frame_equal(fast.counts, slow.counts)
    assert fast.events.filter(pl.col("message").str.starts_with("partition")).height == len(rows)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(
            b"2026-02-11 01:12:55.373   info: nothing to see\n"
            b"2026-02-11 01:12:55.374   warn: slow reply\n"
            b"2026-02-11 01:12:55.375   Warning: slow reply\n"
            b"2026-02-11 01:12:55.376   INFO: peer said warn: slow reply\n",
            id="lower-case",
        ),
        # `[warn]` with no colon after it is a kept level word too
        pytest.param(
            b"2026-02-11 01:12:55.373 [info] nothing to see\n"
            b"2026-02-11 01:12:55.374 [warn] slow reply\n"
            b"2026-02-11 01:12:55.375 [Warning]: slow reply\n"
            b"2026-02-11 01:12:55.376 [INFO] peer said [WARN] slow reply\n",
            id="bracketed",
        ),
        # log4j's `%-5p` and `%5p` pad the word inside the brackets: `[WARN ]`, `[ WARN]`
        pytest.param(
            b"2026-02-11 01:12:55.373 [INFO ] nothing to see\n"
            b"2026-02-11 01:12:55.374 [WARN ] slow reply\n"
            b"2026-02-11 01:12:55.375 [ WARN]: slow reply\n"
            b"2026-02-11 01:12:55.376 [INFO ] peer said [WARN ] slow reply\n",
            id="padded",
        ),
    ],
)
def test_the_lean_pass_finds_warnings_without_a_keep_word(data: bytes) -> None:
    """``forensics scan`` keeps a WARN line by its level word alone, in any spelling the
    layout reads; an INFO line that mentions one is not kept."""
    if not linescan.available(tracelog._layout().vocabulary):
        pytest.skip("Hyperscan not installed")
    lean = tracelog._lean_path(data)
    assert lean is not None and lean.kept.get_column("line").to_list() == [1, 2]


def test_padded_bracketed_logs_are_read_not_skipped(tmp_path):
    """A memsql.log written with `[%-5p]` (`[INFO ]`, `[WARN ]`, `[ERROR]`) is read on
    every node, its INFO lines included, so its failure is not lost to a distractor."""
    from forensics.loader import load_bundle

    files = {
        "10.0.0.10_3306": (
            "2026-03-14 08:00:00.394 [INFO ] Thread 1: StatsCollector: sampled 16 tables\n"
            "2026-03-14 08:00:01.000 [INFO ] Thread 5: Rebalance: REBALANCE PARTITIONS ON shop starting\n"
        ),
        "10.0.0.11_3306": (
            "2026-03-14 08:00:02.000 [INFO ] Thread 2: GarbageCollector: collected 12 rows\n"
            "2026-03-14 08:00:03.000 [WARN ] Thread 2: slow reply\n"
            "2026-03-14 08:00:04.000 [ERROR] Thread 2: query was killed\n"
        ),
    }
    bundle = load_bundle(_node_logs(tmp_path, files))
    assert bundle.files.get_column("skipped_reason").to_list() == [None, None]
    assert not [w for w in bundle.warnings if "tracelog layout" in w]
    events = bundle.events.sort("ts")
    assert events.get_column("level").to_list() == ["INFO", "WARN", "ERROR"]
    assert events.get_column("thread").to_list() == [5, 2, 2]
    assert events.get_column("message").to_list()[1:] == [
        "Thread 2: slow reply",
        "Thread 2: query was killed",
    ]


def _node_logs(root: Path, files: dict[str, str]) -> list[Path]:
    """Each node's text as ``<node>/tracelogs/memsql.log`` under ``root``, the paths given."""
    paths = []
    for node, text in files.items():
        path = root / node / "tracelogs" / "memsql.log"
        path.parent.mkdir(parents=True)
        path.write_text(text)
        paths.append(path)
    return paths
