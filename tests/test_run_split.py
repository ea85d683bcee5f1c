"""Telling a database's runs apart: the run lines between two lines, found by search
(timeline._RunLines), are the ones a look at every line finds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from forensics.timeline import _RunLines, _written_after

T0 = datetime(2026, 3, 1, tzinfo=UTC)


@st.composite
def _lines(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Run lines of up to three files; a file's clock may step back (DST, NTP): line
    numbers rise while times jump around, and times repeat across files."""
    rows = []
    for file in draw(
        st.lists(
            st.sampled_from(["ma.log", "ma.log.1", "leaf.log"]), min_size=1, max_size=3, unique=True
        )
    ):
        seconds = draw(st.lists(st.integers(0, 40), min_size=1, max_size=25))
        numbers = sorted(
            draw(
                st.lists(
                    st.integers(1, 500), min_size=len(seconds), max_size=len(seconds), unique=True
                )
            )
        )
        rows += [
            {"file": file, "line": n, "ts": T0 + timedelta(seconds=s)}
            for n, s in zip(numbers, seconds, strict=True)
        ]
    return sorted(rows, key=lambda r: (r["ts"], r["file"], r["line"]))


@settings(max_examples=150, deadline=None)
@given(_lines(), st.data())
def test_lines_between_two_lines_are_those_every_line_gives(rows, data) -> None:  # type: ignore[no-untyped-def]
    index = _RunLines(rows)
    start = data.draw(st.sampled_from(rows))
    opened = data.draw(st.none() | st.sampled_from(rows))
    every = [r for r in rows if _written_after(r, opened) and _written_after(start, r)]
    assert index.between(opened, start) == every
