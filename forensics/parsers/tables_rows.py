"""The rows of one table being read, and what to do with rows that do not fit its header
(SPEC §9: one damaged row is one row lost, said once per table, never the table's end).

* A row one field short is read when its cells fit the header in one way only: the cell
  missing is the last one, or an empty one (a column whose complete rows hold empty
  cells), and every other cell looks like the values its column holds in the complete
  rows (whole numbers, numbers, empty, text). It comes back with that cell empty and a
  warning naming its line and the column left empty.
* Any other row that does not fit is damaged: skipped, counted as unparsed, and reported
  in one warning per table naming the first line, what is wrong there, and a few more
  lines (:func:`damage_warning`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from .tables_model import Row

#: Line numbers a grouped warning lists, at most.
LISTED_LINES = 5

_INT = re.compile(r"[-+]?\d+")
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")

Cells = list[str | None]


def shape(cell: str | None) -> str:
    """What a cell's value looks like: ``empty``, ``int``, ``number`` or ``text``."""
    if not cell:
        return "empty"
    if _INT.fullmatch(cell):
        return "int"
    return "number" if _NUMBER.fullmatch(cell) else "text"


def column_shapes(rows: list[Row], columns: list[str]) -> list[frozenset[str]]:
    """The shapes each column's cells have in ``rows``."""
    return [frozenset(shape(row.get(name)) for row in rows) for name in columns]


def _fits(shapes: frozenset[str], cell: str | None) -> bool:
    found = shape(cell)
    return found in shapes or (found == "int" and "number" in shapes)


def place_missing(cells: Cells, shapes: list[frozenset[str]]) -> int | None:
    """Where the one cell missing from ``cells`` goes, given the shapes of each column:
    the one position where every cell fits its column, the missing one being the last
    or in a column that holds empty cells; None when no position or several fit."""
    ncols = len(shapes)
    if len(cells) != ncols - 1:
        return None
    found: int | None = None
    for k in range(ncols):
        if k < ncols - 1 and "empty" not in shapes[k]:
            continue  # a cell lost inside a row was an empty one
        if all(_fits(shapes[j + (j >= k)], cell) for j, cell in enumerate(cells)):
            if found is not None:
                return None  # two places fit: which one is not known
            found = k
    return found


def _lines(lines: list[int]) -> str:
    listed = ", ".join(str(n) for n in lines[:LISTED_LINES])
    more = len(lines) - LISTED_LINES
    return f"{listed} and {more} more" if more > 0 else listed


def damage_warning(path: str, damaged: list[tuple[int, str]]) -> str:
    """One warning for a table's damaged rows: ``path:line: what: skipped`` for one,
    ``path:line: N rows damaged (first at line L: what; lines ...): skipped`` for more."""
    line, what = damaged[0]
    if len(damaged) == 1:
        return f"{path}:{line}: {what}: skipped"
    lines = _lines([n for n, _ in damaged])
    return (
        f"{path}:{line}: {len(damaged)} rows damaged in {path} "
        f"(first at line {line}: {what}; lines {lines}): skipped"
    )


def placed_warning(path: str, placed: list[tuple[int, str]], ncols: int) -> str:
    """One warning for a table's rows read one field short (line, column left empty)."""
    line, column = placed[0]
    if len(placed) == 1:
        return (
            f"{path}:{line}: row has {ncols - 1} fields, header has {ncols}: "
            f"read with {column} empty"
        )
    lines = _lines([n for n, _ in placed])
    return (
        f"{path}:{line}: {len(placed)} rows one field short in {path}, read with the missing "
        f"cell empty (first at line {line}: {column} empty; lines {lines})"
    )


@dataclass
class Block:
    """A table being read: header, rows, and why it may be incomplete."""

    columns: list[str]
    rows: list[Row] = field(default_factory=list)
    row_lines: list[int] = field(default_factory=list)  # 1-based line of each row
    truncated_at: int | None = None  # 1-based line where the truncation shows
    reason: str | None = None
    damaged: list[tuple[int, str]] = field(default_factory=list)  # (line, what), skipped
    short: list[tuple[int, Cells]] = field(default_factory=list)  # one field short, to place
    placed: list[tuple[int, str]] = field(default_factory=list)  # (line, column left empty)
    widths: Counter[int] = field(default_factory=Counter)  # fields of rows that do not fit

    def add(self, row: Row, line: int) -> None:
        self.rows.append(row)
        self.row_lines.append(line)

    def cut(self, line: int, reason: str) -> None:
        if self.truncated_at is None:
            self.truncated_at, self.reason = line, reason

    def damage(self, line: int, what: str, width: int | None = None) -> None:
        """Row at ``line`` is damaged (``width``: its count of fields, when it has one)."""
        self.damaged.append((line, what))
        if width is not None:
            self.widths[width] += 1

    def one_short(self, line: int, cells: Cells) -> None:
        """Row at ``line`` has one field less than the header: placed by :meth:`settle`."""
        self.short.append((line, cells))
        self.widths[len(cells)] += 1

    def settle(self) -> None:
        """Place the rows one field short (:func:`place_missing`, on the shapes of the
        complete rows) among the others in line order; those that fit in no single way
        are damaged."""
        if not self.short:
            return
        complete = [
            r for r, n in zip(self.rows, self.row_lines, strict=True) if n != self.truncated_at
        ]
        shapes = column_shapes(complete, self.columns)
        found: list[tuple[int, Row]] = []
        for line, cells in self.short:
            k = place_missing(cells, shapes)
            if k is None:
                what = f"row has {len(cells)} fields, header has {len(self.columns)}"
                self.damaged.append((line, what))
                continue
            found.append(
                (line, dict(zip(self.columns, [*cells[:k], None, *cells[k:]], strict=True)))
            )
            self.placed.append((line, self.columns[k]))
        self.short = []
        self.damaged.sort()
        if found:
            merged = sorted(
                [*zip(self.row_lines, self.rows, strict=True), *found], key=lambda p: p[0]
            )
            self.row_lines = [line for line, _ in merged]
            self.rows = [row for _, row in merged]
