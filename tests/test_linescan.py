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


def _messages(kept: pl.DataFrame) -> pl.DataFrame:
    return kept.with_columns(tracelog._messages_of(kept)).drop("body")


def _assert_same(data: bytes, keep_all: bool = False) -> linescan.Scanned:
    fast = _fast(data, keep_all)
    assert fast is not None
    slow, invalid = tracelog._polars_path(data, keep_all)
    assert invalid == 0
    assert (fast.lines, fast.kinds, fast.nul_lines) == (slow.lines, slow.kinds, slow.nul_lines)
    # the kernel's message starts (``body``) give the texts the layout regex gives
    assert_frame_equal(_messages(fast.kept), _messages(slow.kept), check_dtypes=True)
    assert_frame_equal(fast.samples, slow.samples, check_dtypes=True)
    assert_frame_equal(fast.order.restarts, slow.order.restarts)
    assert vars(fast.order) | {"restarts": None} == vars(slow.order) | {"restarts": None}
    assert_frame_equal(_per_minute(fast.counts), _per_minute(slow.counts))
    return fast


def _per_minute(counts: pl.DataFrame) -> pl.DataFrame:
    # (the compiled pass gives a row per run of lines of one minute: the fold adds them up)
    order = ["minute", "level"]
    return counts.group_by(order).agg(pl.col("lines").sum().cast(pl.UInt32)).sort(order)


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
# The variants log shippers write (grammars/tracelog.toml): the compiled pass reads the
# level spellings itself and sends the time variants to the regex classifier.
SEPARATOR = st.sampled_from(["T", "t", "  ", "\t"])
VARIANT_FRACTION = st.sampled_from([",3", ",373", ",373123", ",3731234567", ",", ".37,3"])
ZONE = st.sampled_from(
    [
        "Z",
        "z",
        "+01:00",
        "-05:30",
        "+0100",
        "-1200",
        "+14:00",
        "+23:59",
        "+24:00",
        "+01:60",
        "+1:00",
        "+01:0",
        " UTC",
        " GMT",
        "\tUTC",
        "  GMT",
        " utc",
        " CET",
        "UTC",
    ]
)
VARIANT_LEVEL = st.sampled_from(
    ["error", "Error", "warn", "Warn", "warning", "Warning", "info", "Info", "fatal", "Fatal",
     "failure", "Failure", "eRROR", "WArn"]
)  # fmt: skip


@st.composite
def stamps(draw):
    """Date, separator, time and what follows the time: canonical most of the time,
    else one of the variants (or several at once)."""
    variant = draw(st.integers(0, 3)) == 0
    separator = draw(SEPARATOR) if variant and draw(st.booleans()) else " "
    fraction = draw(VARIANT_FRACTION if variant and draw(st.booleans()) else FRACTION)
    zone = draw(ZONE) if variant and draw(st.booleans()) else ""
    return draw(DATE) + separator + draw(TIME) + fraction + zone


@st.composite
def levels(draw):
    return draw(VARIANT_LEVEL if draw(st.integers(0, 3)) == 0 else LEVEL)


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
        "peer said WARN: slow reply",  # a level literal in the text, no vocabulary word
        "FATAL: seen in quoted text",
    ]
)


@st.composite
def tracelog_lines(draw):
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(
            st.sampled_from(
                [
                    "",
                    "  at frame 1",
                    "\tcontinued",
                    "junk line",
                    "12345",
                    "\r",
                    " ",
                    " \t ",
                    "    Leaf error (10.0.0.5:3306): Out of memory — détail",
                ]
            )
        )
    return draw(COUNTER) + draw(stamps()) + draw(PAD) + draw(levels()) + draw(COLON) + draw(MESSAGE)


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


@st.composite
def mostly_canonical_logs(draw):
    """Valid canonical lines with variant lines among them (at most a third, so that the
    fast path applies and sends the variants to the regex classifier). One counter for
    all lines or none, as in a real log (the lean pass relies on it)."""
    counter = st.just(draw(st.sampled_from(["", "382261827 "])))
    canonical = st.builds(
        lambda c, t, f, p, lv, m: f"{c}2026-02-11 {t}{f}{p}{lv}: {m}",
        counter,
        st.sampled_from(["01:12:55", "23:59:59"]),
        st.sampled_from(["", ".3", ".373123"]),
        st.sampled_from([" ", "   "]),
        LEVEL.filter(lambda lv: lv not in ("DEBUG", "ERR")),
        MESSAGE,
    )
    variant = st.builds(
        lambda c, d, t, p, lv, colon, m: c + d + t + p + lv + colon + m,
        counter,
        st.sampled_from(["2026-02-11", "2024-02-29", "0001-01-01", "9999-12-31"]),
        st.builds(
            lambda sep, f, z: sep + "00:00:01" + f + z,
            SEPARATOR,
            VARIANT_FRACTION | FRACTION,
            ZONE | st.just(""),
        ),
        PAD,
        VARIANT_LEVEL | LEVEL,
        COLON,
        MESSAGE,
    )
    lines = draw(st.lists(canonical, min_size=2, max_size=20))
    for _ in range(draw(st.integers(1, len(lines) // 2))):
        lines.insert(draw(st.integers(0, len(lines))), draw(variant))
    return lines


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=mostly_canonical_logs(), keep_all=st.booleans())
def test_variant_lines_among_canonical_ones_take_the_fast_path(lines, keep_all):
    data = "\n".join(lines).encode()
    _assert_same(data, keep_all)
    _assert_lean_same(data)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(tracelog_lines(), min_size=1, max_size=30), keep_all=st.booleans())
def test_regex_classifier_equals_the_fields_classifier(lines, keep_all):
    """The regex classifier (the fallback of every path) reads every line, variants
    included, as the field-splitting one of the Polars path does."""
    data = "\n".join(lines).encode()
    raw, _ = tracelog._read_lines(data)
    fields = tracelog._fields(data, lossy=False)
    assert fields is not None
    by_fields = tracelog._classify_fields(raw, fields, keep_all)
    by_regex = tracelog._classify(raw, keep_all).select(by_fields.columns)
    assert_frame_equal(by_fields, by_regex)


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
    monkeypatch.setattr(linescan, "have_hyperscan", lambda: False)  # the Polars path
    slow = tracelog.parse_tracelog([text], path="m.log", node="n:1", chunk_bytes=4096)
    assert_frame_equal(fast.events, slow.events)
    assert_frame_equal(fast.counts, slow.counts)
    assert (fast.lines, fast.restarts, fast.warnings) == (slow.lines, slow.restarts, slow.warnings)
    assert fast.events.height == 400 and fast.events.filter(pl.col("ordinal") == 3).height == 50


# ----------------------------------------------------------------------------- lean pass

_JOINED = ("first_parsed", "first_uptime", "first_uptime_prev_ts", "last_ts", "last_uptime")


def _lean(data: bytes) -> linescan.Scanned | None:
    return tracelog._lean_path(data)


def _assert_lean_same(data: bytes) -> linescan.Scanned | None:
    """When the lean pass applies, it gives what reading every line gives: kept lines,
    line count, restarts and the values the per-file fold joins pieces on."""
    lean, full = _lean(data), _fast(data)
    if lean is None or full is None:
        return lean
    assert not lean.measured and full.measured
    assert lean.lines == full.lines
    assert_frame_equal(lean.kept, full.kept)
    assert_frame_equal(lean.order.restarts, full.order.restarts)
    for name in _JOINED:
        assert getattr(lean.order, name) == getattr(full.order, name), name
    if not full.order.backwards:
        assert (lean.order.ts_min, lean.order.ts_max) == (full.order.ts_min, full.order.ts_max)
    return lean


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(tracelog_lines(), min_size=1, max_size=30),
    crlf=st.booleans(),
    terminated=st.booleans(),
)
def test_lean_pass_equals_reading_every_line(lines, crlf, terminated):
    data = ("\r\n" if crlf else "\n").join(lines) + ("\n" if terminated else "")
    _assert_lean_same(data.encode())


def test_one_match_per_line_and_no_exact_literal_a_word_already_finds():
    vocab = linescan.vocabulary(("error", "lock", "ETIMEDOUT"), ("ERROR:", "WARN:", "etimedout:"))
    assert vocab is not None
    assert vocab.exact == ("WARN:",)  # ERROR: holds "error"; case does not matter for words
    data = b"a ERROR: lock\nb warn: x\nc WARN: y\nd LOCK WARN: z\ne ETIMEDOUT\n"
    assert [data[: e + 1].count(b"\n") for e in vocab.newlines(data)] == [1, 3, 4, 5]


def test_lean_pass_drops_an_info_line_found_by_a_level_literal_only():
    data = (
        b"2026-02-11 01:12:55.373   INFO: peer said WARN: slow reply\n"
        b"2026-02-11 01:12:55.374   WARN: slow reply\n"
        b"2026-02-11 01:12:55.375   INFO: peer said WARN: lock wait\n"
    )
    lean = _assert_lean_same(data)
    assert lean is not None and lean.kept.get_column("line").to_list() == [1, 2]


def _log(n: int, *, restart_at: int | None = None, start: int = 0) -> bytes:
    out = []
    for i in range(start, start + n):
        up = 5_000_000_000 + i * 10_000 if restart_at is None or i < restart_at else i * 10
        level = "ERROR" if i % 97 == 0 else "INFO"
        text = "partition db:3 copy" if i % 13 == 0 else "heartbeat ok"
        ts = f"2026-02-11 01:{i // 6000 % 60:02d}:{i // 100 % 60:02d}.{i % 100 * 10:03d}"
        out.append(f"{up} {ts}  {level}: Thread {i}: {text} {i}\n")
    return "".join(out).encode()


def test_lean_pass_reads_few_lines_and_numbers_them_all():
    data = _log(5000)
    lean = _assert_lean_same(data)
    assert lean is not None and lean.lines == 5000
    lines = lean.kept.get_column("line").to_list()
    assert lines[:3] == [0, 13, 26]  # vocabulary lines and ERROR lines, numbered exactly
    assert 97 in lines


def test_a_restart_inside_a_piece_sends_it_to_the_full_pass():
    data = _log(3000, restart_at=2000)
    assert _lean(data) is None  # the counter fell: every line must be read
    full = _fast(data)
    assert full is not None and full.order.restarts.height == 1


@pytest.mark.parametrize("restart_at", [4000, 4700], ids=["between pieces", "inside a piece"])
def test_parse_tracelog_lean_gives_the_same_events_and_restarts(monkeypatch, restart_at):
    text = _log(4000) + _log(3000, restart_at=restart_at, start=4000)
    small = dataclasses.replace(tracelog._layout(), fast_min_bytes=0)
    monkeypatch.setattr(tracelog, "_layout", lambda: small)
    lines = text.splitlines(keepends=True)
    chunks = [b"".join(lines[i : i + 500]) for i in range(0, len(lines), 500)]
    args = {"path": "m.log", "node": "n:1", "chunk_bytes": 30_000}  # a piece per chunk
    lean = tracelog.parse_tracelog(chunks, lean=True, **args)
    full = tracelog.parse_tracelog(chunks, **args)
    assert_frame_equal(lean.events, full.events)
    assert lean.restarts == full.restarts == 1
    assert lean.lines == full.lines == 7000
    assert (lean.first_ts, lean.last_ts) == (full.first_ts, full.last_ts)
    assert not lean.measured and lean.unparsed_lines is None
    # per-minute counts only for a piece read in full (the one with a restart inside)
    assert lean.counts.get_column("lines").sum() == (500 if restart_at == 4700 else 0)
    assert full.measured and full.unparsed_lines == 0
