"""The keep vocabulary as one Hyperscan database: which lines hold a keep word.

Light on purpose (no Polars): the Hyperscan helper process (:mod:`.prefilter`) imports
it as well as :mod:`.linescan`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np


class Vocabulary:
    """Lines containing one of ``words`` (ASCII case-insensitive) or one of ``exact``
    (case-sensitive), found with Hyperscan.

    One compiled database of one pattern, so that a line is reported by one match; one
    scratch space per thread (Hyperscan's rule), so pieces can be scanned concurrently.
    The scan releases the GIL, but the binding calls back into Python, taking the GIL,
    once per match: two threads scanning at once hand the GIL to and fro and together go
    no faster than one (measured: 8 pieces in 147 ms on one thread, 144 ms on two; 128
    and 64 ms without callbacks). Hence one match per line, no exact literal that holds a
    word (``ERROR:`` holds ``error``: it would only report a line again), and, for large
    logs, the scan in a helper process that has the GIL to itself (:mod:`.prefilter`)."""

    def __init__(self, hyperscan: Any, words: Sequence[str], exact: Sequence[str] = ()) -> None:
        if any(ch in w for w in (*words, *exact) for ch in "\r\n") or not words:
            raise ValueError("vocabulary literals must be non-empty and single-line")
        self._hs = hyperscan
        self.words = tuple(words)
        #: the exact literals that can find a line no word finds
        self.exact = literals_beyond(words, exact)
        alternation = "|".join(
            [f"(?i:{'|'.join(re.escape(w) for w in words)})", *map(re.escape, self.exact)]
        )
        self._db = hyperscan.Database()
        self._db.compile(expressions=[f"(?:{alternation})[^\\n]*\\n".encode()], ids=[0], elements=1)
        self._local = threading.local()

    def newlines(self, data: bytes | memoryview) -> np.ndarray:
        """Offsets of the newline ending each line with a word or an exact literal
        (``data`` ends with a newline), in order."""
        return np.asarray(self.ends(data), dtype=np.int64) - 1

    def ends(self, data: bytes | memoryview) -> list[int]:
        """Offsets just after those newlines."""
        hits: list[int] = []  # (the cheapest callback: it runs once per matching line)
        self._db.scan(
            data,
            match_event_handler=lambda _i, _f, to, _fl, _c: hits.append(to),
            scratch=self._scratch(),
        )
        return hits

    def _scratch(self) -> Any:
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = self._hs.Scratch(self._db)
        return scratch


def literals_beyond(words: Sequence[str], exact: Sequence[str]) -> tuple[str, ...]:
    """The literals of ``exact`` that hold none of ``words`` (ASCII case-insensitive):
    only those can find a line that no word finds (``ERROR:`` holds ``error``)."""
    folded = [ascii_lower(w) for w in words]
    return tuple(e for e in exact if not any(w in ascii_lower(e) for w in folded))


def ascii_lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@cache
def vocabulary(words: tuple[str, ...], exact: tuple[str, ...] = ()) -> Vocabulary | None:
    """The matcher for ``words`` (and ``exact``), or None without Hyperscan. Compiling
    it takes about 20 ms: callers whose lines the helper process found ask for it only
    when they need it, and ask :func:`have_hyperscan` first."""
    if not have_hyperscan():  # pragma: no cover - depends on the platform's wheels
        return None
    import hyperscan

    return Vocabulary(hyperscan, words, exact)


@cache
def have_hyperscan() -> bool:
    try:
        import hyperscan  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the platform's wheels
        return False
    return True
