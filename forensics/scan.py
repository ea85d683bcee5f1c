"""Batch scan: many bundles and historical logs → one table of rebalance incidents (SPEC §7).

The unit of work is :func:`scan_file`: one input in, two small frames out. It holds no
state and touches nothing but its input, so a distributed engine can map it over millions
of inputs; :func:`scan` is the local driver (process pool, progress, skip-if-seen).

What counts as one input (:func:`find_inputs`): an archive file is a bundle of its own,
unless it is one node's part of a cluster's bundle (:func:`_archive_kind`): its name
names a node (``10.0.0.5_3306.tar.gz``, ``db1-LEAF.tgz``), or the logs it holds are one
node's (sdb-report's per-host ``report-<host>-<date>.tar.gz``, per-node archives sent
beside the cluster's SQL outputs), unless it also holds cluster-wide tables and its name
does not name that node (a small ticket bundle). A folder is one bundle when what it
holds is the nodes of one cluster: node folders (``<host>-MA``, ``<host>_<port>``, a host
folder holding only that host's archive, a folder of any name holding one node's tracelogs
and their rotations, directly or under layout folders such as ``tracelogs/`` or
``var/lib/memsql/<id>/``), node archives, loose tracelogs and tables, folders of tables
(``sql/``), at most one other sub-folder of logs (a copy of a node's folder). Folders of
one node's logs named by no node are the nodes of one cluster only on evidence read
cheaply (:meth:`_Finder._alone`): one named as a ticket (``CS-1234``, ``case_00123``, a
bare number) is an input of its own, and so is one whose plain logs (their first and last
time stamps: a few KB at each end) cover a time that none of the others' overlaps; the
rest stays one bundle. A folder that also holds archives of their own or folders that
hold bundles of their own is a container: each of these is an input, and so is each
other folder that does not name its node (one node's logs, a ticket's pasted tables: a
ticket beside the others, :func:`_with_loose_parts`); the loose logs, tables, node
folders and snapshot folders (``before/``, ``after/``) beside them are one more input,
read together.
A folder whose files are none of SingleStore's (another program's logs) is one input too,
reported as holding nothing usable (one row, not one per file), as is a folder given that
holds nothing; loose files of no kind beside other inputs (a ticket's notes) are passed
over. Symbolic links are followed (a loop is listed as not followed); the content hash
makes a folder reached twice one scan.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import polars as pl
import xxhash

from . import allocator
from .errors import ForensicsError, UsageError
from .parsers import prefilter
from .schemas import make_schema

ARCHIVE_SUFFIXES = (
    ".tar", ".tar.gz", ".tgz", ".tar.zst", ".tzst", ".tar.xz", ".txz", ".tar.bz2", ".tbz2",
    ".zip",
)  # fmt: skip
#: The content hash reads every byte, memory-mapped, with XXH3-128 (an identity, not a
#: security check): CPU time for a 277 MB bench log, 0.09 s against 0.30 s for SHA-1 (the
#: quickest of hashlib here) and 0.60 s for BLAKE2b; the scan of that log takes about
#: 2 CPU-s. A re-run does not hash again an input whose files have the same sizes and
#: modification times as when it was scanned (``stamp``).

INCIDENTS = make_schema(
    {
        "input": pl.String,
        "input_hash": pl.String,
        "database": pl.String,
        "status": pl.String,  # failure / inconclusive
        "time": pl.Datetime("us", "UTC"),
        "phase": pl.String,
        "cause": pl.String,
        "confidence": pl.Float64,
        "node": pl.String,
        "evidence_file": pl.String,
        "evidence_line": pl.Int64,
        "evidence_text": pl.String,
        "summary": pl.String,
        # a failure of an earlier run of the database: how the run after it ended
        "later_run": pl.String,
        # the first input (by name) holding the same failure: same database, phase and
        # failure time (two bundles of one cluster, taken a day apart); null on that one
        "same_incident_as": pl.String,
    }
)

#: One row per input found, analysed or not.
INPUT_STATS = make_schema(
    {
        "input": pl.String,  # the path; loose files read together: folder/{a,b}
        "input_hash": pl.String,  # XXH3-128 of the whole content (file names inside folders too)
        "files": pl.Int64,
        "skipped_files": pl.Int64,
        "lines": pl.Int64,
        "events": pl.Int64,
        "bytes": pl.Int64,
        # every rebalance run found: one per start line of a database in the logs, or
        # the runs the analysis reports when more (a run known from status output only)
        "rebalances": pl.Int64,
        "incidents": pl.Int64,
        "seconds": pl.Float64,
        "error": pl.String,  # why the input could not be analysed (retried on the next run)
        # not analysed, and why: "same content as <input>", a link not followed
        "skipped": pl.String,
        "warnings": pl.List(pl.String),  # the report's warnings (truncated data, ...)
        "timezone": pl.String,  # the --tz assumption: "UTC", "Europe/Paris; n1:3306=UTC"
        "stamp": pl.String,  # sizes and modification times of the files (re-run shortcut)
    }
)
#: Columns a table written before ``skipped`` ... ``later_run`` existed lacks (read as
#: null; the time zone as UTC, the only one then).
LATER_COLUMNS = ("skipped", "warnings", "timezone", "stamp", "later_run", "same_incident_as")


@dataclass
class ScanResult:
    incidents: pl.DataFrame  # INCIDENTS
    stats: pl.DataFrame  # INPUT_STATS


@dataclass(frozen=True)
class Input:
    """One unit of work: the files read together as one bundle. ``paths``: one archive,
    folder or file, or the loose logs, node folders and tables of a folder that also holds
    other bundles. ``skipped``: why it is not read (a link that loops or leads nowhere)."""

    paths: tuple[Path, ...]
    skipped: str | None = None

    @property
    def name(self) -> str:
        if len(self.paths) == 1:
            return str(self.paths[0])
        return f"{self.paths[0].parent}/{{{','.join(p.name for p in self.paths)}}}"


@dataclass
class ScanCounts:
    """What a run did besides analysing: inputs found in the earlier table (analysed
    then), inputs with the content of another one (found so now or then), inputs not
    read (links)."""

    already: int = 0
    duplicates: int = 0
    not_followed: int = 0


def zone_label(zone: str = "UTC", node_tz: Mapping[str, str] | None = None) -> str:
    """The --tz assumption as one string: the zone, then each node's own."""
    return "; ".join([zone, *(f"{n}={z}" for n, z in sorted((node_tz or {}).items()))])


def _is_archive(path: Path) -> bool:
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


def find_inputs(paths: Sequence[str | os.PathLike[str]]) -> list[Input]:
    """The inputs under the given paths, each once, in a stable order."""
    finder = _Finder()
    found: dict[str, Input] = {}
    for given in paths:
        for item in finder.inputs_under(Path(given), frozenset(), top=True):
            found.setdefault(item.name, item)
    return sorted(found.values(), key=lambda item: item.name)


@dataclass
class _Plan:
    """How a folder divides. ``kind``: logs / tables (one bundle, with or without logs),
    node (one node's logs, or a host folder of a report: one node of the bundle around
    it), container (divided), unusable (files, none a tracelog, a table or an archive),
    empty. ``separate``: archives and folders that are inputs of their own; ``group``: the
    loose logs, tables and node folders beside them, read together; ``not_followed``:
    links that loop or lead nowhere."""

    kind: str
    separate: list[Path] = field(default_factory=list)
    group: list[Path] = field(default_factory=list)
    not_followed: list[Input] = field(default_factory=list)
    #: the paths inside the folder of its tracelogs, when it holds nothing else (files of
    #: no kind aside) but layout folders that do the same; None when it holds more
    tracelogs: tuple[str, ...] | None = None
    #: a host folder of a report (:func:`_is_host_folder`): it names its node
    host: bool = False


#: What a folder's child is, by the kind of its content (:meth:`_Finder.kind`).
LEVEL_KINDS = ("log", "table", "node", "tables")  # parts of the folder's own bundle
LOG_KINDS = ("log", "node", "logs")
#: Folders read whole as one input: a bundle, one node's logs, nothing usable.
WHOLE_KINDS = ("logs", "tables", "node", "unusable")
#: What a folder of nothing usable holds (:func:`_nothing_usable`).
NOTHING_USABLE = ("other", "empty", "unusable")


class _Finder:
    """Walks folders once each (plans are kept by real path): a folder's kind depends
    on what its sub-folders are, and the same sub-folders are then walked for inputs."""

    def __init__(self) -> None:
        self._plans: dict[Path, _Plan] = {}

    def inputs_under(
        self, path: Path, ancestors: frozenset[Path], *, top: bool = False
    ) -> Iterator[Input]:
        if path.is_file():
            yield Input((path,))
            return
        if not path.is_dir():
            if top:
                raise ForensicsError("no such file or directory", str(path))
            yield Input((path,), skipped="symbolic link to nothing: not followed")
            return
        real = path.resolve()
        if real in ancestors:
            yield Input((path,), skipped=f"symbolic link to {real}, which holds it: not followed")
            return
        plan = self.plan(path, ancestors)
        # (a folder given that holds nothing usable is an input too: its row says why)
        if plan.kind in WHOLE_KINDS or (top and plan.kind in ("unreadable", "empty")):
            yield Input((path,))
            return
        yield from plan.not_followed
        for part in plan.separate:
            yield from self.inputs_under(part, ancestors | {real})
        if plan.group:
            yield Input(tuple(plan.group))

    def plan(self, folder: Path, ancestors: frozenset[Path]) -> _Plan:
        real = folder.resolve()
        if real not in self._plans:
            try:
                children = sorted(folder.iterdir())
            except OSError:
                return _Plan("unreadable")
            inner = ancestors | {real}
            kinds = {child: self.kind(child, inner) for child in children}
            kinds = _looked_into(kinds)
            tracelogs = self._tracelogs(kinds)
            if _is_host_folder(folder, kinds):
                plan = _Plan("node", host=True)
            elif _one_node(folder.name, tracelogs):
                plan = _Plan("node")
            elif _nothing_usable(kinds):
                plan = _Plan("unusable")
            else:
                plan = _divide(kinds, self._alone(kinds), self._named(kinds))
            plan.tracelogs = tracelogs
            self._plans[real] = plan
        return self._plans[real]

    def _tracelogs(self, kinds: Mapping[Path, str]) -> tuple[str, ...] | None:
        """The paths inside the folder of its tracelogs (:attr:`_Plan.tracelogs`), from
        the plans of its layout folders, already made: no file is read again."""
        paths: list[str] = []
        for child, kind in kinds.items():
            if kind == "log":
                paths.append(child.name)
            elif kind == "other" and child.is_file():
                continue  # a query.log, a JSON of the node's: no second node
            else:
                plan = self._plans.get(child.resolve()) if _is_layout_folder(child) else None
                if plan is None or plan.tracelogs is None:
                    return None
                paths += [f"{child.name}/{path}" for path in plan.tracelogs]
        return tuple(paths)

    def _named(self, kinds: Mapping[Path, str]) -> frozenset[Path]:
        """The sub-folders that name their node: by their name (``<host>_<port>``,
        ``<host>-LEAF``, an IP address), or as a report's host folder."""
        return frozenset(
            child
            for child, kind in kinds.items()
            if kind == "node"
            and child.is_dir()
            and (_names_node(child.name) or self._plan_of(child).host)
        )

    def _alone(self, kinds: Mapping[Path, str]) -> frozenset[Path]:
        """Sub-folders named by no node that are inputs of their own wherever they are:
        those named as a ticket (``CS-1234``, ``case_00123``; one node's logs or tables),
        and those of one node's logs whose time overlaps none of the other such folders'
        (two customers' logs, days apart; a cluster's nodes log at the same time)."""
        named = self._named(kinds)
        plain = [
            child
            for child, kind in kinds.items()
            if kind in ("node", "tables")
            and child.is_dir()
            and child not in named
            and not _is_layout_folder(child)
        ]
        alone = {child for child in plain if _names_ticket(child.name)}
        logs = [c for c in plain if kinds[c] == "node" and c not in alone]
        if len(logs) < 2:
            return frozenset(alone)
        spans = {c: span for c in logs if (span := self._span(c)) is not None}
        for child, span in spans.items():
            if len(spans) > 1 and not any(
                _overlap(span, other) for c, other in spans.items() if c != child
            ):
                alone.add(child)
        return frozenset(alone)

    def _span(self, folder: Path) -> tuple[str, str] | None:
        """The time a folder of one node's logs covers: from the first to the last time
        stamp of its plain logs (compressed rotations are not opened); None if unknown."""
        spans = [
            span
            for inner in self._plan_of(folder).tracelogs or ()
            if (span := _log_span(folder / inner)) is not None
        ]
        if not spans:
            return None
        return min(s[0] for s in spans), max(s[1] for s in spans)

    def _plan_of(self, folder: Path) -> _Plan:
        """The plan already made of a sub-folder (an empty one for a node folder, named so,
        that was not looked into)."""
        return self._plans.get(folder.resolve()) or _Plan("node")

    def kind(self, child: Path, ancestors: frozenset[Path]) -> str:
        """archive / log / table / node / other for a file or a node folder; the plan's
        kind for another folder; missing or loop for a link not to follow (followed
        otherwise: the content hash makes a folder reached twice one scan)."""
        if child.is_file():
            if _is_archive(child):  # (a node's archive, or one to look into: _looked_into)
                return "node" if _names_node(_archive_stem(child.name)) else "archive"
            return _sniff(child)
        if not child.is_dir():
            return "missing" if child.is_symlink() else "other"
        if _is_node_folder(child):
            return "node"
        if child.resolve() in ancestors:
            return "loop"
        return self.plan(child, ancestors).kind


def _divide(
    kinds: dict[Path, str],
    alone: frozenset[Path] = frozenset(),
    named: frozenset[Path] = frozenset(),
) -> _Plan:
    """One bundle when the folder holds parts of a bundle of its own (node folders,
    loose logs and tables) and no archive, no folder of bundles and at most one folder of
    logs (two folders of logs are two tickets), nor a folder that stands ``alone``
    (:meth:`_Finder._alone`: those apart, the rest is read together). Else a container:
    the archives and folders of bundles apart, and each folder that does not name its
    node (:func:`_with_loose_parts`), the loose parts together. Folders that hold nothing
    usable are apart in a container, part of a bundle's folder."""
    of: dict[str, list[Path]] = {}
    for child, kind in kinds.items():
        of.setdefault(kind, []).append(child)
    level = [c for c, k in kinds.items() if k in LEVEL_KINDS and c not in alone]
    logs, apart = of.get("logs", []), of.get("archive", []) + of.get("container", [])
    if not any(kinds[c] == "log" or _names_node(c.name) for c in level) and (
        len(_table_tickets([c for c in level if kinds[c] == "tables"])) >= 2
    ):
        # a folder of tickets (two or more folders of tables of their own, no node named
        # beside them): every folder is an input (a ticket of one node's log is no node)
        folders = [c for c in level if c.is_dir()]
        apart, level = apart + folders, [c for c in level if c not in folders]
    own = [c for c in level if kinds[c] != "tables"]
    if not apart and len(logs) <= 1 and (own or (level and logs)):
        if not alone:
            has_logs = logs or any(kinds[c] in LOG_KINDS for c in level)
            return _Plan("logs" if has_logs else "tables")
        group, logs = level + logs, []  # the lone folders aside, the rest is one bundle
    else:
        group = [c for c in level if _with_loose_parts(c, kinds[c], level, named)]
        apart += [c for c in level if c not in group]
    apart += sorted(alone) + of.get("unusable", [])
    links = [Input((c,), skipped=_NOT_READ[k]) for c, k in kinds.items() if k in _NOT_READ]
    if not (apart or logs or group or links):
        return _Plan("empty")
    return _Plan("container", separate=sorted(apart + logs), group=group, not_followed=links)


def _with_loose_parts(child: Path, kind: str, level: list[Path], named: frozenset[Path]) -> bool:
    """Whether a part of a container's own level is read with its loose parts: a loose
    file, a folder that names its node, a layout folder (``tracelogs/``), a folder of
    tables named by its time (``before/``, ``after/``: one bundle's snapshots) or beside
    loose logs, tables or node folders (their ``sql/``). A folder named by no node that
    holds one node's logs, or only tables with nothing beside them, is a ticket beside
    the container's other inputs: an input of its own."""
    from .impact import PLAIN_RANK, name_rank

    if not child.is_dir() or child in named or _is_layout_folder(child):
        return True
    if kind != "tables" or _names_ticket(child.name):
        return False
    beside = [c for c in level if c != child and (not c.is_dir() or c in named)]
    return name_rank(child.name) != PLAIN_RANK or bool(beside)


def _nothing_usable(kinds: Mapping[Path, str]) -> bool:
    """A folder of files none of which is a tracelog, a table or an archive (another
    program's logs, notes), in sub-folders too: no bundle, one input whose row says so."""
    return all(kind in NOTHING_USABLE for kind in kinds.values()) and any(
        kind == "unusable" or (kind == "other" and child.is_file()) for child, kind in kinds.items()
    )


#: Support ticket ids used as folder names: a bare number of four digits or more, a
#: ticket word and a number (``CS-1234``, ``case_00123``, ``SR-99``, ``ticket-7``, maybe
#: followed by words), a tracker's key (``ESC-4411``: capitals, a dash, 3 digits or more).
_TICKET_NUMBER = re.compile(r"^\d{4,}$")
_TICKET_WORD_ID = re.compile(r"^(?P<word>[A-Za-z]+)[-_ #]?\d+(?:[-_ .].*)?$")
_TRACKER_KEY = re.compile(r"^(?P<word>[A-Z][A-Z0-9]{1,9})-\d{3,}$")
#: Words that start a node's name, not a tracker's key (``LEAF-101``, ``AGG-201``).
_NODE_WORDS = frozenset(["agg", "aggregator", "ca", "db", "host", "leaf", "ma", "master", "node"])


def _names_ticket(name: str) -> bool:
    """Whether a folder's name is a support ticket's id (as above); a name holding a
    date (``20260301``, ``support-2026-03-01``) is a day's report, not a ticket."""
    from .nodes import DATE_IN_NAME, TICKET_WORDS

    if DATE_IN_NAME.search(name):
        return False
    if _TICKET_NUMBER.match(name):
        return True
    if (m := _TICKET_WORD_ID.match(name)) and m["word"].lower() in TICKET_WORDS:
        return True
    m = _TRACKER_KEY.match(name)
    return m is not None and m["word"].lower() not in _NODE_WORDS


#: How much of each end of a log is read for the time it covers (:func:`_log_span`).
SPAN_READ_BYTES = 16 * 1024
#: A time stamp near the start of a line (the tracelog's, or a collector's before it).
_LINE_STAMP = re.compile(rb"(?<![0-9])((?:19|20)\d\d-[01]\d-[0-3]\d)[ T]([0-2]\d:[0-5]\d:[0-5]\d)")
_STAMP_WITHIN = 120  # bytes of a line searched for its time stamp


def _log_span(path: Path) -> tuple[str, str] | None:
    """The first and last time stamps (``YYYY-MM-DD HH:MM:SS``, as written) of a plain
    log, from a few KB at each end; None for a compressed file or one without stamps."""
    from .bundle import BZIP2_MAGIC, GZIP_MAGIC, XZ_MAGIC, ZSTD_MAGIC

    try:
        with path.open("rb") as fh:
            head = fh.read(SPAN_READ_BYTES)
            if head.startswith((GZIP_MAGIC, ZSTD_MAGIC, XZ_MAGIC, BZIP2_MAGIC)):
                return None
            fh.seek(max(os.fstat(fh.fileno()).st_size - SPAN_READ_BYTES, 0))
            tail = fh.read(SPAN_READ_BYTES)
    except OSError:
        return None
    first, last = _first_stamp(head.splitlines()), _first_stamp(reversed(tail.splitlines()))
    if first is None or last is None:
        return None
    return min(first, last), max(first, last)


def _first_stamp(lines: Iterable[bytes]) -> str | None:
    for line in lines:
        if m := _LINE_STAMP.search(line, 0, _STAMP_WITHIN):
            return f"{m[1].decode()} {m[2].decode()}"
    return None


def _overlap(a: tuple[str, str], b: tuple[str, str]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def _table_tickets(folders: list[Path]) -> list[Path]:
    """Of sibling folders holding tables only, those that are tickets of their own
    (``caseA/``, ``caseB/``: each a pasted status), not one bundle's snapshots named by
    their time (``before/``, ``after/``: grammars/snapshots.toml)."""
    from .impact import PLAIN_RANK, name_rank

    return [f for f in folders if name_rank(f.name) == PLAIN_RANK]


_NOT_READ = {
    "missing": "symbolic link to nothing: not followed",
    "loop": "symbolic link to a folder that holds it: not followed",
    "unreadable": "folder that cannot be listed: not read",
}


def _is_node_folder(path: Path) -> bool:
    """A folder whose name tells a node (``<host>_<port>``, ``<host>-MA``, ...)."""
    return path.is_dir() and _names_node(path.name)


def _is_layout_folder(path: Path) -> bool:
    """A folder between a node's folder and its logs (``tracelogs/``, ``var/lib/memsql/
    <node id>/``), passed over as node identity passes it over."""
    from .nodes import is_layout_folder

    return is_layout_folder(path.name) and path.is_dir()


def _one_node(name: str, tracelogs: tuple[str, ...] | None) -> bool:
    """Whether a folder's tracelogs (:attr:`_Plan.tracelogs`) are one node's, as the
    loader tells nodes apart: a node of the bundle around it, whatever the folder's name.
    One log and its rotations, too: under a folder that names a host (``T1/tracelogs/``)
    the loader makes every log one node, yet ``memsql.log`` beside ``leaf2_memsql.log``
    is a ticket's two nodes."""
    from .nodes import identify

    nodes = {(identify(f"{name}/{p}").node, identify(p).node) for p in tracelogs or ()}
    return len(nodes) == 1


def _names_node(name: str) -> bool:
    """Whether a folder or archive name tells a node, as node identity reads a folder."""
    from .nodes import identify

    return not identify(f"{name}/x").from_path


def _is_host_folder(folder: Path, kinds: Mapping[Path, str]) -> bool:
    """A folder holding one node archive named after the folder (beside tables at most):
    sdb-report's per-host folder ``<host>/report-<host>-<date>.tar.gz``, one node of the
    report around it, not a bundle of its own (the report is read as one)."""
    parts = [c for c, k in kinds.items() if k not in ("table", "tables", "other")]
    return (
        len(parts) == 1
        and kinds[parts[0]] == "node"
        and parts[0].is_file()
        and _has_word(_archive_stem(parts[0].name), folder.name)
    )


def _archive_stem(name: str) -> str:
    """An archive's name without its archive suffix (``db1_3306.tar.gz`` → ``db1_3306``)."""
    suffix = next((s for s in ARCHIVE_SUFFIXES if name.lower().endswith(s)), "")
    return name[: len(name) - len(suffix)]


def _has_word(name: str, word: str) -> bool:
    """Whether ``word`` is in ``name`` between separators (``report-db-1-2026`` holds
    ``db-1``, not ``db``, and ``report-db-10`` does not hold ``db-1``)."""
    return (
        bool(word)
        and re.search(rf"(?<![A-Za-z0-9]){re.escape(word)}(?![A-Za-z0-9])", name) is not None
    )


#: An archive is looked into (:func:`_logs_of_one_node`) only up to this size on disk,
#: and read no further than this many decompressed bytes: per-node archives are small
#: beside a whole bundle, and a folder of thousands of tickets must list quickly. A larger
#: archive is a bundle of its own unless its name names a node.
PEEK_ARCHIVE_BYTES = 32 * 1024**2
PEEK_READ_BYTES = 128 * 1024**2
#: Tables only a cluster's aggregator outputs: an archive holding them is a ticket's
#: bundle (its SQL outputs inside), not the part of one node.
CLUSTER_TABLES = frozenset(
    ["rebalance_status", "rebalance_plan", "partitions", "cluster_status", "leaves"]
)


def _looked_into(kinds: dict[Path, str]) -> dict[Path, str]:
    """``kinds`` with the archives that hold one node's logs made node parts
    (:func:`_archive_kind`), looked for only where an archive may be such a part: alone in
    its folder (sdb-report's ``<host>/report-<host>-<date>.tar.gz``) or beside parts of a
    bundle (tables, logs, node folders). A folder of archives alone is a folder of
    tickets: none is opened while inputs are listed."""
    archives = [c for c, k in kinds.items() if k == "archive"]
    parts = [c for c, k in kinds.items() if k in LEVEL_KINDS]
    if not archives or (len(archives) > 1 and not parts):
        return kinds
    return {c: _archive_kind(c) if k == "archive" else k for c, k in kinds.items()}


def _archive_kind(path: Path) -> str:
    """node for an archive that is one node's part of a cluster's bundle (its name names
    a node, or it holds one node's logs); archive for a bundle of its own."""
    if _names_node(_archive_stem(path.name)):
        return "node"
    try:
        small = path.stat().st_size <= PEEK_ARCHIVE_BYTES
    except OSError:
        return "archive"
    return "node" if small and _logs_of_one_node(path) else "archive"


def _logs_of_one_node(path: Path) -> bool:
    """Whether the archive's tracelogs are all one node's, and it holds no cluster-wide
    table unless its name names that node's host (an MA's per-host report may carry the
    SQL outputs). Stops at a second node; an archive read only in part is not one node."""
    from .bundle import Limits, Member, iter_members

    nodes: set[str] = set()
    cluster_tables = False
    try:
        for item in iter_members([path], Limits(max_bytes=PEEK_READ_BYTES)):
            if not isinstance(item, Member):
                continue
            head = item.head()
            node = _log_node(item.inner, head)
            if node is not None:
                nodes.add(node)
            elif not cluster_tables:
                cluster_tables = _is_cluster_table(item.inner, head)
            if len(nodes) > 1:
                return False
    except (ForensicsError, OSError):  # LimitExceeded too: read only in part
        return False
    if len(nodes) != 1:
        return False
    return not cluster_tables or _has_word(path.name, nodes.pop())


def _log_node(inner: str, head: bytes) -> str | None:
    """The node a member's tracelog belongs to (its host, or its path when the path
    names no node); None for a member that is not a tracelog."""
    from .loader import looks_like_tracelog
    from .nodes import identify

    if not looks_like_tracelog(head):
        return None
    node = identify(inner)
    return node.node if node.from_path else node.node.rsplit(":", 1)[0]


def _is_cluster_table(inner: str, head: bytes) -> bool:
    """Whether a member is an aggregator's SQL output (:data:`CLUSTER_TABLES`)."""
    from .parsers import tables

    if not tables.sniff(head):
        return False
    return any(t.kind in CLUSTER_TABLES for t in tables.parse_tables(head, inner).tables)


def _head(path: Path) -> bytes | None:
    """The first bytes of a file (decompressing a .gz/.zst head)."""
    from .bundle import Member, iter_members

    try:
        for item in iter_members([path]):
            return item.head() if isinstance(item, Member) else None
    except ForensicsError:
        return None
    return None


def _sniff(path: Path) -> str:
    """log (a tracelog), table (a status or partition table) or other, for a loose file."""
    from .loader import looks_like_tracelog
    from .parsers import tables

    head = _head(path)
    if head is None:
        return "other"
    if looks_like_tracelog(head):
        return "log"
    return "table" if tables.sniff(head) else "other"


def _files_of(item: Input) -> Iterator[tuple[str, Path]]:
    """(name, file) for every file read as part of the input, in a stable order. Names
    are paths inside the input: the top folder's own name is left out (a re-upload under
    another name is the same content), not the names of loose parts read together. Links
    inside folders are left out, as the loader leaves them out."""
    whole = len(item.paths) == 1
    for path in item.paths:
        top = "" if whole else path.name
        if not path.is_dir():
            yield top, path
            continue
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames.sort()
            for name in sorted(filenames):
                full = Path(dirpath, name)
                if not full.is_symlink() and full.is_file():
                    inner = full.relative_to(path).as_posix()
                    yield (f"{top}/{inner}" if top else inner), full


def content_hash(item: Input | str | os.PathLike[str]) -> str:
    """Identity of an input's content: every byte of every file, and the names of the
    files inside it."""
    digest = xxhash.xxh3_128()
    for name, full in _files_of(_as_input(item)):
        digest.update(name.encode() + b"\0" + _file_digest(full) + b"\0")
    return digest.hexdigest()


def _file_digest(path: Path) -> bytes:
    """XXH3-128 of a file's bytes, read through a memory map (no copy)."""
    digest = xxhash.xxh3_128()
    with path.open("rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size:
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as view:
                digest.update(view)
    return digest.digest()


def content_stamp(item: Input | str | os.PathLike[str]) -> str:
    """Sizes and modification times of the input's files: when equal to a row of an
    earlier run of the same input, its hash is taken from there instead of reading
    every byte again (an edit that keeps the size and the time is not seen)."""
    digest = hashlib.blake2b(digest_size=16)
    for name, full in _files_of(_as_input(item)):
        info = full.stat()
        digest.update(f"{name}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def _as_input(item: Input | str | os.PathLike[str]) -> Input:
    return item if isinstance(item, Input) else Input((Path(item),))


def scan_file(
    path: Input | str | os.PathLike[str],
    *,
    input_hash: str | None = None,
    tz: str = "UTC",
    node_tz: Mapping[str, str] | None = None,
) -> ScanResult:
    """Analyse one input; never raises for bad input (the error goes into ``stats``).
    ``tz`` and ``node_tz``: the zone of tracelog timestamps, as ``forensics analyze --tz``."""
    from .analysis import analyze

    item = _as_input(path)
    started = time.perf_counter()
    row: dict[str, Any] = {"input": item.name, "timezone": zone_label(tz, node_tz)}
    try:
        row["input_hash"] = input_hash or content_hash(item)
        # The lean pass: the same events and verdicts, without the per-minute line
        # counts that only the HTML report draws; and a row for every failed run.
        report = analyze(list(item.paths), tz=tz, node_tz=node_tz, lean=True, every_run=True)
    except ForensicsError as exc:
        return _failed(row, started, str(exc))
    except OSError as exc:
        return _failed(row, started, f"cannot read: {exc.filename or item.name}: {exc.strerror}")
    except Exception as exc:  # one broken input must not stop a batch of thousands
        return _failed(row, started, f"internal error: {type(exc).__name__}: {exc}")
    incidents = _incidents(report, item.name, row["input_hash"])
    files = report.bundle.files
    row.update(
        files=files.height,
        skipped_files=files.filter(pl.col("skipped_reason").is_not_null()).height,
        lines=int(files.get_column("lines").fill_null(0).sum()),
        events=report.bundle.events.height,
        bytes=int(files.get_column("bytes").fill_null(0).sum()),
        rebalances=runs_found(report),
        incidents=incidents.height,
        warnings=list(report.warnings),
    )
    return ScanResult(incidents, _stats_row(row, started))


def _failed(row: dict[str, Any], started: float, error: str) -> ScanResult:
    return ScanResult(pl.DataFrame(schema=INCIDENTS), _stats_row({**row, "error": error}, started))


def _stats_row(row: dict[str, Any], started: float | None = None) -> pl.DataFrame:
    if started is not None:
        row = {**row, "seconds": round(time.perf_counter() - started, 3)}
    return pl.DataFrame([row], schema=INPUT_STATS, strict=False)


def runs_found(report: Any) -> int:
    """Every rebalance run the input shows: each start line of a database in the logs
    (one per run; the same line in two overlapping files once), or, when more, the runs
    the analysis reports of the database (a run known from status output only, a run
    whose start line is not in the logs)."""
    from collections import Counter

    starts = (
        report.bundle.events.filter(
            (pl.col("step_event") == "rebalance_start") & pl.col("database").is_not_null()
        )
        .unique(["database", "ts"])
        .group_by("database")
        .len()
    )
    seen = dict(starts.iter_rows())
    reported = Counter(rb.database for rb in report.rebalances)
    return sum(max(seen.pop(db, 0), n) for db, n in reported.items()) + sum(seen.values())


def _incidents(report: object, name: str, key: str) -> pl.DataFrame:
    rows = []
    findings = {f.id: f for f in report.findings}  # type: ignore[attr-defined]
    for v in report.verdicts:  # type: ignore[attr-defined]
        if v.status == "no_failure":
            continue
        finding = findings.get(v.finding) if v.finding else None
        ev = finding.evidence[0] if finding and finding.evidence else {}
        rows.append(
            {
                "input": name,
                "input_hash": key,
                "database": v.database,
                "status": v.status,
                "time": v.time,
                "phase": v.phase,
                "cause": v.cause,
                "confidence": v.confidence,
                "node": finding.node if finding else None,
                "evidence_file": ev.get("file"),
                "evidence_line": ev.get("line"),
                "evidence_text": ev.get("text") or v.error,
                "summary": v.summary,
                "later_run": v.later_run,
            }
        )
    return pl.DataFrame(rows, schema=INCIDENTS, strict=False)


def stats_path(output: Path) -> Path:
    """The per-input statistics table written beside the incidents table."""
    return output.with_name(output.stem + ".inputs.parquet")


def _already_scanned(output: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    stats_file = stats_path(output)
    if not (output.exists() and stats_file.exists()):
        return pl.DataFrame(schema=INCIDENTS), pl.DataFrame(schema=INPUT_STATS)
    tables = []
    for path, schema in ((output, INCIDENTS), (stats_file, INPUT_STATS)):
        try:
            table = pl.read_parquet(path)
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise UsageError(f"cannot read it as a Parquet table ({exc})", str(path)) from exc
        missing = [name for name in schema if name not in table.columns]
        if any(name not in LATER_COLUMNS for name in missing):
            raise UsageError(
                "not a table written by forensics scan (no column "
                f"{', '.join(missing[:3])}): name another output",
                str(path),
            )
        table = table.with_columns(
            pl.lit("UTC" if name == "timezone" else None).alias(name) for name in missing
        )
        tables.append(table.select(list(schema)).cast(schema, strict=False))
    return tables[0], tables[1]


def scan(
    paths: Sequence[str | os.PathLike[str]],
    output: Path,
    *,
    jobs: int | None = None,
    tz: str = "UTC",
    node_tz: Mapping[str, str] | None = None,
    on_progress: Callable[[int, int, str], None] | None = None,
) -> tuple[ScanResult, ScanCounts]:
    """Scan every input not already in ``output`` (same content, same --tz); returns the
    full tables and what was not scanned. Inputs that ended in an error are tried again."""
    from .clock import check_timezone
    from .export import atomic_write

    for zone in [tz, *(node_tz or {}).values()]:  # (one message now, not one per input)
        check_timezone(zone)
    jobs = jobs or os.cpu_count() or 1
    old_incidents, old_stats = _already_scanned(output)
    inputs = find_inputs(paths)
    identities = _identify(inputs, old_stats, jobs)
    found = {item.name: key for item, (key, _, _) in zip(inputs, identities, strict=True)}
    sorting = _Sorting(old_stats, zone_label(tz, node_tz), found)
    # (of inputs with the same content, the earliest modified is scanned: a re-upload
    # is the copy)
    for item, (key, stamp, error) in sorted(
        zip(inputs, identities, strict=True), key=lambda pair: _modified(pair[0])
    ):
        sorting.add(item, key, stamp, error)
    results = _run(sorting.fresh, jobs, on_progress, tz, node_tz)
    kept = old_stats.filter(pl.col("input").is_in(sorting.kept_names().implode()))
    incidents = pl.concat(
        [
            old_incidents.join(
                kept.select("input", "input_hash"), on=["input", "input_hash"], how="semi"
            ),
            *[r.incidents for r in results],
        ]
    ).sort(["input", "database"], nulls_last=True)
    incidents = same_incidents(incidents)
    stats = pl.concat([kept, sorting.rows(), *[r.stats for r in results]]).sort("input")
    atomic_write(output, lambda tmp: incidents.write_parquet(tmp))
    atomic_write(stats_path(output), lambda tmp: stats.write_parquet(tmp))
    return ScanResult(incidents, stats), sorting.counts


def _modified(item: Input) -> tuple[float, str]:
    """When the input came (a link: when it was made, after what it points to)."""
    try:
        return min(path.lstat().st_mtime for path in item.paths), item.name
    except OSError:
        return float("inf"), item.name


def _identify(
    inputs: list[Input], old_stats: pl.DataFrame, jobs: int
) -> list[tuple[str | None, str | None, str | None]]:
    """(content hash, stamp, error) of each input: the hash of its earlier row when the
    stamp is unchanged, else every byte is read (on threads: hashing releases the GIL)."""
    earlier = {
        name: (key, stamp)
        for name, key, stamp in old_stats.filter(
            pl.col("error").is_null() & pl.col("stamp").is_not_null()
        )
        .select("input", "input_hash", "stamp")
        .iter_rows()
    }

    def identify(item: Input) -> tuple[str | None, str | None, str | None]:
        if item.skipped:
            return None, None, None
        try:
            stamp = content_stamp(item)
            key, then = earlier.get(item.name, (None, None))
            return (key if then == stamp else content_hash(item)), stamp, None
        except OSError as exc:
            return None, None, f"cannot read: {exc.filename or item.name}: {exc.strerror}"

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(identify, inputs))


#: The ``skipped`` note of an input not scanned for it has the content of another.
SAME_CONTENT = "same content as "


class _Sorting:
    """Sorts the inputs found into: to scan; already scanned (their earlier rows kept);
    the same content as another input (counted so on every run), links not followed,
    unreadable (a row each)."""

    def __init__(self, old_stats: pl.DataFrame, zone: str, found: dict[str, str | None]) -> None:
        self.zone = zone
        self.old = old_stats
        self.fresh: list[tuple[Input, str, str]] = []
        self.counts = ScanCounts()
        self._rows: list[dict[str, Any]] = []
        self._found: set[str] = set()
        self._already: set[str] = set()
        self._scanned: dict[str, str] = {}  # content hash -> the input scanned for it
        # (an earlier row of an input found now with other content is no longer valid)
        valid = [
            name
            for name, key in zip(old_stats["input"], old_stats["input_hash"], strict=True)
            if found.get(name, key) == key
        ]
        analysed = old_stats.filter(
            pl.col("input").is_in(pl.Series(valid, dtype=pl.String).implode())
            & pl.col("error").is_null()
            & pl.col("skipped").is_null()
            & (pl.col("timezone") == zone)
        )
        self._done = dict(zip(analysed["input_hash"], analysed["input"], strict=True))
        same = old_stats.filter(pl.col("error").is_null() & (pl.col("timezone") == zone))
        self._rows_of = set(zip(same["input"], same["input_hash"], strict=True))
        copies = same.filter(pl.col("skipped").str.starts_with(SAME_CONTENT))
        self._copies = set(zip(copies["input"], copies["input_hash"], strict=True))

    def add(self, item: Input, key: str | None, stamp: str | None, error: str | None) -> None:
        self._found.add(item.name)
        row = {"input": item.name, "input_hash": key, "timezone": self.zone, "stamp": stamp}
        if item.skipped or error or key is None:
            self.counts.not_followed += bool(item.skipped)
            self._rows.append({**row, "skipped": item.skipped, "error": error})
        elif (item.name, key) in self._rows_of and key in self._done:
            # (its earlier row kept: a copy's says it is one again)
            if (item.name, key) in self._copies:
                self.counts.duplicates += 1
            else:
                self.counts.already += 1
            self._already.add(item.name)
        elif key in self._done or key in self._scanned:
            self.counts.duplicates += 1
            other = self._scanned.get(key) or self._done[key]
            self._rows.append({**row, "skipped": f"{SAME_CONTENT}{other}"})
        else:
            self._scanned[key] = item.name
            self.fresh.append((item, key, stamp or ""))

    def kept_names(self) -> pl.Series:
        """Earlier rows kept: inputs already scanned, and inputs not found this time."""
        names = set(self.old["input"].to_list()) - self._found | self._already
        return pl.Series(sorted(names), dtype=pl.String)

    def rows(self) -> pl.DataFrame:
        return pl.DataFrame(self._rows, schema=INPUT_STATS, strict=False)


def _run(
    todo: list[tuple[Input, str, str]],
    jobs: int,
    on_progress: Callable[[int, int, str], None] | None,
    tz: str,
    node_tz: Mapping[str, str] | None,
) -> list[ScanResult]:
    if not todo:
        return []
    stamps = {item.name: stamp for item, _, stamp in todo}
    results: list[ScanResult] = []
    if jobs <= 1 or len(todo) == 1:
        for done, (item, key, _) in enumerate(todo, start=1):
            results.append(scan_file(item, input_hash=key, tz=tz, node_tz=node_tz))
            if on_progress:
                on_progress(done, len(todo), item.name)
        return [_stamped(r, stamps) for r in results]
    prefilter.stop()  # (the workers start their own helpers: this one would read in vain)
    with ProcessPoolExecutor(
        max_workers=min(jobs, len(todo)),
        mp_context=get_context("spawn"),
        initializer=allocator.tune,
    ) as pool:
        futures = {
            pool.submit(scan_file, item, input_hash=key, tz=tz, node_tz=node_tz): item
            for item, key, _ in todo
        }
        for done, future in enumerate(as_completed(futures), start=1):
            results.append(future.result())
            if on_progress:
                on_progress(done, len(todo), futures[future].name)
    return [_stamped(r, stamps) for r in results]


def same_incidents(incidents: pl.DataFrame) -> pl.DataFrame:
    """``incidents`` with ``same_incident_as`` set on every row but the first (by input
    name) of those with the same database, phase and failure time in different inputs:
    one failure seen by two bundles of a cluster (day 1 and day 2 of a ticket) is one
    incident. Rows without a time (a status output alone) are never matched."""
    key = ["database", "phase", "time"]
    first = (
        incidents.filter(pl.col("time").is_not_null())
        .group_by(key)
        .agg(pl.col("input").min().alias("_first"))
    )
    return (
        incidents.drop("same_incident_as")
        .join(first, on=key, how="left", nulls_equal=True, maintain_order="left")
        .with_columns(
            same_incident_as=pl.when(pl.col("_first") != pl.col("input")).then(pl.col("_first"))
        )
        .select(list(INCIDENTS))
    )


def _stamped(result: ScanResult, stamps: dict[str, str]) -> ScanResult:
    """The stamp of the input (known to the driver only) in its statistics row."""
    stamp = stamps.get(result.stats.item(0, "input")) or None
    return ScanResult(result.incidents, result.stats.with_columns(stamp=pl.lit(stamp, pl.String)))
