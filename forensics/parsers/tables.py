"""SQL client output in support bundles -> classified tables -> normalised frames (SPEC §2.2).

Renderings: MySQL boxed tables (with or without the echoed statement and the
``N rows in set`` footer, several per file), ``mysql -B`` tab-separated output, vertical
``\\G`` output, CSV with a header, Markdown and Jira wiki tables, MySQL Shell output
(its JSON formats after its ``SQL >`` prompt), ``mysql --xml`` and ``mysql --html``
output, and sdb-report JSON. Tables are classified by their columns (synonyms in
``grammars/tables.toml``); unknown tables are kept with kind None. Each table carries
the time its file says it was captured, when it says one (``Table.captured_at``).
Output pasted quoted in an e-mail reply (``> ``, ``>>``) or indented (a ticket, a mail,
Markdown) reads as if it were not (``[quoting]``, line numbers unchanged).

Bad input never raises: truncated tables come back flagged with a ``path:line`` warning,
and lines that belong to no table are counted as unparsed. A damaged row is one row lost
(the rows after it are read), said in one warning per table; a CSV or tab row one field
short is read when its cells fit the header in one way only (``tables_rows``). A table
echoed after a statement of a known kind (``[[statement_kinds]]``) that lacks columns
that kind needs gets a warning naming them.
"""

from __future__ import annotations

import codecs
import re

from .tables_frames import FRAME_SCHEMAS, PHASE_KINDS, Cells, known_roles, to_frames
from .tables_json import looks_like_json, scan_json
from .tables_model import ClientError, Row, Table, TablesResult
from .tables_text import scan_text, split_lines, split_statements
from .tables_vocab import Vocabulary, vocabulary

__all__ = [
    "FRAME_SCHEMAS",
    "NAME",
    "PHASE_KINDS",
    "ClientError",
    "Row",
    "Table",
    "TablesResult",
    "config_port",
    "decode_text",
    "known_roles",
    "parse_tables",
    "sniff",
    "text_encoding",
    "to_frames",
]

NAME = "tables"

#: How much of a file ``sniff`` looks at.
SNIFF_BYTES = 16384

_JSON_KEY = re.compile(r'"([^"\\]{1,64})"\s*:')

#: Byte order marks -> codec, longest first (the UTF-32 LE mark opens with UTF-16 LE's).
#: Windows PowerShell's ``>`` / ``Out-File`` writes UTF-16 LE with a mark; Excel writes
#: UTF-8 with one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def text_encoding(data: bytes) -> str | None:
    """The codec named by a leading byte order mark; None without one."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return codec
    return None


def decode_text(data: bytes) -> str:
    """A table file's text: UTF-8, or the UTF-8/16/32 encoding its byte order mark
    names (mark dropped). Undecodable bytes become U+FFFD; a head cut inside a
    character loses only that character."""
    codec = text_encoding(data)
    if codec is None:
        return data.decode("utf-8", "replace")
    return data.decode(codec, "replace").removeprefix("\ufeff")


def parse_tables(text: str | bytes, path: str) -> TablesResult:
    """Every table in ``text`` (one file), classified, with line counts and warnings.
    Bytes are decoded by ``decode_text`` (UTF-16 output of Windows PowerShell)."""
    if isinstance(text, bytes):
        text = decode_text(text)
    text = text.removeprefix("\ufeff")  # a byte order mark (Excel's CSV export writes one)
    lines = len(split_lines(text))
    tables, warnings, unparsed, errors = _scan(text, path)
    vocab = vocabulary()
    for index, table in enumerate(tables):
        table.index = index
        table.kind = vocab.classify(table.columns)
    _name_databases(tables, path, vocab)
    warnings.extend(_lacking(tables, path, vocab))
    return TablesResult(
        tables=tables,
        lines=lines,
        unparsed_lines=unparsed,
        warnings=warnings,
        client_errors=errors,
    )


def _name_databases(tables: list[Table], path: str, vocab: Vocabulary) -> None:
    """Tables that name no database take the one their file's name gives
    (``partitions_billing.tsv``): in a bundle of several databases, a snapshot named by
    neither statement nor column would go unused."""
    kinds = vocab.raw["file_name"]["kinds"]
    unnamed = [t for t in tables if t.database is None and t.kind in kinds]
    database = vocab.file_database(path.rsplit("/", 1)[-1]) if unnamed else None
    for table in unnamed:
        table.database = database


def _lacking(tables: list[Table], path: str, vocab: Vocabulary) -> list[str]:
    """``path:line`` warnings for tables echoed after a statement of a known kind
    (``SHOW REBALANCE STATUS``) that lack columns that kind requires: else such a table
    passes as one of no known kind (or of another kind), its rows unread, and nothing
    says why. (A text of several statements whose results could not be matched to them
    names no single statement: nothing is said of its tables.)"""
    out = []
    for table in tables:
        statement = table.statement
        expected = vocab.statement_kind(statement)
        if expected is None or expected == table.kind or not table.columns:
            continue
        pieces = split_statements(statement or "")
        if len(pieces) != 1:
            continue
        missing = vocab.missing_columns(expected, table.columns)
        if missing:
            read = f"read as {table.kind}" if table.kind else "its rows not read"
            shown = " ".join(pieces[0].split())
            out.append(
                f"{path}:{table.line}: the result of {shown} lacks column(s) "
                f"{', '.join(missing)} that a {expected} table needs: {read}"
            )
    return out


def _scan(text: str, path: str) -> tuple[list[Table], list[str], int, list[ClientError]]:
    """Tables, warnings, unparsed lines, failed rebalance statements. Text that opens like JSON is read as JSON; when
    it is none (a shell prompt ``[root@ma ~]#``, a stamp ``[2026-03-14 09:31:02]``, Jira's
    ``{noformat}``) and holds no JSON table, it is read as text renderings instead."""
    if not looks_like_json(text):
        scanner = scan_text(text, path)
        return scanner.tables, scanner.warnings, scanner.unparsed, scanner.client_errors
    walker = scan_json(text, path)
    if walker.tables or not walker.failed:
        return walker.tables, walker.warnings, walker.unparsed, []
    scanner = scan_text(text, path)
    if scanner.tables or scanner.client_errors:
        return scanner.tables, scanner.warnings, scanner.unparsed, scanner.client_errors
    return [], walker.warnings, sum(1 for line in split_lines(text) if line.strip()), []


def sniff(head: str | bytes) -> bool:
    """True when the first KBs hold a table rendering with a recognisable header, or a
    client transcript of a failed rebalance statement (``ClientError``).

    Recognisable: the header classifies to a kind, or names at least two known columns
    (a table cut by the end of the head, an unknown table next to known ones). Bytes are
    decoded by ``decode_text``.
    """
    if isinstance(head, bytes):
        head = decode_text(head[: SNIFF_BYTES * 4])
    head = head[:SNIFF_BYTES]
    if "\0" in head[:1024]:
        return False
    vocab = vocabulary()
    keys = sorted({m.group(1) for m in _JSON_KEY.finditer(head)})
    if looks_like_json(head) and keys:  # JSON (its head may be cut anywhere)
        return "rows" in keys or vocab.classify(keys) is not None
    result = parse_tables(head, "<sniff>")
    if result.client_errors:
        return True
    tables = result.tables
    return any(t.kind is not None or len(vocab.canonical(t.columns)) >= 2 for t in tables)


def config_port(tables: list[Table]) -> str | None:
    """The port a node's memsqlConfig.json gives (kind ``node_config``): it completes the
    port-less node folder that holds the file (``nodes.resolve_node``)."""
    vocab = vocabulary()
    for table in tables:
        if table.kind == "node_config" and table.rows:
            port = Cells(table, vocab)(table.rows[0], "port")
            if port and port.strip().isdigit():
                return port.strip()
    return None
