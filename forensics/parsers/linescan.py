"""Byte-level fast path of the tracelog hot path: NumPy over line prefixes, Hyperscan
for the keep vocabulary.

:func:`classify` produces the same one-row-per-physical-line frame as the Polars paths of
:mod:`forensics.parsers.tracelog` (``_classify`` / ``_classify_fields``), without ever
building a string per line:

* line ends come from one vectorised byte comparison; the first :data:`_W` bytes of every
  line are copied into a small matrix through a strided window, and the layout prefix
  (counter, date, time, fraction, blanks, level word) is checked column-wise on it;
* timestamps are integer arithmetic on those digits; each distinct minute is validated
  once, with the same ``strptime`` as the other paths;
* the keep vocabulary is matched once over the whole piece by a Hyperscan database (a
  literal alternation, ASCII case-insensitive, ``[^\\n]*\\n`` appended so that each
  matching line is reported once, at its newline);
* text is decoded only for kept lines and for lines the prefix check did not accept.

The prefix check accepts a strict subset of the layout regex (one blank after the counter,
counters of at most 18 digits, at most 9 fraction digits); every other line that is not a
continuation goes through the exact regex classifier (the ``slow`` callback), so the
result is identical to the Polars paths whatever the input (a property test checks it).

Without Hyperscan (``pip`` has wheels for x86-64 Linux and macOS) or for a piece that is
not valid UTF-8, :func:`classify` returns None and the caller uses the Polars path.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import polars as pl

from .. import schemas

_W = 64  # bytes of each line looked at
_MAX_COUNTER = 18  # digits that always fit an Int64
_SLOW_SHARE = 0.5  # above this share of lines for the regex path, give up on the fast path

Slow = Callable[[pl.Series, bool], pl.DataFrame]


# ----------------------------------------------------------------------------- vocabulary


class _Vocabulary:
    """Lines containing one of ``words`` (ASCII case-insensitive), found with Hyperscan.

    One compiled database; one scratch space per thread (Hyperscan's rule), so pieces can
    be scanned concurrently (the scan releases the GIL)."""

    def __init__(self, hyperscan: Any, words: Sequence[str]) -> None:
        if any(ch in w for w in words for ch in "\r\n") or not words:
            raise ValueError("vocabulary literals must be non-empty and single-line")
        alternation = "|".join(re.escape(w) for w in words)
        self._hs = hyperscan
        self._db = hyperscan.Database()
        pattern = f"(?:{alternation})[^\\n]*\\n".encode()
        self._db.compile(
            expressions=[pattern], ids=[0], elements=1, flags=[hyperscan.HS_FLAG_CASELESS]
        )
        self._local = threading.local()

    def newlines(self, data: bytes) -> np.ndarray:
        """Offsets of the newline ending each matching line (``data`` ends with one)."""
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = self._hs.Scratch(self._db)
        hits: list[int] = []
        self._db.scan(
            data, match_event_handler=lambda _i, _f, to, _fl, _c: hits.append(to), scratch=scratch
        )
        return np.asarray(hits, dtype=np.int64) - 1


@cache
def vocabulary(words: tuple[str, ...]) -> _Vocabulary | None:
    """The matcher for ``words``, or None when Hyperscan is not installed."""
    try:
        import hyperscan
    except ImportError:  # pragma: no cover - depends on the platform's wheels
        return None
    return _Vocabulary(hyperscan, words)


def available(words: tuple[str, ...]) -> bool:
    return vocabulary(words) is not None


# ----------------------------------------------------------------------------- classify


@dataclass
class Scanned:
    """What one piece holds, in the shapes the tracelog fold consumes (0-based lines)."""

    lines: int
    nul_lines: int
    kinds: dict[str, int]
    samples: pl.DataFrame  # line, raw: the first unparsed lines
    counts: pl.DataFrame  # minute (null before the first parsed line), level, lines
    kept: pl.DataFrame  # line, raw, uptime, local_ts, level
    parsed: pl.DataFrame  # line, local_ts, uptime of every parsed line


_CONTINUATION, _UNPARSED, _NONE = 253, 254, 255


def classify(
    data: bytes,
    *,
    keep_all: bool,
    levels: dict[str, str],
    keep_levels: Sequence[str],
    words: tuple[str, ...],
    slow: Slow,
    max_samples: int,
    sample_chars: int,
) -> Scanned | None:
    """Classify every line of ``data`` (see the module docstring); None when the fast
    path does not apply (no Hyperscan, invalid UTF-8, or mostly lines it cannot read)."""
    matcher = vocabulary(words)
    if matcher is None or not data or not _valid_utf8(data):
        return None
    n_bytes = len(data)
    terminated = data[-1:] == b"\n"
    raw = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(raw == 10)
    if not terminated:
        ends = np.append(ends, n_bytes)
    n = int(ends.size)
    starts = np.zeros(n, dtype=np.int64)
    starts[1:] = ends[:-1] + 1
    text_ends = ends
    if b"\r" in data:
        text_ends = ends - ((ends > starts) & (raw[np.maximum(ends - 1, 0)] == 13))
    head = _heads(data, starts)
    first = head[:, 0]
    continuation = (text_ends == starts) | (first == 32) | (first == 9)

    p = _Prefix(head, levels)
    epoch, minute_ok = _minutes(p.stamp, p.ok)
    parsed = p.ok & ~continuation & minute_ok & (p.sec <= 60)
    slow_rows = np.flatnonzero(~parsed & ~continuation)
    if slow_rows.size > _SLOW_SHARE * n:
        return None
    local_us = epoch + p.sec * 1_000_000 + p.micros
    has_uptime = parsed & p.counter
    level = np.where(parsed, p.level, np.uint8(_NONE))

    vocab = np.zeros(n, dtype=bool)
    vocab[np.searchsorted(ends, matcher.newlines(data if terminated else data + b"\n"))] = True
    keep_codes = [p.codes[lv] for lv in keep_levels if lv in p.codes]
    keep = parsed & (keep_all | vocab | np.isin(level, keep_codes))
    texts: dict[int, str] = {}
    if slow_rows.size:
        lines = _texts(data, starts, text_ends, slow_rows)
        fixed = slow(pl.Series("raw", lines, dtype=pl.String), keep_all)
        ok = fixed.get_column("parsed").to_numpy()
        parsed[slow_rows] = ok
        keep[slow_rows] = fixed.get_column("keep").to_numpy()
        stamps = fixed.get_column("local_ts").cast(pl.Int64).fill_null(0).to_numpy()
        local_us[slow_rows] = stamps
        ups = fixed.get_column("uptime")
        uptime = p.uptime
        uptime[slow_rows] = ups.fill_null(0).to_numpy()
        has_uptime[slow_rows] = ups.is_not_null().to_numpy() & ok
        codes = (
            fixed.get_column("level")
            .replace_strict(p.codes, default=_NONE, return_dtype=pl.UInt8)
            .fill_null(_NONE)
        )
        level[slow_rows] = np.where(ok, codes.to_numpy(), np.uint8(_UNPARSED))
        texts = dict(zip(slow_rows.tolist(), lines, strict=True))
    level[continuation] = _CONTINUATION

    line_no = np.arange(n, dtype=np.int64)
    kept_rows = np.flatnonzero(keep)
    kept_text = _texts(data, starts, text_ends, kept_rows)
    names = pl.Series([p.names.get(c) for c in range(256)], dtype=pl.String)
    kept = pl.DataFrame(
        {
            "line": line_no[kept_rows],
            "raw": pl.Series(kept_text, dtype=pl.String),
            "uptime": _nullable(p.uptime[kept_rows], has_uptime[kept_rows]),
            "local_ts": pl.Series(local_us[kept_rows]).cast(schemas.LOCAL_US),
            "level": names.gather(level[kept_rows]),
        }
    )
    parsed_rows = np.flatnonzero(parsed)
    parsed_frame = pl.DataFrame(
        {
            "line": line_no[parsed_rows],
            "local_ts": pl.Series(local_us[parsed_rows]).cast(schemas.LOCAL_US),
            "uptime": _nullable(p.uptime[parsed_rows], has_uptime[parsed_rows]),
        }
    )
    unparsed_rows = np.flatnonzero(~parsed & ~continuation)[:max_samples]
    samples = pl.DataFrame(
        {
            "line": line_no[unparsed_rows],
            "raw": [texts[i][:sample_chars] for i in unparsed_rows.tolist()],
        },
        schema={"line": pl.Int64, "raw": pl.String},
    )
    n_parsed, n_cont = int(parsed_rows.size), int(continuation.sum())
    return Scanned(
        lines=n,
        nul_lines=_lines_with(raw, ends, 0) if b"\x00" in data else 0,
        kinds={"parsed": n_parsed, "continuation": n_cont, "unparsed": n - n_parsed - n_cont},
        samples=samples,
        counts=_counts(local_us, parsed, level, p.names),
        kept=kept,
        parsed=parsed_frame,
    )


def _nullable(values: np.ndarray, present: np.ndarray) -> pl.Series:
    return pl.Series(values, dtype=pl.Int64).set(pl.Series(~present), None)


def _counts(
    local_us: np.ndarray, parsed: np.ndarray, level: np.ndarray, names: dict[int, str]
) -> pl.DataFrame:
    """Lines per (minute, level); continuation and unparsed lines count in the minute of
    the last parsed line before them (null before the first one)."""
    last = np.maximum.accumulate(np.where(parsed, np.arange(parsed.size), -1))
    placed = last >= 0  # lines before the piece's first parsed line have no minute yet
    minute = local_us[last[placed]] // _MINUTE_US
    distinct, lines = np.unique(minute * 256 + level[placed], return_counts=True)
    before = np.bincount(level[~placed], minlength=256)
    labels = {**names, _CONTINUATION: "CONTINUATION", _UNPARSED: "UNPARSED"}
    codes = np.concatenate([distinct % 256, np.flatnonzero(before)])
    stamps = pl.Series(
        np.concatenate(
            [distinct // 256 * _MINUTE_US, np.zeros(int((before > 0).sum()), dtype=np.int64)]
        )
    )
    return pl.DataFrame(
        {
            "minute": stamps.set(pl.Series(np.arange(codes.size) >= distinct.size), None).cast(
                schemas.LOCAL_US
            ),
            "level": [labels[c] for c in codes.tolist()],
            "lines": pl.Series(np.concatenate([lines, before[before > 0]]), dtype=pl.UInt32),
        }
    )


_MINUTE_US = 60_000_000


class _Prefix:
    """The layout prefix of every line, read from its first :data:`_W` bytes.

    ``ok`` — the prefix has the accepted form; ``counter`` — with an uptime counter;
    ``uptime``, ``stamp`` (the date and time bytes, padded to 24), ``sec``, ``micros``, ``level`` (a code,
    :data:`_NONE` when none; ``names`` maps codes to level names).

    Variable positions (counter length, fraction length, padding) take few distinct
    values in a piece, so each is handled as column slices per distinct value rather than
    as a gather per row (:func:`_at`)."""

    def __init__(self, head: np.ndarray, levels: dict[str, str]) -> None:
        n = head.shape[0]
        run = np.argmin((head[:, : _MAX_COUNTER + 2] - np.uint8(48)) < 10, axis=1)
        after = head[np.arange(n), run]
        no_counter = (run == 4) & (after == 45)
        self.counter = (run >= 1) & (run <= _MAX_COUNTER) & (after == 32)
        date_at = np.where(self.counter, run + 1, 0)
        body = _at(head, date_at, _BODY)  # the date at column 0
        stamp = body[:, :19]
        self.stamp = _padded(stamp, 24)
        ok = (no_counter | self.counter) & _stamp_ok(self.stamp)
        dot = body[:, 19] == 46
        frac_digit = (body[:, 20:30] - np.uint8(48)) < 10
        frac = np.argmin(frac_digit, axis=1)  # fraction digits (0: all ten are, too many)
        ok &= ~dot | (frac >= 1)
        end = date_at + np.where(dot, 20 + frac, 19)  # first byte after the time
        blanks = np.argmin(_at(head, end, _PAD_SCAN) == 32, axis=1)  # a tab: not accepted
        ok &= blanks >= 1
        self.names = dict(enumerate(dict.fromkeys(levels.values())))
        self.codes = {name: code for code, name in self.names.items()}
        self.level = _level_codes(_at(head, end + blanks, 8), levels, self.codes)
        self.ok = ok & (self.level != _NONE)

        # year, month, day, hour, minute, second in one product with a weight matrix
        self.sec = (self.stamp[:, 17].astype(np.int64) - 48) * 10 + self.stamp[:, 18] - 48
        fraction = np.full((n, 8), 48, dtype=np.uint8)  # "00ffffff": the microseconds
        for digits in _distinct(np.where(dot, np.minimum(frac, 6), 0)):
            these = dot & (np.minimum(frac, 6) == digits)
            fraction[these, 2 : 2 + digits] = body[these, 20 : 20 + digits]
        self.micros = np.where(dot, _integer(fraction), 0)
        uptime = np.zeros(n, dtype=np.int64)
        for length in _distinct(np.where(self.counter, run, 0)):
            if length:
                value = _integer(head[:, :length])
                np.copyto(uptime, value, where=self.counter & (run == length))
        self.uptime = uptime


_BODY = 32  # date (19) + '.' + up to 9 digits + one more
_PAD_SCAN = 16  # blanks between the time and the level word looked at
# Accepted bytes of "YYYY-MM-DD HH:MM:SS", column by column.
_LOW = np.frombuffer(b"0000-00-00 00:00:00", dtype=np.uint8)
_HIGH = np.frombuffer(b"9999-99-99 99:99:99", dtype=np.uint8)
# The stamp check as unsigned ranges, padded to 24 bytes so rows pack into 3 words.
_STAMP_LOW = np.zeros(24, dtype=np.uint8)
_STAMP_LOW[:19] = _LOW
_STAMP_SPAN = np.full(24, 255, dtype=np.uint8)
_STAMP_SPAN[:19] = _HIGH - _LOW


def _padded(rows: np.ndarray, width: int) -> np.ndarray:
    out = np.zeros((rows.shape[0], width), dtype=np.uint8)
    out[:, : rows.shape[1]] = rows
    return out


def _stamp_ok(stamp: np.ndarray) -> np.ndarray:
    """Rows whose first 19 bytes (of 24) have the shape of "YYYY-MM-DD HH:MM:SS"."""
    bad = ((stamp - _STAMP_LOW) > _STAMP_SPAN).view(np.uint64)
    return (bad[:, 0] | bad[:, 1] | bad[:, 2]) == 0


_U = np.uint64


def _integer(digits: np.ndarray) -> np.ndarray:
    """The decimal number written by each row of ASCII digits (at most 24 of them), parsed
    eight digits at a time in 64-bit words (the SWAR method)."""
    n, width = digits.shape
    words = -(-width // 8)
    aligned = np.full((n, 8 * words), 48, dtype=np.uint8)  # left-padded with '0'
    aligned[:, 8 * words - width :] = digits
    value = np.zeros(n, dtype=np.uint64)
    for x in aligned.view(np.uint64).T:
        x = x - _U(0x3030303030303030)
        x = (x * _U(10) + (x >> _U(8))) & _U(0x00FF00FF00FF00FF)
        x = (x * _U(100) + (x >> _U(16))) & _U(0x0000FFFF0000FFFF)
        x = (x * _U(10000) + (x >> _U(32))) & _U(0x00000000FFFFFFFF)
        value = value * _U(100_000_000) + x
    return value.astype(np.int64)


def _distinct(values: np.ndarray) -> list[int]:
    return np.flatnonzero(np.bincount(values, minlength=1)).tolist()


def _at(head: np.ndarray, col: np.ndarray, width: int) -> np.ndarray:
    """Row i is ``head[i, col[i] : col[i] + width]``; zeros where that passes the end
    (zeros fail every check, so such lines go to the regex path)."""
    columns = _distinct(col)
    if len(columns) == 1 and columns[0] + width <= head.shape[1]:
        return head[:, columns[0] : columns[0] + width]
    out = np.zeros((head.shape[0], width), dtype=np.uint8)
    for c in columns:
        if c + width <= head.shape[1]:
            rows = col == c
            out[rows] = head[rows, c : c + width]
    return out


def _level_codes(words: np.ndarray, levels: dict[str, str], codes: dict[str, int]) -> np.ndarray:
    """Code of the level word (with its colon) at the start of each row; 255 when none."""
    packed = np.ascontiguousarray(words).view("<u8").ravel()
    level = np.full(words.shape[0], _NONE, dtype=np.uint8)
    for word, name in sorted(levels.items(), key=lambda kv: -len(kv[0])):
        token = (word + ":").encode()
        if len(token) > 8:
            continue  # longer words are left to the regex path
        mask = (1 << (8 * len(token))) - 1
        value = int.from_bytes(token, "little")
        level[(level == _NONE) & ((packed & np.uint64(mask)) == np.uint64(value))] = codes[name]
    return level


def _heads(data: bytes, starts: np.ndarray) -> np.ndarray:
    """The first :data:`_W` bytes of every line as an (n, _W) matrix (newlines past the
    end of ``data``): one memcpy per line through a fixed-size void view."""
    n_bytes = len(data)
    blob = np.dtype((np.void, _W))
    inside = int(np.searchsorted(starts, n_bytes - _W, side="right"))
    parts = []
    if inside:
        view = np.ndarray(shape=(n_bytes - _W + 1,), dtype=blob, buffer=data, strides=(1,))
        parts.append(view[starts[:inside]])
    if inside < starts.size:
        base = int(starts[inside])
        tail = data[base:] + b"\n" * _W
        view = np.ndarray(shape=(len(tail) - _W + 1,), dtype=blob, buffer=tail, strides=(1,))
        parts.append(view[starts[inside:] - base])
    rows = parts[0] if len(parts) == 1 else np.concatenate(parts)
    return rows.view(np.uint8).reshape(starts.size, _W)


def _minutes(stamp: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Epoch microseconds of each line's minute and whether that minute exists.

    The minute is the first 16 bytes of the stamp ("YYYY-MM-DD HH:MM"); lines come in
    runs of one minute, so only the first line of each run is looked at, and each
    distinct minute is parsed once with the format of the Polars paths."""
    epoch = np.zeros(ok.size, dtype=np.int64)
    valid = np.zeros(ok.size, dtype=bool)
    sel = np.flatnonzero(ok)
    if not sel.size:
        return epoch, valid
    words = stamp.view(np.uint64)[sel]
    first = np.ones(sel.size, dtype=bool)
    first[1:] = (words[1:, 0] != words[:-1, 0]) | (words[1:, 1] != words[:-1, 1])
    heads = np.ascontiguousarray(stamp[sel[first], :16]).view("S16").ravel()
    distinct, which = np.unique(heads, return_inverse=True)
    text = pl.Series([v.decode("ascii") for v in distinct.tolist()], dtype=pl.String)
    stamps = text.str.strptime(schemas.LOCAL_US, "%Y-%m-%d %H:%M", strict=False)
    run = np.cumsum(first) - 1
    epoch[sel] = stamps.cast(pl.Int64).fill_null(0).to_numpy()[which][run]
    valid[sel] = stamps.is_not_null().to_numpy()[which][run]
    return epoch, valid


def _valid_utf8(data: bytes) -> bool:
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _texts(data: bytes, starts: np.ndarray, ends: np.ndarray, rows: np.ndarray) -> list[str]:
    return [
        data[a:b].decode("utf-8")
        for a, b in zip(starts[rows].tolist(), ends[rows].tolist(), strict=True)
    ]


def _lines_with(data: np.ndarray, ends: np.ndarray, byte: int) -> int:
    """How many lines contain ``byte``."""
    return int(np.unique(np.searchsorted(ends, np.flatnonzero(data == byte))).size)
