"""SQL client output in support bundles -> classified tables -> normalised frames (SPEC §2.2).

Renderings: MySQL boxed tables (with or without the echoed statement and the
``N rows in set`` footer, several per file), ``mysql -B`` tab-separated output, vertical
``\\G`` output, CSV with a header, and sdb-report JSON. Tables are classified by their
columns (synonyms in ``grammars/tables.toml``); unknown tables are kept with kind None.

Bad input never raises: truncated tables come back flagged with a ``path:line`` warning,
and lines that belong to no table are counted as unparsed.
"""

from __future__ import annotations

import re

from .tables_frames import FRAME_SCHEMAS, PHASE_KINDS, to_frames
from .tables_json import looks_like_json, scan_json
from .tables_model import Row, Table, TablesResult
from .tables_text import scan_text, split_lines
from .tables_vocab import vocabulary

__all__ = [
    "FRAME_SCHEMAS",
    "NAME",
    "PHASE_KINDS",
    "Row",
    "Table",
    "TablesResult",
    "parse_tables",
    "sniff",
    "to_frames",
]

NAME = "tables"

#: How much of a file ``sniff`` looks at.
SNIFF_BYTES = 16384

_JSON_KEY = re.compile(r'"([^"\\]{1,64})"\s*:')


def parse_tables(text: str, path: str) -> TablesResult:
    """Every table in ``text`` (one file), classified, with line counts and warnings."""
    text = text.removeprefix("\ufeff")  # a byte order mark (Excel's CSV export writes one)
    lines = len(split_lines(text))
    if looks_like_json(text):
        walker = scan_json(text, path)
        tables, warnings = walker.tables, walker.warnings
        failed = walker.failed and not tables
        unparsed = sum(1 for line in split_lines(text) if line.strip()) if failed else 0
    else:
        scanner = scan_text(text, path)
        tables, warnings, unparsed = scanner.tables, scanner.warnings, scanner.unparsed
    vocab = vocabulary()
    for index, table in enumerate(tables):
        table.index = index
        table.kind = vocab.classify(table.columns)
    return TablesResult(tables=tables, lines=lines, unparsed_lines=unparsed, warnings=warnings)


def sniff(head: str) -> bool:
    """True when the first KBs hold a table rendering with a recognisable header.

    Recognisable: the header classifies to a kind, or names at least two known columns
    (a table cut by the end of the head, an unknown table next to known ones).
    """
    head = head[:SNIFF_BYTES]
    if "\0" in head[:1024]:
        return False
    vocab = vocabulary()
    if looks_like_json(head):
        keys = sorted({m.group(1) for m in _JSON_KEY.finditer(head)})
        return "rows" in keys or vocab.classify(keys) is not None
    tables = parse_tables(head, "<sniff>").tables
    return any(t.kind is not None or len(vocab.canonical(t.columns)) >= 2 for t in tables)
