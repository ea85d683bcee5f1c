"""Column synonyms, table kinds and value vocabularies from ``grammars/tables.toml``.

Everything a support engineer may need to extend (a new column spelling, a role name, a
size unit, a quote marker) lives in the TOML file; this module compiles it, and applies
the few rules that take no more than it (sizes, a quoted or indented paste: ``Quoting``).
"""

from __future__ import annotations

import bisect
import itertools
import math
import operator
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache, cached_property
from typing import Any

from .. import grammars

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_SIZE_VALUE = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*([A-Za-z]*)\s*$")


def normalise(name: str) -> str:
    """``"Size (MB)"`` -> ``"size_mb"``; ``"RUNNING_TIME_MS"`` -> ``"running_time_ms"``."""
    return _NON_ALNUM.sub("_", name.lower()).strip("_")


@dataclass(frozen=True)
class Kind:
    name: str
    requires: frozenset[str]
    excludes: frozenset[str]


@dataclass(frozen=True)
class Headerless:
    """The documented columns of a statement, for output printed without its header."""

    statement: re.Pattern[str]
    columns: tuple[str, ...]
    integers: tuple[int, ...]  # positions of columns that must hold integers

    def fits(self, statement: str, rows: list[list[str]]) -> bool:
        return (
            self.statement.search(statement) is not None
            and all(len(row) == len(self.columns) for row in rows)
            and all(_INTEGER.match(row[p]) for row in rows for p in self.integers)
        )


_INTEGER = re.compile(r"^\s*-?\d+\s*$")


@dataclass(frozen=True)
class Quoting:
    """The quote markers and indentation a run of lines may share (``[quoting]``): an
    e-mail reply's ``> `` / ``>>``, a ticket's or a mail's indented paste. :meth:`unquote`
    gives the lines as they read without them, one for one.

    Built for big files: where nothing is quoted or indented it costs a few passes in
    C over the lines, and a run of indented lines is cut in C too."""

    marker: str  # the quote marker (">")
    indent: str  # the characters indentation is made of (blank, tab)

    @cached_property
    def _quote(self) -> re.Pattern[str]:
        """The markers opening a quoted line: ``>``, ``>>``, ``> >`` ..."""
        mark = re.escape(self.marker)
        return re.compile(f"{mark}(?: ?{mark})*")

    def unquote(self, lines: list[str], text: str) -> list[str]:
        """``lines`` (of ``text``) with the prefix each run of them shares removed; the
        list itself when there is none."""
        out, opens = lines, []
        if text.startswith(self.marker) or f"\n{self.marker}" in text:
            out = list(lines)
            opens = self._strip_quotes(out)
        blank: Iterable[int] = ()
        if "" in out or any(map(str.isspace, out)):  # (vertical output has no blank line)
            blank = itertools.compress(range(len(out)), map(operator.not_, map(str.strip, out)))
        starts = sorted({0, *(i + 1 for i in blank), *opens})
        if not any(self._indented(out, i) for i in starts):
            return out
        out = out if opens else list(out)
        done = 0  # (a blank line inside a run opens no run of its own)
        for i in starts:
            if i >= done and self._indented(out, i):
                after = bisect.bisect_right(opens, i)  # (the next quoted run's edge ends it)
                done = self._dedent(out, i, opens[after] if after < len(opens) else len(out))
        return out

    def _strip_quotes(self, out: list[str]) -> list[int]:
        """Quote markers removed in place, with the blank after them when every line of
        their run that has text has one. The indices where a quoted run starts or ends
        (each opens a block of its own), in order."""
        opens: list[int] = []
        i, n = 0, len(out)
        while i < n:
            if (first := self._quote.match(out[i])) is None:
                i += 1
                continue
            marks = [first.end()]
            while i + len(marks) < n and (m := self._quote.match(out[i + len(marks)])):
                marks.append(m.end())
            run = [line[end:] for line, end in zip(out[i:], marks, strict=False)]
            gap = all(text[:1] == " " for text in run if text.strip())
            out[i : i + len(run)] = [text[1:] if gap and text.strip() else text for text in run]
            opens += [i, i + len(run)]
            i += len(run)
        return opens

    def _dedent(self, out: list[str], start: int, stop: int) -> int:
        """The run of indented lines from ``start`` (empty lines go on with it; a line
        that opens otherwise, or ``stop``, ends it) loses the indentation its lines that
        have text share; a tab is kept where a line holds another one (``mysql -B`` rows
        whose first cell is empty). The index after the run."""
        rest = out[start + 1 : stop]
        goes_on = map(
            operator.or_, map(operator.not_, rest), map(str.startswith, rest, _repeat(self.indent))
        )
        end = start + 1 + _first_false(goes_on, len(rest))
        texts = list(filter(str.strip, out[start:end]))
        common = _common_prefix(min(texts), max(texts))
        shared = common[: len(common) - len(common.lstrip(self.indent))]
        if "\t" in shared and any("\t" in line[len(shared) :] for line in texts):
            return end
        out[start:end] = map(
            operator.getitem, out[start:end], itertools.repeat(slice(len(shared), None))
        )
        return end

    def _indented(self, lines: list[str], i: int) -> bool:
        """Line ``i`` has text and opens with indentation."""
        line = lines[i] if i < len(lines) else ""
        return line.startswith(tuple(self.indent)) and bool(line.strip())


def _repeat(chars: str) -> Iterator[tuple[str, ...]]:
    return itertools.repeat(tuple(chars))


def _first_false(flags: Iterator[bool], size: int) -> int:
    """The index of the first False of ``flags``; ``size`` when there is none."""
    try:
        return operator.indexOf(flags, False)
    except ValueError:
        return size


def _common_prefix(low: str, high: str) -> str:
    """The longest text both open with (of the first and the last of some texts in
    sorted order: the one they all open with)."""
    size = next((k for k, (a, b) in enumerate(zip(low, high, strict=False)) if a != b), None)
    return low[:size] if size is not None else low[: len(high)]


@dataclass(frozen=True)
class SizeColumn:
    column: str  # original header name
    multiplier: int | None  # from the column name; None: from the values, else bytes


@dataclass(frozen=True)
class Vocabulary:
    synonyms: dict[str, str]  # normalised name -> canonical column
    kinds: tuple[Kind, ...]
    size_names: tuple[str, ...]
    units: dict[str, int]
    no_sizes: frozenset[str]  # lower-case cell texts that say a size is unknown
    roles: dict[str, str]  # lower-case role text -> role
    statuses: dict[str, str]  # lower-case status text -> status
    system_databases: frozenset[str]
    nulls: frozenset[str]
    statement_databases: tuple[re.Pattern[str], ...]  # group "db"; first match wins
    headerless: tuple[Headerless, ...]
    section_names: frozenset[str]  # normalised JSON keys that name a table kind / statement
    file_databases: tuple[re.Pattern[str], ...]  # on a file's name; group "db"
    statement_kinds: tuple[tuple[str, re.Pattern[str]], ...]  # (kind, statement pattern)
    quoting: Quoting
    raw: dict[str, Any]  # the whole TOML, for the statement / json sections

    def statement_database(self, statement: str | None) -> str | None:
        """The database a statement names (``ON db``, ``database_name = 'db'``, ``USE db``)."""
        if not statement:
            return None
        for pattern in self.statement_databases:
            match = pattern.search(statement)
            if match:
                return match.group("db")
        return None

    def file_database(self, name: str) -> str | None:
        """The database a file's name gives (``partitions_billing.tsv``, DBeaver's
        ``_SHOW_PARTITIONS_ON_billing__202603140933.csv``); None when it gives none or
        only qualifies the capture (``partitions_after_failure.txt``)."""
        qualifiers = self.raw["file_name"]["not_database"]
        for pattern in self.file_databases:
            match = pattern.search(name)
            if match:
                words = match.group("db").lower().split("_")
                return None if any(w in qualifiers for w in words) else match.group("db")
        return None

    def read_time(self, text: str | None) -> datetime | None:
        """A capture time written as one of ``[capture] formats`` (naive); None else."""
        if not text:
            return None
        for fmt in self.raw["capture"]["formats"]:
            try:
                return datetime.strptime(text.strip(), fmt)
            except ValueError:
                continue
        return None

    def headerless_columns(self, statement: str, rows: list[list[str]]) -> list[str] | None:
        """The columns of headerless rows printed for ``statement``, when they fit exactly."""
        for spec in self.headerless:
            if rows and spec.fits(statement, rows):
                return list(spec.columns)
        return None

    def statement_kind(self, statement: str | None) -> str | None:
        """The table kind the result of ``statement`` is (``[[statement_kinds]]``)."""
        if not statement:
            return None
        return next((kind for kind, p in self.statement_kinds if p.match(statement)), None)

    def missing_columns(self, kind: str, columns: list[str]) -> list[str]:
        """The columns ``columns`` lack to make a table of ``kind``, as the documented
        header names them (of the kind's definition that lacks fewest); [] when none."""
        present = set(self.canonical(columns))
        lacks = [
            sorted(k.requires - present, key=self._column_order)
            for k in self.kinds
            if k.name == kind
        ]
        return [self._display(name) for name in min(lacks, key=len, default=[])]

    def _column_order(self, canonical: str) -> int:
        order = list(self.raw["columns"])
        return order.index(canonical) if canonical in order else len(order)

    def _display(self, canonical: str) -> str:
        names = self.raw["columns"].get(canonical)
        return names[0] if names else f"a {canonical} column"

    def names_section(self, key: str) -> bool:
        """A JSON nesting key that names a table kind or statement, not a database."""
        return _compact_key(key, self.raw["json"].get("section_verbs", [])) in self.section_names

    def canonical(self, columns: list[str]) -> dict[str, str]:
        """Canonical name -> original header (first one wins), plus ``size``."""
        found: dict[str, str] = {}
        for column in columns:
            key = self.synonyms.get(normalise(column))
            if key is not None and key not in found:
                found[key] = column
        size = self.size_column(columns)
        if size is not None:
            found.setdefault("size", size.column)
        return found

    def classify(self, columns: list[str]) -> str | None:
        present = set(self.canonical(columns))
        for kind in self.kinds:
            if kind.requires <= present and not (kind.excludes & present):
                return kind.name
        return None

    def size_column(self, columns: list[str]) -> SizeColumn | None:
        best: tuple[int, SizeColumn] | None = None
        for column in columns:
            candidate = self._size_candidate(column)
            if candidate is not None and (best is None or candidate[0] < best[0]):
                best = candidate
        return best[1] if best else None

    def _size_candidate(self, column: str) -> tuple[int, SizeColumn] | None:
        norm = normalise(column)
        if norm in self.size_names:
            return self.size_names.index(norm), SizeColumn(column, None)
        base, _, unit = norm.rpartition("_")
        if base in self.size_names and unit in self.units:
            return self.size_names.index(base), SizeColumn(column, self.units[unit])
        return None

    def size_bytes(self, text: str | None, multiplier: int | None) -> int | None:
        """``"1.5 GB"`` -> 1610612736; a bare number is scaled by the column's unit."""
        return self.read_size(text, multiplier)[0]

    def read_size(self, text: str | None, multiplier: int | None) -> tuple[int | None, str | None]:
        """(bytes, None) for a size; (None, what is wrong) for a text that is none (a
        negative number, an unknown unit); (None, None) for no value (NULL, ``N/A``)."""
        if text is None or text.strip().lower() in self.no_sizes:
            return None, None
        match = _SIZE_VALUE.match(_decimal(text))
        if match is None:
            return None, "is no size"
        unit = match.group(2).lower()
        if unit:
            factor = self.units.get(unit)
            if factor is None:
                return None, f"has an unknown unit {match.group(2)!r}"
        else:
            factor = multiplier or 1
        value = float(match.group(1)) * factor
        if not math.isfinite(value):  # ("1e400 MB")
            return None, "is too large to be a size"
        if value < 0:
            return None, "is a negative size"
        return round(value), None


def _decimal(text: str) -> str:
    """Thousands commas dropped ("1,024.5"), a decimal comma made a point ("1,5 GB"): a
    comma is a thousands separator when three digits follow it and then no digit."""
    if "," not in text:
        return text
    if _THOUSANDS.search(text) and not _DECIMAL_COMMA.search(text):
        return text.replace(",", "")
    return text.replace(",", ".", 1) if text.count(",") == 1 and "." not in text else text


_THOUSANDS = re.compile(r"\d,\d{3}(?!\d)")
_DECIMAL_COMMA = re.compile(r"\d,(?:\d{1,2}|\d{4,})(?!\d)")


def _compact_key(key: str, verbs: list[str]) -> str:
    """``"showPartitions"`` / ``"SHOW_PARTITIONS"`` -> ``"partitions"`` (section keys)."""
    compact = normalise(key).replace("_", "")
    for verb in verbs:
        if compact.startswith(verb) and len(compact) > len(verb):
            return compact[len(verb) :]
    return compact


def _reverse(table: dict[str, list[str]], key: Any = str.lower) -> dict[str, str]:
    return {key(alias): canonical for canonical, aliases in table.items() for alias in aliases}


@cache
def vocabulary() -> Vocabulary:
    raw = grammars.load("tables")
    synonyms = _reverse(raw["columns"], normalise)
    synonyms.update({name: name for name in raw["columns"]})
    kinds = tuple(
        Kind(k["name"], frozenset(k["requires"]), frozenset(k.get("excludes", [])))
        for k in raw["kinds"]
    )
    headerless = tuple(
        Headerless(
            re.compile(h["statement"]),
            tuple(h["columns"]),
            tuple(h["columns"].index(c) for c in h.get("integers", [])),
        )
        for h in raw.get("headerless", [])
    )
    verbs = raw["json"].get("section_verbs", [])
    names = [*raw["json"].get("section_names", []), *(kind.name for kind in kinds)]
    sections = {_compact_key(name, verbs) for name in names}
    return Vocabulary(
        synonyms=synonyms,
        kinds=kinds,
        size_names=tuple(raw["size"]["names"]),
        units={k.lower(): int(v) for k, v in raw["size"]["units"].items()},
        no_sizes=frozenset(text.lower() for text in raw["size"].get("none", [])),
        roles=_reverse(raw["roles"]),
        statuses=_reverse(raw["statuses"]),
        system_databases=frozenset(raw["databases"]["system"]),
        nulls=frozenset(raw["cells"]["null"]),
        statement_databases=tuple(re.compile(p) for p in raw["statement"]["database"]),
        headerless=headerless,
        section_names=frozenset(sections),
        file_databases=tuple(re.compile(p) for p in raw["file_name"]["database"]),
        statement_kinds=tuple(
            (s["kind"], re.compile(s["statement"])) for s in raw.get("statement_kinds", [])
        ),
        quoting=Quoting(raw["quoting"]["marker"], raw["quoting"]["indent"]),
        raw=raw,
    )
