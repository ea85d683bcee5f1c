"""``load_bundle``: read every member of a bundle into the normalised frames (SPEC §2–3)."""

from __future__ import annotations

import codecs
import fnmatch
import hashlib
import io
import itertools
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import polars as pl

from . import bundle, schemas, timeline
from .bundle import Limits, Member, Skipped, iter_members
from .clock import check_timezone, zone_name
from .consistency import overlap_warnings
from .errors import InputError
from .nodes import NodeId, chosen_node, identify, same_host, source_node
from .parsers import documents, prefilter, sources, tables, tracelog
from .parsers.layout import behind_unknown_prefix
from .parsers.layout import layout as tracelog_layout
from .parsers.tables_frames import known_roles

if TYPE_CHECKING:  # (NumPy is imported where used: the command line starts before it)
    import numpy as np

Progress = Callable[[str, int], None]  # (member path, bytes read so far in this member)

UNRECOGNISED = "unrecognised content: neither a tracelog nor a table"
UNKNOWN_PREFIX = "unrecognised content: looks like a tracelog behind an unknown prefix"
TEXT_TABLE_LIMIT = 512 * 1024**2  # a table file larger than this is not read whole


@dataclass
class Bundle:
    """The normalised frames of one or several inputs (see ``forensics.schemas``)."""

    paths: list[str]
    timezone: str
    events: pl.DataFrame
    line_counts: pl.DataFrame
    steps: pl.DataFrame
    partitions: pl.DataFrame
    files: pl.DataFrame
    leaves: pl.DataFrame
    variables: pl.DataFrame
    disk_usage: pl.DataFrame
    nodes: pl.DataFrame
    warnings: list[str] = field(default_factory=list)
    node_timezones: dict[str, str] = field(default_factory=dict)  # node -> its own zone
    zone_notes: dict[str, str] = field(default_factory=dict)  # node -> why, when inferred
    node_skews: dict[str, float] = field(default_factory=dict)  # node -> seconds ahead (--skew)

    def frame(self, kind: str) -> pl.DataFrame:
        frames = {
            "events": self.events,
            "steps": self.steps,
            "partitions": self.partitions,
            "files": self.files,
            "line_counts": self.line_counts,
            "leaves": self.leaves,
            "variables": self.variables,
            "disk_usage": self.disk_usage,
            "nodes": self.nodes,
        }
        return frames[kind]


NODES = schemas.make_schema(
    {
        "node": pl.String,
        "role": pl.String,
        "first_ts": schemas.UTC_US,
        "last_ts": schemas.UTC_US,
        "restarts": pl.Int64,
        "files": pl.Int64,
    }
)


@dataclass
class _Acc:
    """What the member loop accumulates."""

    events: list[pl.DataFrame] = field(default_factory=list)
    counts: list[pl.DataFrame] = field(default_factory=list)
    tables: list[tables.Table] = field(default_factory=list)
    files: list[dict[str, object]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seen: dict[tuple[int, str], str] = field(default_factory=dict)
    restarts: dict[str, int] = field(default_factory=dict)  # per file path
    clocks: list[_Clock] = field(default_factory=list)
    folders: dict[str, str] = field(default_factory=dict)  # path -> node folder of a port-less node
    folder_ports: dict[str, str] = field(
        default_factory=dict
    )  # folder -> its memsqlConfig.json port
    others: dict[str, tuple[str, ...]] = field(default_factory=dict)  # path -> NodeId.others
    outer: dict[str, tuple[str, ...]] = field(default_factory=dict)  # path -> NodeId.outer
    collector_zones: dict[str, tuple[str, str]] = field(default_factory=dict)  # path -> zone, why


@dataclass(frozen=True)
class _Clock:
    """A tracelog's uptime counter at its first and last line that carry one (see
    :func:`_rotation_restarts`)."""

    node: str
    path: str
    zone: str
    first: tuple[int, datetime, int]  # 1-based line, local time, counter (µs)
    last: tuple[datetime, int]  # local time, counter

    def started(self, end: bool) -> datetime:
        """When the process that wrote the first (or last) line started."""
        ts, up = self.last if end else self.first[1:]
        return ts - timedelta(microseconds=up)


class _Fingerprint:
    """Content identity of a streamed member (head + tail + length), for duplicates."""

    def __init__(self) -> None:
        self.length = 0
        self.head = b""
        self.tail = b""

    def wrap(self, chunks: Iterator[bytes | memoryview]) -> Iterator[bytes | memoryview]:
        for chunk in chunks:
            if not self.head:
                self.head = bytes(chunk[:65536])
            self.tail = (self.tail + chunk[-65536:])[-65536:]
            self.length += len(chunk)
            yield chunk

    def key(self) -> tuple[int, str]:
        digest = hashlib.blake2b(self.head + b"\0" + self.tail, digest_size=16).hexdigest()
        return self.length, digest


def _zone_for(node: NodeId, tz: str, node_tz: Mapping[str, str]) -> str:
    host = node.node.rsplit(":", 1)[0]
    return node_tz.get(node.node) or node_tz.get(host) or tz


def load_bundle(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    tz: str = "UTC",
    node_tz: Mapping[str, str] | None = None,
    node_overrides: Mapping[str, str] | None = None,
    max_bytes: int | None = None,
    progress: Progress | None = None,
    lean: bool = False,
    node_skew: Mapping[str, float] | None = None,
) -> Bundle:
    """Read a bundle (directory, archive, file, or several) into frames.

    Raises :class:`InputError` only when nothing usable is found; per-file problems
    become rows of ``files`` with a ``skipped_reason`` and entries in ``warnings``.
    ``lean`` (``forensics scan``) reads large tracelogs with the lean pass: the same
    events, but no per-minute line counts and no unparsed-line figures for them.
    ``node_skew``: seconds a node's clock runs ahead of the master aggregator's (by
    ``host:port`` or host); its lines are read that much earlier (:func:`_deskew`).
    """
    path_list = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not path_list:
        raise InputError("no input given")
    tz = check_timezone(zone_name(tz))  # (a fixed offset, +02:00, as the command line reads it)
    node_tz = {node: check_timezone(zone_name(zone)) for node, zone in (node_tz or {}).items()}
    limits = Limits() if max_bytes is None else Limits(max_bytes=max_bytes)
    prefilter.start(path_list)  # (already running when the command line started it)
    acc = _Acc()
    reader = _MemberReader(tz, node_tz or {}, node_overrides, _locked(progress), lean)
    # Files of a directory are read on worker threads (Polars releases the GIL), each
    # file's members in order; contributions are folded in the walk order, so the result
    # does not depend on timing. An archive given as one file is read sequentially.
    with ThreadPoolExecutor(max_workers=_FILE_WORKERS) as pool:
        futures = [pool.submit(reader.read_all, source) for source in _sources(path_list, limits)]
        for future in futures:
            for outcome in future.result():
                outcome(acc)
    loaded = _assemble(acc, [str(p) for p in path_list], tz)
    if node_tz:  # the nodes read in a zone of their own (--tz NODE=ZONE)
        nodes = loaded.files.get_column("node").drop_nulls().unique().sort().to_list()
        zones = {n: _zone_for(NodeId(n, "unknown"), tz, node_tz) for n in nodes}
        loaded.node_timezones = {n: z for n, z in zones.items() if z != tz}
        loaded.warnings += _unused_zones(node_tz, nodes)
    _collector_zones(loaded, acc.collector_zones)
    if node_skew:
        _deskew(loaded, node_skew)
    loaded.warnings += _unused_overrides(node_overrides or {}, loaded.files)
    return loaded


def _unused_overrides(overrides: Mapping[str, str], files: pl.DataFrame) -> list[str]:
    """A warning for each ``--node GLOB=HOST:PORT`` whose glob matches no file of the
    bundle (by its path from any folder down, or its name), as for ``--tz``: a typo would
    otherwise leave the node misnamed without a word."""
    paths = files.get_column("path").to_list()
    tails = {
        "/".join(parts[i:]) for p in paths if (parts := p.split("/")) for i in range(len(parts))
    }
    return [
        f"--node {glob}={node}: the pattern matches no file of the bundle; not used"
        for glob, node in overrides.items()
        if not any(fnmatch.fnmatch(tail, glob) for tail in tails)
    ]


def _deskew(loaded: Bundle, node_skew: Mapping[str, float]) -> None:
    """The events of each node named in ``node_skew`` (``--skew NODE=SECONDS``: its clock
    runs that far ahead of the master aggregator's) moved back by that much, so that its
    lines fall where the aggregator's clock had them; a warning for a name that is no
    node of the bundle, as for ``--tz``."""
    nodes = loaded.files.get_column("node").drop_nulls().unique().sort().to_list()
    skews = {
        n: seconds
        for key, seconds in node_skew.items()
        for n in nodes
        if seconds and key in (n, n.rsplit(":", 1)[0])
    }
    loaded.warnings += _unused_zones(node_skew, nodes, "--skew")
    if not skews:
        return
    shift = pl.col("node").replace_strict(
        {n: int(s * 1_000_000) for n, s in skews.items()}, default=0, return_dtype=pl.Int64
    )
    loaded.events = loaded.events.with_columns(
        (pl.col("ts") - pl.duration(microseconds=shift)).alias("ts")
    ).sort(["ts", "node", "file", "line"], nulls_last=True, maintain_order=True)
    loaded.node_skews = skews


def _collector_zones(loaded: Bundle, chosen: Mapping[str, tuple[str, str]]) -> None:
    """The zones read from a collector's clock (:func:`_collector_zone`), under the
    final name of each file's node."""
    if not chosen:
        return
    node_of = dict(loaded.files.select("path", "node").iter_rows())
    for path, (zone, why) in chosen.items():
        node = node_of.get(path)
        if node is not None:
            loaded.node_timezones[node] = zone
            loaded.zone_notes[node] = why


def _unused_zones(
    node_tz: Mapping[str, object], nodes: list[str], option: str = "--tz"
) -> list[str]:
    """A warning for each ``--tz NODE=ZONE`` (or ``option``) that names no node of the
    bundle (a wrong port, a typo): its lines would otherwise be read in the wrong zone
    (at the wrong time) without a word."""
    hosts = {n.rsplit(":", 1)[0] for n in nodes}
    return [
        f"{option} {key}={value}: no node {key} in the bundle "
        f"(nodes: {', '.join(nodes) or 'none'}); not used"
        for key, value in node_tz.items()
        if key not in nodes and key not in hosts
    ]


_FILE_WORKERS = prefilter.FILES_AT_ONCE
Outcome = Callable[[_Acc], None]  # a member's contribution, folded into the accumulator


def _sources(
    paths: Sequence[str | os.PathLike[str]], limits: Limits
) -> Iterator[Callable[[], Iterator[Member | Skipped]]]:
    """One member source per file of the inputs, in the order of ``iter_members``. Files
    given one by one take their node from their path below the folder they share
    (``*/tracelogs/memsql.log``: each its host folder's)."""
    root = bundle.common_root(paths)
    for given in paths:
        path = Path(given)
        if path.is_dir() and not path.is_symlink():
            for full, display, inner in bundle.walk_dir(path):
                yield partial(bundle.open_file, full, display, inner, limits)
        else:
            yield partial(iter_members, [given], limits, root=root)


def _locked(progress: Progress | None) -> Progress | None:
    if progress is None:
        return None
    lock = threading.Lock()

    def report(path: str, read: int) -> None:
        with lock:
            progress(path, read)

    return report


@dataclass
class _MemberReader:
    tz: str
    node_tz: Mapping[str, str]
    overrides: Mapping[str, str] | None
    progress: Progress | None
    lean: bool = False

    def read_all(self, source: Callable[[], Iterator[Member | Skipped]]) -> list[Outcome]:
        out: list[Outcome] = []
        for item in source():
            if isinstance(item, Skipped):
                out.append(partial(_skipped_item, item, self.overrides))
            else:
                out.append(
                    _read_member(
                        item, self.tz, self.node_tz, self.overrides, self.progress, self.lean
                    )
                )
        return out


def _skipped_item(item: Skipped, overrides: Mapping[str, str] | None, acc: _Acc) -> None:
    if item.damaged_member:  # the member was read up to the damage: a warning, no new row
        acc.warnings.append(f"{item.path}: {item.reason}")
        return
    _skip(acc, item.path, identify(item.inner, overrides), item.reason, 0)
    acc.warnings.append(f"{item.path}: {item.reason}")


def _skip(acc: _Acc, path: str, node: NodeId, reason: str, size: int) -> None:
    _note_folder(acc, path, node)
    acc.files.append(
        {
            "path": path,
            "kind": "unknown",
            "node": None if node.from_path else node.node,
            "role": node.role,
            "bytes": size,
            "lines": None,
            "unparsed_lines": None,
            "skipped_reason": reason,
        }
    )


def _looks_binary(head: bytes) -> bool:
    """Control bytes or undecodable UTF-8 in more than a tenth of the first 8 KiB."""
    sample = head[:8192]
    if not sample:
        return False
    control = sum(1 for b in sample if b < 9 or 13 < b < 32)
    text = sample.decode("utf-8", "replace")
    bad = text.count("\ufffd") + control
    return bad / max(len(text), 1) > 0.10


def looks_like_tracelog(head: bytes) -> bool:
    """Whether :func:`_read_member` reads a file with this head as a tracelog: the layout,
    through a log viewer's prefix, or in JSON lines (a field holding the line, or a
    shipper's fields), in any text form it decodes (UTF-16, CR line ends)."""
    form = _TextForm.of(head)
    return _log_form(head if form is None else form.text(head)) is not None


def _log_form(text: bytes, binary: bool = False) -> tuple[str, Any] | None:
    """How a text with this head holds tracelog lines, tried in this order: ``plain``
    (the layout), ``viewer`` (a log viewer's prefix on every line: the pattern),
    ``field`` (JSON lines, one field holding the line: its name), ``parts`` (JSON lines a
    shipper split into fields: where they are); None for none. A binary head can only be
    a plain tracelog (UTF-16 text has NULs too, but is decoded before)."""
    if tracelog.sniff(text):
        return "plain", None
    if binary:
        return None
    finders = (
        ("viewer", tracelog.viewer_prefix),
        ("field", tracelog.json_field),
        ("parts", tracelog.json_parts),
    )
    for kind, find in finders:
        if (found := find(text)) is not None:
            return kind, found
    return None


def _read_member(
    member: Member,
    tz: str,
    node_tz: Mapping[str, str],
    overrides: Mapping[str, str] | None,
    progress: Progress | None,
    lean: bool = False,
    lines: np.ndarray | None = None,
    split: bool = True,
    source: str | None = None,
) -> Outcome:
    """Read one member (any thread); returns what it adds to the accumulator.
    ``lines``: the member is one source's lines of a file (:func:`_read_sources`), at
    these 1-based line numbers of it, ``source`` the host they name (their node:
    ``nodes.source_node``); ``split``: a file naming several sources may be read as one
    tracelog per source."""
    node = identify(member.inner, overrides, source)
    head = member.head()
    if not head:
        return partial(_skip, path=member.path, node=node, reason="empty file", size=0)
    form = _TextForm.of(head)  # UTF-16 (PowerShell), lines ended by CR alone
    text = head if form is None else form.text(head)
    # (UTF-16 text, as Windows PowerShell writes it, has NULs but a byte order mark)
    binary = tables.text_encoding(head) is None and _looks_binary(text)
    found = _log_form(text, binary)
    again = partial(_read_member, tz=tz, node_tz=node_tz, overrides=overrides)
    again = partial(again, progress=progress, lean=lean)
    if found is not None and split and _names_sources(*found, text):
        return _read_sources(member, form, found, again)
    if found is None and split and not binary and documents.looks_like(text):
        outcome, member = _read_document(member, text, again)
        if outcome is not None:
            return outcome
    read = partial(_read_tracelog, progress=progress, lean=lean, form=form, lines=lines)
    match found:
        case ("plain", _):
            zone = _zone_for(node, tz, node_tz)
            return read(member, node, zone)
        case ("viewer", viewer):  # captured through a log viewer (kubectl, docker compose)
            node = _named_by_viewer(node, text, viewer) if source is None else node
            zone, note = _collector_zone(member.path, node, text, tz, node_tz)
            return _with_zone_note(read(member, node, zone, rewrite=partial(viewer.sub, b"")), note)
        case ("field", field):  # one JSON object per line (Docker's json-file, log shippers)
            node = _named_by_shipper(node, text)
            zone, note = _collector_zone(member.path, node, text, tz, node_tz, field)
            unwrap = partial(tracelog.unwrap_json, name=field)
            return _with_zone_note(read(member, node, zone, rewrite=unwrap), note)
        case ("parts", parts):  # a shipper's JSON fields (time, level, message): rebuilt
            rebuild = partial(tracelog.rebuild_json, parts=parts)
            node = _named_by_shipper(node, text)
            return read(member, node, _zone_for(node, tz, node_tz), rewrite=rebuild)
    if binary:
        return partial(_binary, member.path, node, len(head))
    if tables.sniff(head):
        return _read_tables(member, node)
    first = _preview(text.split(b"\n", 1)[0].decode("utf-8", "replace").strip())
    reason = f"{UNRECOGNISED} (first line: {first!r})"
    if (behind := behind_unknown_prefix(text)) is not None:
        reason = f"{UNKNOWN_PREFIX} ({_preview(behind)!r} in front of the tracelog line)"
    return partial(
        _unrecognised,
        path=member.path,
        node=node,
        reason=reason,
        size=len(head),
        behind=behind is not None,
    )


def _named_by_shipper(node: NodeId, text: bytes) -> NodeId:
    """A loose file's node (its path: no folder names it) as the host its shipper's JSON
    lines name in a field (``[json_lines] host_fields``), the port unknown: a host the
    cluster tables name becomes its ``host:port`` as a host folder's does
    (:func:`_path_renames`). Other files keep the node their path gives."""
    if not node.from_path:
        return node
    host = tracelog.json_host(text)
    return node if host is None else NodeId(host, node.role, host_only=True)


def _named_by_viewer(node: NodeId, text: bytes, viewer: re.Pattern[bytes]) -> NodeId:
    """A loose file's node (its path: no folder names it) as the one source its viewer
    prefix names (a syslog or journald host, one pod of ``kubectl logs --prefix``), as
    the sources of a merged file are (``nodes.source_node``). Other files keep theirs."""
    if not node.from_path or not sources.named_by_viewer(viewer):
        return node
    name = sources.sole_source(text, viewer)
    named = None if name is None else source_node(name)
    return node if named is None else named


def _collector_zone(
    path: str,
    node: NodeId,
    head: bytes,
    tz: str,
    node_tz: Mapping[str, str],
    json_name: str | None = None,
) -> tuple[str, Outcome | None]:
    """The zone to read a tracelog in whose lines a collector stamped with its UTC time
    (``[collector_clock]``), and, when it is not the zone given, what notes why: the
    offset those times show, as a fixed ``Etc/GMT`` zone. A ``--tz NODE=ZONE`` naming the
    node wins; an offset that no IANA zone states as fixed (half hours) is a warning."""
    zone = _zone_for(node, tz, node_tz)
    host = node.node.rsplit(":", 1)[0]
    named = node.node in node_tz or host in node_tz
    measured = None if named else tracelog.collector_offset(head, json_name)
    if measured is None:
        return zone, None
    minutes, at = measured
    given = ZoneInfo(zone).utcoffset(at.replace(tzinfo=UTC))
    if given is not None and given.total_seconds() == minutes * 60:
        return zone, None
    offset = _utc_offset(minutes)
    if minutes % 60 or abs(minutes) > 14 * 60:
        warning = (
            f"{path}: the collector's UTC times in front of its lines put the node's clock "
            f"at {offset}; read as {zone} all the same (no fixed zone states it): "
            f"give --tz {node.node}=<the node's zone>"
        )
        return zone, lambda acc: acc.warnings.append(warning)
    fixed = zone_name(offset)
    why = (
        f"tracelog timestamps of {node.node} read at {offset} ({fixed}), not as {zone}: "
        f"the collector's UTC times in front of its lines ({path}) say so "
        f"(--tz {node.node}=ZONE overrides)"
    )
    return fixed, lambda acc: acc.collector_zones.__setitem__(path, (fixed, why))


def _utc_offset(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _with_zone_note(read: Outcome, note: Outcome | None) -> Outcome:
    """``read``, and then ``note`` (see :func:`_collector_zone`)."""
    if note is None:
        return read

    def outcome(acc: _Acc) -> None:
        read(acc)
        note(acc)

    return outcome


#: A file name that says "tracelog" (memsql.log, memsql.log.1, node-1_memsql.log.gz ...).
_LOG_NAME = re.compile(r"(?i)(?:memsql|singlestore|tracelog)[^/]*\.log(?:[.\-_][^/]*)?$")


def _unrecognised(
    acc: _Acc, path: str, node: NodeId, reason: str, size: int, behind: bool = False
) -> None:
    """Skipped; and said in a warning when its lines look like tracelog lines behind a
    prefix no ``[viewers]`` pattern reads (``behind``), or when its name says it is a
    tracelog, since its lines (in a layout not read) may hold the cause."""
    _skip(acc, path, node, reason, size)
    if behind:
        acc.warnings.append(
            f"{path}: {reason.split(': ', 1)[1]}: not read; a pattern for the prefix in "
            "grammars/tracelog.toml [viewers] reads it"
        )
    elif _LOG_NAME.search(path):
        acc.warnings.append(
            f"{path}: named like a tracelog, but no line has the tracelog layout: not read"
        )


def _binary(path: str, node: NodeId, size: int, acc: _Acc) -> None:
    _skip(acc, path, node, "binary content: not a tracelog or table", size)
    acc.warnings.append(f"{path}: binary content, skipped")


def _counted(
    chunks: Iterator[bytes | memoryview], path: str, progress: Progress | None
) -> Iterator[bytes | memoryview]:
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if progress is not None:
            progress(path, total)
        yield chunk


def _duplicate_of(acc: _Acc, key: tuple[int, str], path: str) -> str | None:
    if key in acc.seen:
        return acc.seen[key]
    acc.seen[key] = path
    return None


def _read_tracelog(
    member: Member,
    node: NodeId,
    zone: str,
    progress: Progress | None,
    lean: bool,
    rewrite: Callable[[bytes | memoryview], bytes] | None = None,
    form: _TextForm | None = None,
    lines: np.ndarray | None = None,
) -> Outcome:
    """``rewrite``: applied to every chunk (whole lines) before parsing, keeping the
    line numbers those of the file: a viewer prefix removed from every line (``[viewers]``
    in grammars/tracelog.toml), or the tracelog line taken out of a JSON object, or
    rebuilt from its fields (``[json_lines]``). ``form``: the file's bytes made UTF-8 lines ended by LF first
    (:class:`_TextForm`). Runs of NUL bytes a crash left are dealt with (:class:`_NulRuns`).
    The Hyperscan helper answers by offsets in the file: not asked once lengths change.
    ``lines``: the file line number of each line of the member (one source's lines of a
    file, :func:`_read_sources`), which the events then give."""
    finger = _Fingerprint()
    # (a file in another form is read in plain chunks: its lines do not end with LF)
    pieces = member.chunks() if form else member.chunks(lines=tracelog.piece_bytes())
    chunks: Iterator[bytes | memoryview] = finger.wrap(_counted(pieces, member.path, progress))
    if form is not None:
        chunks = form.apply(chunks)

    def lines_before(offset: int) -> int:  # (read again: only to name a line in a warning)
        again: Iterator[bytes | memoryview] = member.chunks()
        return _line_ends_before(form.apply(again) if form else again, offset)

    nuls = _NulRuns(lines_before)
    chunks = nuls.wrap(chunks)
    if rewrite is not None:
        chunks = map(rewrite, chunks)
    plain = rewrite is None and form is None
    hits = tracelog.helper_hits(member.source_file()) if plain else None
    result = tracelog.parse_tracelog(
        chunks,
        path=member.path,
        node=node.node,
        tz=zone,
        lean=lean,
        hits=None if hits is None else nuls.guard(hits),
    )
    notes = [*(form.warnings(member.path) if form else []), *nuls.warnings(member.path)]
    result.warnings.extend(notes)
    if lines is not None:
        _renumber(result, lines)
    return partial(_add_tracelog, member.path, node, finger.key(), finger.length, result, zone)


def _renumber(result: tracelog.TracelogResult, lines: np.ndarray) -> None:
    """``result`` of one source's lines with the file's line numbers (``lines``)."""
    import numpy as np

    def at(line: int) -> int:
        return int(lines[line - 1]) if 0 < line <= lines.size else line

    numbers = result.events.get_column("line").to_numpy()
    inside = (numbers > 0) & (numbers <= lines.size)
    mapped = np.where(inside, lines[np.clip(numbers - 1, 0, max(lines.size - 1, 0))], numbers)
    result.events = result.events.with_columns(pl.Series("line", mapped, dtype=pl.Int64))
    result.unparsed_samples = [(at(n), text) for n, text in result.unparsed_samples]
    if result.first_uptime is not None:
        result.first_uptime = (at(result.first_uptime[0]), *result.first_uptime[1:])


def _names_sources(kind: str, found: Any, head: bytes) -> bool:
    """Whether a file in this log form names a source per line (see
    :mod:`forensics.parsers.sources`): a viewer prefix with a source, or a shipper's JSON
    objects with a host field."""
    if kind == "viewer":
        return sources.named_by_viewer(found)
    return kind in ("field", "parts") and tracelog.json_host_field(head) is not None


def _read_sources(
    member: Member,
    form: _TextForm | None,
    found: tuple[str, Any],
    read: Callable[..., Outcome],
) -> Outcome:
    """A file whose lines name their source (node): read whole, and when it names two
    or more, read as one tracelog per source (``<path>#<source>``), each line with its
    number in the file; else read as it is."""
    chunks: Iterator[bytes | memoryview] = member.chunks()
    data = b"".join(form.apply(chunks) if form is not None else chunks)
    kind, how = found
    viewer = how if kind == "viewer" else None
    field = None if viewer is not None else tracelog.json_host_field(data[: bundle.HEAD_BYTES])
    parts = sources.split(data, viewer=viewer, host_fields=[field] if field else []) or []
    # (a source with no tracelog line, a sidecar or a tool's container, is no node)
    logs = [part for part in parts if _log_form(part.text[: bundle.HEAD_BYTES]) is not None]
    if len(logs) < 2:
        return read(Member(member.path, member.inner, io.BytesIO(data)), split=False)
    note = (
        f"{member.path}: holds the lines of {len(logs)} sources "
        f"({', '.join(part.source for part in logs)}): read as one tracelog each, named "
        "<file>#<source>, with the file's line numbers"
    )
    others = [f"{part.source} ({part.lines.size} lines)" for part in parts if part not in logs]
    if others:
        note += f"; the lines of {', '.join(others)} hold no tracelog line: not read"
    return _read_parts(member, logs, read, note)


def _read_parts(
    member: Member, parts: list[sources.Part], read: Callable[..., Outcome], note: str
) -> Outcome:
    """Each part of ``member`` read as a tracelog of its own (a part with a source as
    ``<path>#<source>``, on the node the source names, its path in the bundle with the
    source as a folder for ``--node`` globs), at its line numbers; ``note`` said once."""
    folder, _, name = member.inner.rpartition("/")
    outcomes = []
    for part in parts:
        path, inner = member.path, member.inner
        if part.source:
            path = f"{member.path}#{part.source}"
            inner = f"{folder}/{part.source}/{name}" if folder else f"{part.source}/{name}"
        each = Member(path, inner, io.BytesIO(part.text))
        outcomes.append(read(each, lines=part.lines, split=False, source=part.source or None))

    def outcome(acc: _Acc) -> None:
        for each in outcomes:
            each(acc)
        acc.warnings.append(note)

    return outcome


def _read_document(
    member: Member, head: bytes, read: Callable[..., Outcome]
) -> tuple[Outcome | None, Member]:
    """A log export that is one JSON document (:mod:`forensics.parsers.documents`): its
    records read as one tracelog per source when their messages are tracelog lines; else
    None and the member, read whole, to be read as anything else."""
    data = b"".join(_bounded(member, TEXT_TABLE_LIMIT))
    again = Member(member.path, member.inner, io.BytesIO(data))
    parts = documents.parts(data)
    if not parts or not any(_log_form(part.text[: bundle.HEAD_BYTES]) for part in parts):
        return None, again
    named = [part.source for part in parts if part.source]
    note = (
        f"{member.path}: a log export of {len(parts)} source(s) ({', '.join(named)}) in one "
        "JSON document: read as one tracelog per source, named <file>#<source>; its line "
        "numbers are the records' numbers in time order"
        if named
        else f"{member.path}: a log export in one JSON document: its line numbers are the "
        "records' numbers in time order"
    )
    return _read_parts(member, parts, read, note), again


#: A run of NUL bytes at the start of a line (see :class:`_NulRuns`).
_NUL_START = re.compile(rb"(?m)^\0+")


@cache
def _nul_inside() -> re.Pattern[bytes]:
    """A run of NUL bytes inside a line, right before the tracelog layout (see
    :class:`_NulRuns`): a NUL anywhere else is text the parser counts."""
    start = tracelog_layout().prefix.removeprefix("^")
    return re.compile(rb"(?<=[^\n\0])\0+(?=" + start.encode() + rb")")


class _NulRuns:
    """Runs of NUL bytes that a crash leaves in a log (the zeroed pages of a file written
    past its last line), the restarted process then appending its next line right after
    them, with no line end between. Left in, they would hide that line. A run at the
    start of a line is dropped (line numbers do not change); a run inside a line, right
    before a line in the tracelog layout, ends that line there, as a line end would (the
    line numbers after it are then one more than in the file, and a warning names where).
    Byte offsets after the first such line change (:meth:`guard`). A chunk with no NUL
    at all passes unchanged: it is looked for at C speed, not line by line.

    ``lines_before``: how many line ends the file has before a byte offset (of the
    stream given to :meth:`wrap`), to name where a line was ended; asked once, after
    the file was read, and only when one was."""

    def __init__(self, lines_before: Callable[[int], int] | None = None) -> None:
        self.lines = 0  # lines that lost their leading NULs
        self.ended = 0  # lines ended at a run of NULs inside them
        self.first_ended: int | None = None  # the byte offset of the first of those
        self.lines_before = lines_before

    def wrap(self, chunks: Iterator[bytes | memoryview]) -> Iterator[bytes | memoryview]:
        offset = 0
        for chunk in chunks:
            size = len(chunk)
            if _has_nul(chunk):
                chunk = self._fixed(bytes(chunk), offset)
            offset += size
            yield chunk

    def _fixed(self, data: bytes, offset: int) -> bytes:
        """``data`` (at ``offset`` in the stream) with its runs of NULs dealt with."""
        inside = _nul_inside()
        first = inside.search(data)
        if first is not None:
            data, count = inside.subn(b"\n", data)
            self.ended += count
            if self.first_ended is None:
                self.first_ended = offset + first.start()
        data, count = _NUL_START.subn(b"", data)
        self.lines += count
        return data

    def guard(self, hits: tracelog.HitSource) -> tracelog.HitSource:
        """``hits`` (the helper's answers by file offset) until a line lost its NULs or
        was ended at them; after that, no answer (the parser scans its pieces itself)."""

        def ask(start: int, end: int) -> Future[Any]:
            return hits(start, end) if not (self.lines or self.ended) else _NO_ANSWER

        return ask

    def warnings(self, path: str) -> list[str]:
        out = []
        if self.lines:
            out.append(
                f"{path}: {self.lines} line(s) began with a run of NUL bytes (what a crash "
                "leaves in a log): the NULs were dropped and the line read"
            )
        if self.ended and self.first_ended is not None:
            where = path
            if self.lines_before is not None:
                where = f"{path}:{self.lines_before(self.first_ended) + 1}"
            out.append(
                f"{where}: {self.ended} line(s) held a run of NUL bytes followed by a "
                "tracelog line (what a crash leaves in a log; first here): each line was "
                "ended at the NULs and the text after them read as the next line, so the "
                "line numbers after it are one more than in the file"
            )
        return out


def _line_ends_before(chunks: Iterator[bytes | memoryview], offset: int) -> int:
    """The LF bytes among the first ``offset`` bytes of ``chunks``."""
    count = 0
    for chunk in chunks:
        part = bytes(chunk[:offset])
        count += part.count(b"\n")
        offset -= len(part)
        if offset <= 0:
            break
    return count


_NO_ANSWER: Future[Any] = Future()
_NO_ANSWER.set_result(None)


def _has_nul(chunk: bytes | memoryview) -> bool:
    """Whether ``chunk`` holds a NUL byte, without copying it (a view of a mapped log)."""
    if isinstance(chunk, bytes):
        return b"\0" in chunk
    import numpy as np  # (the minimum of the bytes, in one vectorised pass)

    return len(chunk) > 0 and int(np.frombuffer(chunk, dtype=np.uint8).min()) == 0


#: Share of the bytes at even (UTF-16 BE) or odd (LE) offsets of a head that must be NUL,
#: and none at the other ones, for it to be read as UTF-16 without a byte order mark:
#: ASCII text written in UTF-16 has every other byte NUL.
_UTF16_NULS = 0.9
_WIDE_SAMPLE = 8192  # bytes of the head looked at for that
_LONE_CR = re.compile(rb"\r(?!\n)")
_CARRY_LIMIT = 16 * 1024**2  # a part line carried longer than this is given as it is


@dataclass(frozen=True)
class _TextForm:
    """How a tracelog's bytes become the UTF-8 lines ended by LF that the parser reads,
    when they are not that already: text in UTF-16 or UTF-32 (Windows PowerShell's
    ``kubectl logs ... > memsql.log`` writes UTF-16 LE with a byte order mark), decoded;
    lines ended by a carriage return alone, ended by LF instead. Line numbers stay those
    of the file (a CR is a line end there); byte offsets do not."""

    codec: str | None  # the file's encoding, when not UTF-8
    cr_only: bool  # no LF in the head, but CRs: each CR ends a line

    @staticmethod
    def of(head: bytes) -> _TextForm | None:
        """The form of a file that ``head`` begins; None for UTF-8 lines ended by LF."""
        codec = _wide_codec(head)
        text = head if codec is None else head.decode(codec, "replace").encode("utf-8")
        cr_only = b"\n" not in text and text.count(b"\r") > 1
        return _TextForm(codec, cr_only) if codec or cr_only else None

    def text(self, head: bytes) -> bytes:
        """``head`` in this form (for sniffing)."""
        return b"".join(self.apply(iter([head])))

    def apply(self, chunks: Iterator[bytes | memoryview]) -> Iterator[bytes]:
        """The chunks as whole UTF-8 lines ended by LF (the last as it ends). A UTF-16
        character split between two chunks is decoded whole (an incremental decoder);
        undecodable bytes become U+FFFD."""
        decoder = codecs.getincrementaldecoder(self.codec)("replace") if self.codec else None
        carry, begun = b"", False
        for chunk in itertools.chain(chunks, [None]):
            data = b"" if chunk is None else bytes(chunk)
            if decoder is not None:
                text = decoder.decode(data, final=chunk is None)
                if not begun and text:
                    text, begun = text.removeprefix("\ufeff"), True
                data = text.encode("utf-8")
            if self.cr_only:
                data = _LONE_CR.sub(b"\n", data)
            data = carry + data
            cut = data.rfind(b"\n") + 1
            if chunk is None or (not cut and len(data) > _CARRY_LIMIT):
                cut = len(data)
            carry = data[cut:]
            if cut:
                yield data[:cut]

    def warnings(self, path: str) -> list[str]:
        """What the reader of the report should know: line numbers count CRs."""
        if not self.cr_only:
            return []
        return [
            f"{path}: lines end with a carriage return alone (no line feed): each one "
            "read as a line end, and line numbers count them"
        ]


def _wide_codec(head: bytes) -> str | None:
    """The UTF-16/32 codec of a file that ``head`` begins: the one its byte order mark
    names, else UTF-16 told by where its NULs are (ASCII text: every other byte, the
    first of each pair in big-endian order); None for UTF-8 and anything else."""
    codec = tables.text_encoding(head)
    if codec is not None:
        return None if codec == "utf-8" else codec
    sample = head[: _WIDE_SAMPLE & ~1]
    first, second = sample[0::2], sample[1::2]
    if len(first) < 16:
        return None
    if first.count(0) >= _UTF16_NULS * len(first) and not second.count(0):
        return "utf-16-be"
    if second.count(0) >= _UTF16_NULS * len(second) and not first.count(0):
        return "utf-16-le"
    return None


def _add_tracelog(
    path: str,
    node: NodeId,
    key: tuple[int, str],
    length: int,
    result: tracelog.TracelogResult,
    zone: str,
    acc: _Acc,
) -> None:
    original = _duplicate_of(acc, key, path)
    if original is not None:
        _skip(acc, path, node, f"duplicate of {original}", length)
        acc.warnings.append(f"{path}: same content as {original}; counted once")
        return
    acc.events.append(result.events)
    acc.counts.append(result.counts)
    acc.warnings.extend(result.warnings)
    acc.restarts[path] = result.restarts
    if result.first_uptime is not None and result.last_uptime is not None:
        acc.clocks.append(_Clock(node.node, path, zone, result.first_uptime, result.last_uptime))
    _note_folder(acc, path, node)
    acc.files.append(
        {
            "path": path,
            "kind": tracelog.NAME,
            "node": node.node,
            "role": node.role,
            "bytes": length,
            "lines": result.lines,
            "unparsed_lines": result.unparsed_lines,
            "first_ts": result.first_ts,
            "last_ts": result.last_ts,
            "skipped_reason": None,
        }
    )


def _read_tables(member: Member, node: NodeId) -> Outcome:
    data = b"".join(_bounded(member, TEXT_TABLE_LIMIT))
    finger = _Fingerprint()
    for _ in finger.wrap(iter([data])):
        pass
    result = tables.parse_tables(data, member.path)
    return partial(_add_tables, member.path, node, finger.key(), len(data), result)


def _add_tables(
    path: str, node: NodeId, key: tuple[int, str], size: int, result: Any, acc: _Acc
) -> None:
    # The port a node folder's memsqlConfig.json gives is learnt before duplicates are
    # dropped: the nodes of one cluster have identical config files as a rule, and each
    # copy tells the port of the folder it is in.
    port = tables.config_port(result.tables)
    if port is not None and node.folder is not None:
        acc.folder_ports[node.folder] = port
    original = _duplicate_of(acc, key, path)
    if original is not None:
        _skip(acc, path, node, f"duplicate of {original}", size)
        return
    acc.warnings.extend(result.warnings)
    kinds = sorted({t.kind for t in result.tables if t.kind})
    if result.client_errors:  # a transcript of a failed rebalance statement
        acc.events.append(client_error_events(result.client_errors))
        kinds.append(CLIENT_ERROR_KIND)
    _note_folder(acc, path, node)
    for table in result.tables:  # SHOW VARIABLES ran on the node whose folder holds it
        if table.kind == "variables" and table.node is None and not node.from_path:
            table.node = node.node
    acc.tables.extend(t for t in result.tables if t.kind)
    reason = (
        None if kinds else "tables of no known kind (not rebalance, partition or cluster output)"
    )
    acc.files.append(
        {
            "path": path,
            "kind": ",".join(kinds) if kinds else "unknown",
            "node": None if node.from_path else node.node,
            "role": node.role,
            "bytes": size,
            "lines": result.lines,
            "unparsed_lines": result.unparsed_lines,
            "skipped_reason": reason,
        }
    )


def _note_folder(acc: _Acc, path: str, node: NodeId) -> None:
    """What :func:`_path_renames` needs of a file's node: its node folder, the other
    names its path gives."""
    if node.folder is not None:
        acc.folders[path] = node.folder
    if node.others:
        acc.others[path] = node.others
    if node.outer:
        acc.outer[path] = node.outer


def _bounded(member: Member, limit: int) -> Iterator[bytes | memoryview]:
    total = 0
    for chunk in member.chunks():
        total += len(chunk)
        if total > limit:
            raise InputError(f"table file larger than {limit:,} bytes", member.path)
        yield chunk


def _concat(frames: list[pl.DataFrame], schema: pl.Schema) -> pl.DataFrame:
    frames = [schemas.conform(f, schema) for f in frames if f.height]
    return pl.concat(frames) if frames else schemas.empty(schema)


_FAR_ORDINAL = 100  # a db_N with N beyond this and the listed partitions is a database
_YEAR_LIKE = 1000  # with nothing listing db's partitions, a db_N from this N on is too


def _beyond_partitions(
    events: pl.DataFrame, partitions: pl.DataFrame, steps: pl.DataFrame
) -> pl.DataFrame:
    """``db_N`` names a partition of ``db`` or a database of its own (``events_2025``).
    Where a SHOW PARTITIONS snapshot or the steps name partitions of ``db`` and N is far
    beyond them, a line's ``db_N`` is read as the database ``db_N`` (no ordinal): else a
    lock timeout on ``events_2025`` would count as evidence about the partitions of
    ``events``. With nothing naming partitions of ``db``, an N of four digits or more
    is a database's name too (a year, a date: databases hold a few hundred partitions at
    most). Cluster-status snapshots may be filtered, so they do not bound the ordinals."""
    if not events.height or not events.select(pl.col("ordinal").is_not_null().any()).item():
        return events
    listed = partitions.filter(
        (pl.col("snapshot_kind").fill_null("partitions") == "partitions")
        & pl.col("ordinal").is_not_null()
        & pl.col("database").is_not_null()
    ).select("database", "ordinal")
    both = [f.select(pl.col("database").cast(pl.String), pl.col("ordinal").cast(pl.Int64))
            for f in (listed, steps.select("database", "ordinal").drop_nulls())]  # fmt: skip
    last = pl.concat(both).group_by("database").agg(pl.col("ordinal").max().alias("_last"))
    # far beyond only: a snapshot may miss a partition (one with no copy left), and a
    # "db:N" a step names just past the listed ones is that partition
    beyond = (
        pl.when(pl.col("_last").is_not_null())
        .then(
            pl.col("ordinal") > pl.max_horizontal(pl.lit(_FAR_ORDINAL), 4 * (pl.col("_last") + 1))
        )
        .otherwise(pl.col("ordinal") >= _YEAR_LIKE)
    )
    return (
        events.join(last, on="database", how="left", maintain_order="left")
        .with_columns(
            pl.when(beyond)
            .then(pl.concat_str("database", pl.lit("_"), pl.col("ordinal").cast(pl.String)))
            .otherwise("database")
            .alias("database"),
            pl.when(beyond).then(None).otherwise("ordinal").alias("ordinal"),
        )
        .drop("_last")
    )


def _assemble(acc: _Acc, paths: list[str], tz: str) -> Bundle:
    if not acc.files:
        raise InputError("empty bundle: no files found", paths[0])
    frames = tables.to_frames(acc.tables, acc.warnings)
    events = _concat(acc.events, schemas.EVENTS)
    counts = _concat(acc.counts, schemas.LINE_COUNTS)
    files = pl.DataFrame(acc.files, schema=schemas.FILES, strict=False)
    rename = _path_renames(files, known_roles(frames), acc)
    if rename:
        events = events.with_columns(_renamed("file", rename))
        counts = counts.with_columns(_renamed("file", rename))
        files = files.with_columns(_renamed("path", rename))
    restarts = _restarts_per_node(files, acc.restarts)
    events, files = _continued_folds(events, files, acc.clocks, rename)
    crossed = _rotation_restarts(acc.clocks, rename)
    if crossed is not None:
        events = pl.concat([events, crossed])
        for node in crossed.get_column("node").to_list():
            restarts[node] = restarts.get(node, 0) + 1
    # several status captures of one step: the latest is the current state
    steps = timeline.resolve_captures(schemas.conform(frames["steps"], schemas.STEPS))
    events = _beyond_partitions(events, frames["partitions"], steps)
    # (one chunk first: sorting the per-file chunks as they are took 64-71 ms, 41-62 with it)
    events = events.rechunk().sort(["ts", "node", "file", "line"], nulls_last=True)
    roles = _roles(_declared_roles(files), events, frames["leaves"], frames["aggregators"])
    files = files.with_columns(
        pl.col("node")
        .replace_strict(roles, default=pl.col("role"), return_dtype=pl.String)
        .alias("role")
    )
    if files.filter(pl.col("skipped_reason").is_null()).height == 0:
        raise InputError("nothing usable in the bundle: " + _skip_summary(files), paths[0])
    nodes = _nodes_frame(files, roles, restarts)
    extra = status_error_events(steps, events, _master(nodes))
    if extra.height:
        events = pl.concat([events, extra]).sort(["ts", "node", "file", "line"], nulls_last=True)
    return Bundle(
        paths=paths,
        timezone=tz,
        events=events,
        line_counts=counts,
        steps=steps,
        partitions=schemas.conform(frames["partitions"], schemas.PARTITIONS),
        files=files,
        leaves=schemas.conform(frames["leaves"], schemas.LEAVES),
        variables=schemas.conform(frames["variables"], schemas.VARIABLES),
        disk_usage=schemas.conform(frames["disk_usage"], schemas.DISK_USAGE),
        nodes=nodes,
        warnings=[*acc.warnings, *overlap_warnings(files)],
    )


def _rotation_restarts(clocks: list[_Clock], rename: Mapping[str, str]) -> pl.DataFrame | None:
    # (``rename``: file path -> the node it was found to be, see _path_renames)
    """Restarts between two logs of one node (a process that crashed, and whose successor
    started a new memsql.log after the rotation): in time order, a log whose process
    started (time minus uptime counter) after the one of the log before it. Within one
    log the parser sees a restart where the counter falls; across logs only this shows
    it. Copies of the same lines in two rotations have the same start: no restart."""
    tolerance = timedelta(microseconds=tracelog.restart_tolerance_us())
    rows = []
    for node, logs in _logs_by_node(clocks, rename).items():
        for before, after in itertools.pairwise(logs):
            if after.started(False) - before.started(True) <= tolerance:
                continue
            last_ts, last_up = before.last
            line, back, up = after.first
            rows.append(
                {
                    "node": node,
                    "file": after.path,
                    "line": line,
                    "ts": _utc(last_ts, before.zone),
                    "uptime_us": up,
                    "level": "INFO",
                    "component": "forensics",
                    "message": (
                        f"node restart detected: last line before it at {tracelog.stamp(last_ts)}, "
                        f"back at {tracelog.stamp(back)}; uptime counter went from {last_up} "
                        f"to {up} (between {before.path} and {after.path})"
                    ),
                    "step_event": "node_restart",
                }
            )
    if not rows:
        return None
    return schemas.conform(pl.DataFrame(rows), schemas.EVENTS)


def _logs_by_node(clocks: list[_Clock], rename: Mapping[str, str]) -> dict[str, list[_Clock]]:
    """Each node's logs in the order they were written: by their first line's local
    time, except that two logs of one process go in the order of its uptime counter. A
    log rotated in the hour that the end of daylight saving time repeats starts at a
    local time earlier than the last ones of the log before it."""
    tolerance = timedelta(microseconds=tracelog.restart_tolerance_us())
    by_node: dict[str, list[_Clock]] = {}
    for clock in clocks:
        by_node.setdefault(rename.get(clock.path, clock.node), []).append(clock)
    for logs in by_node.values():
        logs.sort(key=lambda c: (c.first[1], c.path))
        for _ in logs:  # (adjacent swaps until none is left: a few logs per node)
            swaps = 0
            for i, (a, b) in enumerate(itertools.pairwise(list(logs))):
                gap = abs(a.started(False) - b.started(False))
                one_process = min(gap, abs(gap - timedelta(hours=1))) <= tolerance
                if one_process and b.first[2] < a.first[2]:
                    logs[i], logs[i + 1] = b, a
                    swaps += 1
            if not swaps:
                break
    return by_node


#: How far a local time must fall back to be the end of daylight saving time (as
#: tracelog's second pass reads it within one file).
_FALL_BACK = timedelta(minutes=30)


def _continued_folds(
    events: pl.DataFrame, files: pl.DataFrame, clocks: list[_Clock], rename: Mapping[str, str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A log that continues the one before it (the same process: its uptime counter goes
    on) after the clock fell back at the end of daylight saving time: its times in the
    repeated hour are their second reading. Within one file the parser sees the clock go
    back; a rotation inside the repeated hour leaves the next file only times that read
    as the first pass, an hour early (a leaf's lock timeout read an hour before the
    failure it caused). ``files``' first and last times are read again likewise."""
    tolerance = timedelta(microseconds=tracelog.restart_tolerance_us())
    later = []
    for logs in _logs_by_node(clocks, rename).values():
        for before, after in itertools.pairwise(logs):
            continues = abs(after.started(False) - before.started(True)) <= tolerance
            if continues and before.zone != "UTC" and _fell_back(events, before):
                later.append(after.path)
    if not later:
        return events, files
    zones = {c.path: c.zone for c in clocks if c.path in later}
    events = events.with_columns(_second_reading("ts", "file", zones))
    files = files.with_columns(_second_reading(c, "path", zones) for c in ("first_ts", "last_ts"))
    return events, files


def _fell_back(events: pl.DataFrame, log: _Clock) -> bool:
    """Whether ``log`` ends after its clock fell back: its last line (or the last one
    kept) is the second reading of a repeated local time."""
    kept = events.filter(pl.col("file") == log.path).select("ts", "line").drop_nulls()
    if not kept.height:
        return False
    ts = kept.sort("line").get_column("ts").item(-1)
    local = ts.astimezone(ZoneInfo(log.zone))
    last = log.last[0].replace(tzinfo=ZoneInfo(log.zone))
    repeated = last.replace(fold=0).utcoffset() != last.replace(fold=1).utcoffset()
    return local.fold == 1 or (repeated and log.last[0] < local.replace(tzinfo=None) - _FALL_BACK)


def _second_reading(column: str, path: str, zones: Mapping[str, str]) -> pl.Expr:
    """``column``, on the rows of the files ``zones`` names (by their ``path`` column),
    with each time that a DST change of the file's zone repeats read as its second pass."""
    out = pl.col(column)
    for zone in set(zones.values()):
        local = pl.col(column).dt.convert_time_zone(zone).dt.replace_time_zone(None)
        utc = tracelog.local_to_utc(local, zone, "latest")
        mine = pl.col(path).is_in([p for p, z in zones.items() if z == zone])
        out = pl.when(mine).then(pl.coalesce(utc, column)).otherwise(out)
    return out.alias(column)


def _utc(local: datetime, zone: str) -> datetime:
    """A log's local time in UTC (a time a DST change skips or repeats: its first reading)."""
    return local.replace(tzinfo=ZoneInfo(zone), fold=0).astimezone(UTC)


_PREVIEW_CHARS = 80


def _preview(line: str) -> str:
    """The start of ``line`` cut between words, so that a name in it is whole or absent
    (redaction cannot recognise half a host name)."""
    if len(line) <= _PREVIEW_CHARS:
        return line
    cut = line[:_PREVIEW_CHARS]
    gap = max(cut.rfind(c) for c in " \t,;'\"()[]{}=")
    return (cut[:gap] if gap > 0 else "") + "..."


def _master(nodes: pl.DataFrame) -> str | None:
    masters = nodes.filter(pl.col("role") == "master_aggregator").get_column("node")
    return masters.item(0) if masters.len() else None


def status_error_events(
    steps: pl.DataFrame, events: pl.DataFrame, master: str | None
) -> pl.DataFrame:
    """The error text the status output gives for a failed step, as an event the cause
    rules can match (docs/CONTRACTS.md "Status error events"): level ERROR, message
    ``<ACTION> <db>:<ordinal> on <target> failed: <error text>``, the status file and the
    row's line, on the master aggregator, with no time."""
    failed = steps.filter(
        (pl.col("origin") == "status")
        & (pl.col("status") == "failed")
        & pl.col("error").is_not_null()
    )
    if not failed.height:
        return schemas.empty(schemas.EVENTS)
    partition = pl.concat_str(
        pl.col("action").fill_null("step"),
        pl.lit(" "),
        pl.col("database").fill_null("?"),
        pl.when(pl.col("ordinal").is_not_null()).then(
            pl.lit(":") + pl.col("ordinal").cast(pl.String)
        ),
        ignore_nulls=True,
    )
    on = pl.when(pl.col("target").is_not_null()).then(pl.lit(" on ") + pl.col("target"))
    message = pl.concat_str(partition, on, pl.lit(" failed: "), "error", ignore_nulls=True)
    codes = tracelog.extract_fields(failed.select(pl.col("error").alias("message"))).collect()
    return schemas.conform(
        failed.select(
            pl.lit(master, dtype=pl.String).alias("node"),
            pl.col("source").str.replace(r":\d+$", "").alias("file"),
            pl.col("row_line").alias("line"),
            # no time: a status row says nothing of when, and an undated line scores
            # below a log line of the failure window (diagnose: "time unknown")
            pl.lit(None, dtype=schemas.EVENTS["ts"]).alias("ts"),
            pl.lit("ERROR").alias("level"),
            pl.lit(timeline.STATUS_COMPONENT).alias("component"),
            message.alias("message"),
            "database",
            "ordinal",
            "action",
            "phase_kind",
            "target",
        ).with_columns(codes.get_column("error_code")),
        schemas.EVENTS,
    )


#: The kind (files frame) of a file holding a failed rebalance statement, and the
#: component of the events made of it.
CLIENT_ERROR_KIND = "client_error"


def client_error_events(errors: Sequence[tables.ClientError]) -> pl.DataFrame:
    """The error a client printed for a failed rebalance statement (or a step run by
    hand), as an event the cause rules can match like a log line: level ERROR, message
    the error line as printed, the transcript's file and error line, step_event
    ``rebalance_failure`` of the database the statement names (none for REBALANCE ALL
    DATABASES) or ``step_failure`` of the step, with no node (the aggregator the client
    talked to is not named) and no time (a transcript does not say when). The error
    code and the leaf a ``Leaf Error (host:port)`` names are read from the error text;
    a step's partition and target from its statement (grammars/messages.toml)."""
    said = tracelog.extract_fields(pl.DataFrame({"message": [e.text for e in errors]})).collect()
    ran = tracelog.extract_fields(pl.DataFrame({"message": [e.statement for e in errors]}))
    stmt = ran.collect()
    step = pl.Series([e.event == "step_failure" for e in errors])
    rows = pl.DataFrame(
        {
            "file": [e.path for e in errors],
            "line": [e.line for e in errors],
            "message": [e.text for e in errors],
            "database": [e.database for e in errors],
            "step_event": [e.event for e in errors],
            "error_code": [e.code for e in errors],
        },
        schema_overrides={"error_code": pl.Int64, "database": pl.String},
    )
    of_step = {
        c: pl.when(step).then(stmt.get_column(c)) for c in ("ordinal", "action", "phase_kind")
    }
    return schemas.conform(
        rows.with_columns(
            pl.lit(None, dtype=pl.String).alias("node"),
            pl.lit(None, dtype=schemas.EVENTS["ts"]).alias("ts"),
            pl.lit("ERROR").alias("level"),
            pl.lit(CLIENT_ERROR_KIND).alias("component"),
            *(expr.alias(name) for name, expr in of_step.items()),
            pl.when(step)
            .then(stmt.get_column("target"))
            .otherwise(None)
            .fill_null(said.get_column("target"))
            .alias("target"),
            pl.col("error_code").fill_null(said.get_column("error_code")),
        ),
        schemas.EVENTS,
    )


def _skip_summary(files: pl.DataFrame) -> str:
    reasons = files.get_column("skipped_reason").drop_nulls().unique().sort().to_list()
    return "; ".join(reasons[:3]) or "no files"


def _path_renames(files: pl.DataFrame, known: Mapping[str, str], acc: _Acc) -> dict[str, str]:
    """File path -> ``host:port`` where the cluster tables (``known``: node -> role) or
    the bundle tell it. Of the names a file's path gives (a node folder, a ``<host>_<port>``
    part, the file name: ``NodeId.others``), the first that the tables know, in their
    spelling; else a node found without a port (a host folder, an sdb-report ``<host>-MA``
    folder) completed by the port of its folder's memsqlConfig.json, or the one node on
    that host the tables name for its role. Per file, not per name: an MA and a leaf of
    one host, both named by the host, become two nodes. A node folder whose files the
    tables placed by another name than the folder's is that node for all its files
    (:func:`_folder_renames`). Files that a folder name inside their archives or
    folders makes one node, under different hosts' names, are those hosts' (:func:`_apart`)."""
    rename: dict[str, str] = {}
    apart = _apart(files, acc)
    for path, node, role in files.select("path", "node", "role").iter_rows():
        if node is None:
            continue
        folder = acc.folders.get(path)
        port = acc.folder_ports.get(folder) if folder is not None else None
        others = acc.others.get(path, ())
        named = apart.get(path, node)
        if named != node:
            others = tuple(dict.fromkeys([node, *others]))
        resolved = chosen_node(named, others, role, known, port) or named
        if resolved != node:
            rename[path] = resolved
    return rename | _folder_renames(files, known, acc, rename)


def _apart(files: pl.DataFrame, acc: _Acc) -> dict[str, str]:
    """File path -> the host a folder farther up names (``NodeId.outer``), for files whose
    node is a folder name they share under different hosts: the per-node archives
    ``ip-10-0-1-13.tar.gz`` and ``ip-10-0-1-14.tar.gz`` both holding ``home/admin/
    tracelogs/memsql.log`` are two nodes, not the one node ``admin``."""
    by_node: dict[str, dict[str, str]] = {}
    for path, node in files.select("path", "node").iter_rows():
        if node is not None and path in acc.outer:
            by_node.setdefault(node, {})[path] = acc.outer[path][0]
    out: dict[str, str] = {}
    for hosts in by_node.values():
        first = next(iter(hosts.values()))
        if any(not same_host(first, host) for host in hosts.values()):
            out |= hosts
    return out


def _folder_renames(
    files: pl.DataFrame, known: Mapping[str, str], acc: _Acc, rename: Mapping[str, str]
) -> dict[str, str]:
    """Every file of a node folder is one node (SPEC §2.3): where a file of it was found
    to be a node of the tables by another name its path gives (``node-db7-LEAF/.../
    10.20.0.13_3306_memsql.log``), the folder's files the tables do not place (its
    showVariables.json, ``free``) are that node too, when it is one."""
    placed: dict[str, set[str]] = {}
    for path, folder in acc.folders.items():
        if path in rename and rename[path] in known:
            placed.setdefault(folder, set()).add(rename[path])
    out: dict[str, str] = {}
    for path, node in files.select("path", "node").iter_rows():
        nodes = placed.get(acc.folders.get(path, ""), set())
        if node is not None and path not in rename and len(nodes) == 1:
            out[path] = next(iter(nodes))
    return out


def _renamed(column: str, rename: Mapping[str, str]) -> pl.Expr:
    """``node`` renamed by the file (``column``: its path) it came from."""
    return (
        pl.col(column)
        .replace_strict(rename, default=pl.col("node"), return_dtype=pl.String)
        .alias("node")
    )


def _restarts_per_node(files: pl.DataFrame, per_path: Mapping[str, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for path, node in files.select("path", "node").iter_rows():
        if node is not None and path in per_path:
            out[node] = out.get(node, 0) + per_path[path]
    return out


def _declared_roles(files: pl.DataFrame) -> dict[str, str]:
    """Node -> the role its folder declares: a tracelog's folder first, else a table's."""
    roles: dict[str, str] = {}
    for node, role, kind in files.select("node", "role", "kind").iter_rows():
        if node is None or role in (None, "unknown"):
            continue
        if kind == tracelog.NAME:
            roles[node] = role
        else:
            roles.setdefault(node, role)
    return roles


def _roles(
    declared: Mapping[str, str],
    events: pl.DataFrame,
    leaves: pl.DataFrame,
    aggregators: pl.DataFrame | None = None,
) -> dict[str, str]:
    """Role per node: folder suffix, else SHOW AGGREGATORS / MV_NODES (the roles at its
    capture: after a failover the current master, not the one that ran the rebalance,
    which the timeline tells), else SHOW LEAVES, else the orchestrating node is the MA."""
    roles = dict(declared)
    listed = _aggregator_roles(aggregators)
    for node, role in listed.items():
        roles.setdefault(node, role)
    if leaves.height and "node" in leaves.columns:
        for node in leaves.get_column("node").drop_nulls().to_list():
            roles.setdefault(node, "leaf")
    if events.height and not _master_known(roles, declared, events):
        # the node that logs the rebalance's start and end; failing those, its steps (a
        # node the tables call a leaf or an aggregator excepted: a leaf may log the
        # copies it receives, and the tables' roles are the cluster's word)
        known = [n for n, r in roles.items() if r == "leaf"]
        known += [n for n in listed if n not in declared]
        for kinds in (_ORCHESTRATION, _STEP_LINES):
            said = (
                events.filter(pl.col("step_event").is_in(kinds) & ~pl.col("node").is_in(known))
                .group_by("node")
                .len()
                .sort(["len", "node"], descending=[True, False])
            )
            if said.height:
                roles[said.item(0, "node")] = "master_aggregator"
                break
    return roles


def _master_known(
    roles: Mapping[str, str], declared: Mapping[str, str], events: pl.DataFrame
) -> bool:
    """Whether a master aggregator is known: by its folder, or by the aggregator tables
    when it is a node of the logs (a master the tables spell otherwise than the logs, or
    whose log is not in the bundle, leaves the log content to tell)."""
    masters = {n for n, r in roles.items() if r == "master_aggregator"}
    if masters & {n for n, r in declared.items() if r == "master_aggregator"}:
        return True
    logged = events.filter(pl.col("node").is_in(list(masters))).height if masters else 0
    return logged > 0


def _aggregator_roles(aggregators: pl.DataFrame | None) -> dict[str, str]:
    """Node -> ``master_aggregator`` / ``child_aggregator`` by the aggregator tables (SHOW
    AGGREGATORS, MV_NODES), the latest capture last (``timeline.capture_order_key`` of
    its file, then its line): a node an earlier capture calls the master is a child
    aggregator once a later one names another master (a failover in between)."""
    if aggregators is None or not aggregators.height:
        return {}
    rows = aggregators.select("node", "role", "source").drop_nulls(["node", "role"]).rows()
    roles: dict[str, str] = {}
    for _, captured in itertools.groupby(sorted(rows, key=_capture_key), key=lambda r: r[2]):
        capture = {node: role for node, role, _ in captured}
        if "master_aggregator" in capture.values():
            roles = {n: "child_aggregator" if r == "master_aggregator" else r
                     for n, r in roles.items()}  # fmt: skip
        roles.update(capture)
    return roles


def _capture_key(row: tuple[str, str, str | None]) -> tuple[Any, ...]:
    path, _, line = (row[2] or "").rpartition(":")
    if not line.isdigit():
        path, line = row[2] or "", "0"
    return (*timeline.capture_order_key(path), int(line))


_ORCHESTRATION = ["rebalance_start", "rebalance_failure", "rebalance_success"]
_STEP_LINES = ["step_start", "step_failure", "step_success"]


def _nodes_frame(
    files: pl.DataFrame, roles: Mapping[str, str], restarts: Mapping[str, int]
) -> pl.DataFrame:
    logs = files.filter((pl.col("kind") == tracelog.NAME) & pl.col("skipped_reason").is_null())
    if not logs.height:
        return schemas.empty(NODES)
    grouped = (
        logs.group_by("node")
        .agg(pl.col("first_ts").min(), pl.col("last_ts").max(), pl.len().alias("files"))
        .sort("node")
    )
    return grouped.with_columns(
        pl.col("node")
        .replace_strict(roles, default="unknown", return_dtype=pl.String)
        .alias("role"),
        pl.col("node").replace_strict(restarts, default=0, return_dtype=pl.Int64).alias("restarts"),
    ).select(list(NODES.names()))
