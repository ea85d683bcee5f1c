"""The records the table parser returns (kept apart so every tables_* module can use them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

Row = dict[str, str | None]


@dataclass
class Table:
    """One result table found in a file, cells as raw text."""

    path: str
    line: int  # 1-based: the echoed statement, else the first table line (JSON: the object)
    statement: str | None  # echoed statement, if any
    columns: list[str]  # header names as written
    rows: list[Row]  # raw cell text; None for NULL / empty
    kind: str | None = None  # rebalance_status / rebalance_plan / partitions / ... / None
    database: str | None = None  # from the statement (`ON db`, `WHERE database_name = 'db'`)
    node: str | None = None  # from JSON nesting (memsqlId, host:port) when present
    truncated: bool = False  # cut mid-row or missing its closing border
    cut_line: int | None = None  # 1-based line where the truncation shows (when known)
    index: int = 0  # position of the table among the tables of its file (0-based)
    # 1-based line of each row, parallel to ``rows`` (text renderings; empty when unknown)
    row_lines: list[int] = field(default_factory=list)
    # when the snapshot was taken, as far as its file tells (naive, the session's clock):
    # the last time read before its statement (SELECT NOW(), a prompt stamp, `date`)
    captured_at: datetime | None = None
    # the clock ``captured_at`` was read from (grammars/snapshots.toml [clocks]): "server"
    # (SELECT NOW(), zone unknown), "client" (a prompt stamp or `date` naming no zone
    # known), or "UTC+hh:mm" (UTC_TIMESTAMP(), a `date` naming its zone); None with no time
    capture_clock: str | None = None
    # databases its statement text names when none of them could be given to it (one
    # result of ``-e "SHOW ... ON a; SHOW ... ON b"`` that matched no statement): its
    # rows are no single database's, and no other database's either
    candidates: tuple[str, ...] = ()
    # the text right before it that says what it is (prose, an SQL or shell comment, a
    # commented prompt line since the previous table; at most a few lines): "Partitions
    # now:", "-- before the rebalance"; None when there is none (text renderings only)
    caption: str | None = None
    # 1-based lines of the rows skipped as damaged (text renderings): counted by the
    # client's "N rows in set", read by no one
    damaged_lines: list[int] = field(default_factory=list)

    @property
    def source(self) -> str:
        return f"{self.path}:{self.line}"

    def row_line(self, index: int) -> int:
        """The line of row ``index``; the table's own line when rows carry none (JSON)."""
        return self.row_lines[index] if index < len(self.row_lines) else self.line


@dataclass
class ClientError:
    """A client's error line after an echoed rebalance statement (or a step run by hand):
    that statement failed (grammars/tables.toml [client_error])."""

    path: str
    line: int  # 1-based: the error line
    statement: str  # the failed statement, its terminator dropped
    statement_line: int  # 1-based: where it was echoed
    database: str | None  # it names, or USE named before it; None for ALL DATABASES
    event: str  # "rebalance_failure", or "step_failure" for a step run by hand
    text: str  # the error line as the client printed it
    code: int | None = None  # error number, when printed
    sqlstate: str | None = None


@dataclass
class TablesResult:
    tables: list[Table] = field(default_factory=list)
    lines: int = 0
    unparsed_lines: int = 0
    warnings: list[str] = field(default_factory=list)  # "path:line: what"
    # failed rebalance statements of a client transcript (text renderings only)
    client_errors: list[ClientError] = field(default_factory=list)


def unique_columns(names: list[str]) -> list[str]:
    """Duplicate header names get a suffix so that row dicts keep every cell."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out
