"""Compiled (Numba) loops of the tracelog fast path: one pass over the bytes of a piece.

Imported lazily by :mod:`forensics.parsers.linescan` (importing Numba costs about half a
second, worth it only for large pieces). ``cache=True`` keeps the machine code beside this
file (or in Numba's user cache), so only the first run on an installation compiles.

:func:`lines` reads the layout prefix of every line,
``[<uptime> ]YYYY-MM-DD HH:MM:SS[.f{1,9}] +LEVEL:``, and accepts a strict subset of what
the layout regex of ``grammars/tracelog.toml`` accepts: a line it is not sure about (a
tab, a long counter, ten fraction digits, an impossible date, year 0, second 60, an
unknown level word) is marked ``SLOW`` and the caller sends it through that regex. So
every accepted line gets exactly the values the regex path would give.

:func:`order` reduces the per-line arrays: lines per (minute, level), timestamps going
backwards, uptime-counter resets (restarts) and the first/last values the per-file fold
needs.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._codes import CONTINUATION, MAX_COUNTER, NO_MINUTE, PARSED, SLOW, STATS

__all__ = [
    "CONTINUATION", "NO_MINUTE", "PARSED", "SLOW", "STATS", "gather", "lines", "order",
    "sample_lines",
]  # fmt: skip

source = "just-in-time"  # see compiled.py for the other one
_US_DAY = 86_400_000_000
_US_MINUTE = 60_000_000


@njit(cache=True, nogil=True, inline="always")
def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    if m <= 2:
        y -= 1
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = m - 3 if m > 2 else m + 9
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@njit(cache=True, nogil=True, inline="always")
def _month_days(y: int, m: int) -> int:
    if m == 2:
        leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
        return 29 if leap else 28
    if m == 4 or m == 6 or m == 9 or m == 11:
        return 30
    return 31


@njit(cache=True, nogil=True)
def lines(raw: np.ndarray, words: np.ndarray, word_lens: np.ndarray, word_codes: np.ndarray):
    """Split ``raw`` into lines and read each line's prefix.

    Returns per line (and then whether ``raw`` is all ASCII and has a NUL byte):
    ``ends`` (offset of its newline, or the end of ``raw``),
    ``text_ends`` (without a trailing CR), ``kind`` (PARSED / CONTINUATION / SLOW); for
    PARSED lines ``level`` (a code of ``word_codes``), ``local_us`` (microseconds since the
    epoch, local time), ``uptime``, ``counter`` (whether there is one) and ``body`` (where
    the message starts, see :func:`_decode`). ``words`` is a
    (k, w) matrix of level words followed by ':' (``word_lens`` bytes each)."""
    ends, ascii_only, nul = _newlines(raw)
    starts = np.empty(ends.size, dtype=np.int64)
    if ends.size:
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
    text_ends, kind, level, local_us, uptime, counter, body = _decode(
        raw, starts, ends, words, word_lens, word_codes
    )
    return ends, text_ends, kind, level, local_us, uptime, counter, body, ascii_only, nul


@njit(cache=True, nogil=True)
def _newlines(raw: np.ndarray):
    """Offset of the end of every line (its newline, or the end of ``raw`` for an
    unterminated last line), whether ``raw`` is all ASCII and whether it has a NUL byte.

    One pass, eight bytes at a time, into room for lines of 32 bytes on average; a second
    pass only when there are more lines than that."""
    ends = np.empty(raw.size // 32 + 16, dtype=np.int64)
    count, ascii_only, nul = _scan_newlines(raw, ends)
    if count > ends.size:
        ends = np.empty(count, dtype=np.int64)
        _scan_newlines(raw, ends)
    if count == 0 or ends[count - 1] != raw.size - 1:  # an unterminated last line
        if count == ends.size:
            more = np.empty(count + 1, dtype=np.int64)
            more[:count] = ends[:count]
            ends = more
        ends[count] = raw.size
        count += 1
    return ends[:count], ascii_only, nul


@njit(cache=True, nogil=True)
def _scan_newlines(raw: np.ndarray, ends: np.ndarray) -> tuple[int, bool, bool]:
    """(newlines in ``raw``, all ASCII, some NUL byte); the offsets of as many newlines as
    fit go to ``ends``. A word ``x`` has a zero byte exactly when
    ``(x - 0x0101..) & ~x & 0x8080..`` is not zero; ``x ^ 0x0a0a..`` turns newlines into
    zero bytes."""
    body = raw.size - raw.size % 8
    words = raw[:body].view(np.uint64)
    ones = np.uint64(0x0101010101010101)
    highs = np.uint64(0x8080808080808080)
    newline = np.uint64(0x0A0A0A0A0A0A0A0A)
    room = ends.size
    high = np.uint64(0)
    zero = np.uint64(0)
    n = 0
    for j in range(words.size):
        w = words[j]
        high |= w
        zero |= (w - ones) & ~w
        x = w ^ newline
        if (x - ones) & ~x & highs:  # some byte of these eight is a newline
            for k in range(j * 8, j * 8 + 8):
                if raw[k] == 10:
                    if n < room:
                        ends[n] = k
                    n += 1
    ascii_only = (high & highs) == 0
    nul = (zero & highs) != 0
    for k in range(body, raw.size):
        ascii_only = ascii_only and raw[k] < 128
        nul = nul or raw[k] == 0
        if raw[k] == 10:
            if n < room:
                ends[n] = k
            n += 1
    return n, ascii_only, nul


@njit(cache=True, nogil=True, inline="always")
def _two(a, b):
    """The value of two ASCII digit bytes, or -1 (scalars only: an array handed to an
    inlined helper costs two atomic reference-count updates per call)."""
    x = int(a) - 48
    y = int(b) - 48
    if x < 0 or x > 9 or y < 0 or y > 9:
        return -1
    return x * 10 + y


@njit(cache=True, nogil=True)
def _decode(raw, starts, ends, words, word_lens, word_codes):
    """Read the layout prefix of the lines ``raw[starts[i]:ends[i]]`` (``ends[i]`` the
    newline, or the end of ``raw``). Per line: text end (without a trailing CR), kind,
    level code, local_us, uptime, counter (whether there is one) and, for a PARSED line,
    where its message starts (after the level word's colon and at most one blank or tab,
    as ``prefix[ \t]?`` of the layout ends; -1 for other lines). The whole check is
    written out in this loop, with no array passed to a helper."""
    n = starts.size
    text_ends = np.empty(n, dtype=np.int64)
    body = np.full(n, -1, dtype=np.int64)
    kind = np.empty(n, dtype=np.uint8)
    level = np.zeros(n, dtype=np.uint8)
    local_us = np.zeros(n, dtype=np.int64)
    uptime = np.zeros(n, dtype=np.int64)
    counter = np.zeros(n, dtype=np.bool_)
    n_words = words.shape[0]
    minute_at = -1  # where the last date and minute that passed the check start
    minute_us = 0  # and their value
    for i in range(n):
        s = starts[i]
        e = ends[i]
        te = e - 1 if e > s and raw[e - 1] == 13 else e
        text_ends[i] = te
        kind[i] = SLOW
        if te == s or raw[s] == 32 or raw[s] == 9:
            kind[i] = CONTINUATION
            continue
        # the leading digits (a counter, or the year), read and valued in one loop
        value = 0
        p = s
        limit = min(te, s + MAX_COUNTER + 2)
        while p < limit:
            c = int(raw[p]) - 48
            if c < 0 or c > 9:
                break
            value = value * 10 + c
            p += 1
        run = p - s
        if p >= te:
            continue
        after = raw[p]
        has = False
        if run == 4 and after == 45:
            d = s
        elif 1 <= run <= MAX_COUNTER and after == 32:
            d = p + 1
            has = True
        else:
            continue
        if d + 19 > te or raw[d + 16] != 58:
            continue
        ss = _two(raw[d + 17], raw[d + 18])
        if ss < 0 or ss > 59:
            continue
        # "YYYY-MM-DD HH:MM": most lines repeat the one of the line before, already
        # checked and valued; compare the 16 bytes instead of reading them again.
        same = minute_at >= 0
        if same:
            for k in range(16):
                if raw[d + k] != raw[minute_at + k]:
                    same = False
                    break
        if not same:
            if raw[d + 4] != 45 or raw[d + 7] != 45 or raw[d + 10] != 32 or raw[d + 13] != 58:
                continue
            hi = _two(raw[d], raw[d + 1])
            lo = _two(raw[d + 2], raw[d + 3])
            mo = _two(raw[d + 5], raw[d + 6])
            dd = _two(raw[d + 8], raw[d + 9])
            hh = _two(raw[d + 11], raw[d + 12])
            mi = _two(raw[d + 14], raw[d + 15])
            if hi < 0 or lo < 0:
                continue
            y = hi * 100 + lo
            if y < 1 or mo < 1 or mo > 12 or dd < 1 or hh < 0 or hh > 23 or mi < 0 or mi > 59:
                continue
            if dd > _month_days(y, mo):
                continue
            minute_at = d
            minute_us = _days_from_civil(y, mo, dd) * _US_DAY + (hh * 60 + mi) * _US_MINUTE
        p = d + 19
        micros = 0
        if p < te and raw[p] == 46:
            k = 0
            while p + 1 + k < te and k < 10 and 48 <= raw[p + 1 + k] <= 57:
                if k < 6:
                    micros = micros * 10 + (int(raw[p + 1 + k]) - 48)
                k += 1
            if k == 0 or k == 10:
                continue
            for _ in range(k, 6):  # fewer than six digits: scale to microseconds
                micros *= 10
            p += 1 + k
        blanks = 0
        while p + blanks < te and raw[p + blanks] == 32:
            blanks += 1
        if blanks == 0:
            continue
        p += blanks
        for w in range(n_words):
            width = word_lens[w]
            if p + width > te:
                continue
            same = True
            for k in range(width):
                if raw[p + k] != words[w, k]:
                    same = False
                    break
            if same:
                kind[i] = PARSED
                level[i] = word_codes[w]
                local_us[i] = minute_us + ss * 1_000_000 + micros
                if has:
                    counter[i] = True
                    uptime[i] = value
                b = p + width
                if b < te and (raw[b] == 32 or raw[b] == 9):
                    b += 1
                body[i] = b
                break
    return text_ends, kind, level, local_us, uptime, counter, body


@njit(cache=True, nogil=True)
def order(parsed, level, local_us, uptime, has_uptime, n_levels, tolerance):
    """One pass over the lines of a piece, in order. ``level`` holds codes below
    ``n_levels`` (lines that are not parsed carry their kind's code there).

    Returns ``stats`` (see :data:`STATS`), ``restarts`` (rows of line, local_us, uptime,
    prev_uptime, prev_ts where the uptime counter fell by more than ``tolerance`` against
    the last parsed line with one) and the counts as three columns (minute, level,
    lines): one row per level seen in each run of lines of one minute; a line that is not
    parsed counts in the minute of the last parsed line before it, minute
    :data:`NO_MINUTE` before the first one."""
    n = parsed.size
    stats = np.zeros(len(STATS), dtype=np.int64)
    restarts = np.zeros((n, 5), dtype=np.int64)
    count_minute = np.empty(n + n_levels, dtype=np.int64)
    count_level = np.empty(n + n_levels, dtype=np.uint8)
    count_lines = np.empty(n + n_levels, dtype=np.int64)
    tally = np.zeros(n_levels, dtype=np.int64)
    minute = np.int64(NO_MINUTE)
    rows = 0
    n_restarts = 0
    prev_ts = 0
    have_prev = False
    last_up = 0
    have_up = False
    backwards = 0
    first_backwards = -1
    first_parsed = -1
    first_up = -1
    first_up_prev_ts = -1
    have_first_up_prev = False
    ts_min = 0
    ts_max = 0
    for i in range(parsed.size):
        if parsed[i]:
            ts = local_us[i]
            m = ts // _US_MINUTE
            if m != minute:
                rows = _flush(tally, minute, rows, count_minute, count_level, count_lines)
                minute = m
            if first_parsed < 0:
                first_parsed = i
                ts_min = ts
                ts_max = ts
            else:
                ts_min = min(ts_min, ts)
                ts_max = max(ts_max, ts)
            if have_prev and ts < prev_ts:
                backwards += 1
                if first_backwards < 0:
                    first_backwards = i
            if has_uptime[i]:
                up = uptime[i]
                if first_up < 0:
                    first_up = i
                    have_first_up_prev = have_prev
                    first_up_prev_ts = prev_ts
                if have_up and last_up - up > tolerance:
                    restarts[n_restarts, 0] = i
                    restarts[n_restarts, 1] = ts
                    restarts[n_restarts, 2] = up
                    restarts[n_restarts, 3] = last_up
                    restarts[n_restarts, 4] = prev_ts
                    n_restarts += 1
                last_up = up
                have_up = True
            prev_ts = ts
            have_prev = True
        tally[level[i]] += 1
    rows = _flush(tally, minute, rows, count_minute, count_level, count_lines)
    stats[0] = backwards
    stats[1] = first_backwards
    stats[2] = first_parsed
    stats[3] = local_us[first_parsed] if first_parsed >= 0 else 0
    stats[4] = first_up
    stats[5] = local_us[first_up] if first_up >= 0 else 0
    stats[6] = uptime[first_up] if first_up >= 0 else 0
    stats[7] = first_up_prev_ts
    stats[8] = 1 if have_first_up_prev else 0
    stats[9] = last_up
    stats[10] = 1 if have_up else 0
    stats[11] = prev_ts  # the last parsed line's time
    stats[12] = ts_min
    stats[13] = ts_max
    return (
        stats,
        restarts[:n_restarts],
        count_minute[:rows],
        count_level[:rows],
        count_lines[:rows],
    )


@njit(cache=True, nogil=True)
def _flush(tally, minute, rows, count_minute, count_level, count_lines):
    for lv in range(tally.size):
        if tally[lv]:
            count_minute[rows] = minute
            count_level[rows] = lv
            count_lines[rows] = tally[lv]
            rows += 1
            tally[lv] = 0
    return rows


@njit(cache=True, nogil=True)
def gather(raw: np.ndarray, starts: np.ndarray, ends: np.ndarray, rows: np.ndarray):
    """The bytes of lines ``rows`` laid end to end, and their Arrow offsets."""
    offsets = np.zeros(rows.size + 1, dtype=np.int64)
    for k in range(rows.size):
        offsets[k + 1] = offsets[k] + ends[rows[k]] - starts[rows[k]]
    out = np.empty(offsets[-1], dtype=np.uint8)
    for k in range(rows.size):
        a = starts[rows[k]]
        out[offsets[k] : offsets[k + 1]] = raw[a : ends[rows[k]]]
    return out, offsets


@njit(cache=True, nogil=True, inline="always")
def _line_end(raw, at):
    """Offset of the newline ending the line that holds ``at`` (``raw.size`` when that
    line is unterminated, or when ``at`` is past the end)."""
    while at < raw.size and raw[at] != 10:
        at += 1
    return at


@njit(cache=True, nogil=True, inline="always")
def _count_newlines(raw, blocks, a, b):
    """Newlines in ``raw[a:b]``; ``blocks`` is ``raw`` seen as 64-bit words. In a word
    ``x = w ^ 0x0a0a..``, a byte is zero (a newline in ``w``) exactly when the high bit of
    that byte of ``~(((x & 0x7f7f..) + 0x7f7f..) | x | 0x7f7f..)`` is set (no carry
    crosses bytes), and a multiply adds up the eight bits."""
    count = 0
    wa = (a + 7) // 8
    wb = b // 8
    if wa >= wb:
        for i in range(a, b):
            if raw[i] == 10:
                count += 1
        return count
    for i in range(a, wa * 8):
        if raw[i] == 10:
            count += 1
    low = np.uint64(0x7F7F7F7F7F7F7F7F)
    newline = np.uint64(0x0A0A0A0A0A0A0A0A)
    ones = np.uint64(0x0101010101010101)
    seven = np.uint64(7)
    total = np.uint64(0)
    for j in range(wa, wb):
        x = blocks[j] ^ newline
        y = ~(((x & low) + low) | x | low)
        total += ((y >> seven) * ones) >> np.uint64(56)
    count += int(total)
    for i in range(wb * 8, b):
        if raw[i] == 10:
            count += 1
    return count


@njit(cache=True, nogil=True)
def sample_lines(raw, hits, stride, words, word_lens, word_codes):
    """The lean pass: read the prefix of some lines only, and count all of them.

    The lines read are those ending at the newline offsets ``hits`` (sorted; an offset
    equal to ``raw.size`` stands for an unterminated last line), the first and the last
    line, and the line holding each multiple of ``stride``. Returns the number of lines
    in ``raw``, then per line read, in file order: its number (0-based), start, end (as
    in ``hits``) and text end, and ``kind``, ``level``, ``local_us``, ``uptime`` and
    ``counter`` and ``body`` as :func:`lines` gives them."""
    size = raw.size
    last_end = size - 1 if size > 0 and raw[size - 1] == 10 else size
    room = hits.size + size // max(stride, 1) + 3
    ends = np.empty(room, dtype=np.int64)
    # merge the hit lines with the sampled ones (the line holding each multiple of stride)
    n = 0
    h = 0
    point = 0
    sample = _line_end(raw, point)
    while h < hits.size or point < size:
        if h < hits.size and (point >= size or hits[h] <= sample):
            e = min(hits[h], last_end)
            h += 1
        else:
            e = sample
            while point < size and point <= e:
                point += stride
            sample = _line_end(raw, point)
        if n == 0 or ends[n - 1] != e:
            ends[n] = e
            n += 1
    if size > 0 and (n == 0 or ends[n - 1] != last_end):
        ends[n] = last_end
        n += 1
    rows = np.empty(n, dtype=np.int64)
    starts = np.empty(n, dtype=np.int64)
    line = 0
    pos = 0
    blocks = raw[: size - size % 8].view(np.uint64)
    for k in range(n):
        e = ends[k]
        line += _count_newlines(raw, blocks, pos, e)
        s = e
        while s > 0 and raw[s - 1] != 10:
            s -= 1
        rows[k] = line
        starts[k] = s
        line += 1
        pos = e + 1
    read = ends[:n].copy()
    text_ends, kind, level, local_us, uptime, counter, body = _decode(
        raw, starts, read, words, word_lens, word_codes
    )
    total = line if size > 0 else 0
    return total, rows, starts, read, text_ends, kind, level, local_us, uptime, counter, body
