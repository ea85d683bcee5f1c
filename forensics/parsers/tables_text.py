"""Text renderings of SQL client output: boxed, vertical (``\\G``), tab-separated, CSV,
Jira wiki tables, and the JSON (MySQL Shell), XML (``mysql --xml``) and HTML
(``mysql --html``) output that follows an echoed statement.

pyparsing recognises the structure (borders, header rows, row markers, field lines);
once a header is recognised, data rows are split line by line with plain string
operations so that a 50k-row table stays linear and fast. JSON, XML and HTML are read
with the standard library's parsers (XML without any DTD or entity declaration).

Each table carries the time it was captured when the file tells it (``captured_at``):
the last ``SELECT NOW()`` result, prompt time stamp or ``date`` output before it, and the
clock that time was read from (``capture_clock``: :func:`date_clock`, grammars/snapshots.toml
[clocks]).
"""

from __future__ import annotations

import csv
import itertools
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyparsing as pp

from .. import grammars
from .tables_json import JsonWalker
from .tables_markup import MarkupTable, html_tables, xml_table
from .tables_model import ClientError, Row, Table, unique_columns
from .tables_rows import Block as _Block
from .tables_rows import damage_warning, placed_warning
from .tables_vocab import Vocabulary, vocabulary

# --- grammar -------------------------------------------------------------------------

BORDER = pp.Regex(r"\+(?:-+\+)+")
#: A border line damaged in a paste: ``+`` and ``-`` only, but no whole border.
_BROKEN_BORDER = re.compile(r"\+[-+]*")
_CELL = pp.Opt(pp.Regex(r"[^|]+"), default="")
BOX_ROW = (pp.Suppress("|") + pp.OneOrMore(_CELL + pp.Suppress("|"))).leave_whitespace()
ROW_MARK = pp.Regex(r"\*{3,} (?P<n>\d+)\. row \*{3,}")
_FIELD_RE = re.compile(r"\s*(?P<name>[^\s:][^:]*?):(?: (?P<value>.*))?$")
FIELD = pp.Regex(_FIELD_RE)  # "   Column: value" (vertical output)

#: Header cell of a tab/CSV header: an identifier-like column name.
_HEADER_CELL = re.compile(r"^[A-Za-z_@#$][\w @#$().%/:+-]*$")
_TERMINATORS = (";", "\\G", "\\g")
#: The line under a Markdown table's header: | --- | :---: | ---: |
_MD_SEPARATOR = re.compile(r"\|(?:\s*:?-{3,}:?\s*\|)+")
#: The line under the header of a table without outer pipes: Markdown's (GFM allows
#: both) ``--- | :---: | ---:``, or psql's and usql's ``---------+------``.
_MD_BARE_SEPARATOR = re.compile(r"\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)+|-+(?:\+-+)+")
#: A cell separator of a Markdown row: a ``|`` not escaped as ``\|`` (GFM).
_MD_BAR = re.compile(r"(?<!\\)\|")
_MAX_BARE_CONTINUATION = 20
_USE = re.compile(r"(?i)^USE\s")
_ESCAPES = {"\\t": "\t", "\\n": "\n", "\\0": "\0", "\\\\": "\\"}
_ESCAPE_RE = re.compile(r"\\[tn0\\]")


# Hot-path checks (every line of a 50k-row table) use the grammar's compiled regex
# directly: ParserElement.matches costs ~0.3 ms a call.
_BORDER_RE = BORDER.re
_ROW_MARK_RE = ROW_MARK.re


def is_border(text: str) -> bool:
    return text.startswith("+") and _BORDER_RE.fullmatch(text) is not None


def is_row_mark(text: str) -> bool:
    return text.startswith("*") and _ROW_MARK_RE.fullmatch(text) is not None


#: A boxed table's header line is at most this long (a real one holds a few dozen
#: columns; a line of a megabyte of '|' had kept the parser busy for 16 s).
MAX_HEADER_CHARS = 16384


def box_header(text: str) -> list[str] | None:
    if len(text) > MAX_HEADER_CHARS:
        return None
    try:
        return [cell.strip() for cell in BOX_ROW.parse_string(text, parse_all=True)]
    except pp.ParseException:
        return None


def split_lines(text: str) -> list[str]:
    """Lines as numbered by editors and the other parsers: split on LF, CR of CRLF dropped.

    (``str.splitlines`` would also split on CR, VT, FF, U+2028 ... and shift line numbers.)
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


#: A quoted text or backquoted name of a statement (a ";" in it splits nothing).
_QUOTED = re.compile(r"""'(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?|`[^`]*`?""")
_TERMINATOR_RE = re.compile(r";|\\[Gg]")


def split_statements(text: str) -> list[str]:
    """The statements of one echoed text (``SHOW A; SHOW B\\G``): split on ``;`` and
    ``\\G`` outside quotes, terminators dropped, empty pieces left out."""
    pieces, start, pos = [], 0, 0
    for match in _QUOTED.finditer(text):
        for stop in _TERMINATOR_RE.finditer(text, pos, match.start()):
            pieces.append(text[start : stop.start()])
            start = stop.end()
        pos = match.end()
    for stop in _TERMINATOR_RE.finditer(text, pos):
        pieces.append(text[start : stop.start()])
        start = stop.end()
    pieces.append(text[start:])
    return [piece.strip() for piece in pieces if piece.strip()]


@dataclass
class _Batch:
    """One echoed text of several statements (``mysql -e "A; B; C"``) and the tables
    read after it: the n-th statement that returns a result set is the statement of the
    n-th result. Each table is kept with whether it took its statement from here (an XML
    result names its own)."""

    text: str
    statements: list[str]
    results: re.Pattern[str]
    pos: int = 0  # index of the next statement not yet given a result
    tables: list[tuple[Table, bool]] = field(default_factory=list)
    extra: int = 0  # results read after every statement had one
    line: int = 0  # 1-based line where the text was echoed

    def take(self) -> tuple[str | None, list[str]]:
        """The statement of the next result, and the statements passed on the way to it
        (USE db ...); None once every statement had its result."""
        passed: list[str] = []
        while self.pos < len(self.statements):
            statement = self.statements[self.pos]
            self.pos += 1
            if self.results.match(statement):
                return statement, passed
            passed.append(statement)
        self.extra += 1
        return None, passed

    def peek(self) -> str | None:
        """The statement the next result answers, without taking it."""
        rest = (s for s in self.statements[self.pos :] if self.results.match(s))
        return next(rest, None)

    @property
    def consistent(self) -> bool:
        """Every result-set statement had one result, and no result was left over."""
        return self.extra == 0 and self.peek() is None


#: A table's caption (:meth:`TextScanner._caption`): its last lines at most, cut to a length.
_CAPTION_LINES, _CAPTION_MAX = 3, 160
#: An SQL or shell comment on a line of its own (``-- before``, ``# after the failure``,
#: ``/* now */``); its text in group "text".
_COMMENT = re.compile(r"^(?:--+|#+|/\*+)\s*(?P<text>.*?)\s*(?:\*+/)?\s*$")
#: A comment after a statement on its line (``SHOW PARTITIONS ON db; -- after``).
_TRAILING_COMMENT = re.compile(r"(?:;|\\G)\s*(?:--+|#+)\s*(?P<text>\S.*?)\s*$")
#: First characters of a line of a table (boxed, Jira, JSON, XML/HTML, quoted CSV).
_TABLE_OPENERS = frozenset("+|{}[]<\"'")
_LETTER = re.compile(r"[A-Za-z]")

_MAX_RECORD_LINES = 64  # lines of one tab/CSV row whose cells hold newlines, at most
_MAX_WRAPS = 4  # continuation lines of one hard-wrapped table line at most


class TextScanner:
    """Walks the lines of one file and collects every table in any text rendering."""

    def __init__(self, text: str, path: str, vocab: Vocabulary | None = None) -> None:
        self.vocab = vocab or vocabulary()
        st = self.vocab.raw["statement"]
        self.prompt = re.compile(st["prompt"])
        self.shell = re.compile(st["shell"])
        self.continuation = re.compile(st["continuation"])
        self.bare = re.compile(st["bare"])
        self.footer = re.compile(st["footer"])
        self.row_count = re.compile(st["row_count"])
        self.inline_code = re.compile(st["inline_code"])
        self.wiki_code = [re.compile(p) for p in st["wiki_code"]]
        self.results = re.compile(st["result"])
        self.markup = re.compile(st["markup"])
        self.noise = re.compile("|".join(f"(?:{p})" for p in st["noise"]))
        self.renderings = _Renderings(self.vocab)
        self.errors = _ClientErrors(self.vocab)
        self.client_errors: list[ClientError] = []
        # (a quoted or indented paste reads as if it were not: [quoting])
        self.lines = self.vocab.quoting.unquote(split_lines(text), text)
        # the text ends inside its last line (no line end): a file cut there, mid-row
        self.ends_open = bool(text) and not text.endswith("\n")
        self.path = path
        self.tables: list[Table] = []
        self.warnings: list[str] = []
        self.unparsed = 0
        self.pending: tuple[str, int] | None = None  # echoed statement, its line
        self.pending_end = 0  # index of the line after the echoed statement
        self.answered = False  # a footer followed the echoed statement: no error is its
        self.use_db: str | None = None
        self.batch: _Batch | None = None  # an echoed text of several statements
        self.last: Table | None = None  # table a following footer may refer to
        self.clock: datetime | None = None  # the last capture time read so far
        self.clock_kind: str | None = None  # the clock it was read from (:func:`date_clock`)
        self.pending_clock: datetime | None = None  # the clock when `pending` was read
        self.pending_kind: str | None = None
        self.caption_from = 0  # index of the first line a table's caption may be on
        self._json: JsonWalker | None = None  # over the whole text, made on first use
        self._starts: list[int] = []  # offset of each line in the walker's text

    # --- driver -----------------------------------------------------------------------

    def run(self) -> TextScanner:
        i, n = 0, len(self.lines)
        while i < n:
            nxt = self._step(i)
            if nxt is None:
                self.unparsed += 1
                self.last = None
                nxt = i + 1
                if self.batch is not None and self.batch.peek() is None:
                    self._close_batch()  # text after the last result: the run is over
            i = nxt
        self._close_batch()
        return self

    def _step(self, i: int) -> int | None:
        """Consume what starts at line ``i``; the next index, or None if unparsed."""
        text = self.lines[i].strip()
        if not text:
            return i + 1
        if (error := self.errors.match(text)) is not None:
            # (its text may hold ";" or ",": never a CSV header); read when it is a
            # rebalance's failure, else unparsed like any line nothing is read from
            return i + 1 if self._failed(error, i) else None
        if text[0] in "+|":
            return self._boxed(i)
        if text[0] == "*" and is_row_mark(text):
            return self._vertical(i)
        if self.footer.match(text):
            self._footer(text, i)
            return i + 1
        if self.markup.match(text):
            return i + 1
        if "|" in text and (markdown := self._bare_markdown(i)) is not None:
            return markdown
        if text[0] in "<{[" and (found := self._opened(text, i)) is not None:
            return found
        if (stamp := self.renderings.date_line.match(text)) is not None:
            zone = text[stamp.end("ts") : stamp.start("year")]
            self._tick(self.vocab.read_time(f"{stamp['ts']} {stamp['year']}"), date_clock(zone))
            return i + 1
        echoed = self._echo(i)
        if echoed is not None:
            return echoed
        if self.noise.match(text):
            return i + 1  # a banner, a notice, a shell command that runs no SQL
        if "\t" in self.lines[i]:
            return self._delimited(i, "\t")
        if "," in text or ";" in text:
            return self._delimited(i, _csv_delimiter(text))
        if _HEADER_CELL.match(text) and (
            self.vocab.classify([text]) is not None or self._clock_pending()
        ):
            return self._single_column(i)
        return None

    def warn(self, line: int, what: str) -> None:
        self.warnings.append(f"{self.path}:{line}: {what}")

    def null(self, cell: str) -> str | None:
        return None if cell in self.vocab.nulls else cell

    def _emit(self, block: _Block, start: int) -> None:
        statement, line = self.pending if self.pending else (None, start + 1)
        block.settle()
        said = []  # (first line, warning): the table's rows skipped, and read one field short
        if block.damaged:
            said.append((block.damaged[0][0], damage_warning(self.path, block.damaged)))
            self.unparsed += len(block.damaged)
        if block.placed:
            ncols = len(block.columns)
            said.append((block.placed[0][0], placed_warning(self.path, block.placed, ncols)))
        self.warnings.extend(warning for _, warning in sorted(said))
        table = Table(
            path=self.path,
            line=line,
            statement=statement,
            columns=block.columns,
            rows=block.rows,
            database=self._statement_db(statement),
            truncated=block.truncated_at is not None,
            cut_line=block.truncated_at,
            row_lines=block.row_lines,
            damaged_lines=[n for n, _ in block.damaged],
        )
        if block.truncated_at is not None:
            self.warn(block.truncated_at, f"table truncated ({block.reason})")
        self._adopt(table)

    def _adopt(self, table: Table) -> None:
        """Keep a table read at this point: it takes the capture time read before its
        statement, and a clock statement's result (``SELECT NOW()``) sets the time."""
        if self.batch is not None:
            self._batched(table, self.batch)
        table.captured_at = self.pending_clock if self.pending else self.clock
        table.capture_clock = self.pending_kind if self.pending else self.clock_kind
        if table.captured_at is None:
            table.capture_clock = None
        table.caption = self._caption(table)
        clock = table.statement and self.renderings.clock_statement.match(table.statement)
        if not clock:  # (a caption before SELECT NOW() is the next table's)
            self.caption_from = max([table.line, *table.row_lines])
        self.tables.append(table)
        self.pending = None
        self.last = table
        if table.statement and self.renderings.clock_statement.match(table.statement):
            first = table.rows[0].get(table.columns[0]) if table.rows and table.columns else None
            utc = _CLOCKS_UTC_STATEMENT.search(table.statement)
            self._tick(self.vocab.read_time(first), UTC_CLOCK if utc else SERVER_CLOCK)

    # --- captions ---------------------------------------------------------------------

    def _caption(self, table: Table) -> str | None:
        """The text right before ``table`` that says what it is: the prose, SQL or shell
        comment lines (a prompt holding only a comment too) since the previous table, the
        last :data:`_CAPTION_LINES` of them, and a comment on its statement's line. Echoed
        statements, footers and table lines are no caption. None when there is none."""
        end = max(self.caption_from, table.line - 1)
        found = [c for raw in self.lines[self.caption_from : end] if (c := self._caption_text(raw))]
        statement = table.statement or ""
        echoed = self.lines[table.line - 1] if statement and table.line <= len(self.lines) else ""
        if (own := _COMMENT.match(statement)) is not None:  # `mysql> -- before` then a table
            found.append(own["text"])
        elif (trailing := _TRAILING_COMMENT.search(echoed)) is not None:
            found.append(trailing["text"])
        text = " ".join(c for c in found[-_CAPTION_LINES:] if _LETTER.search(c)).strip()
        return text[:_CAPTION_MAX] or None

    def _caption_text(self, raw: str) -> str | None:
        """Line ``raw`` as a caption: a comment's text, a prose line; None for anything
        else (a statement, a footer, a table's line, a client's notice)."""
        text = raw.strip()
        if prompt := self.prompt.match(text):
            text = text[prompt.end() :].strip()  # a prompt that runs no statement
        if (comment := _COMMENT.match(text)) is not None:
            return comment["text"] or None
        if (
            not text
            or prompt
            or text[0] in _TABLE_OPENERS
            or "\t" in raw
            or is_row_mark(text)
            or self.footer.match(text)
            or self.bare.match(text)
            or self.continuation.match(raw)
            or self.shell.match(text)
            or self.inline_code.match(text)
            or self.markup.match(text)
            or self.noise.match(text)
            or self.errors.match(text)
            or self.renderings.date_line.match(text)
        ):
            return None
        return text

    # --- several statements in one echoed text -------------------------------------

    def _batched(self, table: Table, batch: _Batch) -> None:
        """A result of a run of several statements takes the next statement (and the
        database it names), unless it names its own (XML's ``statement`` attribute)."""
        own = table.statement not in (None, batch.text)
        statement, passed = batch.take()
        self._pass(passed)
        if not own:
            table.statement, table.database = statement, self._statement_db(statement)
        batch.tables.append((table, not own))

    def _pass(self, statements: list[str]) -> None:
        """Statements of a run that return no result: ``USE db`` names the database of
        those after it."""
        for statement in statements:
            if _USE.match(statement):
                self.use_db = self._statement_db(statement)

    def _close_batch(self) -> None:
        """The end of the results of a run of several statements: when their count does
        not match the statements', the first result keeps the whole text (and a database
        only when the text names just one), the others none, and a warning says so."""
        batch, self.batch = self.batch, None
        if batch is None:
            return
        self._pass(batch.statements[batch.pos :])
        if batch.consistent or not batch.tables:
            return
        named = sorted({db for s in batch.statements if (db := self.vocab.statement_database(s))})
        for n, (table, taken) in enumerate(batch.tables):
            if taken:
                table.statement = batch.text if n == 0 else None
                table.database = named[0] if n == 0 and len(named) == 1 else None
                table.candidates = tuple(named) if len(named) > 1 else ()
        expected = sum(1 for s in batch.statements if self.results.match(s))
        several = f"; it names {', '.join(named)}: read as no one of them" if named[1:] else ""
        self.warn(
            batch.tables[0][0].line,
            f"{len(batch.tables)} result(s) for {expected} statement(s) that return one: "
            f"the statements could not be matched to the results{several}",
        )

    def _expected(self) -> str | None:
        """The statement the next result answers: the next of a run, else the echoed one."""
        if self.batch is not None:
            return self.batch.peek()
        return self.pending[0] if self.pending else None

    # --- capture times ---------------------------------------------------------------

    def _tick(self, when: datetime | None, kind: str) -> None:
        if when is not None:
            self.clock, self.clock_kind = when, kind

    def _clock_pending(self) -> bool:
        """An echoed clock statement waits for its one-column result (``mysql -B``)."""
        expected = self._expected()
        return expected is not None and bool(self.renderings.clock_statement.match(expected))

    # --- echoed statements and footers ----------------------------------------------

    def _echo(self, i: int) -> int | None:
        raw = self.lines[i]
        # `SHOW ... ON db;` in a ticket, mysql -e "SHOW ... ON db" at a shell: one line
        code = self.inline_code.match(raw) or self.shell.match(raw) or self._wiki_code(raw)
        if code is not None:
            raw = code["sql"]
        prompt = self.prompt.match(raw)
        if prompt is None and not self.bare.match(raw.strip()):
            return None
        parts = [raw[prompt.end() :].strip() if prompt else raw.strip()]
        start, i = i, i + 1
        while code is None and i < len(self.lines) and _open(parts):
            cont = self.continuation.match(self.lines[i])
            if cont is not None:
                parts.append(self.lines[i][cont.end() :].strip())
            elif prompt is None and self._bare_continues(i, start):
                parts.append(self.lines[i].strip())
            else:
                break
            i += 1
        statement = " ".join(p for p in parts if p)
        if statement:
            self._close_batch()
            if stamp := self.renderings.prompt_time.match(self.lines[start]):
                self._tick(self.vocab.read_time(stamp["ts"]), CLIENT_CLOCK)
            self.pending, self.pending_end = (statement, start + 1), i
            self.pending_clock, self.pending_kind = self.clock, self.clock_kind
            self.answered = False
            if len(statements := split_statements(statement)) > 1:
                self.batch = _Batch(statement, statements, self.results, line=start + 1)
            elif _USE.match(statement):
                self.use_db = self._statement_db(statement)
        self.last = None
        return i

    def _wiki_code(self, raw: str) -> re.Match[str] | None:
        """A statement in Jira wiki markup (``{{SHOW ...}}``, ``{code}...{code}``)."""
        if "{" not in raw:
            return None
        return next((m for p in self.wiki_code if (m := p.match(raw)) is not None), None)

    def _bare_continues(self, i: int, start: int) -> bool:
        text = self.lines[i].strip()
        structural = (
            text[:1] in ("+", "|", "*")
            or "\t" in text
            or self.footer.match(text)
            or self.markup.match(text)
            or self.errors.match(text)
        )
        return bool(text) and not structural and i - start < _MAX_BARE_CONTINUATION

    def _statement_db(self, statement: str | None) -> str | None:
        return self.vocab.statement_database(statement) or self.use_db

    def _footer(self, text: str, i: int) -> None:
        self.answered = True
        count = self.row_count.match(text)
        if text.startswith("Empty set"):
            self.pending = None
            if self.batch is not None:
                self._pass(self.batch.take()[1])  # a statement of the run with no table
        # (a damaged row was counted by the client: it is no row missing)
        seen = len(self.last.rows) + len(self.last.damaged_lines) if self.last else 0
        if count and self.last is not None and int(count.group(1)) > seen:
            if not self.last.truncated:
                self.warn(
                    i + 1,
                    f"table truncated ({count.group(1)} rows announced, {len(self.last.rows)} read)",
                )
            self.last.truncated = True
            self.last.cut_line = self.last.cut_line or i + 1
        self.last = None

    # --- client errors ---------------------------------------------------------------

    def _failed(self, error: re.Match[str], i: int) -> bool:
        """A client's error line (``ERROR 1205 (HY000): ...``): the statement waiting for
        its answer failed, and no result follows it. When that statement is a rebalance
        (or a step run by hand), its failure is kept (:class:`ClientError`). The client
        stops a run of several statements at its error: the run is over. True when the
        failure is kept."""
        found = self._failed_statement()
        self.pending, self.last = None, None
        if self.batch is not None:
            self.batch.pos = len(self.batch.statements)
            self._close_batch()
        if found is None:
            return False
        statement, line, database, event = found
        groups = error.groupdict()  # (the form without a code has no such group)
        code = groups.get("code")
        self.client_errors.append(
            ClientError(
                path=self.path,
                line=i + 1,
                statement=statement,
                statement_line=line,
                database=database,
                event=event,
                text=self.lines[i].strip(),
                code=int(code) if code else None,
                sqlstate=groups.get("state"),
            )
        )
        return True

    def _failed_statement(self) -> tuple[str, int, str | None, str] | None:
        """The statement an error line answers, its line, database and failure event;
        None unless it is a rebalance or a step. Of a run of several statements: the
        first that has not had its result (``USE db`` and statements with no result
        before it ran)."""
        if self.batch is not None:
            statements, line = self.batch.statements[self.batch.pos :], self.batch.line
        elif self.pending is not None and not self.answered:
            statements, line = split_statements(self.pending[0]), self.pending[1]
        else:
            return None
        for statement in statements:
            if _USE.match(statement):
                self._pass([statement])
            elif (found := self.errors.failure(statement)) is not None:
                named, every, event = found
                return statement, line, named or (None if every else self.use_db), event
            elif self.results.match(statement):
                return None  # the error is this statement's
        return None

    # --- boxed ---------------------------------------------------------------------

    def _unwrapped(self, i: int, border: str | None = None) -> tuple[str, int]:
        """Line ``i`` of a boxed table (stripped) and the index after it. A line that a
        paste or a terminal hard-wrapped (it opens with ``|`` or ``+`` but does not close
        with it, or it is shorter than the ``border``; and the next lines are no
        prompts or footers) is joined with the lines that complete it, as long as they
        do, within :data:`_MAX_WRAPS` lines. A wrap in a cell's padding leaves a last
        piece that opens with ``|`` (``          |``): it completes the line when the
        whole stays within the ``border``'s width and has no more bars than the border
        has ``+`` (two rows have twice as many). A border wrapped right after a ``+``
        goes on with a piece of dashes."""
        first = self.lines[i]
        text = first.strip()
        closer = text[:1]
        if closer not in ("|", "+") or len(text) < 2:
            return text, i + 1
        width = len(border) if border else None
        short = width is not None and len(text) < width
        if text.endswith(closer) and not short:
            return self._border_tail(text, i) if closer == "+" else (text, i + 1)
        joined = first.lstrip()
        for j in range(i + 1, min(i + 1 + _MAX_WRAPS, len(self.lines))):
            part = self.lines[j]
            head = part.strip()
            if not head or self._ends_table(head):
                break
            if head[:1] in ("|", "+"):
                whole = (joined + part).strip()
                if border and head.endswith(closer) and _fits(whole, border, closer):
                    return whole, j + 1
                break
            joined += part
            whole = joined.strip()
            if whole.endswith(closer) and (width is None or len(whole) >= width):
                return whole, j + 1
        return text, i + 1

    def _border_tail(self, text: str, i: int) -> tuple[str, int]:
        """A border wrapped right after one of its ``+``: the next line is the rest of
        it, dashes up to the last ``+`` (``-----+``)."""
        if i + 1 < len(self.lines) and self.lines[i + 1][:1] == "-" and is_border(text):
            whole = text + self.lines[i + 1].strip()
            if is_border(whole):
                return whole, i + 2
        return text, i + 1

    def _ends_table(self, text: str) -> bool:
        return bool(
            self.footer.match(text)
            or self.prompt.match(text)
            or self.bare.match(text)
            or self.errors.match(text)
        )

    def _boxed(self, i: int) -> int | None:
        start, n = i, len(self.lines)
        if self.lines[i][:2] == "||" and self.renderings.jira_header.match(self.lines[i].strip()):
            return self._jira(i)
        first, after = self._unwrapped(i)
        border = first if is_border(first) else None
        i = after if border is not None else i
        line, after = self._unwrapped(i, border) if i < n else ("", i)
        header = box_header(line) if i < n else None
        if not header:
            return None
        block = _Block(unique_columns(header))
        i = after
        markdown = False
        line, after = self._unwrapped(i, border) if i < n else ("", i)
        if i < n and is_border(line):
            border = border or line
            i = after
        elif border is None and i < n and _MD_SEPARATOR.fullmatch(self.lines[i].strip()):
            markdown = True  # a Markdown table (pasted into a ticket): no borders at all
            i += 1
        i, closed = self._box_rows(i, block, border)
        if not closed and not markdown and block.truncated_at is None:
            block.cut(i, "no closing border")
        self._emit(block, start)
        return i

    def _box_rows(self, i: int, block: _Block, border: str | None) -> tuple[int, bool]:
        stops = [p for p, ch in enumerate(border) if ch == "+"] if border else []
        while i < len(self.lines):
            text, after = self._unwrapped(i, border)
            if text.startswith("+") and self._broken_border(text, after, block, border):
                self.warn(i + 1, "broken border line inside the table: skipped")
                self.unparsed += 1
                i = after
                continue
            if text.startswith("+") and is_border(text):
                return after, True
            if not text.startswith("|"):
                if not self._damaged_box_line(text, after, block, border):
                    return i, False
                block.damage(i + 1, "line is no row of the table (it does not open with '|')")
                i = after
                continue
            row = self._box_row(text, block, stops, i)
            if row is not None:
                block.add(row, i + 1)
            i = after
        return i, False

    def _broken_border(self, text: str, after: int, block: _Block, border: str | None) -> bool:
        """A damaged border line (``+------+----``, or one cut right after a ``+``: not
        the table's own border) in the middle of a table: rows that fit the columns go on
        after it. Ending the table there would drop those rows, or read the first of them
        as another table's header; the table's border, or a line followed by a border
        (a header), still ends it."""
        damaged = not is_border(text) or (border is not None and len(text) != len(border))
        if not (damaged and _BROKEN_BORDER.fullmatch(text)) or after >= len(self.lines):
            return False
        line, nxt = self._unwrapped(after, border)
        if not line.startswith("|") or not self._fits_columns(line, block, border):
            return False
        following = self._unwrapped(nxt, border)[0] if nxt < len(self.lines) else ""
        return not is_border(following)

    def _damaged_box_line(self, text: str, after: int, block: _Block, border: str | None) -> bool:
        """A line inside a boxed table that is no row of it (``! a ! b | c |``: its bars
        damaged) yet no end of it either: a row of the table, or its closing border,
        follows it. Ending the table there would drop the rows after it, or read the
        first of them as another table's header."""
        if not text or text[0] == "+" or self._ends_table(text) or is_row_mark(text):
            return False
        if after >= len(self.lines):
            return False
        line, nxt = self._unwrapped(after, border)
        if line.startswith("|") and self._fits_columns(line, block, border):
            return not self._opens_rows(nxt, border)  # (else: a header over its border)
        return border is not None and line == border and not self._opens_rows(after, border)

    def _opens_rows(self, i: int, border: str | None) -> bool:
        """Line ``i`` is a border with a row or another border after it: the line before
        it is a header (or the border the top one of another table), no row."""
        if i >= len(self.lines) or not is_border(self._unwrapped(i, border)[0]):
            return False
        nxt = self._unwrapped(i, border)[1]
        return nxt < len(self.lines) and self.lines[nxt].strip()[:1] in ("|", "+")

    @staticmethod
    def _fits_columns(text: str, block: _Block, border: str | None) -> bool:
        """A whole row line with as many cells as the header."""
        ncols = len(block.columns)
        if not text.endswith("|") or len(text) < 2:
            return False
        if len(text[1:-1].split("|")) == ncols:
            return True
        stops = [p for p, ch in enumerate(border) if ch == "+"] if border else []
        return _slice_by_border(text, stops, ncols) is not None

    def _box_row(self, text: str, block: _Block, stops: list[int], i: int) -> Row | None:
        ncols = len(block.columns)
        if not text.endswith("|") or len(text) == 1:
            block.cut(i + 1, f"row cut at line {i + 1}")
            return self._row(_cut_cells(text, stops), block.columns)
        cells = text[1:-1].split("|")
        if len(cells) != ncols:
            cells = _slice_by_border(text, stops, ncols) or cells
        if len(cells) != ncols and "\\|" in text:
            cells = _markdown_cells(text)  # a Markdown cell holding an escaped "\|"
        if len(cells) != ncols:
            block.damage(i + 1, f"row has {len(cells)} cells, header has {ncols}")
            return None
        return self._row(cells, block.columns)

    def _row(self, cells: list[str], columns: list[str]) -> Row:
        """Cells by column; missing trailing cells are None (a cut row)."""
        row: Row = dict.fromkeys(columns)
        for name, cell in zip(columns, cells, strict=False):
            row[name] = self.null(cell.strip())
        return row

    def _jira(self, i: int) -> int:
        """A Jira / Confluence wiki table: ``||Host||Port||`` then ``|10.0.0.2|3306|`` a
        row, up to the first line that is no row (prose goes on after it; no border
        closes such a table, so none is missing)."""
        header = [cell.strip() for cell in self.lines[i].strip()[2:-2].split("||")]
        block, j = _Block(unique_columns(header)), i + 1
        while j < len(self.lines) and (text := self.lines[j].strip())[:1] == "|":
            if text[:2] == "||":
                break  # the header of the next table
            row = self._box_row(text, block, [], j)
            if row is not None:
                block.add(row, j + 1)
            j += 1
        self._emit(block, i)
        return j

    def _bare_markdown(self, i: int) -> int | None:
        """A table without outer pipes (``Host | Port`` over Markdown's ``--- | ---`` or
        psql's ``-----+-----``): its header, then rows up to a line with no ``|`` (psql's
        ``(N rows)`` footer); None when line ``i`` opens none."""
        n = len(self.lines)
        if i + 1 >= n or not _MD_BARE_SEPARATOR.fullmatch(self.lines[i + 1].strip()):
            return None
        header = _markdown_cells(self.lines[i], outer=False)
        if len(header) < 2 or not all(header):
            return None
        block, j = _Block(unique_columns(header)), i + 2
        while j < n and "|" in (text := self.lines[j].strip()) and not self._ends_table(text):
            cells = _markdown_cells(text, outer=False)
            if len(cells) == len(header):
                block.add(self._row(cells, block.columns), j + 1)
            else:
                block.damage(j + 1, f"row has {len(cells)} cells, header has {len(header)}")
            j += 1
        self._emit(block, i)
        return j

    # --- JSON, XML and HTML after an echoed statement ---------------------------------

    def _opened(self, text: str, i: int) -> int | None:
        """A table in JSON (MySQL Shell), XML (``mysql --xml``) or HTML (``mysql --html``)
        opening at line ``i``: the index after it, or None when the line opens none."""
        r = self.renderings
        if r.json_start.match(text):
            return self._json_values(i)
        if r.xml_start.match(text):
            return self._markup(i, r.xml_start, r.xml_end, self._xml)
        if r.html_start.match(text):
            return self._markup(i, r.html_start, r.html_end, self._html)
        return None

    def _json_values(self, i: int) -> int | None:
        """JSON values from line ``i`` on (MySQL Shell ``--result-format=json`` ...):
        the tables of the statement echoed before them; the index of the line where the
        text that follows them starts."""
        if self._json is None:
            self._json = JsonWalker("\n".join(self.lines), self.path, self.vocab)
            self._starts = [0, *itertools.accumulate(len(line) + 1 for line in self.lines)]
        walker, statement = self._json, self.pending[0] if self.pending else None
        before = len(walker.tables), len(walker.warnings)
        end = walker.segment(self._starts[i], statement, self._statement_db(statement))
        if end is None:
            return None
        for table in walker.tables[before[0] :]:
            table.line = self.pending[1] if self.pending else table.line
            self._adopt(table)
        self.warnings.extend(walker.warnings[before[1] :])
        if end >= len(walker.text):
            return len(self.lines)
        return max(walker.line_of(end) - 1, i + 1)

    def _markup(
        self, i: int, opens: re.Pattern[str], closes: re.Pattern[str], read: Any
    ) -> int | None:
        """The lines of one XML document or HTML table, from line ``i`` to the line that
        closes it (else to the next that opens another the same way, ``<?xml`` or
        ``<TABLE``, or the end of the file: cut short), read by ``read``."""
        end, first = i + 1, self.lines[i].strip()[:5]
        while end < len(self.lines) and not closes.search(self.lines[end - 1]):
            text = self.lines[end].strip()
            if text[:5] == first and opens.match(text):
                break
            end += 1
        tables = read("\n".join(self.lines[i:end]))
        for found in tables:
            if found.columns:
                self._emit_markup(found, i)
            elif found.error is not None:  # a DTD: nothing read, nothing expanded
                self.warn(i + found.error[0], f"{found.kind} not read: {found.error[1]}")
                self.unparsed += end - i
        return end if tables else None

    def _xml(self, text: str) -> list[MarkupTable]:
        table = xml_table(text, self.renderings.xml_nil)
        return [table] if table is not None else []

    def _html(self, text: str) -> list[MarkupTable]:
        return html_tables(text)

    def _emit_markup(self, found: MarkupTable, start: int) -> None:
        """A table read by the XML or HTML parser; its statement (XML's ``statement``
        attribute) stands in for an echoed one."""
        if found.statement and self.pending is None:
            self.pending, self.pending_clock = (found.statement, start + 1), self.clock
            self.pending_kind = self.clock_kind
        elif found.statement and self.pending is not None:
            self.pending = (found.statement, self.pending[1])
        block = _Block(unique_columns(found.columns))
        for cells, line in zip(found.rows, found.row_lines, strict=True):
            row = {
                name: None if (cell := cells.get(raw)) is None else self.null(cell.strip())
                for raw, name in zip(found.columns, block.columns, strict=True)
            }
            block.add(row, start + line)
        if found.error is not None:
            line, what = found.error
            block.cut(start + line, f"{found.kind} cut short: {what}; the rows before it are read")
        self._emit(block, start)

    # --- vertical (\G) ---------------------------------------------------------------

    def _vertical(self, i: int) -> int:
        start = i
        block = _Block([])
        known: set[str] = set()
        row: Row | None = None
        last_name: str | None = None
        while i < len(self.lines):
            raw = self.lines[i]
            text = raw.strip()
            if text.startswith("*") and is_row_mark(text):
                row, last_name = {}, None
                block.add(row, i + 1)
            elif not text:
                if not self._next_is_row_mark(i):
                    break
            elif (match := _FIELD_RE.match(raw)) and (
                len(block.rows) == 1 or match["name"] in known
            ):
                last_name = match["name"]
                if last_name not in known:
                    known.add(last_name)
                    block.columns.append(last_name)
                assert row is not None
                row[last_name] = self.null((match["value"] or "").strip())
            elif last_name is not None and row is not None and not self._structural(text):
                row[last_name] = f"{row[last_name] or ''}\n{raw}"  # multi-line value
            else:
                break
            i += 1
        self._finish_vertical(block, i)
        self._emit(block, start)
        return i

    def _next_is_row_mark(self, i: int) -> bool:
        for text in (line.strip() for line in self.lines[i + 1 :]):
            if text:
                return is_row_mark(text)
        return False

    def _structural(self, text: str) -> bool:
        return bool(
            self.footer.match(text)
            or self.prompt.match(text)
            or text[0] in "+|"
            or self.errors.match(text)
        )

    @staticmethod
    def _finish_vertical(block: _Block, end: int) -> None:
        if len(block.rows) > 1 and len(block.rows[-1]) < len(block.rows[0]):
            block.cut(end, "last row has fewer fields than the first")
        for row in block.rows:
            for name in block.columns:
                row.setdefault(name, None)

    # --- tab-separated and CSV -----------------------------------------------------

    def _split(self, line: str, sep: str) -> list[str]:
        if sep == "\t":
            return line.rstrip("\r\n").split("\t")
        try:
            return next(csv.reader([line], delimiter=sep))
        except (csv.Error, StopIteration):
            return []

    def _record(self, i: int, sep: str, ncols: int) -> tuple[list[str], int]:
        """The cells of the row that starts at line ``i`` and the index after it. A cell
        may hold a newline: quoted in CSV (DBeaver, Excel), raw in ``mysql -B --raw``
        output. The lines it spans are joined only when that gives the header's count
        of cells; else the line is read alone (and judged by the caller)."""
        line = self.lines[i]
        if sep == "\t":
            cells = line.split("\t")
            nxt = self.lines[i + 1] if i + 1 < len(self.lines) else "\t"
            if len(cells) == ncols and ("\t" in nxt or not self._raw_tail(i + 1)):
                return cells, i + 1  # the hot path: a whole row, the next line not of it
        else:
            cells = self._split(line, sep)
            if line.count('"') % 2 == 0:
                return cells, i + 1  # the hot path: quotes closed on the line
        joined = self._tsv_record(i, cells, ncols) if sep == "\t" else self._csv_record(i, sep)
        if joined is not None and len(joined[0]) == ncols:
            return joined
        return cells, i + 1

    def _csv_record(self, i: int, sep: str) -> tuple[list[str], int] | None:
        """A CSV record whose quoted cell goes on over the next lines (at most
        :data:`_MAX_RECORD_LINES`)."""
        end = min(i + _MAX_RECORD_LINES, len(self.lines))
        reader = csv.reader((line + "\n" for line in self.lines[i:end]), delimiter=sep)
        try:
            cells = next(reader)
        except (csv.Error, StopIteration):
            return None
        if cells and cells[-1].endswith("\n"):  # a quote left open up to the last line
            return None
        return cells, i + reader.line_num

    def _tsv_record(self, i: int, cells: list[str], ncols: int) -> tuple[list[str], int]:
        """``mysql -B --raw`` prints a cell's newline as it is: the next lines go on with
        the cell, as long as joining them keeps within the header's count of cells."""
        cells, j = list(cells), i + 1
        end = min(i + _MAX_RECORD_LINES, len(self.lines))
        while j < end and self.lines[j].strip():
            if "\t" not in self.lines[j] and not self._raw_tail(j):
                break
            more = self.lines[j].split("\t")
            if len(cells) + len(more) - 1 > ncols:
                break
            cells[-1] = f"{cells[-1]}\n{more[0]}"
            cells.extend(more[1:])
            j += 1
        return cells, j

    def _raw_tail(self, j: int) -> bool:
        """Line ``j`` has no tab and is the rest of a cell above it: not blank, no client
        output (footer, prompt, statement), no header of a one-column table, and rows go
        on after it. (At the end of a table such a line is a row cut by the end of the
        file: nothing tells the two apart, and a cut row is the safer reading.)"""
        end = min(j + _MAX_RECORD_LINES, len(self.lines))
        for k in range(j, end):
            line = self.lines[k]
            if "\t" in line:
                return k > j
            text = line.strip()
            if not text or self._ends_line_table(text):
                return False
        return False

    def _ends_line_table(self, text: str) -> bool:
        """A line with no separator that ends a tab/CSV table without being part of it
        (a shell command or a banner line too: never the rest of a cell above it)."""
        return bool(
            self._structural(text)
            or self.bare.match(text)
            or self.markup.match(text)
            or self.shell.match(text)
            or self.noise.match(text)
            or (_HEADER_CELL.match(text) and self.vocab.classify([text]) is not None)
        )

    def _is_header(self, cells: list[str], i: int, sep: str) -> bool:
        if len(cells) < 2 or not all(_HEADER_CELL.match(c) for c in cells):
            return False
        if self.vocab.canonical(cells):
            return True
        nxt = self.lines[i + 1] if i + 1 < len(self.lines) else ""
        return len(self._split(nxt, sep)) == len(cells)

    def _delimited(self, i: int, sep: str) -> int | None:
        header = self._split(self.lines[i], sep)
        header = [c.strip() for c in header]
        if not self._is_header(header, i, sep):
            return self._headerless(i, sep)
        start, block = i, _Block(unique_columns(header))
        again = [c.lower() for c in header]
        ncols = len(block.columns)
        i += 1
        while i < len(self.lines) and self.lines[i].strip():
            if sep not in self.lines[i] and self._ends_line_table(self.lines[i].strip()):
                break  # a prompt, the next command: never the start of a row cut by newlines
            if self.errors.match(self.lines[i].strip()):
                break  # a client's error line, whatever separators its text holds
            cells, after = self._record(i, sep, ncols)
            if cells and cells[0].strip().lower() == again[0] and _same(cells, again):
                break  # the header printed again (outputs appended by a loop): a new table
            if len(cells) == ncols and self._other_header(cells, again):
                break  # the next result's header, as wide as this one (mysql -B -e "A; B")
            if len(cells) == ncols:
                block.add(self._delimited_row(cells, block.columns, sep), i + 1)
            elif self._next_header(i, sep):
                break  # results written back to back (mysql -B -e "A; B"): a new table
            elif len(cells) <= 1 and self._ends_line_table(self.lines[i].strip()):
                break  # a footer, a prompt, the next statement
            elif len(cells) < ncols and self._cut_row(after, block, len(cells)):
                block.cut(i + 1, f"row cut at line {i + 1}")
                block.add(self._delimited_row(cells, block.columns, sep), i + 1)
            elif len(cells) <= 1:
                block.cut(i + 1, f"line {i + 1} cannot be read as a row")
                break
            elif len(cells) == ncols - 1:
                block.one_short(i + 1, self._delimited_values(cells, sep))
            else:
                block.damage(i + 1, f"row has {len(cells)} fields, header has {ncols}", len(cells))
            i = after
        self._emit(block, start)
        return i

    def _other_header(self, cells: list[str], header: list[str]) -> bool:
        """A line as wide as the table that is another table's header: every field a
        column name the vocabulary knows (no value of a row is), making a table kind,
        and not this table's header."""
        names = [c.strip() for c in cells]
        if [n.lower() for n in names] == header or not all(_HEADER_CELL.match(n) for n in names):
            return False
        known = all(self.vocab.canonical([n]) for n in names)
        return known and self.vocab.classify(names) is not None

    def _next_header(self, i: int, sep: str) -> bool:
        """Line ``i`` (in a table, not of its width) is the header of the next result:
        two or more column names, none a number, that make a table kind or that the
        vocabulary knows at least two of. (``mysql -B`` writes the results of several
        statements with no blank line between them.)"""
        cells = [c.strip() for c in self._split(self.lines[i], sep)]
        if len(cells) < 2 or not all(_HEADER_CELL.match(c) for c in cells):
            return False
        return self.vocab.classify(cells) is not None or len(self.vocab.canonical(cells)) >= 2

    def _single_column(self, i: int) -> int:
        """One column in ``mysql -B`` or CSV (``SELECT @@redundancy_level``): a header
        with no separator, read only when that column alone makes a table kind (any word
        on a line of its own would pass for a header otherwise), then a value a line."""
        start, block = i, _Block([self.lines[i].strip()])
        i += 1
        rows = 1 if self._clock_pending() else len(self.lines)  # a clock: one value
        while i < len(self.lines) and (text := self.lines[i].strip()) and len(block.rows) < rows:
            if "\t" in self.lines[i] or self._ends_line_table(text) or self.shell.match(text):
                break
            block.add(self._delimited_row([text], block.columns, "\t"), i + 1)
            i += 1
        self._emit(block, start)
        return i

    def _headerless(self, i: int, sep: str) -> int | None:
        """Rows printed without their header (``mysql -N``) right after an echoed
        statement whose documented columns they fit exactly; else None (unparsed)."""
        if self.pending is None or any(s.strip() for s in self.lines[self.pending_end : i]):
            return None
        end = i
        while end < len(self.lines) and (text := self.lines[end].strip()):
            if self.footer.match(text) or self.errors.match(text):
                break
            end += 1
        rows = [self._split(line, sep) for line in self.lines[i:end]]
        expected = self._expected()
        columns = self.vocab.headerless_columns(expected, rows) if expected else None
        if columns is None:
            return None
        block = _Block(columns)
        for line, cells in enumerate(rows, start=i + 1):
            block.add(self._delimited_row(cells, columns, sep), line)
        self._emit(block, i)
        return end

    def _block_ends(self, i: int) -> bool:
        return i >= len(self.lines) or not self.lines[i].strip()

    def _cut_row(self, after: int, block: _Block, width: int) -> bool:
        """A short row that ends the table (the line ``after`` it ends the block) is one
        cut short: where the text ends inside it (no line end), or where no row before it
        was short by as many fields (else it is one more row damaged like those)."""
        if not self._block_ends(after):
            return False
        return (after >= len(self.lines) and self.ends_open) or block.widths[width] == 0

    def _delimited_row(self, cells: list[str], columns: list[str], sep: str) -> Row:
        if sep == "\t":
            cells = [_unescape(c) if "\\" in c else c for c in cells]
        return self._row(cells, columns)

    def _delimited_values(self, cells: list[str], sep: str) -> list[str | None]:
        """The values of a row's cells as :meth:`_delimited_row` reads them, in order."""
        row = self._delimited_row(cells, [str(n) for n in range(len(cells))], sep)
        return list(row.values())


def _markdown_cells(line: str, outer: bool = True) -> list[str]:
    """The cells of a Markdown table line, ``\\|`` a bar in a cell. ``outer``: the
    table has outer pipes (else a last ``|`` closes an empty last cell)."""
    text = line.strip()
    if outer:
        text = text[1:] if text.startswith("|") else text
        text = text[:-1] if text.endswith("|") and not text.endswith("\\|") else text
    return [cell.strip().replace("\\|", "|") for cell in _MD_BAR.split(text)]


def _csv_delimiter(header: str) -> str:
    """``;`` for a CSV whose header holds more ``;`` than ``,``: Excel and DBeaver
    write that where the locale's decimal mark is a comma. (Decided on the first line:
    a cell of a row may hold the other one, "stage: packet wait, state: ...".)"""
    return ";" if header.count(";") > header.count(",") else ","


def _same(cells: list[str], lowered: list[str]) -> bool:
    return len(cells) == len(lowered) and [c.strip().lower() for c in cells] == lowered


def _open(parts: list[str]) -> bool:
    """An echoed statement still waiting for its terminator."""
    text = " ".join(p for p in parts if p)
    return bool(text) and not text.endswith(_TERMINATORS)


def _fits(whole: str, border: str, closer: str) -> bool:
    """A line re-joined from a wrap is one table line: no wider than the border, with
    no more bars (``|``, or ``+`` for a border) than the border has ``+``."""
    return len(whole) <= len(border) and whole.count(closer) <= border.count("+")


def _cut_cells(text: str, stops: list[int]) -> list[str]:
    """The cells of a row cut before its closing ``|``. Where the row lines up with the
    border, the last cell is kept only if its text reaches its column's right edge: a
    right-aligned "| 33" of "| 3306 |" is cut, not 33. Without a border that fits (copied
    tables with collapsed blanks), the last cell is kept as it is."""
    cells = text[1:].split("|")
    last = len(cells) - 1
    fits = last + 1 < len(stops) and all(
        stops[j + 1] < len(text) and text[stops[j + 1]] == "|" for j in range(last)
    )
    if fits and len(text) < stops[last + 1] - 1:
        return cells[:-1]
    return cells


def _slice_by_border(text: str, stops: list[int], ncols: int) -> list[str] | None:
    """Cells cut at the border's ``+`` positions: right when a cell holds a ``|``."""
    if len(stops) != ncols + 1 or len(text) != stops[-1] + 1:
        return None
    if any(text[p] != "|" for p in stops):
        return None
    return [text[a + 1 : b] for a, b in itertools.pairwise(stops)]


def _unescape(cell: str) -> str:
    """``mysql -B`` escapes tab, newline, NUL and backslash in cells."""
    return _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(0)], cell)


# --- capture clocks (grammars/snapshots.toml [clocks]) ---------------------------------

_CLOCKS = grammars.load("snapshots")["clocks"]
#: The clock of a SELECT NOW() result (the server session's; its zone unknown), and of a
#: prompt stamp or a `date` output naming no zone known (a client's; its zone unknown).
SERVER_CLOCK, CLIENT_CLOCK = "server", "client"
UTC_CLOCK = "UTC+00:00"
_CLOCKS_UTC_STATEMENT = re.compile(_CLOCKS["utc_statement"])
_NUMERIC_ZONE = re.compile(r"(?P<sign>[+-])(?P<h>\d{2}):?(?P<m>\d{2})")


def date_clock(zone: str) -> str:
    """The clock of a `date` output whose zone is written ``zone`` (``CDT``, ``+0200``,
    nothing): ``UTC+hh:mm`` when it says its offset without doubt, else a client's."""
    zone = zone.strip()
    offset = _CLOCKS["zones"].get(zone.upper())
    if offset is None and (m := _NUMERIC_ZONE.fullmatch(zone)) is not None:
        offset = f"{m['sign']}{m['h']}:{m['m']}"
    return f"UTC{offset}" if offset else CLIENT_CLOCK


# --- patterns of [renderings] and [capture] ------------------------------------------


class _Renderings:
    """The compiled patterns of ``[renderings]`` and ``[capture]`` (grammars/tables.toml)."""

    def __init__(self, vocab: Vocabulary) -> None:
        rd, cap = vocab.raw["renderings"], vocab.raw["capture"]
        self.jira_header = re.compile(rd["jira_header"])
        self.json_start = re.compile(rd["json_start"])
        self.xml_start = re.compile(rd["xml_start"])
        self.xml_end = re.compile(re.escape(rd["xml_end"]))
        self.xml_nil: str = rd["xml_nil"]
        self.html_start = re.compile(rd["html_start"])
        self.html_end = re.compile(rd["html_end"])
        self.clock_statement = re.compile(cap["clock_statement"])
        self.prompt_time = re.compile(cap["prompt_time"])
        self.date_line = re.compile(cap["date_line"])


class _ClientErrors:
    """The compiled patterns of ``[client_error]`` (grammars/tables.toml)."""

    def __init__(self, vocab: Vocabulary) -> None:
        ce = vocab.raw["client_error"]
        self.lines = [re.compile(p) for p in ce["lines"]]
        self.rebalance = re.compile(ce["rebalance"])
        self.step = re.compile(ce["step"])

    def match(self, text: str) -> re.Match[str] | None:
        """Line ``text`` (stripped) as a client's error line (``code``, ``state``, ``text``)."""
        if not text.startswith(("ERROR", "SQL Error")):  # (the hot path: every table line)
            return None
        found = (p.match(text) for p in self.lines)
        return next((m for m in found if m is not None), None)

    def failure(self, statement: str) -> tuple[str | None, bool, str] | None:
        """A statement whose failure is a rebalance's: the database it names, whether it
        is every database's (ALL DATABASES), and the failure event; else None."""
        if (m := self.rebalance.match(statement)) is not None:
            return m["db"], m["all"] is not None, "rebalance_failure"
        if (m := self.step.match(statement)) is not None:
            return m["db"], False, "step_failure"
        return None


def scan_text(text: str, path: str) -> TextScanner:
    return TextScanner(text, path).run()
