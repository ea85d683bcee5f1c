"""Compiled fast path of the tracelog hot path: a Numba loop over the lines, Hyperscan
for the keep vocabulary.

:func:`classify` gives what the Polars path of :mod:`forensics.parsers.tracelog`
(``_polars_path``) gives for a piece, without building a string per line:

* one compiled pass (:mod:`._kernels`) finds the line ends (eight bytes at a time) and
  reads each line's layout prefix (counter, date, time, fraction, blanks, level word)
  into per-line arrays; timestamps are integer arithmetic on the digits;
* the keep vocabulary is matched once over the whole piece by a Hyperscan database (a
  literal alternation, ASCII case-insensitive, ``[^\\n]*\\n`` appended so that each
  matching line is reported once, at its newline);
* a second compiled pass reduces the arrays to the per-minute counts, the time-order
  findings (lines going back in time, uptime resets) and the first/last values;
* text is gathered only for kept lines and for lines the prefix check did not accept.

The prefix check accepts a strict subset of the layout regex (one blank after the counter,
counters of at most 18 digits, 1 to 9 fraction digits, real dates from year 1, seconds
below 60); every other line that is not a continuation goes through the exact regex
classifier (the ``slow`` callback), so the result is identical to the Polars path
whatever the input (a property test checks it).

:func:`classify_lean` (``forensics scan``) reads the prefix of the kept lines only (and
of a sample), counting the other lines without reading them: the same kept rows, line
numbers and restarts, without the per-minute counts.

The kernels are the ahead-of-time build of :mod:`.compiled` when there is one, else
Numba's just-in-time ones. Without Hyperscan (``pip`` has wheels for x86-64) or Numba, or
for a piece that is not valid UTF-8, :func:`classify` returns None and the caller uses
the Polars path.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import numpy as np
import polars as pl

from .. import schemas
from . import prefilter
from .layout import keep_words
from .vocab import have_hyperscan, literals_beyond, vocabulary

_SLOW_SHARE = 0.5  # above this share of lines for the regex path, give up on the fast path

Slow = Callable[[pl.Series, bool], pl.DataFrame]


@cache
def kernels() -> Any:
    """The compiled loops: their ahead-of-time build when there is one for this source
    (:mod:`.compiled`, loaded in a millisecond), else :mod:`._kernels` through Numba
    (about 0.65 s to import and load from its cache), else None."""
    from . import compiled

    built = compiled.load()
    if built is not None:
        return built
    try:
        from . import _kernels
    except ImportError:  # pragma: no cover - depends on the platform's wheels
        return None
    return _kernels


def available(words: tuple[str, ...]) -> bool:
    return vocabulary(words) is not None and kernels() is not None


# ----------------------------------------------------------------------------- classify


@dataclass
class Order:
    """What the per-file fold needs about the time order of a piece's parsed lines."""

    restarts: pl.DataFrame  # line, local_ts, uptime, prev_uptime, prev_ts (within the piece)
    backwards: int = 0  # lines older than the parsed line before them
    first_backwards: int | None = None
    first_parsed: tuple[int, datetime] | None = None  # line, local_ts
    first_uptime: tuple[int, datetime, int] | None = None  # first parsed line with an uptime
    first_uptime_prev_ts: datetime | None = None  # parsed line before it in the piece, if any
    last_ts: datetime | None = None
    last_uptime: int | None = None
    last_minute: datetime | None = None
    ts_min: datetime | None = None
    ts_max: datetime | None = None


RESTART_SCHEMA = pl.Schema(
    {
        "line": pl.Int64(),
        "local_ts": schemas.LOCAL_US,
        "uptime": pl.Int64(),
        "prev_uptime": pl.Int64(),
        "prev_ts": schemas.LOCAL_US,
    }
)


@dataclass
class Scanned:
    """What one piece holds, in the shapes the tracelog fold consumes (0-based lines)."""

    lines: int
    nul_lines: int
    kinds: dict[str, int]
    samples: pl.DataFrame  # line, raw: the first unparsed lines
    counts: pl.DataFrame  # minute (null before the first parsed line), level, lines
    kept: pl.DataFrame  # line, raw, uptime, local_ts, level
    order: Order
    measured: bool = True  # False: the lean pass (no counts, kinds, samples, NULs, order)
    invalid_utf8: int = 0  # lines whose invalid UTF-8 was replaced (Polars path only)
    edge: Edge | None = None  # how continuation lines cross the piece's ends


@dataclass
class Edge:
    """Continuation lines at a piece's ends, for the per-file fold: the lines that open
    the piece (they continue the last kept line of the piece before), whether they are
    all its lines, and for its last kept line, when its run of continuation lines reaches
    the piece's end within the limits, the lines and bytes it has taken so far."""

    lead: list[str] = field(default_factory=list)
    lead_all: bool = False
    tail: tuple[int, int] | None = None


@dataclass(frozen=True)
class Continuation:
    """How many lines continuing a kept line, and how many of their bytes, it takes into
    its text (``[continuation]`` in tracelog.toml)."""

    max_lines: int
    max_bytes: int


def classify(
    data: bytes | memoryview,
    *,
    keep_all: bool,
    levels: dict[str, str],
    keep_levels: Sequence[str],
    words: tuple[str, ...],
    slow: Slow,
    max_samples: int,
    sample_chars: int,
    restart_tolerance_us: int,
    continuation_limit: Continuation,
    hits: np.ndarray | None = None,
) -> Scanned | None:
    """Classify every line of ``data`` (see the module docstring); None when the fast
    path does not apply (no Hyperscan or Numba, invalid UTF-8, or mostly lines it cannot
    read). ``hits``: the helper process's answer for the piece (:mod:`.prefilter`): the
    lines holding a word or a kept level word; used when it fits the piece."""
    k = kernels()
    if not have_hyperscan() or k is None or not data:
        return None
    raw = np.frombuffer(data, dtype=np.uint8)
    table = _LevelTable.of(levels)
    per_line = k.lines(raw, table.words, table.lengths, table.codes)
    ends, text_ends, kind, level, local_us, uptime, has_uptime, body, ascii_only, has_nul = per_line
    if not ascii_only and not _valid_utf8(data):
        return None
    n = int(ends.size)
    starts = np.zeros(n, dtype=np.int64)
    starts[1:] = ends[:-1] + 1
    continuation = kind == k.CONTINUATION
    parsed = kind == k.PARSED
    slow_rows = np.flatnonzero(kind == k.SLOW)
    if slow_rows.size > _SLOW_SHARE * n:
        return None
    continuation_code = table.size + 1

    helped = hits if hits is not None and not keep_all and prefilter.usable(hits, raw) else None
    vocab = np.zeros(n, dtype=bool)
    vocab[np.searchsorted(ends, _newlines(words, data) if helped is None else helped)] = True
    keep_codes = [table.code[lv] for lv in keep_levels if lv in table.code]
    keep = parsed & (keep_all | vocab | np.isin(level, keep_codes))
    utc = np.zeros(n, dtype=bool)
    lines = Lines(starts, text_ends, parsed, keep, level, local_us, uptime, has_uptime, body, utc)
    texts = _resolve_slow(data, lines, slow_rows, slow, keep_all, table)
    level[continuation] = continuation_code
    has_uptime &= parsed

    kept_rows = np.flatnonzero(keep)
    kept = _kept(k, raw, lines, kept_rows, kept_rows, table)
    assert kept is not None  # (None only when validating)
    if helped is not None:  # (the helper's lines include those of the kept level words)
        kept = _without_literal_only(kept, words, levels, keep_levels)
    kept, edge = attach_continuations(
        kept, data, raw, ends[kept.get_column("line").to_numpy()], continuation_limit
    )
    stats, restarts, minute, lv, count = k.order(
        parsed, level, local_us, uptime, has_uptime, table.size + 2, restart_tolerance_us
    )
    counts = pl.DataFrame(
        {
            "minute": pl.Series(minute * _MINUTE_US)
            .set(pl.Series(minute == k.NO_MINUTE), None)
            .cast(schemas.LOCAL_US),
            "level": table.names.gather(lv),
            "lines": pl.Series(count, dtype=pl.UInt32),
        }
    )
    unparsed_rows = np.flatnonzero(~parsed & ~continuation)[:max_samples]
    samples = pl.DataFrame(
        {"line": unparsed_rows, "raw": [texts[i][:sample_chars] for i in unparsed_rows.tolist()]},
        schema={"line": pl.Int64, "raw": pl.String},
    )
    n_parsed, n_cont = int(parsed.sum()), int(continuation.sum())
    return Scanned(
        lines=n,
        nul_lines=_lines_with(raw, ends, 0) if has_nul else 0,
        kinds={"parsed": n_parsed, "continuation": n_cont, "unparsed": n - n_parsed - n_cont},
        samples=samples,
        counts=counts,
        kept=kept,
        order=_order(k, stats, restarts),
        edge=edge,
    )


def _kept(
    k: Any,
    raw: np.ndarray,
    lines: Lines,
    rows: np.ndarray,
    numbers: np.ndarray,
    t: _LevelTable,
    validate: bool = False,
) -> pl.DataFrame | None:
    """The kept frame of ``rows`` of ``lines`` (0-based line numbers ``numbers``); with
    ``validate``, None when their text is not valid UTF-8."""
    text = _strings(k, raw, lines.starts, lines.text_ends, rows, validate)
    if text is None:
        return None
    # The message start in characters: the bytes before it (counter, date, time, blanks,
    # level word) are ASCII when the level words are; otherwise the caller finds it.
    body = lines.body[rows]
    if t.ascii:
        body = np.where(body >= 0, body - lines.starts[rows], -1)
    return pl.DataFrame(
        {
            "line": numbers,
            "raw": text,
            "uptime": _nullable(lines.uptime[rows], lines.has_uptime[rows]),
            "local_ts": pl.Series(lines.local_us[rows]).cast(schemas.LOCAL_US),
            "level": t.names.gather(lines.level[rows]),
            "body": _nullable(body, (body >= 0) & t.ascii),
            "utc": lines.utc[rows],
        }
    )


def classify_lean(
    data: bytes | memoryview,
    *,
    levels: dict[str, str],
    keep_levels: Sequence[str],
    words: tuple[str, ...],
    slow: Slow,
    restart_tolerance_us: int,
    continuation_limit: Continuation,
    hits: np.ndarray | None = None,
) -> Scanned | None:
    """The kept lines and restarts of ``data`` without reading every line: what
    ``forensics scan`` needs. None when this does not apply, and the caller then uses
    :func:`classify`, which reads every line (see :meth:`_Lean.check`).

    One Hyperscan pass finds the lines holding a keep-vocabulary word or a kept level
    word (``WARN:``, ...; a line the layout gives such a level always holds it); the
    compiled lean pass counts all lines and reads the prefix of those, of the first and
    last line and of one line every :data:`LEAN_STRIDE` bytes. Kept lines, line numbers,
    restarts and the first/last values the per-file fold joins on are exactly those of
    :func:`classify`. Not measured: per-minute counts, unparsed and continuation lines,
    NUL bytes, lines out of time order (``Scanned.measured`` is False); the smallest and
    largest time are those of the lines read."""
    k = kernels()
    if not have_hyperscan() or k is None or not data or not hasattr(k, "sample_lines"):
        return None
    raw = np.frombuffer(data, dtype=np.uint8)
    table = _LevelTable.of(levels)
    if not prefilter.usable(hits, raw):
        hits = _newlines(words, data, keep_words(levels, keep_levels))
    assert hits is not None
    total, rows, starts, line_ends, text_ends, kind, level, local_us, uptime, has_uptime, body = (
        k.sample_lines(raw, hits, LEAN_STRIDE, table.words, table.lengths, table.codes)
    )
    parsed = kind == k.PARSED
    keep_codes = [table.code[lv] for lv in keep_levels if lv in table.code]
    # a line found by a level literal only ("... WARN: ..." in an INFO line) is dropped below
    keep = parsed & (np.isin(line_ends, hits) | np.isin(level, keep_codes))
    utc = np.zeros(rows.size, dtype=bool)
    lines = Lines(starts, text_ends, parsed, keep, level, local_us, uptime, has_uptime, body, utc)
    slow_rows = np.flatnonzero(kind == k.SLOW)
    _resolve_slow(data, lines, slow_rows, slow, False, table)
    has_uptime &= parsed
    if not _Lean(parsed, local_us, uptime, has_uptime).check(restart_tolerance_us):
        return None
    kept_rows = np.flatnonzero(keep)
    kept = _kept(k, raw, lines, kept_rows, rows[kept_rows], table, validate=True)
    if kept is None:  # invalid UTF-8 in a kept line: the caller's paths replace it
        return None
    kept = _without_literal_only(kept, words, levels, keep_levels)
    numbers = rows[kept_rows]
    where = np.searchsorted(numbers, kept.get_column("line").to_numpy())
    kept, edge = attach_continuations(
        kept, data, raw, line_ends[kept_rows][where], continuation_limit
    )
    read = np.flatnonzero(parsed)
    stats, restarts, *_ = k.order(
        parsed[read],
        level[read],
        local_us[read],
        uptime[read],
        has_uptime[read],
        table.size + 2,
        restart_tolerance_us,
    )
    if restarts.size:  # (a clock step hid it from the check): read every line
        return None
    at = [k.STATS.index(name) for name in ("first_backwards", "first_parsed", "first_uptime")]
    stats[at] = np.where(stats[at] >= 0, rows[read][np.maximum(stats[at], 0)], -1)
    stats[k.STATS.index("backwards")] = 0  # lines out of time order: not measured
    return Scanned(
        lines=int(total),
        nul_lines=0,
        kinds={},
        samples=pl.DataFrame(schema={"line": pl.Int64, "raw": pl.String}),
        counts=pl.DataFrame(
            schema={"minute": schemas.LOCAL_US, "level": pl.String, "lines": pl.UInt32}
        ),
        kept=kept,
        order=_order(k, stats, restarts),
        measured=False,
        edge=edge,
    )


def _newlines(
    words: tuple[str, ...], data: bytes | memoryview, exact: tuple[str, ...] = ()
) -> np.ndarray:
    """The newlines ending the lines holding one of ``words`` or ``exact`` (in order,
    once each), found by their Hyperscan matcher."""
    matcher = vocabulary(words, exact)
    assert matcher is not None  # (callers check have_hyperscan first)
    terminated = data[-1:] == b"\n"
    found = matcher.newlines(data if terminated else bytes(data) + b"\n")
    # (Hyperscan reports by end offset, so in order and once each: cheap insurance)
    if found.size > 1 and not (np.diff(found) > 0).all():
        found = np.unique(found)
    return found


def _without_literal_only(
    kept: pl.DataFrame, words: tuple[str, ...], levels: dict[str, str], keep_levels: Sequence[str]
) -> pl.DataFrame:
    """``kept`` without the lines found by a kept level word alone ("peer said WARN: ..."
    in an INFO line): a kept line has a kept level or holds a word. Only lines with such
    a literal and another level can be those, so the words are looked for in them only."""
    exact = literals_beyond(words, keep_words(levels, keep_levels))
    if not exact or not kept.height:
        return kept
    raw = pl.col("raw")
    other_level = ~pl.col("level").is_in(list(keep_levels)).fill_null(False)
    suspect = kept.select(other_level & raw.str.contains(_any_of(exact))).to_series()
    rows = suspect.arg_true()
    if not rows.len():
        return kept
    text = kept.get_column("raw").gather(rows)
    word = text.str.contains_any(list(words), ascii_case_insensitive=True)
    drop = rows.filter(~word).to_numpy()
    if not drop.size:
        return kept
    keep = np.ones(kept.height, dtype=bool)
    keep[drop] = False
    return kept.filter(pl.Series(keep))


@cache
def _any_of(literals: tuple[str, ...]) -> str:
    """A regex finding one of ``literals``: with the lower- and title-case spellings of
    the level words, nine literals, which a regex finds in a quarter of the time a
    literal search takes (measured on the kept rows of a bench piece: 0.56 against
    2.9 ms; a case-insensitive regex instead costs 0.6 % of a bench scan)."""
    return "|".join(map(re.escape, literals))


def attach_continuations(
    kept: pl.DataFrame,
    data: bytes | memoryview,
    raw: np.ndarray,
    newlines: np.ndarray,
    limit: Continuation,
) -> tuple[pl.DataFrame, Edge]:
    """``kept`` with the continuation lines after each row joined to its text (by
    newlines), and the piece's :class:`Edge`; ``newlines``: where each row's line ends in
    ``data`` (its length for an unterminated last line)."""
    after = newlines.astype(np.int64) + 1
    inside = np.flatnonzero(after < raw.size)
    following = raw[after[inside]]
    candidates = inside[~np.isin(following, _NOT_CONTINUING)].tolist()
    rows: list[int] = []
    texts: list[str] = []
    for row in candidates:  # a loop in Python, over the rows followed by such lines: few
        parts, _, _ = _continuation(data, int(after[row]), limit)
        if parts:
            rows.append(row)
            texts.append(_decoded(b"\n".join(parts)))
    lead, _, lead_all = _continuation(data, 0, limit)
    edge = Edge(lead=[_decoded(part) for part in lead], lead_all=lead_all and bool(lead))
    if after.size:
        parts, used, open_ = _continuation(data, int(after[-1]), limit)
        edge.tail = (len(parts), used) if open_ else None
    if not rows:
        return kept, edge
    text = kept.get_column("raw")
    more = pl.Series(texts, dtype=pl.String)
    joined = pl.select(pl.lit(text.gather(rows)) + "\n" + pl.lit(more)).to_series()
    return kept.with_columns(text.scatter(rows, joined)), edge


#: First bytes of a line that continues none: a digit (every line of the layout starts
#: with one), a line break (an empty line).
_NOT_CONTINUING = (*range(0x30, 0x3A), 0x0A, 0x0D)


def _decoded(text: bytes) -> str:
    return str(text, "utf-8", "replace")


def _continuation(
    data: bytes | memoryview, at: int, limit: Continuation
) -> tuple[list[bytes], int, bool]:
    """The continuation lines from byte ``at`` on: lines that do not start with a digit
    (every line of the layout does) and hold more than blanks, at most ``limit.max_lines`` of them and ``limit.max_bytes`` bytes
    (each line's text and one newline); the bytes taken; and whether the run reaches the
    end of ``data`` within the limits (it may go on in the next piece)."""
    size = len(data)
    if at >= size:
        return [], 0, True
    window = bytes(data[at : at + 2 * limit.max_bytes + 2])  # room for CRs
    parts: list[bytes] = []
    used = pos = 0
    while len(parts) < limit.max_lines:
        end = window.find(b"\n", pos)
        if end < 0:
            if at + len(window) < size:  # the line runs past the window
                break
            end = len(window)
        line = window[pos:end]
        line = line[:-1] if line.endswith(b"\r") else line
        if line[:1].isdigit() or not line.strip(b" \t"):
            break
        if used + len(line) + 1 > limit.max_bytes:
            break
        parts.append(line)
        used += len(line) + 1
        pos = end + 1
        if at + pos >= size:
            return parts, used, True
    return parts, used, False


LEAN_STRIDE = 256 * 1024  # bytes between the lines the lean pass reads anyway


@dataclass
class _Lean:
    """The lines the lean pass read (all parsed ones, in file order)."""

    parsed: np.ndarray
    local_us: np.ndarray
    uptime: np.ndarray
    has_uptime: np.ndarray

    def check(self, tolerance_us: int) -> bool:
        """Whether what the lines read show is what every line would show.

        The first and last lines must be parsed, and carry the uptime counter if any line
        read does (the fold joins pieces on them). The counter counts microseconds since
        the process started, so within one process ``time - counter`` (its start time)
        stays put, and a restart moves it forward by the old process's uptime at least:
        when it moves by more than half the restart tolerance between two lines read, a
        restart (or a clock step) may lie between them, and every line must be read."""
        parsed, has_up = self.parsed, self.has_uptime
        if not (parsed[0] and parsed[-1]):
            return False
        if has_up.any() and not (has_up[0] and has_up[-1]):
            return False
        start = (self.local_us - self.uptime)[has_up]
        return not (start.size > 1 and np.abs(np.diff(start)).max() > tolerance_us // 2)


@dataclass
class Lines:
    """Per-line arrays of the lines a pass read (updated in place for slow lines)."""

    starts: np.ndarray
    text_ends: np.ndarray
    parsed: np.ndarray
    keep: np.ndarray
    level: np.ndarray
    local_us: np.ndarray
    uptime: np.ndarray
    has_uptime: np.ndarray
    body: np.ndarray  # where the message starts, in characters from the line start; -1: not known
    utc: np.ndarray  # local_us is in UTC already (the line gave a zone: slow lines only)


def _resolve_slow(
    data: bytes | memoryview,
    lines: Lines,
    slow_rows: np.ndarray,
    slow: Slow,
    keep_all: bool,
    table: _LevelTable,
) -> dict[int, str]:
    """Send the lines the prefix check was unsure of through the exact regex classifier
    and write its answers into ``lines``; their texts by row."""
    if not slow_rows.size:
        return {}
    unparsed_code = table.size
    texts = _texts(data, lines.starts, lines.text_ends, slow_rows)
    fixed = slow(pl.Series("raw", texts, dtype=pl.String), keep_all)
    ok = fixed.get_column("parsed").to_numpy()
    lines.parsed[slow_rows] = ok
    lines.keep[slow_rows] = fixed.get_column("keep").to_numpy()
    stamps = fixed.get_column("local_ts").cast(pl.Int64).fill_null(0).to_numpy()
    lines.local_us[slow_rows] = stamps
    ups = fixed.get_column("uptime")
    lines.uptime[slow_rows] = ups.fill_null(0).to_numpy()
    lines.has_uptime[slow_rows] = ups.is_not_null().to_numpy() & ok
    codes = (
        fixed.get_column("level")
        .replace_strict(table.code, default=unparsed_code, return_dtype=pl.UInt8)
        .fill_null(unparsed_code)
    )
    lines.level[slow_rows] = np.where(ok, codes.to_numpy(), np.uint8(unparsed_code))
    lines.utc[slow_rows] = fixed.get_column("utc").to_numpy() & ok
    lines.body[slow_rows] = -1  # (in characters, as _kept leaves the others: see there)
    return dict(zip(slow_rows.tolist(), texts, strict=True))


def _order(k: Any, stats: np.ndarray, restarts: np.ndarray) -> Order:
    st = dict(zip(k.STATS, stats.tolist(), strict=True))
    first = st["first_parsed"]
    if first < 0:
        return Order(restarts=pl.DataFrame(schema=RESTART_SCHEMA))
    frame = pl.DataFrame(restarts, schema=list(RESTART_SCHEMA), orient="row")
    order = Order(
        restarts=frame.cast(RESTART_SCHEMA),
        backwards=st["backwards"],
        first_backwards=st["first_backwards"] if st["backwards"] else None,
        first_parsed=(first, _stamp(st["first_parsed_ts"])),
        last_ts=_stamp(st["last_ts"]),
        last_minute=_stamp(st["last_ts"] // _MINUTE_US * _MINUTE_US),
        ts_min=_stamp(st["ts_min"]),
        ts_max=_stamp(st["ts_max"]),
    )
    if st["has_uptime"]:
        order.first_uptime = (
            st["first_uptime"],
            _stamp(st["first_uptime_ts"]),
            st["first_uptime_value"],
        )
        if st["has_first_uptime_prev"]:
            order.first_uptime_prev_ts = _stamp(st["first_uptime_prev_ts"])
        order.last_uptime = st["last_uptime"]
    return order


_EPOCH = datetime(1970, 1, 1)


def _stamp(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _nullable(values: np.ndarray, present: np.ndarray) -> pl.Series:
    return pl.Series(values, dtype=pl.Int64).set(pl.Series(~present), None)


_MINUTE_US = 60_000_000


@dataclass(frozen=True)
class _LevelTable:
    """Level words (with their colon) as the kernel's byte matrix, and level codes:
    0.. for the level names, then one code each for unparsed and continuation lines."""

    words: np.ndarray
    lengths: np.ndarray
    codes: np.ndarray
    code: dict[str, int]  # level name -> code
    names: pl.Series  # code -> label
    size: int  # number of level names
    ascii: bool  # whether every level word is ASCII

    @staticmethod
    @cache
    def _build(items: tuple[tuple[str, str], ...]) -> _LevelTable:
        names = list(dict.fromkeys(name for _, name in items))
        code = {name: i for i, name in enumerate(names)}
        tokens = [(word + ":").encode() for word, _ in items]
        width = max(len(t) for t in tokens)
        words = np.zeros((len(tokens), width), dtype=np.uint8)
        for i, token in enumerate(tokens):
            words[i, : len(token)] = np.frombuffer(token, dtype=np.uint8)
        labels = [*names, "UNPARSED", "CONTINUATION"]
        return _LevelTable(
            words=words,
            lengths=np.array([len(t) for t in tokens], dtype=np.int64),
            codes=np.array([code[name] for _, name in items], dtype=np.uint8),
            code=code,
            names=pl.Series(labels, dtype=pl.String),
            size=len(names),
            ascii=all(t.isascii() for t in tokens),
        )

    @classmethod
    def of(cls, levels: dict[str, str]) -> _LevelTable:
        return cls._build(tuple(levels.items()))


def _valid_utf8(data: bytes | memoryview) -> bool:
    try:
        codecs.utf_8_decode(data, "strict", True)
    except UnicodeDecodeError:
        return False
    return True


def _strings(
    k: Any,
    raw: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    rows: np.ndarray,
    validate: bool = False,
) -> pl.Series | None:
    """The text of lines ``rows`` as a String column, built from one gathered buffer
    (the piece is valid UTF-8, and lines end at newlines, so each slice is too). With
    ``validate``, the buffer is checked first: None when it is not valid UTF-8."""
    import pyarrow as pa

    blob, offsets = k.gather(raw, starts, ends, rows)
    if validate and blob.size and blob.max() >= 128 and not _valid_utf8(blob.data):
        return None
    array = pa.LargeStringArray.from_buffers(rows.size, pa.py_buffer(offsets), pa.py_buffer(blob))
    return pl.Series(_ArrowCapsule(array)).cast(pl.String)


class _ArrowCapsule:
    """An Arrow array seen through the Arrow PyCapsule interface only, so that Polars
    takes it over that interface (zero-copy) rather than through ``pl.from_arrow``, which
    imports ``pyarrow.compute`` (and ``numpy.ma``): 80-90 ms of every command's start."""

    def __init__(self, array: Any) -> None:
        self._array = array

    def __arrow_c_array__(self, requested_schema: Any = None) -> Any:
        return self._array.__arrow_c_array__(requested_schema)


def _texts(
    data: bytes | memoryview, starts: np.ndarray, ends: np.ndarray, rows: np.ndarray
) -> list[str]:
    return [
        str(data[a:b], "utf-8")
        for a, b in zip(starts[rows].tolist(), ends[rows].tolist(), strict=True)
    ]


def _lines_with(data: np.ndarray, ends: np.ndarray, byte: int) -> int:
    """How many lines contain ``byte``."""
    return int(np.unique(np.searchsorted(ends, np.flatnonzero(data == byte))).size)
