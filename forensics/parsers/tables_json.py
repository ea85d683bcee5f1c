"""JSON tables as sdb-report writes them (singlestore-formats.md §5.3).

Shapes: ``{"columns": [...], "rows": [{...}]}``; the same nested under node-id and
database keys (showPartitions.json: memsqlId -> dbName -> table); a list of
``{"rows": [...], "MemsqlID": ...}`` (showVariables.json); section keys
(clusterTopology.json ``ShowLeaves``); a plain list of row objects. Several concatenated
JSON documents (JSON Lines) are read one after another; flat objects printed back to back
(MySQL Shell ``--result-format=json`` / ``json/raw``: one object per row) are the rows of
one table, a new table starting where the keys change.

A ``query`` / ``statement`` field is read like an echoed statement: the database it names
(``SHOW REBALANCE STATUS ON iot``) is the table's. A nesting key is a database only where
nothing else explains it: node ids, wrappers, and keys naming a statement or a table kind
(``rebalance_status``, ``show_partitions``, ``ShowLeaves``) are not.

Object positions are kept (a pure-Python scanner with position-recording hooks) so each
table carries the line of its object.

A document cut short (a truncated export) keeps the items of its arrays that were
complete before the cut: the tables read from it are flagged truncated, with a warning,
and the lines after the cut are counted as unparsed (SPEC §9).
"""

from __future__ import annotations

import bisect
import json
import json.decoder
import json.scanner
import re
from dataclasses import dataclass, replace
from typing import Any

from .tables_model import Row, Table
from .tables_vocab import Vocabulary, vocabulary

_WHITESPACE = re.compile(r"[ \t\n\r]*")
#: Tokens that open, close or separate JSON containers; strings are skipped whole.
_STRUCTURE = re.compile(r'"(?:[^"\\\n]|\\.)*"|[\[\]{},]')
_CLOSERS = {"[": "]", "{": "}"}
#: Cut points (commas between array items) tried from the last one back, at most.
_SALVAGE_TRIES = 8


class _PosDict(dict[str, Any]):
    offset = 0


class _PosList(list[Any]):
    offset = 0


def _parse_object(s_and_end: tuple[str, int], *args: Any) -> tuple[Any, int]:
    obj, end = json.decoder.JSONObject(s_and_end, *args)  # type: ignore[attr-defined]
    obj.offset = s_and_end[1] - 1
    return obj, end


def _parse_array(s_and_end: tuple[str, int], *args: Any) -> tuple[Any, int]:
    items, end = json.decoder.JSONArray(s_and_end, *args)  # type: ignore[attr-defined]
    out = _PosList(items)
    out.offset = s_and_end[1] - 1
    return out, end


#: Digits of the longest integer read as a number; a longer one (damage, a hash) stays
#: text (Python refuses to convert more than 4,300 digits; no cell needs more than 38).
_INT_DIGITS = 40


def _int(text: str) -> int | str:
    return int(text) if len(text) <= _INT_DIGITS else text


def _decoder() -> json.JSONDecoder:
    decoder = json.JSONDecoder(object_pairs_hook=_PosDict, parse_int=_int)
    decoder.parse_object = _parse_object  # type: ignore[attr-defined]
    decoder.parse_array = _parse_array  # type: ignore[attr-defined]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    return decoder


@dataclass(frozen=True)
class _Context:
    node: str | None = None
    database: str | None = None
    statement: str | None = None
    #: the object is the value of a node-id key: its keys are the databases
    #: (showPartitions.json: memsqlId -> dbName -> table)
    in_node: bool = False


def _cell(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool | dict | list):
        return json.dumps(value)
    return str(value)


def _scalar_rows(items: list[Any]) -> bool:
    return bool(items) and all(
        isinstance(item, dict) and not any(isinstance(v, dict | list) for v in item.values())
        for item in items
    )


def _is_table(value: Any) -> bool:
    """A ``{columns, rows}`` object or a list of row objects."""
    if isinstance(value, dict):
        return isinstance(value.get("rows"), list)
    return isinstance(value, list) and _scalar_rows(value)


class JsonWalker:
    """Finds every table in a JSON document, with node/database context from nesting."""

    def __init__(self, text: str, path: str, vocab: Vocabulary | None = None) -> None:
        self.vocab = vocab or vocabulary()
        cfg = self.vocab.raw["json"]
        self.node_fields = tuple(cfg["node_fields"])
        self.statement_fields = tuple(cfg["statement_fields"])
        self.wrappers = frozenset(k.lower() for k in cfg["wrapper_keys"])
        self.node_key = re.compile(cfg["node_key"])
        self.section_key = re.compile(cfg["section_key"])
        self.text = text
        self.path = path
        self.newlines = [m.start() for m in re.finditer("\n", text)]
        self.tables: list[Table] = []
        self.warnings: list[str] = []
        self.failed = False
        self.unparsed = 0  # non-blank lines after the cut of a document cut short

    def run(self) -> JsonWalker:
        decoder, pos, n = _decoder(), 0, len(self.text)
        flat: list[Any] = []  # consecutive top-level row objects with the same keys
        while pos < n:
            pos = _WHITESPACE.match(self.text, pos).end()  # type: ignore[union-attr]
            if pos >= n:
                break
            try:
                value, pos = decoder.raw_decode(self.text, pos)
            except json.JSONDecodeError as exc:
                self.failed = True
                self._flush(flat)
                if not self._salvage(decoder, pos, exc):
                    self.warnings.append(
                        f"{self.path}:{exc.lineno}: invalid JSON ({exc.msg}, column {exc.colno})"
                    )
                break
            except RecursionError:
                self.warnings.append(f"{self.path}:{self.line_of(pos)}: JSON nested too deeply")
                self.failed = True
                break
            if _scalar_rows([value]):
                if flat and value.keys() != flat[0].keys():
                    self._flush(flat)
                flat.append(value)
                continue
            self._flush(flat)
            self.walk(value, _Context())
        self._flush(flat)
        return self

    def _salvage(self, decoder: json.JSONDecoder, start: int, exc: json.JSONDecodeError) -> bool:
        """The document at ``start`` is cut short: read it up to the last array item
        that is complete, its containers closed there. True when that gives tables."""
        points = _cut_points(self.text, start, exc.pos)
        for cut, closers in reversed(points[-_SALVAGE_TRIES:]):
            try:
                value, _ = decoder.raw_decode(self.text[:cut] + closers, start)
            except (json.JSONDecodeError, RecursionError):
                continue
            before = len(self.tables)
            self.walk(value, _Context())
            if len(self.tables) == before:
                return False
            for table in self.tables[before:]:
                table.truncated = True
                table.cut_line = exc.lineno
            rest = self.text[cut:].split("\n")[1:]
            self.unparsed = sum(1 for line in rest if line.strip())
            self.warnings.append(
                f"{self.path}:{exc.lineno}: table truncated (JSON cut short: {exc.msg}, "
                f"column {exc.colno}; the items before line {self.line_of(cut)} are read)"
            )
            return True
        return False

    def _flush(self, flat: list[Any]) -> None:
        """Row objects printed one per document: one table, at the first object."""
        if flat:
            self._emit(flat[0], None, [dict(r) for r in flat], _Context())
            flat.clear()

    def line_of(self, offset: int) -> int:
        return bisect.bisect_left(self.newlines, offset) + 1

    # --- JSON values inside a text file (MySQL Shell) ------------------------------

    def segment(self, start: int, statement: str | None, database: str | None) -> int | None:
        """Read the JSON values from offset ``start`` up to the first text that opens no
        value (a footer, the next prompt): MySQL Shell's ``json`` (pretty), ``json/raw``,
        ``ndjson`` or ``json/array`` output of the statement echoed before them. Flat
        objects are the rows of one table (the statement's); other values are walked.
        The offset after the last value read, or None when no table comes out of them.
        A value cut short (the error lies on a later line than the value's first, or at
        the end of the text) flags the tables read truncated, with a warning."""
        decoder, pos, values = _decoder(), start, []
        cut: json.JSONDecodeError | None = None
        while pos < len(self.text) and self.text[pos] in "{[":
            try:
                value, pos = decoder.raw_decode(self.text, pos)
            except json.JSONDecodeError as exc:
                cut = exc if self._cut_short(pos, exc) else None
                break
            except RecursionError:
                break
            values.append(value)
            pos = _WHITESPACE.match(self.text, pos).end()  # type: ignore[union-attr]
        before = len(self.tables)
        self._segment_tables(values, _Context(statement=statement, database=database))
        if len(self.tables) == before:
            return None
        if cut is not None:
            self._flag_cut(self.tables[before:], cut)
        return pos

    def _cut_short(self, pos: int, exc: json.JSONDecodeError) -> bool:
        return self.line_of(exc.pos) > self.line_of(pos) or not self.text[exc.pos :].strip()

    def _segment_tables(self, values: list[Any], ctx: _Context) -> None:
        if values and _scalar_rows(values):
            self._emit(values[0], None, [dict(r) for r in values], ctx)
            return
        for value in values:
            self.walk(value, ctx)

    def _flag_cut(self, tables: list[Table], exc: json.JSONDecodeError) -> None:
        for table in tables:
            table.truncated, table.cut_line = True, exc.lineno
        self.warnings.append(
            f"{self.path}:{exc.lineno}: table truncated (JSON cut short: {exc.msg}, "
            f"column {exc.colno}; the values before it are read)"
        )

    # --- walking ------------------------------------------------------------------

    def walk(self, value: Any, ctx: _Context) -> None:
        if isinstance(value, dict):
            self._walk_dict(value, ctx)
        elif isinstance(value, list):
            if _scalar_rows(value):
                self._emit(value, None, [dict(r) for r in value], ctx)
            else:
                for item in value:
                    self.walk(item, ctx)

    def _walk_dict(self, value: dict[str, Any], ctx: _Context) -> None:
        ctx = self._siblings(value, ctx)
        rows = value.get("rows")
        if isinstance(rows, list) and (not rows or isinstance(rows[0], dict | list)):
            self._emit(value, value.get("columns"), rows, ctx)
            return
        for key, child in value.items():
            if isinstance(child, dict | list) and key not in self.node_fields:
                self.walk(child, self._nest(key, child, ctx))

    def _siblings(self, value: dict[str, Any], ctx: _Context) -> _Context:
        for name in self.node_fields:
            if isinstance(value.get(name), str | int) and not isinstance(value.get(name), bool):
                ctx = replace(ctx, node=str(value[name]))
                break
        for name in self.statement_fields:
            if isinstance(value.get(name), str):
                database = self.vocab.statement_database(value[name]) or ctx.database
                ctx = replace(ctx, statement=value[name], database=database)
                break
        return ctx

    def _nest(self, key: str, child: Any, ctx: _Context) -> _Context:
        if key.lower() in self.wrappers or key in ("columns", "rows"):
            return ctx
        if self.node_key.match(key):
            return replace(ctx, node=key, in_node=True)
        if ctx.in_node and ctx.database is None and _is_table(child):
            # a table right under a node id is one database's: its key is the database,
            # whatever it looks like (mv_analytics, show_stats, status)
            return replace(ctx, database=key, in_node=False)
        if self.section_key.match(key) or self.vocab.names_section(key):
            # a key that is the statement itself (DBeaver's JSON export) names its database
            database = self.vocab.statement_database(key)
            return replace(ctx, database=database, in_node=False)
        return replace(ctx, database=key, in_node=False)

    # --- tables -------------------------------------------------------------------

    def _emit(self, obj: Any, columns: Any, rows: list[Any], ctx: _Context) -> None:
        names = self._columns(columns, rows)
        table_rows: list[Row] = []
        for raw in rows:
            if isinstance(raw, dict):
                table_rows.append({name: _cell(raw.get(name)) for name in names})
            elif isinstance(raw, list):
                row: Row = dict.fromkeys(names)
                row.update({n: _cell(v) for n, v in zip(names, raw, strict=False)})
                table_rows.append(row)
        self.tables.append(
            Table(
                path=self.path,
                line=self.line_of(getattr(obj, "offset", 0)),
                statement=ctx.statement,
                columns=names,
                rows=table_rows,
                database=ctx.database,
                node=ctx.node,
            )
        )

    @staticmethod
    def _columns(columns: Any, rows: list[Any]) -> list[str]:
        names: list[str] = []
        if isinstance(columns, list):
            for col in columns:
                name = col.get("name") or col.get("Name") if isinstance(col, dict) else col
                if name is not None and str(name) not in names:
                    names.append(str(name))
        seen = set(names)
        for row in rows:
            if isinstance(row, dict):
                for key in row:
                    if key not in seen:
                        seen.add(key)
                        names.append(key)
        return names


def _cut_points(text: str, start: int, end: int) -> list[tuple[int, str]]:
    """Where the document at ``start``, invalid at ``end``, may be cut: each comma
    between two items of an array, with the brackets that close the document there.
    None once the document closes before ``end`` (no JSON cut short, say a shell
    prompt ``[root@host ~]#``)."""
    stack: list[str] = []
    points: list[tuple[int, str]] = []
    for match in _STRUCTURE.finditer(text, start, end):
        token = match.group()
        if token in _CLOSERS:
            stack.append(_CLOSERS[token])
        elif token in ("]", "}"):
            if not stack or stack.pop() != token or not stack:
                return []
        elif token == "," and stack and stack[-1] == "]":
            points.append((match.start(), "".join(reversed(stack))))
    return points


def looks_like_json(text: str) -> bool:
    stripped = text.lstrip("\ufeff \t\r\n")
    return stripped[:1] in ("{", "[")


def scan_json(text: str, path: str) -> JsonWalker:
    return JsonWalker(text.lstrip("\ufeff"), path).run()
