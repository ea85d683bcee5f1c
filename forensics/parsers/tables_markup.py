"""XML (``mysql --xml``) and HTML (``mysql --html``) result sets, read with the standard
library's parsers (expat with no DTD or entity declaration allowed; html.parser), for
:mod:`.tables_text`, which finds where such output starts and ends in a text."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from xml.parsers import expat

from .tables_model import unique_columns


@dataclass
class MarkupTable:
    """A table read by the XML or HTML parser. Lines are 1-based within the text read;
    a cell None is NULL (``xsi:nil``), other cells are text as written."""

    kind: str  # "XML" / "HTML", for warnings
    statement: str | None = None
    columns: list[str] = field(default_factory=list)
    rows: list[dict[str, str | None]] = field(default_factory=list)
    row_lines: list[int] = field(default_factory=list)
    error: tuple[int, str] | None = None  # (line, why) where the text was cut short


class _Forbidden(Exception):
    """A DTD or entity declaration in XML output: never read (no entity expansion)."""


def _forbid(*_: Any) -> int:
    raise _Forbidden


class _XmlResult:
    """expat handlers collecting ``<resultset>`` rows as they close."""

    def __init__(self, parser: Any, nil: str) -> None:
        self.parser, self.nil = parser, nil
        self.table: MarkupTable | None = None
        self.row: dict[str, str | None] | None = None
        self.field: tuple[str, bool] | None = None  # name, nil
        self.text: list[str] = []

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == "resultset":
            self.table = MarkupTable("XML", " ".join(attrs.get("statement", "").split()) or None)
        elif tag == "row" and self.table is not None:
            self.row = {}
        elif tag == "field" and self.row is not None and "name" in attrs:
            self.field, self.text = (attrs["name"], attrs.get(self.nil) == "true"), []

    def data(self, text: str) -> None:
        if self.field is not None:
            self.text.append(text)

    def end(self, tag: str) -> None:
        if tag == "field" and self.field is not None and self.row is not None:
            name, nil = self.field
            self.row[name] = None if nil else "".join(self.text)
            self.field = None
        elif tag == "row" and self.row is not None and self.table is not None:
            for name in self.row:
                if name not in self.table.columns:
                    self.table.columns.append(name)
            self.table.rows.append(self.row)
            self.table.row_lines.append(self.parser.CurrentLineNumber)
            self.row = None


def xml_table(text: str, nil: str) -> MarkupTable | None:
    """The ``<resultset>`` of ``mysql --xml`` output; a document cut short (or broken)
    keeps the rows closed before the error. None when no resultset opens. A document
    that declares a DTD (which ``mysql`` never prints) is not read at all: no entity is
    ever expanded; it comes back with no columns and the error."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _forbid
    parser.EntityDeclHandler = _forbid
    parser.ExternalEntityRefHandler = _forbid
    result = _XmlResult(parser, nil)
    parser.StartElementHandler = result.start
    parser.EndElementHandler = result.end
    parser.CharacterDataHandler = result.data
    error: tuple[int, str] | None = None
    try:
        parser.Parse(text, True)
    except expat.ExpatError as exc:
        error = (exc.lineno, expat.ErrorString(exc.code) or "invalid XML")
    except _Forbidden:
        return MarkupTable("XML", error=(parser.CurrentLineNumber, "it declares a DTD"))
    if result.table is not None:
        result.table.error = error
    return result.table


class _HtmlTables(HTMLParser):
    """``<TABLE>`` / ``<TR>`` / ``<TH>`` / ``<TD>`` of ``mysql --html`` output; cells
    unescaped (``&lt;`` is ``<``). The first row of ``<TH>`` cells is the header."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[MarkupTable] = []
        self.open: MarkupTable | None = None
        self.cells: list[str] | None = None
        self.header = False
        self.text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.open = MarkupTable("HTML")
            self.tables.append(self.open)
        elif tag == "tr" and self.open is not None:
            self.cells, self.header = [], False
        elif tag in ("td", "th") and self.cells is not None:
            self.text, self.header = [], self.header or tag == "th"

    def handle_data(self, data: str) -> None:
        if self.text is not None:
            self.text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cells is not None and self.text is not None:
            self.cells.append("".join(self.text))
            self.text = None
        elif tag == "tr" and self.cells is not None and self.open is not None:
            self._row(self.open, self.cells)
            self.cells = None
        elif tag == "table":
            self.open = None

    def _row(self, table: MarkupTable, cells: list[str]) -> None:
        if self.header and not table.columns:
            table.columns = unique_columns([cell.strip() for cell in cells])
        elif table.columns and len(cells) == len(table.columns):
            table.rows.append(dict(zip(table.columns, cells, strict=True)))
            table.row_lines.append(self.getpos()[0])


def html_tables(text: str) -> list[MarkupTable]:
    """The tables of ``mysql --html`` output that have a header; one left open at the
    end of the text (cut short) keeps its complete rows."""
    parser = _HtmlTables()
    parser.feed(text)
    parser.close()
    if parser.open is not None:
        parser.open.error = (text.count("\n") + 1, "no closing </TABLE>")
    return [table for table in parser.tables if table.columns]
