"""The compiled fast path (Numba + Hyperscan) gives exactly what the Polars path gives."""

from __future__ import annotations

import dataclasses

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from forensics.parsers import linescan, tracelog

pytestmark = pytest.mark.skipif(
    not linescan.available(tracelog._layout().vocabulary), reason="Hyperscan not installed"
)


def _fast(data: bytes, keep_all: bool = False) -> linescan.Scanned | None:
    return tracelog._fast_path(data, keep_all)


def _assert_same(data: bytes, keep_all: bool = False) -> linescan.Scanned:
    fast = _fast(data, keep_all)
    assert fast is not None
    slow, invalid = tracelog._polars_path(data, keep_all)
    assert invalid == 0
    assert (fast.lines, fast.kinds, fast.nul_lines) == (slow.lines, slow.kinds, slow.nul_lines)
    for name in ("kept", "samples"):
        assert_frame_equal(getattr(fast, name), getattr(slow, name), check_dtypes=True)
    assert_frame_equal(fast.order.restarts, slow.order.restarts)
    assert vars(fast.order) | {"restarts": None} == vars(slow.order) | {"restarts": None}
    order = ["minute", "level"]
    assert_frame_equal(fast.counts.sort(order), slow.counts.sort(order))
    return fast


# Prefix pieces, valid and not, that the fast path must read exactly like the regex.
COUNTER = st.sampled_from(
    [
        "",
        "1 ",
        "382261827 ",
        "1036815373488 ",
        "1234 ",
        "12345678901234567 ",
        "123456789012345678 ",
        "1234567890123456789 ",
        "123  ",
        "12\t",
        "x1 ",
    ]
)
DATE = st.sampled_from(
    [
        "2026-02-11",
        "2023-02-30",
        "2024-02-29",
        "2026-13-01",
        "2026-1-01",
        "0000-01-01",
        "2026/02/11",
    ]
)
TIME = st.sampled_from(["01:12:55", "23:59:60", "23:59:61", "24:00:00", "01:60:00", "1:12:55"])
FRACTION = st.sampled_from(["", ".3", ".373", ".373123", ".373123456", ".3731234567", "."])
PAD = st.sampled_from([" ", "   ", "  ", "\t", " \t", "", "                 "])
LEVEL = st.sampled_from(
    ["INFO", "WARN", "WARNING", "ERROR", "FAILURE", "FATAL", "info", "DEBUG", "ERR"]
)
COLON = st.sampled_from([": ", ":", " : ", ":\t"])
MESSAGE = st.sampled_from(
    [
        "Thread 115175: Heartbeat: node [4] 10.0.1.13:3306 answered in 0.588 ms",
        "Query app.'SELECT 1' submitted for asynchronous compilation",
        "COPY PARTITION sales:3 ON 10.0.1.12:3306 failed",
        "lock wait TIMEOUT on `orders_4`",
        "Rebalance of db `x` started",
        "kIlL query 55",
        "",
        "héllo wörld — not ascii",
    ]
)


@st.composite
def tracelog_lines(draw):
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(
            st.sampled_from(["", "  at frame 1", "\tcontinued", "junk line", "12345", "\r", " "])
        )
    return (
        draw(COUNTER)
        + draw(DATE)
        + " "
        + draw(TIME)
        + draw(FRACTION)
        + draw(PAD)
        + draw(LEVEL)
        + draw(COLON)
        + draw(MESSAGE)
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(tracelog_lines(), min_size=1, max_size=30),
    crlf=st.booleans(),
    terminated=st.booleans(),
    keep_all=st.booleans(),
)
def test_fast_path_equals_polars_path(lines, crlf, terminated, keep_all):
    data = ("\r\n" if crlf else "\n").join(lines) + ("\n" if terminated else "")
    fast = _fast(data.encode(), keep_all)
    if fast is None:  # mostly lines the fast path cannot read: the Polars path is used
        return
    _assert_same(data.encode(), keep_all)


def test_typical_lines_take_the_fast_path_with_the_same_results():
    text = "\n".join(
        [
            "1036815373488 2026-02-11 01:12:55.373   INFO: Thread 1: Heartbeat: ok",
            "1036815384149 2026-02-11 01:12:55.383   WARN: Thread 2: slow disk",
            "1036815384150 2026-02-11 01:13:00.001  ERROR: COPY PARTITION db:3 failed",
            "   continuation of the error",
            "2026-02-11 01:13:01.5   INFO: Rebalance started",  # no counter
            "not a tracelog line",
            "",
        ]
    )
    fast = _assert_same(text.encode())
    assert fast.kinds == {"parsed": 4, "continuation": 1, "unparsed": 1}
    kept = fast.kept
    assert kept.get_column("line").to_list() == [1, 2, 4]
    assert kept.get_column("uptime").to_list() == [1036815384149, 1036815384150, None]
    assert fast.samples.get_column("raw").to_list() == ["not a tracelog line"]


def test_nul_bytes_and_unterminated_last_line():
    data = b"2026-02-11 01:12:55.373   WARN: a\x00b\n2026-02-11 01:12:56.000  ERROR: end"
    fast = _assert_same(data)
    assert fast.nul_lines == 1 and fast.lines == 2


def test_many_short_lines():
    """More lines than the first guess of room (32 bytes a line) takes a second pass."""
    data = b"2026-02-11 01:12:55.373   WARN: x\n" + b"\n \n" * 500 + b"x\n"
    fast = _assert_same(data)
    assert fast.lines == 1002 and fast.kinds["continuation"] == 1000


@pytest.mark.parametrize("tail", [b"", b"\n", b"2026-02-11 01:12:57.5  ERROR: caf\xc3\xa9 \x00"])
def test_memory_mapped_views_read_like_bytes(tail):
    """Views of a mapped file (read-only buffers) give what the same bytes give."""
    data = (
        b"".join(
            b"%d 2026-02-11 01:12:%02d.%03d   INFO: partition db:%d copy\n" % (i, i % 60, i, i % 8)
            for i in range(1, 300)
        )
        + tail
    )
    view = memoryview(data)[:]
    fast = _fast(view)
    same = _assert_same(data)
    assert fast is not None
    assert_frame_equal(fast.kept, same.kept)
    assert (fast.lines, fast.nul_lines, fast.kinds) == (same.lines, same.nul_lines, same.kinds)


def test_invalid_utf8_falls_back():
    assert _fast(b"2026-02-11 01:12:55.373   WARN: \xff\xfe\n") is None


def test_parse_tracelog_same_events_either_path(monkeypatch):
    text = "\n".join(
        f"{1000 + i * 10} 2026-02-11 01:{i // 60:02d}:{i % 60:02d}.{i:03d}   "
        f"{'WARN' if i % 7 == 0 else 'INFO'}: Thread {i}: partition db:{i % 8} copy step {i}"
        for i in range(400)
    ).encode()
    small = dataclasses.replace(tracelog._layout(), fast_min_bytes=0)
    monkeypatch.setattr(tracelog, "_layout", lambda: small)
    fast = tracelog.parse_tracelog([text], path="m.log", node="n:1", chunk_bytes=4096)
    monkeypatch.setattr(linescan, "vocabulary", lambda words: None)
    slow = tracelog.parse_tracelog([text], path="m.log", node="n:1", chunk_bytes=4096)
    assert_frame_equal(fast.events, slow.events)
    assert_frame_equal(fast.counts, slow.counts)
    assert (fast.lines, fast.restarts, fast.warnings) == (slow.lines, slow.restarts, slow.warnings)
    assert fast.events.height == 400 and fast.events.filter(pl.col("ordinal") == 3).height == 50
