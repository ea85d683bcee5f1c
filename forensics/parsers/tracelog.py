"""memsql.log ("tracelog") parser: vectorised, Polars-only on the hot path.

Line layout (``grammars/tracelog.toml``; singlestore-formats.md §1.3)::

    [<uptime_us> ]<YYYY-MM-DD> <HH:MM:SS.fff[fff]> <pad><LEVEL>: <message>

and the variants log shippers write: a ``T`` between date and time, a comma before the
fraction, a zone after the time (``Z``, ``+01:00``, ``+0100``, `` UTC``, `` GMT``), the
level word in lower or title case, or in square brackets with the colon then optional
(``[WARN]``, ``[error]:``). The compiled pass reads the level spellings; it sends
lines with the time variants to the regex classifier (:func:`_classify`), as it does
every line it is unsure of, so the canonical layout costs what it did.

Every physical line is classified as exactly one of

* **parsed** — matches the layout and its date/time is a real one;
* **continuation** — empty, or starts with a blank (a wrapped message / backtrace);
* **unparsed** — anything else (also a line whose date does not exist, such as
  ``2023-02-30``); up to 20 samples are kept.

A kept line's text takes the continuation lines after it, and the unparsed ones that
do not start with a digit (``[continuation]`` in tracelog.toml), which still count as
what they are.

so ``lines == parsed_lines + continuation_lines + unparsed_lines`` always holds.

Frames returned (schemas in ``forensics/schemas.py``):

``events`` (``schemas.EVENTS``) — one row per *kept* parsed line, sorted by ``line``:
WARN and above always, INFO only when the line contains a keep-vocabulary literal
(``[keep]`` in tracelog.toml; a vectorised literal pre-filter, no regex). Columns:

* ``line`` — 1-based physical line number in the file (correct across chunks);
* ``ts`` — the naive local time of the line read in ``tz`` and converted to UTC (µs);
  a line that gives a zone is converted with it instead (``local_ts`` of such a line,
  in the per-minute counts and the first/last times, is then its UTC time);
* ``uptime_us`` — the leading microseconds-since-start counter, null when absent;
* ``level`` — INFO / WARN / ERROR / FAILURE (``WARNING`` → WARN, ``FATAL`` → FAILURE,
  in any of the spellings of ``[level_spellings]``: ``error`` → ERROR);
* ``message`` — **everything after** ``LEVEL:`` (and one blank): context prefixes such
  as ``` `main_1` log: ```, the ``Thread N (...):`` designator and the component are
  kept in the text, so a rule that looks for a token (e.g. ``WaitForLSNWithTimeout``)
  finds it whether it was logged as component or as prose;
* ``thread`` — N of the first ``Thread N[ (ntid n, conn id c)]:`` designator (it may
  follow context prefixes); ``component`` — the identifier right after that designator,
  or, without a designator, a CamelCase word (two humps or more) that starts the
  message and is followed by ``": "`` (``OnAsyncCompileCompleted:`` yes, ``Warning:`` no);
* ``database``/``ordinal``/``action``/``phase_kind``/``step_event``/``target``/
  ``error_code`` — extracted with ``grammars/messages.toml`` (token patterns, first
  matching pattern per group wins; see the comments there for the step_event logic);
* synthetic ``node_restart`` rows: when ``uptime_us`` drops by more than
  ``[restarts] tolerance_us`` between consecutive parsed lines, one row with level INFO,
  component ``forensics``, the line number and time of the first line after the reset.

``counts`` (``schemas.LINE_COUNTS``) — lines per minute and level over **all** lines.
Continuation and unparsed lines are counted under the levels ``CONTINUATION`` and
``UNPARSED`` in the minute of the last parsed line before them (null minute when there is
none), so the ``lines`` column sums to the file's physical line count.

Robustness: invalid UTF-8 is replaced (lines counted in a warning), NUL bytes are kept
in the text (counted in a warning), CRLF is accepted, a truncated last line is a line,
timestamps going backwards are counted (warning with the first ``file:line``). Nothing
here raises on bad bytes; only an unknown time-zone name raises ``UsageError``.

Hot path: the input is re-cut into pieces of ``[chunks] target_bytes`` at newlines
(memory-mapped logs come as line-aligned views, so nothing is copied). Pieces of at least
``fast_min_bytes`` take the compiled fast path (:mod:`.linescan`: a Numba line pass and
one Hyperscan scan for the keep vocabulary, done ahead by a helper process for large plain
logs, :mod:`.prefilter`); smaller ones are split into lines by Polars' CSV reader (a
separator byte absent from the piece, no quoting) and get only match tests and literal
searches. Both give the same result. Capturing regexes (thread, component, message
fields) run on kept rows only. Pieces are classified on worker threads and folded in file
order, so memory stays bounded by a few pieces plus the kept rows (whose text is copied
out of the piece buffers).
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, partial
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from .. import grammars, schemas
from ..bundle import last_line_end
from ..clock import check_timezone
from . import linescan, prefilter
from .layout import JsonParts as JsonParts
from .layout import Layout as _Layout
from .layout import collector_offset as collector_offset
from .layout import json_field as json_field
from .layout import json_host as json_host
from .layout import json_host_field as json_host_field
from .layout import json_lines as _json_lines
from .layout import json_parts as json_parts
from .layout import layout as _layout
from .layout import sniff as sniff
from .layout import unwrap_json as unwrap_json
from .layout import viewer_prefix as viewer_prefix

NAME = "memsql_log"

# Pieces of all files being read go to one pool of threads, one per core (more threads
# only add GIL hand-offs: measured 90k context switches per GB with 4, 35k with 2), and
# each file keeps at most _IN_FLIGHT of them queued or running.
_WORKERS = max(1, min(8, os.cpu_count() or 1))
_IN_FLIGHT = 2
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="piece")
        return _POOL


# Bytes that never occur in text logs; read_csv needs a separator absent from the data.
_SEPARATORS = [chr(c) for c in (*range(1, 9), 11, 12, *range(14, 32))]


# ----------------------------------------------------------------------------- result


@dataclass
class TracelogResult:
    events: pl.DataFrame
    counts: pl.DataFrame
    lines: int = 0
    unparsed_lines: int | None = 0  # None when not measured (lean pieces)
    unparsed_samples: list[tuple[int, str]] = field(default_factory=list)
    first_ts: datetime | None = None
    last_ts: datetime | None = None
    restarts: int = 0
    warnings: list[str] = field(default_factory=list)
    parsed_lines: int = 0
    continuation_lines: int = 0
    measured: bool = True  # False: some pieces were read by the lean pass
    # the first line with an uptime counter (1-based line, local time, counter) and the
    # last (local time, counter): a restart between two rotations of one log shows there
    first_uptime: tuple[int, datetime, int] | None = None
    last_uptime: tuple[datetime, int] | None = None


# ----------------------------------------------------------------------------- grammar


@cache
def _messages() -> dict[str, Any]:
    return grammars.load("messages")


# ----------------------------------------------------------------------------- reading


def _rechunk(
    chunks: Iterable[bytes | memoryview], target: int
) -> Iterator[list[bytes | memoryview]]:
    """Re-cut a byte stream into pieces of about ``target`` bytes ending at a newline.

    A piece is given as the list of its parts; whoever parses it joins them (on a worker
    thread), so the reading thread never copies the bytes. A chunk that is already a
    whole piece (the line-aligned views of a memory-mapped log) is passed on as is.
    """
    pending: list[bytes | memoryview] = []
    size = 0
    threshold = target
    for chunk in chunks:
        if not chunk:
            continue
        pending.append(chunk)
        size += len(chunk)
        if size < threshold:
            continue
        cut = last_line_end(chunk)
        if cut == 0:  # no line end in the newest chunk: keep reading
            threshold = size + target
            continue
        view = memoryview(chunk)
        yield [*pending[:-1], chunk if cut == len(chunk) else view[:cut]]
        rest = view[cut:]
        pending, size, threshold = ([rest] if len(rest) else []), len(rest), target
    if size:
        yield pending


def _read_lines(data: bytes) -> tuple[pl.Series, int]:
    """Physical lines of ``data`` (no terminators) and the number with invalid UTF-8."""
    sep = next((s for s in _SEPARATORS if s.encode() not in data), None)
    raw = None
    invalid = 0
    # read_csv decompresses what starts like gzip, zlib or zstd: such text (a damaged
    # log, or "x^" at the start of a piece) goes to the plain splitter instead.
    if sep is not None and not data.startswith(_COMPRESSED_MAGIC):
        try:
            raw = _read_csv_lines(data, sep, "utf8")
        except pl.exceptions.ComputeError:
            raw = _read_csv_lines(data, sep, "utf8-lossy")
            invalid = _count_replaced(raw, data)
    if raw is None:
        raw, invalid = _split_lines(data)
    return raw, invalid


_COMPRESSED_MAGIC = (
    b"\x1f\x8b",
    b"\x28\xb5\x2f\xfd",
    b"\x78\x01",
    b"\x78\x5e",
    b"\x78\x9c",
    b"\x78\xda",
)


def _read_csv_lines(data: bytes, sep: str, encoding: str) -> pl.Series:
    # read_csv is the fastest (multi-threaded) line splitter Polars offers.
    frame = pl.read_csv(
        data,
        has_header=False,
        separator=sep,
        quote_char=None,
        comment_prefix=None,
        schema={"raw": pl.String},
        encoding=encoding,
        empty_string_is_null=False,
        raise_if_empty=False,
    )
    return frame.get_column("raw").fill_null("")


def _split_lines(data: bytes) -> tuple[pl.Series, int]:
    """Slow but sure fallback (one Python string op per chunk, not per line)."""
    text = data.decode("utf-8", errors="replace")
    parts = text.split("\n")
    if data.endswith(b"\n"):
        parts.pop()
    raw = pl.Series("raw", parts, dtype=pl.String).str.strip_suffix("\r")
    try:
        data.decode("utf-8")
        invalid = 0
    except UnicodeDecodeError:
        invalid = _count_replaced(raw, data)
    return raw, invalid


def _count_replaced(raw: pl.Series, data: bytes) -> int:
    # Lines holding U+FFFD; exact unless the input itself contained U+FFFD.
    return int(raw.str.contains("\ufffd", literal=True).sum())


# ----------------------------------------------------------------------------- shippers


def rebuild_json(chunk: bytes | memoryview, parts: JsonParts) -> bytes:
    """``chunk`` (whole lines) with each JSON object line of a log shipper that split the
    tracelog line into fields (see :func:`json_parts`) replaced by the line rebuilt from
    them: ``<time> <LEVEL>: <message>``, or the message itself when it has the layout.
    Line breaks inside the message become blanks, so that line numbers stay those of the
    file; a line whose time or level word cannot be read stays as it is."""
    text = bytes(chunk).decode("utf-8", "replace")
    lines = pl.Series("raw", [text]).str.split("\n").explode().to_frame()
    out = lines.select(_rebuilt(pl.col("raw"), parts)).to_series()
    return str(out.str.join("\n").item()).encode("utf-8")


def _rebuilt(raw: pl.Expr, parts: JsonParts) -> pl.Expr:
    """The tracelog line of each JSON line (see :func:`rebuild_json`), in one pass of
    Polars expressions: a shipper's file can be as long as the log it carries."""
    message = (
        _json_value(raw, parts.message)
        .str.strip_suffix("\n")
        .str.strip_suffix("\r")
        .str.replace_all("\r?\n", " ")
    )
    table = _json_lines().levels
    level = (
        _json_value(raw, parts.level)
        .str.to_uppercase()
        .replace_strict(list(table), list(table.values()), default=None, return_dtype=pl.String)
    )
    line = pl.concat_str(
        _layout_time(_json_value(raw, parts.time)), pl.lit(" "), level, pl.lit(": "), message
    )
    return (
        pl.when(message.str.contains(_layout().prefix))
        .then(message)
        .otherwise(pl.coalesce(line, raw))
        .alias("raw")
    )


def _json_value(raw: pl.Expr, name: str) -> pl.Expr:
    """Field ``name`` of the JSON object in ``raw`` as text (null when there is none);
    a dotted name is that key, else the nested one (``log.level``)."""
    value = raw.str.json_path_match(f"$['{name}']")
    if "." not in name:
        return value
    nested = "$" + "".join(f"['{part}']" for part in name.split("."))
    return pl.coalesce(value, raw.str.json_path_match(nested))


# An RFC 3339 time, read by the layout as written (the `T`, a fraction, its zone).
_RFC3339 = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}"
# A Unix epoch: seconds below 1e11, then milli-, micro- and nanoseconds.
_EPOCH = r"^(\d{1,19})(?:\.(\d+))?$"


def _layout_time(stamp: pl.Expr) -> pl.Expr:
    """A shipper's time in the layout: an RFC 3339 text as it is, a Unix epoch (of any
    unit, told by its size) as UTC with its microseconds and ``Z``; else null."""
    whole = stamp.str.extract(_EPOCH, 1).cast(pl.Int64, strict=False)
    digits = stamp.str.extract(_EPOCH, 2).fill_null("")

    def fraction(n: int) -> pl.Expr:
        return digits.str.slice(0, n).str.pad_end(n, "0").cast(pl.Int64)

    micros = (
        pl.when(whole < 10**11)
        .then(whole * 10**6 + fraction(6))
        .when(whole < 10**14)
        .then(whole * 1000 + fraction(3))
        .when(whole < 10**17)
        .then(whole)
        .otherwise(whole // 1000)
    )
    epoch = pl.from_epoch(micros, time_unit="us").dt.to_string("%Y-%m-%d %H:%M:%S%.6f") + "Z"
    return pl.when(stamp.str.contains(_RFC3339)).then(stamp).otherwise(epoch)


# ----------------------------------------------------------------------------- hot path


def _classify(raw: pl.Series, keep_all: bool) -> pl.DataFrame:
    """One row per physical line: line (0-based in the piece), raw, uptime, local_ts,
    level, kind flags, keep and utc (``local_ts`` is already UTC: the line gave a zone)."""
    lay = _layout()
    c = pl.col("raw")
    # Independent scans of the raw text in one with_columns: Polars runs them in parallel.
    frame = pl.DataFrame({"raw": raw}).with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("line"),
        c.str.contains(lay.prefix).alias("_ok"),
        c.str.find(lay.date).cast(pl.Int64).alias("_dpos"),
        c.str.find(lay.level).cast(pl.Int64).alias("_lpos"),
        c.str.contains_any(list(lay.vocabulary), ascii_case_insensitive=True).alias("_vocab"),
    )
    ok, dpos, lpos = pl.col("_ok"), pl.col("_dpos"), pl.col("_lpos")
    # Timestamps without a strptime per line: the "YYYY-MM-DD HH:MM" prefix is parsed once
    # per distinct minute, seconds and fraction are integer slices (the prefix regex has
    # already checked the digits). Same results as strptime("%Y-%m-%d %H:%M:%S%.f"):
    # an invalid date/hour/minute or seconds > 60 give null, :60 rolls over, the fraction
    # is truncated to microseconds. A zone after the time (layout `zone`) is cut off
    # first; the `T` separator is read as the blank, the comma as the dot.
    ts_text = c.str.slice(dpos, (lpos - dpos).clip(lower_bound=0)).str.strip_chars_end(" \t")
    frame = frame.with_columns(
        pl.when(ok).then(ts_text.str.extract(lay.zone_suffix, 0)).alias("_zone"),
        ts_text.alias("_ts"),
    )
    zone, stamp = pl.col("_zone"), pl.col("_ts")
    stamp = (
        pl.when(zone.is_null())
        .then(stamp)
        .otherwise(stamp.str.slice(0, stamp.str.len_bytes() - zone.str.len_bytes()))
    )
    frame = frame.with_columns(
        pl.when(ok).then(stamp.str.slice(0, 16)).alias("_minute"),
        stamp.str.slice(17, 2).cast(pl.Int64, strict=False).alias("_sec"),
        stamp.str.slice(20, 6).str.pad_end(6, "0").cast(pl.Int64, strict=False).alias("_us"),
    )
    minutes = frame.get_column("_minute").drop_nulls().unique()
    as_written = minutes.str.replace("T", " ", literal=True)
    parsed_minutes = pl.select(
        _from_year_one(as_written.str.strptime(schemas.LOCAL_US, "%Y-%m-%d %H:%M", strict=False))
    ).to_series()
    minute = pl.col("_minute").replace_strict(
        minutes, parsed_minutes, default=None, return_dtype=schemas.LOCAL_US
    )
    offset = pl.duration(seconds=pl.col("_sec"), microseconds=pl.col("_us"), time_unit="us")
    local = _to_year_9999(pl.when(ok & (pl.col("_sec") <= 60)).then(minute + offset))
    frame = frame.with_columns(
        _zoned(local, zone).alias("local_ts"),
        pl.when(ok & (dpos > 0))
        .then(c.str.slice(0, dpos).str.strip_chars_end(" \t").cast(pl.Int64, strict=False))
        .alias("uptime"),
        pl.when(ok).then(_level_expr(c, lpos, lay.levels)).alias("level"),
    )
    parsed = pl.col("local_ts").is_not_null()
    blank = (c == "") | c.str.starts_with(" ") | c.str.starts_with("\t")
    wanted = pl.lit(keep_all) | pl.col("level").is_in(lay.keep_levels) | pl.col("_vocab")
    frame = frame.with_columns(
        parsed.alias("parsed"),
        (~parsed & blank).alias("continuation"),
        (parsed & wanted).alias("keep"),
        pl.when(parsed).then(pl.col("level")).alias("level"),
        pl.when(parsed).then(pl.col("uptime")).alias("uptime"),
        (parsed & zone.is_not_null()).alias("utc"),
    )
    return frame.drop("_ok", "_dpos", "_lpos", "_vocab", "_zone", "_ts", "_minute", "_sec", "_us")


# Zone texts (layout `zone`, blanks stripped) that name UTC itself.
_UTC_WORDS = ("Z", "UTC", "GMT")


def _zoned(local: pl.Expr, zone: pl.Expr) -> pl.Expr:
    """``local`` (the time as written), in UTC where the line gave a ``zone``: minus its
    offset (``+01:00``, ``+0100``; ``Z``, UTC and GMT are UTC). An offset of 24 hours or
    more, minutes past 59, or a time outside years 1 to 9999 once in UTC give null."""
    text = zone.str.strip_chars(" \t").str.replace(":", "", literal=True)
    hours = text.str.slice(1, 2).cast(pl.Int64, strict=False)
    minutes = text.str.slice(3, 2).cast(pl.Int64, strict=False)
    sign = pl.when(text.str.starts_with("-")).then(-1).otherwise(1)
    seconds = (
        pl.when(text.is_in(_UTC_WORDS))
        .then(0)
        .when((hours < 24) & (minutes < 60))
        .then(sign * (hours * 3600 + minutes * 60))
    )
    utc = local - pl.duration(seconds=seconds, time_unit="us")
    in_range = utc.dt.year().is_between(1, 9999)
    return pl.when(zone.is_null()).then(local).when(in_range).then(utc)


_FIELDS = {f"f{i}": pl.String for i in range(6)}


def _fields(data: bytes, *, lossy: bool) -> pl.DataFrame | None:
    """The first six blank-separated fields of every line, in one native pass.

    The layout prefix (counter, date, time, right-aligned level) lives in these fields, so
    classifying a line needs no regex over its text. None when the reader refuses the
    piece; the caller then uses the regex path (:func:`_classify`).
    """
    if data.startswith(_COMPRESSED_MAGIC):  # read_csv would try to decompress it
        return None
    try:
        return pl.read_csv(
            data,
            has_header=False,
            separator=" ",
            quote_char=None,
            comment_prefix=None,
            truncate_ragged_lines=True,
            schema=_FIELDS,
            raise_if_empty=False,
            missing_columns="insert",
            extra_columns="ignore",
            encoding="utf8-lossy" if lossy else "utf8",
        )
    except (pl.exceptions.PolarsError, ValueError):
        return None


def _classify_fields(raw: pl.Series, fields: pl.DataFrame, keep_all: bool) -> pl.DataFrame:
    """:func:`_classify` from pre-split fields; lines the fields cannot place (tabs, odd
    spacing) that still look like the layout go through the regex path."""
    lay = _layout()
    f0, f1, f2, f3, f4, f5 = (pl.col(f"f{i}") for i in range(6))
    counter = (f1.str.len_bytes() == 10) & (f1.str.slice(4, 1) == "-")
    level_token = pl.when(counter).then(pl.coalesce(f3, f4, f5)).otherwise(pl.coalesce(f2, f3, f4))
    levels = lay.level_tokens
    frame = fields.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("line"),
        pl.when(counter).then(f0.cast(pl.Int64, strict=False)).alias("uptime"),
        pl.when(counter).then(f0.str.contains(r"^\d{1,20}$")).otherwise(True).alias("_counter_ok"),
        pl.when(counter).then(f1).otherwise(f0).alias("_date"),
        pl.when(counter).then(f2).otherwise(f1).alias("_time"),
        level_token.replace_strict(levels, default=None, return_dtype=pl.String).alias("level"),
        pl.lit(False).alias("utc"),  # (a zone takes the regex path)
    ).with_columns(pl.Series("raw", raw))
    minutes = pl.col("_date") + pl.lit(" ") + pl.col("_time").str.slice(0, 5)
    time_ok = pl.col("_time").str.contains(r"^\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?$")
    frame = frame.with_columns(
        pl.when(
            time_ok
            & pl.col("_counter_ok")
            & pl.col("level").is_not_null()
            & (pl.col("_date").str.len_bytes() == 10)
        )
        .then(minutes)
        .alias("_minute"),
        pl.col("_time").str.slice(6, 2).cast(pl.Int64, strict=False).alias("_sec"),
        pl.col("_time")
        .str.slice(9, 6)
        .str.pad_end(6, "0")
        .cast(pl.Int64, strict=False)
        .alias("_us"),
    )
    frame = frame.with_columns(_minute_ts().alias("local_ts"))
    return _finish_classify(frame, keep_all, lay)


def _minute_ts() -> pl.Expr:
    """``_minute`` ('YYYY-MM-DD HH:MM', parsed once per distinct value) + ``_sec`` + ``_us``.

    Same results as strptime("%Y-%m-%d %H:%M:%S%.f"): an invalid date, hour or minute or
    seconds > 60 give null, :60 rolls over, the fraction is truncated to microseconds;
    and year 0 gives null.
    """
    minute = pl.col("_minute").str.strptime(
        schemas.LOCAL_US, "%Y-%m-%d %H:%M", strict=False, cache=True
    )
    offset = pl.duration(seconds=pl.col("_sec"), microseconds=pl.col("_us"), time_unit="us")
    return _to_year_9999(pl.when(pl.col("_sec") <= 60).then(_from_year_one(minute) + offset))


def _to_year_9999(stamp: pl.Expr) -> pl.Expr:
    """Null for times past year 9999 (``9999-12-31 23:59:60`` rolls over into year 10000,
    which Python's datetime cannot hold): such a line is not in the layout."""
    return pl.when(stamp.dt.year() <= 9999).then(stamp)


def _from_year_one(stamp: pl.Expr | pl.Series) -> pl.Expr:
    """Null for times before year 1 (strptime reads year 0; Python's datetime, which
    reports and rules use, starts at year 1): such a line is not in the layout."""
    stamp = pl.lit(stamp) if isinstance(stamp, pl.Series) else stamp
    return pl.when(stamp.dt.year() >= 1).then(stamp)


def _finish_classify(frame: pl.DataFrame, keep_all: bool, lay: _Layout) -> pl.DataFrame:
    c = pl.col("raw")
    maybe = pl.col("local_ts").is_null() & c.str.contains(r"^\d")
    if frame.select(maybe.any()).item():  # rare: tabs or unusual spacing in the prefix
        retry = frame.filter(maybe)
        slow = _classify(retry.get_column("raw"), keep_all).with_columns(
            pl.Series("line", retry.get_column("line"))
        )
        frame = (
            frame.update(
                slow.select("line", "local_ts", "uptime", "level", "utc"),
                on="line",
                include_nulls=True,
            )
            if slow.height
            else frame
        )
    blank = (c == "") | c.str.starts_with(" ") | c.str.starts_with("\t")
    vocab = c.str.contains_any(list(lay.vocabulary), ascii_case_insensitive=True)
    parsed = pl.col("local_ts").is_not_null()
    wanted = pl.lit(keep_all) | pl.col("level").is_in(lay.keep_levels) | vocab
    frame = frame.with_columns(
        parsed.alias("parsed"),
        (~parsed & blank).alias("continuation"),
        (parsed & wanted).alias("keep"),
        pl.when(parsed).then(pl.col("level")).alias("level"),
        pl.when(parsed).then(pl.col("uptime")).alias("uptime"),
        (parsed & pl.col("utc")).alias("utc"),
    )
    return frame.select(
        "line", "raw", "uptime", "local_ts", "level", "parsed", "continuation", "keep", "utc"
    )


# Characters after the blank before the level word that hold the bracket, its padding
# and the word (the longest level word and generous padding).
_LEVEL_SPAN = 32


def _level_expr(c: pl.Expr, lpos: pl.Expr, levels: dict[str, str]) -> pl.Expr:
    """Level of a line whose layout prefix matched (so the word is one of ``levels``,
    after the blank at ``lpos`` or in square brackets after it, perhaps padded with
    blanks inside them: ``[ WARN]``, ``[INFO ]``)."""
    text = c.str.slice(lpos + 1, _LEVEL_SPAN).str.strip_chars_start("[ ")
    by_initial: dict[str, set[str]] = {}
    for word, level in levels.items():
        by_initial.setdefault(word[0], set()).add(level)
    if all(len(v) == 1 for v in by_initial.values()):  # one slice instead of one per word
        table = {k: next(iter(v)) for k, v in by_initial.items()}
        initial = text.str.slice(0, 1)
        return initial.replace_strict(table, default=None, return_dtype=pl.String)
    expr: Any = pl
    for word, level in levels.items():
        hit = text.str.slice(0, len(word) + 1).is_in([f"{word}:", f"{word}]", f"{word} "])
        expr = expr.when(hit).then(pl.lit(level))
    return expr.otherwise(pl.lit(None, dtype=pl.String))


# ----------------------------------------------------------------------------- one piece


def _piece(
    parts: list[bytes | memoryview],
    keep_all: bool,
    lean: bool = False,
    ahead: Future[np.ndarray | None] | None = None,
) -> linescan.Scanned:
    """Split, classify and reduce one piece (runs on a worker thread). Line numbers are
    0-based within the piece; the fold (:meth:`_Acc.add`) shifts them and joins the piece
    to the one before it (first/last timestamps and uptimes, in ``order``). ``ahead``:
    the helper process's answer for the piece (:mod:`.prefilter`), if it was asked."""
    data = parts[0] if len(parts) == 1 else b"".join(parts)
    scanned = None
    if len(data) >= _layout().fast_min_bytes:
        found = _answer(ahead)
        if lean and not keep_all:
            scanned = _lean_path(data, found)
        if scanned is None:
            scanned = _fast_path(data, keep_all, found)
    if scanned is None:
        scanned, invalid = _polars_path(bytes(data), keep_all)
        scanned.invalid_utf8 = invalid
    return scanned


def _answer(ahead: Future[np.ndarray | None] | None) -> np.ndarray | None:
    if ahead is None:
        return None
    try:
        return ahead.result(timeout=_HELPER_PATIENCE_S)
    except TimeoutError:  # a helper that stalls: ended, and the pieces are scanned here
        prefilter.stop()
        return None


_HELPER_PATIENCE_S = 60


def _lean_path(
    data: bytes | memoryview, found: np.ndarray | None = None
) -> linescan.Scanned | None:
    """The piece from the lean pass (kept lines and restarts only), or None."""
    lay = _layout()
    return linescan.classify_lean(
        data,
        levels=lay.levels,
        keep_levels=lay.keep_levels,
        words=lay.vocabulary,
        slow=_classify,
        restart_tolerance_us=lay.restart_tolerance_us,
        continuation_limit=_continuation_limit(),
        hits=found,
    )


def _continuation_limit() -> linescan.Continuation:
    lay = _layout()
    return linescan.Continuation(lay.continuation_lines, lay.continuation_bytes)


def _fast_path(
    data: bytes | memoryview, keep_all: bool, found: np.ndarray | None = None
) -> linescan.Scanned | None:
    """The piece from the compiled fast path, or None where it does not apply."""
    lay = _layout()
    return linescan.classify(
        data,
        keep_all=keep_all,
        levels=lay.levels,
        keep_levels=lay.keep_levels,
        words=lay.vocabulary,
        slow=_classify,
        max_samples=lay.max_samples,
        sample_chars=lay.sample_chars,
        restart_tolerance_us=lay.restart_tolerance_us,
        continuation_limit=_continuation_limit(),
        hits=found,
    )


def _polars_path(data: bytes, keep_all: bool) -> tuple[linescan.Scanned, int]:
    """The piece from Polars string columns (small pieces, no Hyperscan or Numba, or
    invalid UTF-8), and the number of lines with invalid UTF-8."""
    raw, invalid = _read_lines(data)
    nul = int(raw.str.contains("\x00", literal=True).sum()) if b"\x00" in data else 0
    fields = _fields(data, lossy=invalid > 0)
    if fields is not None and fields.height == raw.len():
        frame = _classify_fields(raw, fields, keep_all)
    else:
        frame = _classify(raw, keep_all)
    del raw, fields
    n_parsed = int(frame.get_column("parsed").sum())
    n_cont = int(frame.get_column("continuation").sum())
    kinds = {
        "parsed": n_parsed,
        "continuation": n_cont,
        "unparsed": frame.height - n_parsed - n_cont,
    }
    # concat_str copies the text: a filtered string column would otherwise keep views
    # into (and so the memory of) the whole piece.
    own_text = pl.concat_str(pl.col("raw"), pl.lit("")).alias("raw")
    kept = frame.filter(pl.col("keep")).select(
        "line",
        own_text,
        "uptime",
        "local_ts",
        "level",
        pl.lit(None, pl.Int64).alias("body"),
        "utc",
    )
    kept, edge = _with_continuations(frame, kept, _continuation_limit())
    scanned = linescan.Scanned(
        lines=frame.height,
        nul_lines=nul,
        kinds=kinds,
        samples=_samples(frame, kinds["unparsed"]),
        counts=_counts(frame),
        kept=kept,
        order=_order(frame.filter(pl.col("parsed")).select("line", "local_ts", "uptime")),
        edge=edge,
    )
    return scanned, invalid


def _with_continuations(
    frame: pl.DataFrame, kept: pl.DataFrame, limit: linescan.Continuation
) -> tuple[pl.DataFrame, linescan.Edge]:
    """``kept`` with the continuation lines after each row joined to its text, and the
    piece's edge (what :func:`linescan.attach_continuations` gives from the bytes)."""
    raw = pl.col("raw")
    # (as linescan._continuation: not led by a digit, and more than blanks)
    attach = ~raw.str.contains(r"^[0-9]") & (raw.str.strip_chars(" \t\r") != "")
    last_kept = kept.height > 0 and kept.item(-1, "line") == frame.height - 1
    if not frame.select(attach.any()).item():
        return kept, linescan.Edge(tail=(0, 0) if last_kept else None)
    runs = frame.select("line", "keep", raw, attach.alias("attach")).with_columns(
        (~pl.col("attach")).cum_sum().alias("run")  # a run: a line and the ones continuing it
    )
    within = pl.col("attach").cum_sum().over("run")
    used = (raw.str.len_bytes() + 1).cum_sum().over("run")
    attached = runs.filter(pl.col("attach")).with_columns(
        within.alias("within"), used.alias("used")
    )
    taken = attached.filter(
        (pl.col("within") <= limit.max_lines) & (pl.col("used") <= limit.max_bytes)
    )
    heads = runs.filter(~pl.col("attach")).select("run", pl.col("line").alias("head"))
    more = (
        taken.group_by("run")
        .agg(raw.str.join("\n").alias("more"))
        .join(heads, on="run", how="inner")
        .select(pl.col("head").alias("line"), "more")
    )
    joined = kept.join(more, on="line", how="left", maintain_order="left").select(
        "line",
        pl.when(pl.col("more").is_null())
        .then(raw)
        .otherwise(raw + "\n" + pl.col("more"))
        .alias("raw"),
        "uptime",
        "local_ts",
        "level",
        "body",
        "utc",
    )
    last_run = runs.item(-1, "run")
    lead = taken.filter(pl.col("run") == 0)
    edge = linescan.Edge(
        lead=lead.get_column("raw").to_list(),
        lead_all=last_run == 0 and lead.height == attached.filter(pl.col("run") == 0).height,
    )
    if kept.height and last_run > 0:
        head = heads.filter(pl.col("run") == last_run).item(0, "head")
        tail = taken.filter(pl.col("run") == last_run)
        whole = tail.height == attached.filter(pl.col("run") == last_run).height
        if head == kept.item(-1, "line") and whole:
            edge.tail = (tail.height, tail.item(-1, "used") if tail.height else 0)
    return joined, edge


def _samples(frame: pl.DataFrame, unparsed: int) -> pl.DataFrame:
    if not unparsed:
        return pl.DataFrame(schema={"line": pl.Int64, "raw": pl.String})
    bad = frame.filter(~pl.col("parsed") & ~pl.col("continuation")).head(_layout().max_samples)
    return bad.select("line", pl.col("raw").str.head(_layout().sample_chars))


def _counts(frame: pl.DataFrame) -> pl.DataFrame:
    minute = pl.col("local_ts").dt.truncate("1m").forward_fill()
    kind = (
        pl.when(pl.col("continuation")).then(pl.lit("CONTINUATION")).otherwise(pl.lit("UNPARSED"))
    )
    level = pl.coalesce("level", kind)
    return frame.group_by(minute.alias("minute"), level.alias("level")).len("lines")


def _order(parsed: pl.DataFrame) -> linescan.Order:
    """Backwards timestamps and uptime resets between consecutive parsed lines of the piece."""
    if not parsed.height:
        return linescan.Order(restarts=pl.DataFrame(schema=linescan.RESTART_SCHEMA))
    ts, up = pl.col("local_ts"), pl.col("uptime")
    prev_up = up.shift(1).forward_fill()
    marked = parsed.with_columns(
        prev_up.alias("prev_uptime"),
        ts.shift(1).alias("prev_ts"),
        (ts < ts.shift(1)).fill_null(False).alias("backwards"),
        ((prev_up - up) > _layout().restart_tolerance_us).fill_null(False).alias("restart"),
    )
    back = marked.filter(pl.col("backwards")).get_column("line")
    stamps = parsed.get_column("local_ts")
    order = linescan.Order(
        restarts=marked.filter(pl.col("restart")).select(*linescan.RESTART_SCHEMA),
        backwards=back.len(),
        first_backwards=int(back[0]) if back.len() else None,
        first_parsed=(int(parsed.item(0, "line")), parsed.item(0, "local_ts")),
        last_ts=stamps[-1],
        last_minute=stamps.dt.truncate("1m")[-1],
        ts_min=stamps.min(),  # type: ignore[arg-type]
        ts_max=stamps.max(),  # type: ignore[arg-type]
    )
    with_up = parsed.filter(up.is_not_null())
    if with_up.height:
        order.first_uptime = tuple(with_up.row(0))
        order.first_uptime_prev_ts = marked.filter(up.is_not_null()).item(0, "prev_ts")
        order.last_uptime = int(with_up.item(-1, "uptime"))
    return order


# ----------------------------------------------------------------------------- accumulation


@dataclass
class _Acc:
    """Per-file state carried across pieces, and the frames collected from each piece."""

    keep_all: bool
    lines: int = 0
    kinds: dict[str, int] = field(
        default_factory=lambda: {"parsed": 0, "continuation": 0, "unparsed": 0}
    )
    invalid_utf8: int = 0
    nul_lines: int = 0
    samples: list[tuple[int, str]] = field(default_factory=list)
    counts: list[pl.DataFrame] = field(default_factory=list)
    kept: list[pl.DataFrame] = field(default_factory=list)
    restarts: list[pl.DataFrame] = field(default_factory=list)
    out_of_order: int = 0
    first_out_of_order: int | None = None
    last_uptime: int | None = None
    last_ts: datetime | None = None
    last_minute: datetime | None = None
    ts_min: datetime | None = None
    ts_max: datetime | None = None
    lean_pieces: int = 0
    first_uptime: tuple[int, datetime, int] | None = None  # (1-based line, local ts, counter)
    last_uptime_ts: datetime | None = None  # the local time of the last line with a counter
    # the last kept line's continuation lines so far (lines, bytes) while they may go on
    # in the next piece (see linescan.Edge)
    tail: tuple[int, int] | None = None

    def add(self, p: linescan.Scanned) -> None:
        """Fold in the next piece (pieces come in file order)."""
        first = self.lines + 1  # 1-based number of the piece's first line
        shift = pl.col("line") + first
        self._continue_tail(p)
        self.lines += p.lines
        self.lean_pieces += not p.measured
        self.invalid_utf8 += p.invalid_utf8
        self.nul_lines += p.nul_lines
        for kind, n in p.kinds.items():
            self.kinds[kind] += n
        room = _layout().max_samples - len(self.samples)
        if room > 0 and p.samples.height:
            self.samples += p.samples.head(room).with_columns(shift).rows()
        counts = p.counts
        if self.last_minute is not None:
            fill = pl.col("minute").fill_null(pl.lit(self.last_minute, dtype=schemas.LOCAL_US))
            counts = counts.with_columns(fill)
        self.counts.append(counts)
        self.kept.append(p.kept.with_columns(shift))
        if p.order.first_parsed is not None:
            self._join(p.order, first)
        self.last_minute = p.order.last_minute or self.last_minute

    def _continue_tail(self, p: linescan.Scanned) -> None:
        """Join the continuation lines opening piece ``p`` to the last kept line of the
        pieces before, within the limits, and note the piece's own open tail."""
        edge = p.edge or linescan.Edge()
        if self.tail is not None and edge.lead:
            limit = _continuation_limit()
            n, used = self.tail
            taken = []
            for line in edge.lead:
                size = len(line.encode()) + 1
                if n >= limit.max_lines or used + size > limit.max_bytes:
                    break
                taken.append(line)
                n, used = n + 1, used + size
            if taken:
                last = self.kept[-1]
                text = last.get_column("raw")
                joined = "\n".join([text[-1], *taken])
                self.kept[-1] = last.with_columns(text.scatter(text.len() - 1, joined))
            whole = len(taken) == len(edge.lead)
            self.tail = (n, used) if edge.lead_all and whole else None
        elif p.lines and not edge.lead_all:
            self.tail = None
        if p.kept.height:
            self.tail = edge.tail

    def _join(self, p: linescan.Order, first: int) -> None:
        """Comparisons across the piece boundary, then the piece's own findings."""
        line, ts = p.first_parsed  # type: ignore[misc]
        if self.last_ts is not None and ts < self.last_ts:
            self._note_backwards(line + first, 1)
        if p.backwards:
            self._note_backwards(p.first_backwards + first, p.backwards)  # type: ignore[operator]
        if p.first_uptime is not None and self.first_uptime is None:
            up_line, up_ts, uptime = p.first_uptime
            self.first_uptime = (up_line + first, up_ts, uptime)
        if p.first_uptime is not None and self.last_uptime is not None:
            up_line, up_ts, uptime = p.first_uptime
            if self.last_uptime - uptime > _layout().restart_tolerance_us:
                row = {
                    "line": up_line,
                    "local_ts": up_ts,
                    "uptime": uptime,
                    "prev_uptime": self.last_uptime,
                    # the line before the reset: earlier in this piece, else the last
                    # parsed line of the pieces before
                    "prev_ts": p.first_uptime_prev_ts or self.last_ts,
                }
                self.restarts.append(
                    pl.DataFrame([row], schema=linescan.RESTART_SCHEMA).with_columns(
                        pl.col("line") + first
                    )
                )
        if p.restarts.height:
            self.restarts.append(p.restarts.with_columns(pl.col("line") + first))
        if p.last_uptime is not None:
            self.last_uptime, self.last_uptime_ts = p.last_uptime, p.last_ts
        self.last_ts = p.last_ts
        self.ts_min = p.ts_min if self.ts_min is None else min(self.ts_min, p.ts_min)  # type: ignore[type-var]
        self.ts_max = p.ts_max if self.ts_max is None else max(self.ts_max, p.ts_max)  # type: ignore[type-var]

    def _note_backwards(self, line: int, n: int) -> None:
        if self.first_out_of_order is None:
            self.first_out_of_order = line
        self.out_of_order += n


# ----------------------------------------------------------------------------- assembly


def local_to_utc(
    expr: pl.Expr, tz: str, ambiguous: Literal["earliest", "latest"] | pl.Expr = "earliest"
) -> pl.Expr:
    """Naive local times of zone ``tz`` in UTC (a time a DST change skips: null; so is a
    time the zone moves past year 9999 or before year 1, which Python cannot hold)."""
    local = expr.dt.replace_time_zone(tz, ambiguous=ambiguous, non_existent="null")
    utc = local.dt.convert_time_zone("UTC").cast(schemas.UTC_US)
    return pl.when(utc.dt.year().is_between(1, 9999)).then(utc)


def _second_pass(local: pl.Expr) -> pl.Expr:
    """For rows in line order: which reading of a local time that a DST change repeats is
    meant. After the clock fell back (a time more than half an hour before the latest one
    before it), and for the hour after that, the second ("latest"); else the first."""
    dropped = local < local.cum_max() - pl.duration(minutes=30)
    # the rest of the repeated hour too: once back, the clock stays on its second pass
    # (its last half hour is no longer 30 minutes below the latest time before it)
    since = pl.when(dropped).then(local).forward_fill()
    back = ((local - since) < pl.duration(hours=1)).fill_null(False)
    return pl.when(back).then(pl.lit("latest")).otherwise(pl.lit("earliest"))


def _build_events(acc: _Acc, *, path: str, node: str, tz: str) -> pl.DataFrame:
    kept = pl.concat(acc.kept) if acc.kept else pl.DataFrame(schema=_KEPT_SCHEMA)
    layout = _layout_fields(kept)
    both = extract_fields(layout)  # in line order already
    if acc.restarts:  # each restart row goes before the line it was found on
        events = both.with_columns(pl.lit(1, dtype=pl.Int8).alias("_order"))
        restarts = _restart_rows(acc.restarts).with_columns(
            pl.lit(0, dtype=pl.Int8).alias("_order")
        )
        both = pl.concat([events, restarts], how="diagonal_relaxed").sort("line", "_order")
    both = both.with_columns(
        pl.lit(node, dtype=pl.String).alias("node"),
        pl.lit(path, dtype=pl.String).alias("file"),
        _event_time(tz, zoned=bool(kept.get_column("utc").any())).alias("ts"),
        pl.col("uptime").alias("uptime_us"),
    )
    return schemas.conform(both.collect(), schemas.EVENTS)


def _event_time(tz: str, *, zoned: bool) -> pl.Expr:
    """``ts``: ``local_ts`` read in ``tz``, or, on the rows whose line gave a zone (when
    there are any), ``local_ts`` as it is: in UTC already."""
    local = local_to_utc(
        pl.col("local_ts"), tz, "earliest" if tz == "UTC" else _second_pass(pl.col("local_ts"))
    )
    if not zoned:
        return local
    utc = pl.col("local_ts").dt.replace_time_zone("UTC").cast(schemas.UTC_US)
    return pl.when(pl.col("utc").fill_null(False)).then(utc).otherwise(local)


_KEPT_SCHEMA = pl.Schema(
    {
        "line": pl.Int64(),
        "raw": pl.String(),
        "uptime": pl.Int64(),
        "local_ts": schemas.LOCAL_US,
        "level": pl.String(),
        "body": pl.Int64(),  # where the message starts, in characters; null: not known
        "utc": pl.Boolean(),  # local_ts is in UTC already (the line gave a zone)
    }
)


def _messages_of(kept: pl.DataFrame) -> pl.Series:
    """The text after the layout prefix: a slice where the parser found where it starts
    (``body``), the layout regex on the other rows only."""
    raw, body = kept.get_column("raw"), kept.get_column("body")
    unknown = body.is_null()
    if not unknown.any():
        return pl.select(raw.str.slice(body)).to_series().alias("message")
    rows = unknown.arg_true()
    found = raw.gather(rows).str.replace(_layout().prefix + r"[ \t]?", "")
    message = pl.select(raw.str.slice(body.fill_null(0))).to_series()
    return message.scatter(rows, found).alias("message")


def _layout_fields(kept: pl.DataFrame) -> pl.LazyFrame:
    """message, thread and component of kept rows (regexes run on kept rows only)."""
    lay = _layout()
    kept = kept.with_columns(_messages_of(kept)).drop("body")
    message = kept.get_column("message")
    thread, component = _designators(message, lay.thread)
    bare = _gated(pl.col("message"), lay.bare_component).str.extract(lay.bare_component, 1)
    return kept.lazy().with_columns(
        thread.cast(pl.Int64, strict=False).alias("thread"),
        pl.coalesce(pl.lit(component), bare).alias("component"),
    )


def _designators(message: pl.Series, regex: str) -> tuple[pl.Series, pl.Series]:
    """The ``thread`` and ``component`` groups of ``regex`` in each message.

    Most designators open the message. The leftmost match is the one at the start when
    there is one, so ``regex`` anchored there gives the same groups, and an anchored
    search is the cheaper one (measured: 13.5 ms against 30 ms for 72k bench rows); the
    unanchored search runs on the other rows only."""
    found = message.str.extract_groups(f"^(?:{regex})")
    thread, component = found.struct.field("thread"), found.struct.field("component")
    rest = thread.is_null().arg_true()
    if rest.len():
        later = (
            pl.DataFrame({"message": message.gather(rest)})
            .select(_gated(pl.col("message"), regex).str.extract_groups(regex))
            .to_series()
        )
        thread = thread.scatter(rest, later.struct.field("thread"))
        component = component.scatter(rest, later.struct.field("component"))
    return thread, component


def stamp(value: datetime | None) -> str:
    """A local time as the restart rows write it (milliseconds)."""
    return value.isoformat(sep=" ", timespec="milliseconds") if value is not None else "?"


def _restart_rows(pieces: list[pl.DataFrame]) -> pl.LazyFrame:
    if not pieces:
        return pl.LazyFrame(schema={"line": pl.Int64})
    rows = pl.concat(pieces)
    # The row is placed when the node was last seen before the restart (the crash is
    # between that line and the reset), so that it lines up with what it interrupted.
    # Restarts are few: the message is built in Python.
    messages = [
        f"node restart detected: last line before it at {stamp(r['prev_ts'])}, back at "
        f"{stamp(r['local_ts'])}; uptime counter went from {r['prev_uptime']} to {r['uptime']}"
        for r in rows.iter_rows(named=True)
    ]
    message = pl.Series("message", messages, dtype=pl.String)
    return rows.lazy().select(
        "line",
        pl.coalesce("prev_ts", "local_ts").alias("local_ts"),
        "uptime",
        pl.lit("INFO").alias("level"),
        pl.lit("forensics").alias("component"),
        pl.lit(message).alias("message"),
        pl.lit("node_restart").alias("step_event"),
    )


# ----------------------------------------------------------------------------- extraction


def extract_fields(frame: pl.LazyFrame | pl.DataFrame) -> pl.LazyFrame:
    """Add database, ordinal, action, phase_kind, step_event, target, error_code from
    the ``message`` column, with the patterns of ``grammars/messages.toml``.

    Cost model: a regex costs about as much on a null (masked) row as on a real one, and a
    capture costs several match tests. So each step works on the rows it concerns only,
    *filtered out* of the frame: per group, one combined match test over all rows; then
    pattern k of the group is tested on the rows no earlier pattern matched, and captures
    run with that pattern on its own hits only. Results are joined back by row."""
    m = _messages()
    rows = frame.lazy().collect() if isinstance(frame, pl.LazyFrame) else frame
    # The fields depend on the text only, and not on a leading thread designator: the
    # patterns run once per distinct text without it (routine lines repeat: 72k kept rows
    # of a bench log hold 2k such texts), on its first row, and the rows are joined back.
    texts = _masked_messages(rows.get_column("message"), m["mask"]).to_frame("_scan")
    texts = texts.with_columns(pl.col("_scan").str.replace(_DESIGNATOR, "").alias("_key"))
    distinct = texts.unique("_key", keep="first", maintain_order=True).with_row_index("_i")
    scan = distinct.select("_i", "_scan")
    # a client's own statement is no step line: no action, no step_event (messages.toml)
    clients = _client_statements(scan, m["step_event"])
    steps = scan.filter(~pl.col("_i").is_in(clients.implode())) if clients.len() else scan
    found = [
        _database_frame(scan, m["database"]["patterns"]),
        _action_frame(steps, m["action"]["patterns"], m["phase_kinds"]),
        _target_frame(scan, m["target"]["patterns"]),
        _error_code_frame(scan, m["error_code"]["patterns"]),
    ]
    out = scan.select("_i")
    for part in found:
        out = out.join(part, on="_i", how="left", maintain_order="left")
    step_events, numbered = _step_event_frame(steps, out, m["step_event"])
    out = out.join(step_events, on="_i", how="left", maintain_order="left")
    out = out.join(numbered, on="_i", how="left", maintain_order="left")
    out = out.join(distinct.select("_i", "_key"), on="_i")
    per_row = texts.select("_key").join(out, on="_key", how="left", maintain_order="left")
    columns = ["database", "ordinal", "action", "target", "error_code", "phase_kind", "step_event"]
    found_rows = rows.with_columns(per_row.select(*columns, "_step").get_columns())
    if clients.len():
        client_keys = distinct.filter(pl.col("_i").is_in(clients.implode())).get_column("_key")
        is_client = texts.get_column("_key").is_in(client_keys.implode())
        found_rows = _client_follow_ups(found_rows, is_client, m["connections"]["own"])
    return _link_steps(found_rows).lazy()


# A leading thread designator (see `thread` in grammars/tracelog.toml), left out of the key
# under which extract_fields runs the patterns once. Only a key: a designator it misses
# just makes two keys of one text.
_DESIGNATOR = r"^Thread \d{1,18}(?: \([^)]*\))?:[ \t]+"


def _masked_messages(message: pl.Series, mask: dict[str, Any]) -> pl.Series:
    """``message`` with the [mask] patterns applied, on the rows that hold the literal every
    pattern needs (``requires``) only."""
    required = mask.get("requires")
    if not required:
        return pl.select(_masked(pl.lit(message), mask["patterns"])).to_series()
    rows = message.str.contains(required, literal=True).fill_null(False).arg_true()
    if not rows.len():
        return message
    masked = pl.select(_masked(pl.lit(message.gather(rows)), mask["patterns"])).to_series()
    return message.clone().scatter(rows, masked)


def _masked(msg: pl.Expr, patterns: list[dict[str, str]]) -> pl.Expr:
    """Each pattern's matches replaced by its ``replace`` (``${group}`` names its groups),
    else by one blank."""
    for p in patterns:
        msg = msg.str.replace_all(p["regex"], p.get("replace", " "))
    return msg


_NAMED_GROUP = re.compile(r"\(\?P<\w+>")


def _group_gate(msg: pl.Expr, patterns: list[dict[str, str]]) -> pl.Expr:
    """True where any pattern of the group matches (one combined match test)."""
    combined = "|".join(f"(?:{_NAMED_GROUP.sub('(?:', p['regex'])})" for p in patterns)
    return msg.str.contains(combined)


def _gated(msg: pl.Expr, regex: str) -> pl.Expr:
    # Captures are slow; a match test is fast. Capture only on rows that match.
    return pl.when(msg.str.contains(regex)).then(msg)


def _first_hits(
    scan: pl.DataFrame, patterns: list[dict[str, str]], *, gate: bool = True
) -> Iterator[tuple[dict[str, str], pl.DataFrame]]:
    """(pattern, its rows) for each pattern: the rows (``_i``, ``_scan``) whose FIRST
    matching pattern of the group it is. ``gate``: filter by the group's combined match
    test first (it pays off unless the alternation is slower than its parts)."""
    rest = scan.filter(_group_gate(pl.col("_scan"), patterns)) if gate else scan
    if not rest.height:
        return
    # which pattern matches first, for every row in one pass (one call, not one filter
    # per pattern: the calls, not the regexes, cost most on a file's few thousand texts)
    text = pl.col("_scan")
    first = pl.coalesce(
        pl.when(text.str.contains(p["regex"])).then(pl.lit(k, dtype=pl.UInt16))
        for k, p in enumerate(patterns)
    )
    tagged = rest.with_columns(first.alias("_p")).filter(pl.col("_p").is_not_null())
    for k in tagged.get_column("_p").unique().sort().to_list():
        yield patterns[k], tagged.filter(pl.col("_p") == k).drop("_p")


def _captures(hits: pl.DataFrame, regex: str, names: list[str]) -> pl.DataFrame:
    """``_i`` and the named groups ``names`` of ``regex`` (null when the pattern lacks one).
    A field may have alternatives named ``<name>2``, ``<name>3``... (a regex cannot use a
    name twice): the first that took part in the match gives it."""
    groups = re.compile(regex).groupindex
    found = hits.select("_i", pl.col("_scan").str.extract_groups(regex).alias("_g"))
    fields = []
    for n in names:
        alternatives = [g for g in groups if g == n or (g.startswith(n) and g[len(n) :].isdigit())]
        parts = [pl.col("_g").struct.field(g) for g in alternatives]
        fields.append(pl.coalesce(parts) if parts else pl.lit(None, dtype=pl.String))
    return found.select("_i", *(f.alias(n) for f, n in zip(fields, names, strict=True)))


def _empty(names: list[str]) -> pl.DataFrame:
    return pl.DataFrame(schema={"_i": pl.UInt32, **{n: pl.String for n in names}})


def _database_frame(scan: pl.DataFrame, patterns: list[dict[str, Any]]) -> pl.DataFrame:
    """The database (and ordinal) of each text by the first pattern that matches it; a
    name the pattern's ``not_names`` lists (any case) is no database: the regex engine
    has no look-ahead to leave it out ("rebalance failed: step 3")."""
    names = ["database", "ordinal"]
    parts = []
    for p, h in _first_hits(scan, patterns):
        part = _captures(h, p["regex"], names)
        if p.get("not_names"):
            stop = pl.col("database").str.to_lowercase().is_in(p["not_names"])
            part = part.with_columns(
                pl.when(stop).then(None).otherwise(pl.col(n)).alias(n) for n in names
            )
        parts.append(part)
    found = pl.concat([_empty(names), *parts])
    return found.with_columns(pl.col("ordinal").cast(pl.Int64, strict=False))


def _action_frame(
    scan: pl.DataFrame, patterns: list[dict[str, str]], kinds: dict[str, str]
) -> pl.DataFrame:
    hits = _first_hits(scan, patterns)
    parts = [h.select("_i", pl.lit(p["action"]).alias("action")) for p, h in hits]
    found = pl.concat([_empty(["action"]), *parts])
    phase = pl.col("action").replace_strict(kinds, default=None, return_dtype=pl.String)
    return found.with_columns(phase.alias("phase_kind"))


def _target_frame(scan: pl.DataFrame, patterns: list[dict[str, str]]) -> pl.DataFrame:
    parts = [_captures(h, p["regex"], ["host", "port"]) for p, h in _first_hits(scan, patterns)]
    found = pl.concat([_empty(["host", "port"]), *parts])
    return found.select("_i", pl.concat_str("host", pl.lit(":"), "port").alias("target"))


def _error_code_frame(scan: pl.DataFrame, patterns: list[dict[str, str]]) -> pl.DataFrame:
    # No gate: this group's alternation is slower than its two patterns apart.
    hits = _first_hits(scan, patterns, gate=False)
    parts = [_captures(h, p["regex"], ["code"]) for p, h in hits]
    found = pl.concat([_empty(["code"]), *parts])
    return found.select("_i", pl.col("code").cast(pl.Int64, strict=False).alias("error_code"))


def _client_statements(scan: pl.DataFrame, tokens: dict[str, str]) -> pl.Series:
    """``_i`` of the texts that echo a statement a client ran on its own connection
    (``client``), unless that statement is a REBALANCE (``client_rebalance``)."""
    client, rebalance = tokens.get("client"), tokens.get("client_rebalance")
    echoed = scan.filter(pl.col("_scan").str.contains(client)) if client else scan.clear()
    if rebalance and echoed.height:
        echoed = echoed.filter(~pl.col("_scan").str.contains(rebalance))
    return echoed.get_column("_i")


def _client_follow_ups(rows: pl.DataFrame, is_client: pl.Series, own: str) -> pl.DataFrame:
    """``rows`` (one file's) where a step line that runs on the connection (``own``, the
    thread designator's ``conn id``) of a client's statement on the same partition is
    that statement's (``DROP PARTITION archive:3 ... completed`` after the client's
    ``connection 3321 ('dba'@...) executed DROP PARTITION archive:3``): no step either."""
    conn = pl.col("message").str.extract(own, 1).alias("_conn")
    key = ["_conn", "database", "ordinal"]
    ran = rows.filter(is_client).select(conn, "database", "ordinal").drop_nulls(key[:2]).unique()
    step = pl.col("action").is_not_null() & pl.col("database").is_in(ran["database"].implode())
    rows = rows.with_row_index("_row")
    candidates = rows.filter(step).select("_row", conn, "database", "ordinal")
    theirs = candidates.join(ran, on=key, nulls_equal=True).get_column("_row")
    if not theirs.len():
        return rows.drop("_row")
    off = pl.col("_row").is_in(theirs.implode())
    cleared = ("action", "phase_kind", "step_event", "_step")
    return rows.with_columns(pl.when(~off).then(pl.col(c)).alias(c) for c in cleared).drop("_row")


def _step_number_frame(scan: pl.DataFrame, regex: str) -> pl.DataFrame:
    """``_i`` and ``_step``: the step number a text names ("step 2/4", "[2/4]",
    "operation 2/4"), where it names one: the first of the regex's groups that matched."""
    hits = scan.filter(pl.col("_scan").str.contains(regex))
    groups = re.compile(regex).groups
    number = pl.coalesce(
        [
            pl.col("_scan").str.extract(regex, g).cast(pl.Int64, strict=False)
            for g in range(1, groups + 1)
        ]
    )
    return hits.select("_i", number.alias("_step"))


def _step_event_frame(
    scan: pl.DataFrame, fields: pl.DataFrame, tokens: dict[str, str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``step_event`` = <scope>_<outcome> (see messages.toml), on the rows that have one,
    and the step numbers (``_step``) of the texts that name one. A text that names an
    action, or a step by its number (whatever else it says: :func:`_link_steps` keeps its
    event only when an earlier line announced that step), is in the step scope."""
    actions = fields.filter(pl.col("action").is_not_null())
    rebalance = scan.filter(_scope_expr(pl.col("_scan"), tokens))
    # (every distinct text: "Rebalancer: [2/6] failed" names neither action nor rebalance)
    numbered = _step_number_frame(scan, tokens["step_number"])
    scoped = pl.concat(
        [
            actions.select("_i", pl.lit("step").alias("_scope")),
            numbered.select("_i", pl.lit("step").alias("_scope")),
            rebalance.select("_i", pl.lit("rebalance").alias("_scope")),
        ]
    ).unique("_i", keep="first", maintain_order=True)
    scoped = scoped.join(scan, on="_i").join(fields.select("_i", "database"), on="_i", how="left")
    # (on the scoped rows only: a replace over every row costs)
    text = _without_names(pl.col("_scan"), tokens)
    event = pl.concat_str("_scope", pl.lit("_"), _outcome_expr(text, tokens))
    events = scoped.select("_i", event.alias("step_event"))
    return events.filter(pl.col("step_event").is_not_null()), numbered


def _without_names(text: pl.Expr, tokens: dict[str, str]) -> pl.Expr:
    """The text the outcome tokens are tested on: without counts of none ("0 errors"),
    a statement's rejection before it ran (``rejected``: no run), quoted identifiers and
    ``db:N`` tokens, and the first occurrence of the extracted ``database`` name: a
    database named ``errors`` is no failure."""
    for key in ("none", "rejected", "names"):
        if tokens.get(key):
            text = text.str.replace_all(tokens[key], " ")
    name = pl.col("database")
    at = text.str.find(name, literal=True)  # a byte offset: cut the bytes
    raw = text.cast(pl.Binary)
    cut = pl.concat_str(
        raw.bin.slice(0, at).cast(pl.String),
        pl.lit(" "),
        raw.bin.slice(at + name.str.len_bytes()).cast(pl.String),
    )
    return pl.when(at.is_not_null()).then(cut).otherwise(text)


def _scope_expr(msg: pl.Expr, tokens: dict[str, str]) -> pl.Expr:
    """A row without an action is in the ``rebalance`` scope when this holds."""
    return msg.str.contains(tokens["rebalance"])


def _outcome_expr(msg: pl.Expr, tokens: dict[str, str]) -> pl.Expr:
    recovered = tokens.get("recovered")
    expr: Any = pl.when(msg.str.contains(recovered)).then(pl.lit("success")) if recovered else pl
    return (
        expr.when(msg.str.contains(tokens["failure"]))
        .then(pl.lit("failure"))
        .when(msg.str.contains(tokens["success"]))
        .then(pl.lit("success"))
        .when(msg.str.contains(tokens["start"]))
        .then(pl.lit("start"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


_STEP_FIELDS = ("database", "ordinal", "action", "phase_kind", "target")
_OUTCOMES = ("step_success", "step_failure")


def _link_steps(rows: pl.DataFrame) -> pl.DataFrame:
    """Give step lines that do not name their partition the fields of the step they are
    about, from earlier lines of the same file (``rows``, in line order) and thread:

    * a line naming a step by its number only ("step 2/4 returned error 1712") takes the
      fields of the latest line that announced step 2 with its action and partition; with
      none, it has no step_event (it is not about the rebalance as a whole);
    * an outcome line naming an action but no partition ("CopyPartition: failed: ...")
      takes those of its thread's open step of that phase, when exactly one is open.

    Only the few step lines are walked, and only when a file has such a line."""
    event, thread = pl.col("step_event"), pl.col("thread") if "thread" in rows.columns else None
    number_only = pl.col("_step").is_not_null() & pl.col("action").is_null() & event.is_not_null()
    loose = pl.col("database").is_null() & pl.col("action").is_not_null() & event.is_in(_OUTCOMES)
    if not rows.select((number_only | loose).any()).item():
        return rows.drop("_step")
    involved = (
        rows.with_row_index("_row")
        .filter(pl.col("_step").is_not_null() | event.str.starts_with("step_"))
        .select(
            "_row",
            (thread if thread is not None else pl.lit(None, dtype=pl.Int64)).alias("_thread"),
            "_step",
            "step_event",
            *_STEP_FIELDS,
        )
    )
    fixes = _step_links(involved.iter_rows(named=True))
    rows = rows.drop("_step")
    if not fixes:
        return rows
    at, steps = list(fixes), list(fixes.values())
    columns = []
    for name in ("step_event", *_STEP_FIELDS):
        column = rows.get_column(name)
        old = column.gather(at).to_list()
        if name == "step_event":  # a step number no earlier line announced: no event
            new = [None if step is None else o for step, o in zip(steps, old, strict=True)]
        else:
            new = [
                o if s is None or s[name] is None else s[name]
                for s, o in zip(steps, old, strict=True)
            ]
        columns.append(column.clone().scatter(at, new))
    return rows.with_columns(columns)


def _step_links(involved: Iterator[dict[str, Any]]) -> dict[int, dict[str, Any] | None]:
    """row -> the fields of the step it is about (None: it has no step_event after all).
    Open steps are indexed by partition and by (thread, phase), so that a log of many
    thousand steps (some never closed) is walked in linear time."""
    announced: dict[tuple[Any, int], dict[str, Any]] = {}
    by_partition: dict[tuple[Any, ...], dict[int, dict[str, Any]]] = {}
    by_thread: dict[tuple[Any, Any], dict[int, dict[str, Any]]] = {}
    where: dict[int, tuple[tuple[Any, ...], tuple[Any, Any]]] = {}
    seen: set[tuple[Any, ...]] = set()
    fixes: dict[int, dict[str, Any] | None] = {}
    for seq, row in enumerate(involved):
        thread, number = row["_thread"], row["_step"]
        if number is not None and row["action"] is None:
            if row["step_event"] is None:
                continue
            step = announced.get((thread, number))
            fixes[row["_row"]] = step
            if step is None:
                continue
            row = {**row, **{k: v for k, v in step.items() if v is not None}}
        elif number is not None and row["database"] is not None:
            announced[(thread, number)] = {k: row[k] for k in _STEP_FIELDS}
        step = {k: row[k] for k in _STEP_FIELDS}
        key = (
            step["database"],
            step["ordinal"],
            step["phase_kind"],
            step["action"],
            step["target"],
        )
        if row["step_event"] == "step_start":
            if step["database"] is not None and (thread, *key) not in seen:
                seen.add((thread, *key))
                part = (step["database"], step["ordinal"], step["phase_kind"], key[3:])
                lane = (thread, step["phase_kind"])
                by_partition.setdefault(part[:3], {})[seq] = step
                by_thread.setdefault(lane, {})[seq] = step
                where[seq] = ((*part[:3], key[3:]), lane)
        elif row["step_event"] in _OUTCOMES and step["database"] is not None:
            for other, s in list(by_partition.get(key[:3], {}).items()):
                if step["target"] in (None, s["target"]):
                    _close(other, by_partition, by_thread, where, seen)
        elif row["step_event"] in _OUTCOMES and step["action"] is not None:
            alike = by_thread.get((thread, step["phase_kind"]), {})
            if len(alike) == 1:
                ((other, only),) = alike.items()
                fixes[row["_row"]] = only
                _close(other, by_partition, by_thread, where, seen)
    return fixes


def _close(
    seq: int,
    by_partition: dict[tuple[Any, ...], dict[int, dict[str, Any]]],
    by_thread: dict[tuple[Any, Any], dict[int, dict[str, Any]]],
    where: dict[int, tuple[tuple[Any, ...], tuple[Any, Any]]],
    seen: set[tuple[Any, ...]],
) -> None:
    """Take the open step ``seq`` out of the indexes of :func:`_step_links`."""
    (database, ordinal, phase, rest), lane = where.pop(seq)
    by_partition[(database, ordinal, phase)].pop(seq, None)
    by_thread[lane].pop(seq, None)
    seen.discard((lane[0], database, ordinal, phase, *rest))


# ----------------------------------------------------------------------------- public API


def warm_up() -> bool:
    """Load the fast-path kernels (their ahead-of-time build, else Numba's, compiled or
    from its cache) and the vocabulary, on a few lines; True when the fast path is
    available. ``make bench`` calls it first so that a one-time compilation after an
    installation is not counted as parsing time."""
    sample = b"1 2026-01-01 00:00:00.000   INFO: partition warm-up\n" * 4
    return _fast_path(sample, False) is not None


def warm_up_for(paths: Sequence[str | os.PathLike[str]]) -> bool:
    """:func:`warm_up` when the input files (directories walked) hold at least
    :func:`fast_min_bytes`, so that the first pieces do not wait for it; True if done.
    Run on a helper thread while the bundle starts loading."""
    total = 0
    for path in map(Path, paths):
        with contextlib.suppress(OSError):  # reported by the loader
            files = path.rglob("*") if path.is_dir() else [path]
            total += sum(f.stat().st_size for f in files if f.is_file())
    if total < fast_min_bytes():
        return False
    linescan.kernels()
    return warm_up()


def piece_bytes() -> int:
    """The working piece size (grammars/tracelog.toml); memory-mapped logs come in views
    of this size, so that a piece is one view and nothing is copied."""
    return _layout().chunk_bytes


def restart_tolerance_us() -> int:
    """How far the uptime counter may fall between lines before it is a restart."""
    return _layout().restart_tolerance_us


def fast_min_bytes() -> int:
    """Pieces of at least this size take the compiled fast path (grammars/tracelog.toml)."""
    return _layout().fast_min_bytes


HitSource = Callable[[int, int], "Future[np.ndarray | None]"]


def helper_hits(source: tuple[str, prefilter.Ident] | None) -> HitSource | None:
    """Requests to the running helper process (:mod:`.prefilter`) for the pieces of the
    plain file ``source`` (path, identity), by offset range; None without one."""
    if source is None:
        return None
    lay = _layout()
    helper = prefilter.current((lay.vocabulary, lay.keep_words))
    if helper is None:
        return None
    return partial(helper.request, *source)


def parse_tracelog(
    chunks: Iterable[bytes | memoryview],
    *,
    path: str,
    node: str,
    tz: str = "UTC",
    keep_all: bool = False,
    chunk_bytes: int | None = None,
    lean: bool = False,
    hits: HitSource | None = None,
) -> TracelogResult:
    """Parse one memsql.log given as a stream of byte chunks (any sizes).

    ``keep_all`` keeps every parsed line as an event (not only the kept vocabulary);
    ``chunk_bytes`` overrides the working piece size (tests use tiny pieces); ``lean``
    reads large pieces with the lean pass (``forensics scan``): the same events,
    restarts and line count, but no per-minute counts, unparsed-line or out-of-order
    figures for those pieces (``TracelogResult.measured`` is False). ``hits``: where
    to ask the helper process for each large piece's matching lines (the chunks are
    then the file's bytes from its start; see :func:`helper_hits`).
    """
    check_timezone(tz)
    acc = _Acc(keep_all=keep_all)
    pieces = _rechunk(chunks, chunk_bytes or _layout().chunk_bytes)
    # Pieces are split, classified and reduced on the worker threads (the compiled
    # passes, Hyperscan and Polars release the GIL) and folded here in file order.
    pool = _pool()
    in_flight: deque[Future[linescan.Scanned]] = deque()
    offset = 0
    try:
        for parts in pieces:
            size = sum(map(len, parts))
            ahead = None
            if hits is not None and not keep_all and size >= _layout().fast_min_bytes:
                ahead = hits(offset, offset + size)
            offset += size
            in_flight.append(pool.submit(_piece, parts, keep_all, lean, ahead))
            while len(in_flight) >= _IN_FLIGHT:
                acc.add(in_flight.popleft().result())
        while in_flight:
            acc.add(in_flight.popleft().result())
    finally:
        for future in in_flight:  # a reading error: drop what is queued
            future.cancel()
    return _result(acc, path=path, node=node, tz=tz)


def _result(acc: _Acc, *, path: str, node: str, tz: str) -> TracelogResult:
    events = _build_events(acc, path=path, node=node, tz=tz)
    restarts = int((events.get_column("step_event") == "node_restart").sum())
    return TracelogResult(
        events=events,
        counts=_build_counts(acc, path=path, node=node, tz=tz),
        lines=acc.lines,
        unparsed_lines=None if acc.lean_pieces else acc.kinds["unparsed"],
        measured=not acc.lean_pieces,
        unparsed_samples=acc.samples,
        first_ts=_utc_scalar(acc.ts_min, tz),
        last_ts=_utc_scalar(acc.ts_max, tz),
        restarts=restarts,
        warnings=_warnings(acc, path, events, tz),
        parsed_lines=acc.kinds["parsed"],
        continuation_lines=acc.kinds["continuation"],
        first_uptime=acc.first_uptime,
        last_uptime=(
            (acc.last_uptime_ts, acc.last_uptime)
            if acc.last_uptime is not None and acc.last_uptime_ts is not None
            else None
        ),
    )


def _build_counts(acc: _Acc, *, path: str, node: str, tz: str) -> pl.DataFrame:
    if not acc.counts:
        return schemas.empty(schemas.LINE_COUNTS)
    counts = (
        pl.concat(acc.counts)
        .lazy()
        .group_by("minute", "level")
        .agg(pl.col("lines").sum().cast(pl.Int64))
        .with_columns(
            local_to_utc(pl.col("minute"), tz).alias("minute"),
            pl.lit(node, dtype=pl.String).alias("node"),
            pl.lit(path, dtype=pl.String).alias("file"),
        )
        .sort("minute", "level", nulls_last=False)
    )
    return schemas.conform(counts.collect(), schemas.LINE_COUNTS)


def _utc_scalar(value: datetime | None, tz: str) -> datetime | None:
    if value is None:
        return None
    series = pl.Series([value], dtype=schemas.LOCAL_US).to_frame("t")
    try:
        return series.select(local_to_utc(pl.col("t"), tz)).item()
    except (OverflowError, ValueError):  # (a time the zone moves past year 9999 or before 1)
        return None


def _fell_back_once(acc: _Acc, events: pl.DataFrame, tz: str) -> bool:
    """Whether the one line that went back in time is where the clock fell back at the
    end of daylight saving time: the zone's offset changed between the file's first and
    last kept lines, which read in order once the second pass is taken into account."""
    if acc.out_of_order != 1 or tz == "UTC" or events.height < 2:
        return False
    times = events.sort("line").get_column("ts").drop_nulls()
    if times.len() < 2 or not times.is_sorted():
        return False
    zone = ZoneInfo(tz)
    first, last = times.item(0), times.item(-1)
    return bool(first.astimezone(zone).utcoffset() != last.astimezone(zone).utcoffset())


def _warnings(acc: _Acc, path: str, events: pl.DataFrame, tz: str) -> list[str]:
    out = []
    if acc.out_of_order and not _fell_back_once(acc, events, tz):
        out.append(f"{path}:{acc.first_out_of_order}: {acc.out_of_order} lines out of time order")
    if acc.invalid_utf8:
        out.append(f"{path}: invalid UTF-8 replaced in {acc.invalid_utf8} lines")
    if acc.nul_lines:
        out.append(f"{path}: NUL bytes in {acc.nul_lines} lines")
    if acc.kinds["unparsed"]:
        where = f"{path}:{acc.samples[0][0]}" if acc.samples else path
        out.append(
            f"{where}: {acc.kinds['unparsed']} line(s) not in the tracelog layout (first here)"
        )
    missing = int(events.get_column("ts").is_null().sum())
    if missing:
        out.append(
            f"{path}: {missing} kept lines have a local time that does not exist in the time zone"
        )
    return out


def parse_lines(
    lines: list[str],
    *,
    path: str = "<example>",
    node: str = "example:3306",
    tz: str = "UTC",
    keep_all: bool = True,
) -> pl.DataFrame:
    """EVENTS frame for a few lines (rule examples, tests). ``keep_all`` keeps INFO
    lines that the keep filter would drop."""
    data = "\n".join(lines).encode("utf-8")
    return parse_tracelog([data], path=path, node=node, tz=tz, keep_all=keep_all).events
