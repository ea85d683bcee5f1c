"""Partition state -> redundancy, orphans, storage estimate, snapshot diff (SPEC §5.1).

The arithmetic is docs/CONTRACTS.md "Impact arithmetic", implemented exactly: fixture
``expected.json`` files are computed with it. Inputs are the PARTITIONS, VARIABLES,
DISK_USAGE and STEPS frames of ``forensics.schemas``. Text lives in grammars/recovery.toml.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

import polars as pl

from . import grammars
from .nodes import identify, resolve_ports

#: Roles that count towards redundancy, and role spellings folded onto the schema's.
COPY_ROLES = ("master", "replica")
PARTITION_ROLES = ("master", "replica", "orphan")
ROLE_SYNONYMS = {"slave": "replica", "secondary": "replica", "primary": "master"}

#: Words of a file or folder name that tell when a snapshot was taken, by time class
#: (grammars/snapshots.toml [order]): rank -> words.
_ORDER = grammars.load("snapshots")["order"]
ORDER_CLASSES: dict[int, tuple[str, ...]] = {
    int(c["rank"]): tuple(c["words"]) for c in _ORDER["classes"].values()
}
#: The class of a name without any of these words.
PLAIN_RANK: int = int(_ORDER["plain"])
#: Words naming the failure, not a time: they place a snapshot in it only when the name
#: holds no other word ("after_failure" is after it, "before_crash" before it).
EVENT_WORDS = frozenset(_ORDER["event_words"]["words"])
ORDER_WORDS: dict[str, int] = {w: rank for rank, words in ORDER_CLASSES.items() for w in words}
_EARLIEST = min(ORDER_CLASSES)
_WORD = re.compile(r"[a-z]+")
#: A copy a browser or a file manager made of ``name.ext``: ``name(1).ext``,
#: ``name (2).ext``, ``name - Copy.ext``, ``name - Copy (2).ext``, ``name copy 2.ext``.
_COPY_MARK = re.compile(grammars.load("snapshots")["copy_mark"]["pattern"], re.IGNORECASE)

P = ParamSpec("P")
R = TypeVar("R")

PHASES = ("copy", "promote", "drop")
REDUNDANCY_VARIABLE = "redundancy_level"


def _text() -> dict[str, Any]:
    return grammars.load("recovery")


# --------------------------------------------------------------------------- snapshots


def snapshot_order_key(snapshot: str) -> tuple[float, tuple[tuple[int, int, str], ...], int]:
    """Sort key of a snapshot name ``path#n``: name class, member path (numbers in it
    compared as numbers: ``partitions_9`` before ``partitions_10``; a numbered copy
    ``partitions(1).csv`` after ``partitions.csv``), table index."""
    path, index = _split_index(snapshot)
    return name_rank(path), _path_key(path), index


def without_shared_folders(names: Iterable[str]) -> dict[str, str]:
    """Each name without the folders every one of them is in: a folder all the captures
    share ("incident-during/") tells nothing about which of them was taken later, and
    must not stand for the time class of a file whose own name has no word."""
    given = list(dict.fromkeys(names))
    folders = [name.split("/")[:-1] for name in given]
    shared = 0
    for parts in zip(*folders, strict=False):
        if len(set(parts)) > 1:
            break
        shared += 1
    return {name: "/".join(name.split("/")[shared:]) for name in given}


#: The clocks capture times are read from (grammars/snapshots.toml [clocks]).
_CLOCKS = grammars.load("snapshots")["clocks"]
#: Two capture times further apart than this order their snapshots whatever their clocks:
#: no two time zones are further apart (UTC-12 to UTC+14).
FAR_APART = timedelta(hours=float(_CLOCKS["far_hours"]))
_ZONED = re.compile(r"UTC(?P<sign>[+-])(?P<h>\d{2}):(?P<m>\d{2})")


@dataclass(frozen=True)
class Capture:
    """When a snapshot was captured, as its file tells, and the clock that told it (the
    ``captured_at`` and ``capture_clock`` columns): "server" (SELECT NOW()), "client" (a
    prompt stamp, a `date` output naming no zone known), "UTC+hh:mm" (UTC_TIMESTAMP(), a
    `date` output naming its zone), or None (not said)."""

    at: datetime  # as the clock read it (naive)
    clock: str | None

    @property
    def utc(self) -> datetime | None:
        """The time in UTC when the clock's zone is known."""
        m = _ZONED.fullmatch(self.clock or "")
        if m is None:
            return None
        offset = timedelta(hours=int(m["h"]), minutes=int(m["m"]))
        return self.at - offset if m["sign"] == "+" else self.at + offset

    def described(self) -> str:
        return str(_CLOCKS["described"].get(self.clock or "", self.clock or "an unnamed clock"))


#: Snapshot -> when it was captured, as its file tells (:class:`Capture`), for the impact
#: being computed (:func:`captured_times`).
_CAPTURED: ContextVar[Mapping[str, Capture]] = ContextVar("captured", default=MappingProxyType({}))
#: The databases the snapshots name, for the impact being computed: a word of their names
#: in a caption is no time word (a database "old_orders" says nothing of when).
_NAMED: ContextVar[frozenset[str]] = ContextVar("named_databases", default=frozenset())
#: Snapshot -> the caption of its table (schemas.PARTITIONS ``caption``), for the impact
#: being computed (:func:`captured_times`).
_CAPTIONS: ContextVar[Mapping[str, str]] = ContextVar("captions", default=MappingProxyType({}))


def caption_of(snapshot: str) -> str | None:
    """The caption of a snapshot's table (None when it has none), in :func:`captured_times`."""
    return _CAPTIONS.get().get(snapshot)


@contextmanager
def captured_times(partitions: pl.DataFrame) -> Iterator[None]:
    """Order the snapshots of ``partitions`` by the capture times their files tell, where
    two both have one and their clocks compare (:func:`capture_order`), within this block
    (names order the others)."""
    times: dict[str, Capture] = {}
    if "captured_at" in partitions.columns:
        clock = pl.col("capture_clock") if "capture_clock" in partitions.columns else pl.lit(None)
        stamped = partitions.filter(pl.col("captured_at").is_not_null())
        latest = (
            stamped.sort("captured_at")
            .group_by("snapshot")
            .agg(pl.col("captured_at").last(), clock.cast(pl.String).last().alias("clock"))
        )
        times = {s: Capture(at, kind) for s, at, kind in latest.iter_rows()}
    names = partitions.get_column("database").drop_nulls().unique().to_list()
    captions: dict[str, str] = {}
    if "caption" in partitions.columns:
        captioned = partitions.filter(pl.col("caption").is_not_null())
        captions = dict(captioned.select("snapshot", "caption").unique("snapshot").iter_rows())
    token, named = _CAPTURED.set(times), _NAMED.set(frozenset(names))
    said = _CAPTIONS.set(captions)
    try:
        yield
    finally:
        _CAPTURED.reset(token)
        _NAMED.reset(named)
        _CAPTIONS.reset(said)


def _ordered_by_capture(compute: Callable[P, R]) -> Callable[P, R]:
    """``compute`` (whose first argument is the partitions frame) with its snapshots
    ordered by the capture times the frame carries (:func:`captured_times`)."""

    @functools.wraps(compute)
    def ordered(*args: P.args, **kwargs: P.kwargs) -> R:
        partitions = args[0] if args else kwargs["partitions"]
        assert isinstance(partitions, pl.DataFrame)
        with captured_times(partitions):
            return compute(*args, **kwargs)

    return ordered


def capture_order(a: str, b: str) -> tuple[int, str | None]:
    """Whether snapshot ``a`` was captured after ``b`` (1), before (-1) or neither tells
    (0, also for equal times) by the capture times their files tell, and the rule by which
    they compare (None when they do not): "server"
    (both SELECT NOW() results of the server), "session" (both a client's stamps in one
    file: one session), "zoned" (both in a zone they name, compared in UTC), "far" (further
    apart than any two zones: :data:`FAR_APART`). Clocks of unknown zones that are not the
    same kind of clock order nothing: a client in Chicago stamps 09:20 at 14:20 UTC."""
    times = _CAPTURED.get()
    ca, cb = times.get(a), times.get(b)
    if ca is None or cb is None:
        return 0, None
    utc_a, utc_b = ca.utc, cb.utc
    if utc_a is not None and utc_b is not None:
        rule, ta, tb = "zoned", utc_a, utc_b
    elif ca.clock == cb.clock == "server":
        rule, ta, tb = "server", ca.at, cb.at
    elif ca.clock == cb.clock == "client" and _split_index(a)[0] == _split_index(b)[0]:
        rule, ta, tb = "session", ca.at, cb.at
    else:
        rule, ta, tb = "far", utc_a or ca.at, utc_b or cb.at
        if abs(ta - tb) <= FAR_APART:
            return 0, None
    return (ta > tb) - (ta < tb), rule


def in_time_order(names: Iterable[str]) -> list[str]:
    """Snapshot (or capture) names oldest first: by the capture times their files tell
    when every one has one and every two compare (:func:`capture_order`), else by
    :func:`snapshot_order_key` of each name without the folders they all share
    (:func:`without_shared_folders`)."""
    relative = without_shared_folders(names)
    times = _CAPTURED.get()
    timed = len(relative) > 1 and all(name in times for name in relative)
    if timed and all(capture_order(a, b)[1] for a, b in itertools.combinations(relative, 2)):

        def compare(a: str, b: str) -> int:
            by_time = capture_order(a, b)[0]
            key_a, key_b = snapshot_order_key(relative[a]), snapshot_order_key(relative[b])
            return by_time or (key_a > key_b) - (key_a < key_b)

        return sorted(relative, key=functools.cmp_to_key(compare))
    return _by_captions(sorted(relative, key=lambda name: snapshot_order_key(relative[name])))


def _by_captions(names: list[str]) -> list[str]:
    """``names`` (in order) with the tables of each file that have a caption giving a
    time class (:func:`caption_rank`) put in the order of those classes, in the places
    they held (a table without one keeps its place: it tells nothing)."""
    out = list(names)
    for _, group in itertools.groupby(range(len(out)), key=lambda i: _split_index(out[i])[0]):
        slots = [i for i in group if caption_rank(out[i]) is not None]
        ranked = sorted(
            (out[i] for i in slots), key=lambda s: (caption_rank(s), _split_index(s)[1])
        )
        for i, name in zip(slots, ranked, strict=True):
            out[i] = name
    return out


def caption_rank(snapshot: str) -> float | None:
    """The time class the caption of a snapshot's table gives (the text right before it
    in its file: "Partitions now:", "-- before the rebalance"), as :func:`name_rank`
    reads a name; words of a database's name do not count. None without a caption or
    without any time word in it."""
    caption = caption_of(snapshot)
    if not caption:
        return None
    text = caption.lower()
    for database in _NAMED.get():
        text = re.sub(rf"(?<![\w$]){re.escape(database.lower())}(?![\w$])", " ", text)
    return _words_rank(_WORD.findall(text))


def _caption_order(a: str, b: str) -> int:
    """1 when the captions of two tables of one file say ``a`` was taken after ``b``, -1
    before, 0 when either says nothing or both say the same class."""
    rank_a, rank_b = caption_rank(a), caption_rank(b)
    if rank_a is None or rank_b is None or rank_a == rank_b:
        return 0
    return 1 if rank_a > rank_b else -1


def name_rank(path: str) -> float:
    """The time class a path's words give (:data:`ORDER_CLASSES`; :data:`PLAIN_RANK`
    without any): the file's own name first, then its folders from the nearest (a bundle
    named "sales-postmortem" must not make its partitions_before.txt the late one). A
    name with several such words takes the latest ("before_retry" is after a failure);
    words naming the failure count only alone (:data:`EVENT_WORDS`)."""
    for part in reversed(path.lower().split("/")):
        rank = _words_rank(_WORD.findall(part))
        if rank is not None:
            return rank
    return PLAIN_RANK


def _words_rank(found: Sequence[str]) -> float | None:
    """The latest time class of ``found`` words (event words only alone); None without any.
    A word of the earliest class right before a later one places the name just before
    that one: "before_retry" is after a plain capture and before "after_retry"."""
    words = [w for w in found if w in ORDER_WORDS]
    timed = [w for w in words if w not in EVENT_WORDS] or words
    if not timed:
        return None
    ranks: list[float] = [ORDER_WORDS[w] for w in timed]
    for first, second in itertools.pairwise(found):
        if ORDER_WORDS.get(first) == _EARLIEST and second not in EVENT_WORDS:
            later = ORDER_WORDS.get(second, _EARLIEST)
            if later > PLAIN_RANK:
                ranks = [r for r in ranks if r != later] + [later - 0.5]
    return max(ranks)


def _split_index(snapshot: str) -> tuple[str, int]:
    path, sep, index = snapshot.rpartition("#")
    return (path, int(index)) if sep and index.isdigit() else (snapshot, 0)


def _copy_split(path: str) -> tuple[str, int]:
    """``path`` without a copy mark (:data:`_COPY_MARK`) and the copy's number (0 for
    the original): a browser saves a second download of partitions.csv as
    partitions(1).csv, which sorts before it as text."""
    folder, slash, name = path.rpartition("/")
    stem, dot, ext = name.rpartition(".") if "." in name.lstrip(".") else (name, "", "")
    m = _COPY_MARK.search(stem)
    if m is None or m.start() == 0:
        return path, 0
    number = m.group("paren") or m.group("win") or m.group("mac") or "1"
    return f"{folder}{slash}{stem[: m.start()]}{dot}{ext}", int(number)


def _path_key(path: str) -> tuple[tuple[int, int, str], ...]:
    """The path as a key with numbers compared as numbers, a copy right after its original."""
    base, copy_number = _copy_split(path)
    return _natural(base) + (((2, copy_number, ""),) if copy_number else ())


def _name_order(a: str, b: str) -> int:
    """1 when snapshot ``a``'s name says it was taken after ``b``'s, -1 before, 0 when the
    names do not tell: a later name class; both file names led by a number
    (``02_cluster_status`` after ``01_partitions``); copies of one file (``(1)`` after
    the original); names that differ in their numbers only (``status_10`` after
    ``status_9``, in one folder: a node's address orders nothing). Anything else is the
    path's spelling, which tells no time. Capture times both files tell come first, when
    their clocks compare (:func:`capture_order`)."""
    by_time, _ = capture_order(a, b)
    if by_time:
        return by_time
    if _split_index(a)[0] == _split_index(b)[0]:
        return _caption_order(a, b)
    relative = without_shared_folders([_split_index(a)[0], _split_index(b)[0]])
    path_a, path_b = relative[_split_index(a)[0]], relative[_split_index(b)[0]]
    rank_a, rank_b = name_rank(path_a), name_rank(path_b)
    if rank_a != rank_b:
        return 1 if rank_a > rank_b else -1
    num_a, num_b = _leading_number(path_a), _leading_number(path_b)
    if num_a is not None and num_b is not None and num_a != num_b:
        return 1 if num_a > num_b else -1
    (base_a, copy_a), (base_b, copy_b) = _copy_split(path_a), _copy_split(path_b)
    if base_a == base_b and copy_a != copy_b:
        return 1 if copy_a > copy_b else -1
    (dir_a, _, name_a), (dir_b, _, name_b) = base_a.rpartition("/"), base_b.rpartition("/")
    key_a, key_b = _natural(name_a), _natural(name_b)
    if dir_a == dir_b and key_a != key_b and _skeleton(key_a) == _skeleton(key_b):
        return 1 if key_a > key_b else -1
    return 0


def _later_by_name(a: str, b: str) -> bool:
    """Whether snapshot ``a`` was taken after ``b`` as far as their names tell
    (:func:`_name_order`)."""
    return _name_order(a, b) > 0


def _unordered(a: str, b: str) -> bool:
    """Two snapshots in different files that only the spelling of their paths orders (two
    tables of one file are in the order the session ran them)."""
    return _split_index(a)[0] != _split_index(b)[0] and _name_order(a, b) == 0


def _leading_number(path: str) -> int | None:
    m = re.match(r"\d+", path.rsplit("/", 1)[-1])
    return int(m.group(0)) if m else None


def _skeleton(key: tuple[tuple[int, int, str], ...]) -> tuple[str, ...]:
    return tuple(part for kind, _, part in key if kind)


def _natural(text: str) -> tuple[tuple[int, int, str], ...]:
    """``text`` as a key in which runs of digits compare by their value."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in re.findall(r"\d+|\D+", text)
    )


def normalise_partitions(partitions: pl.DataFrame) -> pl.DataFrame:
    """Partition copies only (no reference copies), roles folded to master/replica/orphan."""
    role = pl.col("role").str.to_lowercase().str.strip_chars().replace(ROLE_SYNONYMS)
    return (
        partitions.with_columns(
            role.alias("role"),
            pl.col("snapshot").fill_null(""),
            pl.col("snapshot_kind").fill_null("partitions"),
        )
        .filter(
            pl.col("role").is_in(PARTITION_ROLES)
            & pl.col("ordinal").is_not_null()
            & pl.col("database").is_not_null()
            & pl.col("node").is_not_null()
        )
        .unique(subset=["database", "ordinal", "node", "role", "snapshot"], maintain_order=True)
    )


def _unnamed_snapshots(
    partitions: pl.DataFrame, databases: Iterable[str]
) -> tuple[pl.DataFrame, list[str]]:
    """A snapshot pasted without its statement names no database. When the bundle
    concerns one database only (in the rebalances and the other snapshots), its rows are
    read as that database's; when it names none at all, as those of a database the bundle
    does not name (its impact still counts: a partition without a master is one whatever
    the name); when it names several, they stay unnamed and unused. Each with a warning."""
    unnamed = partitions.filter(pl.col("database").is_null())
    if not unnamed.height:
        return partitions, []
    named = partitions.get_column("database").drop_nulls().unique().to_list()
    candidates = sorted({*databases, *named})
    sources = ", ".join(sorted(unnamed.get_column("snapshot").drop_nulls().unique().to_list()))
    text = _text()["impact"]
    if len(candidates) > 1:
        unused = text["warnings"]["snapshot_database_unknown"]
        return partitions, [unused.format(sources=sources or "a snapshot")]
    database = candidates[0] if candidates else text["unnamed_database"]
    key = "snapshot_database_assumed" if candidates else "snapshot_database_unnamed"
    filled = partitions.with_columns(pl.col("database").fill_null(database))
    warning = text["warnings"][key].format(sources=sources or "a snapshot", database=database)
    return filled, [warning]


def _latest_leaves(leaves: pl.DataFrame) -> pl.DataFrame:
    """Each leaf's row from the latest SHOW LEAVES capture that lists it (captures in
    the order of their names, as snapshots: a leaf offline in an older capture and online
    in a newer one is online)."""
    if "source" not in leaves.columns or leaves.get_column("source").n_unique() < 2:
        return leaves
    sources = leaves.get_column("source").drop_nulls().unique().to_list()
    order = {s: i for i, s in enumerate(in_time_order(sources))}
    ranked = leaves.with_columns(
        pl.col("source").replace_strict(order, default=-1, return_dtype=pl.Int64).alias("_at")
    )
    return ranked.sort("_at").unique("node", keep="last", maintain_order=True).drop("_at")


def dead_leaves(leaves: pl.DataFrame | None) -> pl.DataFrame:
    """node, state of the leaves that their latest SHOW LEAVES capture shows down."""
    if leaves is None or not leaves.height:
        return pl.DataFrame(schema={"node": pl.String, "state": pl.String})
    return _latest_leaves(leaves).filter(_dead()).select("node", "state").drop_nulls()


def _dead() -> pl.Expr:
    """A ``state`` column value in which a copy or a leaf serves nothing (DEAD_STATES)."""
    return pl.col("state").str.strip_chars().str.to_lowercase().is_in(list(DEAD_STATES))


def _serving(state: str | None) -> bool:
    return (state or "").strip().lower() not in DEAD_STATES


def _down_leaves(leaves: pl.DataFrame | None) -> list[str]:
    return sorted(dead_leaves(leaves).get_column("node").to_list())


def _unmatched_leaves(rows: pl.DataFrame, leaves: pl.DataFrame | None) -> list[str]:
    """A warning when SHOW LEAVES and the snapshots name the nodes differently (names
    in one, addresses in the other): the leaves' states then apply to no copy."""
    if leaves is None or not leaves.height or not rows.height:
        return []
    listed = set(leaves.get_column("node").drop_nulls().to_list())
    held = set(rows.get_column("node").drop_nulls().to_list())
    if not listed or listed & held:
        return []
    return [
        _text()["impact"]["warnings"]["leaves_unmatched"].format(
            leaves=", ".join(sorted(listed)[:3]), copies=", ".join(sorted(held)[:3])
        )
    ]


def _on_dead_leaves(rows: pl.DataFrame, leaves: pl.DataFrame | None) -> pl.DataFrame:
    """Copies on a leaf that SHOW LEAVES shows offline (or detached, ...) take its state:
    a partition snapshot says Master while the leaf holding it is down."""
    dead = dead_leaves(leaves)
    if not dead.height:
        return rows
    down = dict(dead.unique("node", keep="last").iter_rows())
    on_dead = pl.col("node").replace_strict(down, default=None, return_dtype=pl.String)
    return rows.with_columns(pl.coalesce(on_dead, pl.col("state")).alias("state"))


def _ordered_snapshots(frame: pl.DataFrame) -> list[str]:
    """Snapshots of one kind, oldest first (:func:`snapshot_order_key`). When nothing
    orders the latest against another one (:func:`_unordered`) and the two disagree on
    masters or orphans, the one showing more risk goes last: reading a clean but older
    snapshot as the latest would open a cleanup the other one blocks (SPEC §5.2)."""
    names = in_time_order(frame["snapshot"].unique().to_list())
    tied = [s for s in names[:-1] if _unordered(s, names[-1])] + names[-1:]
    if len(tied) < 2:
        return names
    risks = _risks(frame.filter(pl.col("snapshot").is_in(tied)))
    if len({risks[s][1] for s in tied}) < 2:
        return names
    riskiest = max(tied, key=lambda s: (risks[s][0], tied.index(s)))
    return [s for s in names if s != riskiest] + [riskiest]


def order_note(db_rows: pl.DataFrame, database: str, before: str, after: str) -> str:
    """The assumption that ``before`` was taken before ``after``, naming the rule that put
    them in that order (grammars/snapshots.toml [order.notes]): their capture times (and
    by which clocks), their order in one file, their names, or, when nothing tells, the
    side of the risk (or the spelling of their paths when they agree on it)."""
    notes = _ORDER["notes"]
    times = _CAPTURED.get()
    fields: dict[str, Any] = {"far_hours": _CLOCKS["far_hours"]}
    if before in times and after in times:
        fields |= {
            "time_before": times[before].at,
            "time_after": times[after].at,
            "clock_before": times[before].described(),
            "clock_after": times[after].described(),
        }
    by_time, clocks = capture_order(after, before)
    if by_time > 0 and clocks is not None:
        rule = notes[f"capture_{clocks}"].format(**fields)
    elif _caption_order(after, before) > 0:
        quoted = {"caption_before": caption_of(before), "caption_after": caption_of(after)}
        rule = notes["caption"].format(**quoted)
    elif _split_index(before)[0] == _split_index(after)[0]:
        rule = notes["file"]
    elif _name_order(after, before) > 0:
        rule = notes["names"]
    else:
        differ = notes["clocks_differ"].format(**fields) if "time_before" in fields else ""
        risks = _risks(db_rows.filter(pl.col("snapshot").is_in([before, after])))
        key = "risk" if risks[before][1] != risks[after][1] else "spelling"
        rule = notes[key].format(clocks=differ)
    return str(
        notes["snapshot_order"].format(database=database, before=before, after=after, rule=rule)
    )


def _risks(rows: pl.DataFrame) -> dict[str, tuple[tuple[int, int], tuple[str, ...]]]:
    """Per snapshot of ``rows``: (partitions without a working master among every
    ordinal the rows name, orphans), and its masters and orphans as text to compare."""
    last = rows.get_column("ordinal").max()
    count = int(last) + 1 if isinstance(last, int) else 0
    working = _working_copies(rows, "master").with_columns(pl.lit("master").alias("role"))
    marks = (
        pl.concat([working, rows.filter(pl.col("role") == "orphan")])
        .group_by("snapshot")
        .agg(
            (count - pl.col("ordinal").filter(pl.col("role") == "master").n_unique()).alias("bare"),
            (pl.col("role") == "orphan").sum().alias("orphans"),
            pl.format("{}:{}:{}", "role", "ordinal", "node").sort().alias("marks"),
        )
    )
    out: dict[str, tuple[tuple[int, int], tuple[str, ...]]] = {
        s: ((count, 0), ()) for s in rows.get_column("snapshot").unique().to_list()
    }
    for snapshot, bare, orphans, listed in marks.iter_rows():
        out[snapshot] = ((bare, orphans), tuple(listed))
    return out


def _copies(frame: pl.DataFrame, snapshot: str, roles: Iterable[str]) -> pl.DataFrame:
    return frame.filter((pl.col("snapshot") == snapshot) & pl.col("role").is_in(list(roles)))


#: Texts of a snapshot set aside as taken before the rebalance (grammars/snapshots.toml).
_STALE = grammars.load("snapshots")["stale"]
_BEFORE = min(ORDER_CLASSES)


def stale_reason(snapshot: str, start: datetime | None = None, log_zone: str = "UTC") -> str | None:
    """Why ``snapshot`` was captured before the rebalance, or None when nothing says so:
    its file name or the folder holding it (not the bundle's own folder, the first of
    the path: a bundle called "pre-prod" says nothing of its captures), its caption (:func:`caption_rank`), or its
    capture time before ``start`` (the failed rebalance's first step, UTC) on a clock that
    compares with the logs: a zoned one, or the server's read as the logs are, in
    ``log_zone``. Such a snapshot is no state after the failure."""
    parts = _split_index(snapshot)[0].split("/")
    if name_rank("/".join(parts[-2:] if len(parts) > 2 else parts[-1:])) == _BEFORE:
        return str(_STALE["name"])
    if caption_rank(snapshot) == _BEFORE:
        return str(_STALE["caption"].format(caption=caption_of(snapshot)))
    capture = _CAPTURED.get().get(snapshot)
    if capture is None or start is None:
        return None
    start_utc = start.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    if capture.utc is not None:
        at, begin = capture.utc, start_utc
    elif capture.clock == "server":
        at, begin = capture.at, start.astimezone(ZoneInfo(log_zone)).replace(tzinfo=None)
    else:  # a client's clock of unknown zone: only further back than any zone can be
        at, begin = capture.at, start_utc - FAR_APART
    if at >= begin:
        return None
    fields = {"time": capture.at, "clock": capture.described(), "start": start.isoformat()}
    return str(_STALE["time"].format(**fields))


def _set_aside(
    db_rows: pl.DataFrame, database: str, start: datetime | None, log_zone: str
) -> tuple[list[str], list[str]]:
    """The snapshots of one database taken before the rebalance (:func:`stale_reason`),
    and a note for each that would otherwise have been read as the latest of its kind."""
    stale: list[str] = []
    notes: list[str] = []
    for kind in ("partitions", "cluster_status"):
        names = _ordered_snapshots(db_rows.filter(pl.col("snapshot_kind") == kind))
        for name in names:
            why = stale_reason(name, start, log_zone)
            if why is None:
                continue
            stale.append(name)
            if name == names[-1]:
                fields = {"database": database, "snapshot": name, "why": why}
                notes.append(str(_STALE["set_aside"].format(**fields)))
    return stale, notes


@dataclass(frozen=True)
class Snapshot:
    """The copies of one database used for the impact, and where they came from."""

    copies: pl.DataFrame  # columns ordinal, node, role (deduplicated)
    partitions_snapshot: str | None
    cluster_snapshot: str | None
    # copies the partitions snapshot lists as master/replica and the cluster status as
    # orphan (ordinal, node, role in the partitions snapshot), and the snapshot that won
    disputed: tuple[tuple[int, str, str], ...] = ()
    disputed_winner: str | None = None
    # assumptions the choice of snapshots rests on (grammars/recovery.toml)
    notes: tuple[str, ...] = ()
    # warnings about the snapshots read (a truncated one no complete snapshot makes up for)
    warnings: tuple[str, ...] = ()
    # a cut partitions snapshot nothing completes: the first ordinal whose copies may be
    # missing from it, and where it is cut (``file:line``)
    unknown_from: int | None = None
    cut_at: str | None = None


_SNAPSHOT_COLUMNS = ("ordinal", "node", "role", "state", "position")


def latest_snapshot(db_rows: pl.DataFrame) -> Snapshot:
    """Latest view of one database: master/replica from the latest ``partitions``
    snapshot (else the latest ``cluster_status``, or when the latter's name says it was
    taken later and it shows masters or replicas), orphans from the latest
    ``cluster_status`` (plus any orphan rows of the chosen ``partitions`` snapshot).
    A copy both list (a replica there, an orphan here) is one copy: see :func:`_settle`.
    When nothing orders the two and the cluster status shows a partition without a
    master that the partitions snapshot masters, the cluster status is read (with a
    note): the safer reading never opens a cleanup the other snapshot would block."""
    by_kind = {
        kind: _ordered_snapshots(db_rows.filter(pl.col("snapshot_kind") == kind))
        for kind in ("partitions", "cluster_status")
    }
    part = by_kind["partitions"][-1] if by_kind["partitions"] else None
    clus = by_kind["cluster_status"][-1] if by_kind["cluster_status"] else None
    served = clus is not None and _copies(db_rows, clus, COPY_ROLES).height > 0
    if part is not None and clus is not None and served and _later_by_name(clus, part):
        part = None  # a later cluster status shows masters and replicas too
    snap = _completed(_combined(db_rows, part, clus), db_rows, clus if served else None)
    if part is None or clus is None or not served or not _unordered(part, clus):
        return snap
    both = db_rows.filter(pl.col("snapshot").is_in([part, clus]))
    hidden = _unmastered(_copies(db_rows, clus, COPY_ROLES), both) - _unmastered(snap.copies, both)
    if not hidden:
        return snap
    note = _text()["impact"]["assumptions"]["snapshot_order_risk"].format(
        database=db_rows.get_column("database")[0],
        chosen=clus,
        other=part,
        ordinals=", ".join(map(str, sorted(hidden))),
    )
    return Snapshot(_combined(db_rows, None, clus).copies, None, clus, notes=(note,))


def _gone_databases(rows: pl.DataFrame, failed: set[str]) -> dict[str, str]:
    """Database -> warning, for each database that a SHOW CLUSTER STATUS of the whole
    cluster (it lists other databases) taken after every snapshot of it does not list: it
    was dropped since (a scratch database of the incident), and its older rows would
    count as a live database's. A database whose rebalance failed stays (its rows are
    the impact asked for, and a cut capture may just lack them)."""
    status = rows.filter(pl.col("snapshot_kind") == "cluster_status")
    if "truncated_at" in status.columns:  # a cut capture lacks rows, not databases
        cut = status.filter(pl.col("truncated_at").is_not_null()).get_column("snapshot")
        status = status.filter(~pl.col("snapshot").is_in(cut.unique().implode()))
    by_snapshot = dict(status.group_by("snapshot").agg(pl.col("database").unique()).iter_rows())
    whole = {s: set(dbs) for s, dbs in by_snapshot.items() if len(set(dbs)) > 1}
    out: dict[str, str] = {}
    for database, own in rows.group_by("database").agg(pl.col("snapshot").unique()).iter_rows():
        if database in failed:
            continue
        later = [
            s
            for s, listed in whole.items()
            if database not in listed and all(_taken_after(s, o) for o in own)
        ]
        if later:
            out[database] = _text()["impact"]["warnings"]["database_gone"].format(
                database=database,
                later=in_time_order(later)[-1],
                own=", ".join(in_time_order(own)),
            )
    return out


def _taken_after(a: str, b: str) -> bool:
    """Whether snapshot ``a`` was taken after ``b``: the later table of one file (a
    session runs them in order), else as their names tell (:func:`_later_by_name`)."""
    (path_a, index_a), (path_b, index_b) = _split_index(a), _split_index(b)
    if path_a == path_b and not _caption_order(a, b):
        return index_a > index_b
    return _later_by_name(a, b)


def _cut_line(db_rows: pl.DataFrame, snapshot: str | None) -> int | None:
    """The line where ``snapshot``'s table shows it was cut; None when it is complete."""
    if snapshot is None or "truncated_at" not in db_rows.columns:
        return None
    cut = db_rows.filter(pl.col("snapshot") == snapshot).get_column("truncated_at").max()
    return int(cut) if isinstance(cut, int) else None


def _unknown_from(db_rows: pl.DataFrame, snapshot: str) -> int:
    """The first ordinal whose copies a cut ``snapshot`` may not show all of: its last
    row's, when its rows come in the order of their ordinals (SHOW PARTITIONS sorts them:
    rows after the cut are of that ordinal or later ones); else 0 (any may lack rows)."""
    ordinals = db_rows.filter(pl.col("snapshot") == snapshot).get_column("ordinal")
    if not ordinals.len():
        return 0
    ascending = bool((ordinals.diff().drop_nulls() >= 0).all())
    return int(ordinals[-1]) if ascending else 0


def _completed(snap: Snapshot, db_rows: pl.DataFrame, clus: str | None) -> Snapshot:
    """A cut partitions snapshot (no closing border, fewer rows than announced) lacks
    rows, not copies: the copies it may not show (ordinals from :func:`_unknown_from` on)
    are read from the complete cluster status, unless that is named as taken before it
    (an older capture may show a master lost since). Without one, they stay as the cut
    snapshot shows them (a partition it shows no master of counts as without one: never
    open a cleanup on rows nobody saw), with a warning naming the cut."""
    part = snap.partitions_snapshot
    cut = _cut_line(db_rows, part)
    if part is None or cut is None:
        return snap
    text = _text()["impact"]
    first = _unknown_from(db_rows, part)
    fields = {
        "database": db_rows.get_column("database")[0],
        "snapshot": part,
        "cut": f"{_split_index(part)[0]}:{cut}",
        "first": first,
    }
    usable = (
        clus is not None and _cut_line(db_rows, clus) is None and not _later_by_name(part, clus)
    )
    if not usable:
        warning = text["warnings"]["snapshot_truncated"].format(**fields)
        return _replace(
            snap, warnings=(*snap.warnings, warning), unknown_from=first, cut_at=fields["cut"]
        )
    key = ["ordinal", "node"]
    found = (
        _copies(db_rows, clus or "", COPY_ROLES)
        .filter(pl.col("ordinal") >= first)
        .select(_SNAPSHOT_COLUMNS)
        .join(snap.copies.select(key), on=key, how="anti")
    )
    copies = pl.concat([snap.copies, found]).sort("ordinal", "node", "role")
    note = text["assumptions"]["snapshot_truncated_filled"].format(**fields, other=clus)
    return _replace(snap, copies=copies, notes=(*snap.notes, note))


def _replace(snap: Snapshot, **changes: Any) -> Snapshot:
    return Snapshot(**{**snap.__dict__, **changes})


def _unmastered(copies: pl.DataFrame, listing: pl.DataFrame) -> set[int]:
    """Ordinals up to the highest ``listing`` names that ``copies`` shows no working master of."""
    last = listing.get_column("ordinal").max()
    mastered = _working_copies(copies, "master").get_column("ordinal").to_list()
    return set(range(int(last) + 1 if isinstance(last, int) else 0)) - set(mastered)


def _combined(db_rows: pl.DataFrame, part: str | None, clus: str | None) -> Snapshot:
    """The copies of ``part`` (masters, replicas, orphans) and the orphans of ``clus``
    (all its copies without ``part``), one role per copy (:func:`_settle`)."""
    empty = db_rows.head(0).select(_SNAPSHOT_COLUMNS)
    listed = _copies(db_rows, part, PARTITION_ROLES).select(_SNAPSHOT_COLUMNS) if part else empty
    found = (
        _copies(db_rows, clus, ("orphan",) if part else PARTITION_ROLES).select(_SNAPSHOT_COLUMNS)
        if clus
        else empty
    )
    disputed: tuple[tuple[int, str, str], ...] = ()
    winner = None
    notes: tuple[str, ...] = ()
    if part is not None and clus is not None:
        status = _copies(db_rows, clus, PARTITION_ROLES)
        listed, notes = _down_in_either(listed, status, db_rows["database"][0], (part, clus))
        listed, found, disputed, winner = _settle(listed, found, part, clus)
    copies = (
        pl.concat([listed, found])
        .unique(subset=["ordinal", "node", "role"], keep="first", maintain_order=True)
        .sort("ordinal", "node", "role")
    )
    return Snapshot(copies, part, clus, disputed, winner, notes=notes)


def _down_in_either(
    listed: pl.DataFrame, status: pl.DataFrame, database: str, captures: tuple[str, str]
) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """The copies ``listed`` of the partitions snapshot with the state ``status`` (the
    cluster status's rows; ``captures``: the names of both) gives the same copy (ordinal,
    node) where that state serves nothing (:data:`DEAD_STATES`) and ``listed``'s does, or says
    nothing (SHOW PARTITIONS has no state): the two are captures of about the same time,
    and a copy either shows down keeps nothing available (an unrecoverable master is no
    master, and the orphan of its partition may hold the only good copy). The safe
    reading wins, with an assumption naming the copies; only a replica the partitions
    view gives a serving state of (DISTRIBUTED_PARTITIONS) that the cluster status shows
    on its way to serving (:data:`ON_THE_WAY`: a COPY's replica still provisioning) keeps
    the view's state."""
    key = ["ordinal", "node"]
    down = (
        status.filter(_dead().fill_null(False))
        .select(*key, pl.col("state").alias("_down"))
        .unique(key, keep="first")
    )
    joined = listed.join(down, on=key, how="left")
    said = pl.col("state").fill_null("").str.strip_chars() != ""
    on_the_way = pl.col("_down").str.strip_chars().str.to_lowercase().is_in(list(ON_THE_WAY))
    # a replica the partitions view shows serving and the cluster status on its way there
    # (a copy still provisioning) keeps the view's state: it may have got there meanwhile
    kept = said & on_the_way & (pl.col("role") == "replica")
    taken = pl.col("_down").is_not_null() & ~_dead().fill_null(False) & ~kept
    changed = joined.filter(taken)
    if not changed.height:
        return listed, ()
    copies = ", ".join(
        f"{database}:{o} on {n} {st} ({r})"
        for o, n, r, st in changed.select("ordinal", "node", "role", "_down").sort(key).iter_rows()
    )
    note = _text()["impact"]["assumptions"]["state_from_status"].format(
        database=database,
        copies=copies,
        partitions_snapshot=captures[0],
        cluster_snapshot=captures[1],
    )
    settled = joined.with_columns(
        pl.when(taken).then(pl.col("_down")).otherwise(pl.col("state")).alias("state")
    )
    return settled.drop("_down"), (note,)


def _settle(
    listed: pl.DataFrame, found: pl.DataFrame, part: str, clus: str
) -> tuple[pl.DataFrame, pl.DataFrame, tuple[tuple[int, str, str], ...], str | None]:
    """One role per copy when SHOW PARTITIONS lists a copy as master or replica and SHOW
    CLUSTER STATUS as an orphan (the copy was detached, or attached, between the two):
    the later capture's role wins; when their names do not order them, the cluster
    status's (it shows what the leaves hold). Counting both would make one copy two
    extra copies. Returns the settled frames, the disputed copies and the winner."""
    key = ["ordinal", "node"]
    disputed = listed.filter(pl.col("role") != "orphan").join(
        found.select(key).unique(), on=key, how="semi"
    )
    if not disputed.height:
        return listed, found, (), None
    if _later_by_name(part, clus):
        found, winner = found.join(disputed.select(key), on=key, how="anti"), part
    else:
        listed, winner = listed.join(disputed.select(key), on=key, how="anti"), clus
    rows = tuple(sorted(disputed.select("ordinal", "node", "role").iter_rows()))
    return listed, found, rows, winner


def diff_snapshots(before: pl.DataFrame, after: pl.DataFrame) -> dict[str, Any]:
    """Copies added, dropped, moved (same ordinal and role on another node) and role
    changes between two snapshots of one database (frames with ordinal, node, role)."""
    cols = ("ordinal", "node", "role")
    old = {(o, n): r for o, n, r in before.select(cols).sort(cols).iter_rows()}
    new = {(o, n): r for o, n, r in after.select(cols).sort(cols).iter_rows()}
    added = sorted((o, r, n) for (o, n), r in new.items() if (o, n) not in old)
    dropped = sorted((o, r, n) for (o, n), r in old.items() if (o, n) not in new)
    role_changes = [
        {"ordinal": o, "node": n, "before": old[(o, n)], "after": r}
        for (o, n), r in sorted(new.items())
        if (o, n) in old and old[(o, n)] != r
    ]
    moved = []
    for key in sorted({(o, r) for o, r, _ in added} & {(o, r) for o, r, _ in dropped}):
        sources = [n for o, r, n in dropped if (o, r) == key]
        targets = [n for o, r, n in added if (o, r) == key]
        for src, dst in zip(sources, targets, strict=False):
            moved.append({"ordinal": key[0], "role": key[1], "from": src, "to": dst})
            added.remove((key[0], key[1], dst))
            dropped.remove((key[0], key[1], src))
    return {
        "added": [{"ordinal": o, "node": n, "role": r} for o, r, n in added],
        "dropped": [{"ordinal": o, "node": n, "role": r} for o, r, n in dropped],
        "moved": moved,
        "role_changes": role_changes,
    }


def _snapshot_diff(db_rows: pl.DataFrame) -> dict[str, Any] | None:
    """Earliest vs latest snapshot of one kind (partitions preferred), when there are two."""
    for kind in ("partitions", "cluster_status"):
        names = _ordered_snapshots(db_rows.filter(pl.col("snapshot_kind") == kind))
        if len(names) >= 2:
            first, last = names[0], names[-1]
            diff = diff_snapshots(
                _copies(db_rows, first, PARTITION_ROLES), _copies(db_rows, last, PARTITION_ROLES)
            )
            return {"kind": kind, "before": first, "after": last, **diff}
    return None


# --------------------------------------------------------------------------- redundancy


@dataclass(frozen=True)
class Redundancy:
    value: int | None  # from the bundle or the option; None: infer per database
    source: str  # "bundle" / "option" / "leaves" (SHOW LEAVES pairs them) / "inferred"
    warnings: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()


def resolve_redundancy(
    variables: pl.DataFrame,
    override: int | None,
    *,
    master_node: str | None = None,
    leaves: pl.DataFrame | None = None,
) -> Redundancy:
    """``redundancy_level`` from SHOW VARIABLES (the master aggregator's value, else the
    largest, with a warning when nodes disagree); else ``override``; else 2 when SHOW
    LEAVES pairs the leaves (two availability groups, or a pair host: only redundancy 2
    does that, and it still shows when a leaf is lost, where counting the copies left
    would not); else infer from the copies."""
    text = _text()["impact"]
    rows = variables.filter(pl.col("name").str.to_lowercase() == REDUNDANCY_VARIABLE)
    values: dict[str | None, int] = {}
    warnings = []
    for value, node in rows.select("value", "node").iter_rows():
        try:
            level = int(str(value).strip())
        except ValueError:
            level = 0
        if level >= 1:  # (a count of copies: 0 or less is damage)
            values[node] = level
        else:
            warnings.append(text["warnings"]["redundancy_invalid"].format(value=value, node=node))
    if values:
        distinct = sorted(set(values.values()))
        if master_node in values:
            chosen, how = values[master_node], f"the master aggregator {master_node}"
        else:
            chosen, how = distinct[-1], "the largest"
        if len(distinct) > 1:
            warnings.append(
                text["warnings"]["redundancy_conflict"].format(
                    values=", ".join(map(str, distinct)), chosen=chosen, how=how
                )
            )
        if override is not None and override != chosen:
            warnings.append(
                text["warnings"]["redundancy_option_ignored"].format(option=override, chosen=chosen)
            )
        return Redundancy(chosen, "bundle", tuple(warnings))
    if override is not None:
        note = text["assumptions"]["redundancy_option"].format(redundancy=override)
        return Redundancy(override, "option", tuple(warnings), (note,))
    groups = _paired_groups(leaves)
    if groups:
        note = text["assumptions"]["redundancy_leaves"].format(groups=groups)
        return Redundancy(2, "leaves", tuple(warnings), (note,))
    group = _single_group(leaves)
    if group is not None:
        note = text["assumptions"]["redundancy_leaves_one_group"].format(group=group)
        return Redundancy(1, "leaves", tuple(warnings), (note,))
    return Redundancy(None, "inferred", tuple(warnings))


def _paired_groups(leaves: pl.DataFrame | None) -> str | None:
    """The availability groups of SHOW LEAVES (e.g. "1, 2") when they pair the leaves."""
    if leaves is None or not leaves.height:
        return None
    groups = sorted(leaves.get_column("availability_group").drop_nulls().unique().to_list())
    paired = leaves.get_column("pair").drop_nulls().len() > 0
    if len(groups) >= 2 or paired:
        return ", ".join(map(str, groups)) or "pair hosts listed"
    return None


def _single_group(leaves: pl.DataFrame | None) -> int | None:
    """The one availability group of SHOW LEAVES when every leaf (of its latest capture)
    is in it and none has a pair host: a redundancy-1 layout (redundancy 2 pairs each
    leaf with one in the other group, and still lists a leaf it lost). Copy counts would
    say 2 wherever a failed COPY left a second copy."""
    if leaves is None or not leaves.height:
        return None
    latest = _latest_leaves(leaves)
    groups = latest.get_column("availability_group")
    if (
        groups.null_count()
        or groups.n_unique() != 1
        or latest.get_column("pair").drop_nulls().len()
    ):
        return None
    return int(groups[0])


#: SingleStore's redundancy_level is 1 or 2: an inferred value is never larger.
MAX_REDUNDANCY = 2


def infer_redundancy(copy_counts: dict[int, int]) -> int:
    """Most common master+replica count per partition (ties go to the larger), at most
    MAX_REDUNDANCY: extra copies left by a failed step must not raise the expectation.
    Partitions with no working copy say nothing of the level and are not counted."""
    tally = Counter(n for n in copy_counts.values() if n > 0)
    mode = max(tally, key=lambda count: (tally[count], count)) if tally else 0
    return min(mode, MAX_REDUNDANCY)


# --------------------------------------------------------------------------- sizes


@dataclass(frozen=True)
class Sizes:
    per_partition: dict[int, int]  # ordinal -> its largest copy
    database: int | None  # database-level size (summed over the nodes, when per node)
    by_node: bool = False  # the database-level rows are per node: ``spread`` copies in the sum
    spread: int = 0  # the copies the per-node sum holds (those on the nodes reporting it)
    # (ordinal, node) -> the size of that very copy, where disk usage names its node
    by_copy: dict[tuple[int, str], int] = field(default_factory=dict)

    def per_copy(self, ordinal: int, partitions: int, node: str | None = None) -> int | None:
        """The size of the copy of ``ordinal`` on ``node``: its own where disk usage gives
        it (a copy a COPY left half-made is smaller than the master), else the partition's
        largest copy, else a share of the database size."""
        if node is not None and (ordinal, node) in self.by_copy:
            return self.by_copy[(ordinal, node)]
        if ordinal in self.per_partition:
            return self.per_partition[ordinal]
        spread = self.spread if self.by_node and self.spread > 0 else partitions
        if self.database is not None and spread > 0:
            return self.database // spread
        return None


def _folder_node(source: str) -> str:
    """The node whose sdb-report folder holds the file a table came from ("" when its
    path names none): databaseDiskUsage.json is collected once in each node folder."""
    node = identify(source.rsplit(":", 1)[0])
    return "" if node.from_path else node.node


def _size_rows(disk_usage: pl.DataFrame, database: str, holders: list[str]) -> pl.DataFrame:
    """The rows of ``database`` with a size, each with the node it tells of (``node``) and
    the one it names itself (``listed``; "" for none). Its own node where that holds
    copies, else the node whose folder holds its file (an sdb-report databaseDiskUsage.json
    names no host, or only the memsqlId it is keyed by), else its own; spelled as the
    snapshot spells it (a folder gives the host, the partition tables host:port)."""
    rows = disk_usage.filter((pl.col("database") == database) & pl.col("size_bytes").is_not_null())
    rows = rows.with_columns(pl.col("source").fill_null(""), pl.col("node").fill_null(""))
    folders = {s: _folder_node(s) for s in rows.get_column("source").unique().to_list()}
    bare = {*folders.values(), *rows.get_column("node").unique().to_list()}
    spelled = {n: resolve_ports(n, holders) for n in bare if n and ":" not in n}
    rows = rows.with_columns(
        pl.col("node").replace(spelled).alias("listed"),
        pl.col("source")
        .replace_strict(folders, return_dtype=pl.String)
        .replace(spelled)
        .alias("folder"),
    )
    node = (
        pl.when(pl.col("listed").is_in(holders) | (pl.col("folder") == ""))
        .then(pl.col("listed"))
        .otherwise(pl.col("folder"))
    )
    return rows.with_columns(node.alias("node"))


def database_sizes(
    disk_usage: pl.DataFrame, database: str, copies: pl.DataFrame | None = None
) -> Sizes:
    """Sizes of ``database`` (``copies``: the snapshot's, orphans too). Per partition, the
    size of each copy (rows of one node and one source summed, such as one row per table;
    the largest source) and the largest copy. Per database: when rows name nodes holding
    copies (or one source lists several nodes), each node's share, summed over the nodes
    (a node's file holds only its own copies), over the copies on those nodes; else the
    sum of the rows of one source (the largest), over the partitions."""
    if copies is None:
        copies = pl.DataFrame(schema={"ordinal": pl.Int64, "node": pl.String})
    copies = copies.select("ordinal", "node")
    holders = copies.get_column("node").unique().to_list()
    rows = _size_rows(disk_usage, database, holders)
    own = (
        rows.filter(pl.col("ordinal").is_not_null())
        .group_by("ordinal", "node", "source")
        .agg(pl.col("size_bytes").sum())
        .group_by("ordinal", "node")
        .agg(pl.col("size_bytes").max())
    )
    per_part = own.group_by("ordinal").agg(pl.col("size_bytes").max())
    by_copy = own.filter(pl.col("node") != "")
    db_rows = rows.filter(pl.col("ordinal").is_null())
    named = db_rows.filter(pl.col("node") != "")
    per_node = named.filter(
        pl.col("node").is_in(holders) | (pl.col("listed").n_unique().over("source") > 1)
    )
    total, by_node, spread = None, False, 0
    if per_node.height:
        shares = (
            per_node.group_by("node", "source")
            .agg(pl.col("size_bytes").sum())
            .group_by("node")  # a node several captures report: the largest
            .agg(pl.col("size_bytes").max())
        )
        total, by_node = int(shares.get_column("size_bytes").sum()), True
        reporting = shares.get_column("node").to_list()
        spread = copies.filter(pl.col("node").is_in(reporting)).height or copies.height
    elif db_rows.height:
        by_source = db_rows.group_by("source").agg(pl.col("size_bytes").sum())
        total = int(by_source.get_column("size_bytes").max())  # type: ignore[arg-type]
    return Sizes(
        dict(per_part.select("ordinal", "size_bytes").iter_rows()),
        total,
        by_node,
        spread,
        {
            (o, n): size
            for o, n, size in by_copy.select("ordinal", "node", "size_bytes").iter_rows()
        },
    )


# --------------------------------------------------------------------------- per database


@dataclass
class DatabaseImpact:
    database: str
    redundancy: int
    redundancy_assumed: bool
    partitions: int
    partitions_without_master: list[int]
    under_redundant: list[int]
    over_redundant: list[int]
    orphans: list[tuple[int, str]]
    extra_copies: int
    extra_bytes_estimate: int | None
    copies: list[dict[str, Any]]  # {ordinal, node, role}: the partition x node map
    copy_counts: dict[int, int]  # ordinal -> masters + replicas
    per_node_extra_bytes: dict[str, int | None]
    snapshot: dict[str, str | None]
    snapshot_diff: dict[str, Any] | None = None
    phase: str | None = None
    phase_statements: list[str] = field(default_factory=list)
    redundancy_inferred: bool = False  # from the copies themselves (no variable, no pairs)
    # orphans in a state (or on a leaf) that serves nothing: not to be attached now
    dead_orphans: set[tuple[int, str]] = field(default_factory=set)
    # orphans whose log position is ahead of their partition's master: they hold data
    # the master lacks (a master recreated empty, e.g. by a FORCE), never extra copies
    ahead_orphans: set[tuple[int, str]] = field(default_factory=set)
    # replication log position of each copy (ordinal, node), where the snapshot shows it
    positions: dict[tuple[int, str], tuple[int, int]] = field(default_factory=dict)
    # per ordinal, copies the failed rebalance's COPY steps made and no drop took back
    made_copies: dict[int, int] = field(default_factory=dict)
    # ordinals the failed rebalance promoted before it failed: their new placement serves
    promoted: list[int] = field(default_factory=list)
    # ordinals with more than one working master: inconsistent metadata (split brain?)
    multi_master: list[int] = field(default_factory=list)
    # partition without a master -> nodes of its working replicas (one can be promoted)
    live_replicas: dict[int, list[str]] = field(default_factory=dict)
    # "file:line" where the snapshot the orphans are read from is cut: orphans in the rows
    # past the cut are unknown (one may hold the only copy of a partition)
    orphans_cut: str | None = None
    # the partitions snapshot is cut (``cut_at``, file:line) and nothing completes it:
    # the copies of ordinals from ``unknown_from`` on may be missing from it
    unknown_from: int | None = None
    cut_at: str | None = None

    @property
    def data_at_risk(self) -> bool:
        return bool(self.partitions_without_master)

    @property
    def kept_orphans(self) -> list[tuple[int, str]]:
        """Orphans that may hold the only or the latest copy of their partition (it has
        no master, or the orphan is further in the log than the master): never cleanup."""
        return [
            (o, n)
            for o, n in self.orphans
            if o in self.partitions_without_master or (o, n) in self.ahead_orphans
        ]

    @property
    def spare_orphans(self) -> list[tuple[int, str]]:
        """Orphans whose partition has a master at least as far in the log: leftovers."""
        kept = set(self.kept_orphans)
        return [c for c in self.orphans if c not in kept]

    @property
    def orphans_visible(self) -> bool:
        """Whether the snapshot could show orphans: SHOW PARTITIONS lists only masters
        and replicas; SHOW CLUSTER STATUS (or a partition view with roles) shows them."""
        return self.snapshot.get("cluster_status") is not None or bool(self.orphans)

    @property
    def sound(self) -> bool:
        """Every partition has exactly one master and no orphan is ahead of it: the masters
        are the authoritative copies the reference page's statements take them for."""
        return not (self.partitions_without_master or self.multi_master or self.ahead_orphans)

    @property
    def redundancy_unsure(self) -> bool:
        """The redundancy was guessed as 1 from copy counts, but some partition has more
        copies than the failed rebalance's COPY steps explain: it may well be 2, and then
        the single copies are under-redundant."""
        return (
            self.redundancy_inferred
            and self.redundancy < 2
            and any(
                n - self.made_copies.get(o, 0) > self.redundancy
                for o, n in self.copy_counts.items()
                if o not in self.partitions_without_master
            )
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "redundancy": self.redundancy,
            "redundancy_assumed": self.redundancy_assumed,
            "partitions": self.partitions,
            "partitions_without_master": self.partitions_without_master,
            "under_redundant": self.under_redundant,
            "over_redundant": self.over_redundant,
            "orphans": [
                {"ordinal": o, "node": n, "ahead_of_master": (o, n) in self.ahead_orphans}
                for o, n in self.orphans
            ],
            "extra_copies": self.extra_copies,
            "extra_bytes_estimate": self.extra_bytes_estimate,
            "phase": self.phase,
            "phase_statements": self.phase_statements,
            "per_node_extra_bytes": self.per_node_extra_bytes,
            "snapshot": self.snapshot,
            "snapshot_diff": self.snapshot_diff,
            "copies": self.copies,
        }


def _far_ordinals(
    ordinals: list[int], counts: dict[int, int], last_listed: int | None
) -> tuple[list[int], dict[int, int], int | None, list[int]]:
    """Ordinals so far beyond the others (over 4 times their number, and over 128) that
    they are damaged rows, not partitions: taken out (else one cell '100000' makes 100000
    partitions without a master). Returns what is left and the ordinals taken out."""
    cap = max(_FAR_MIN, 4 * len(ordinals))
    far = sorted(o for o in ordinals if o >= cap)
    if last_listed is not None and last_listed >= cap:
        far = sorted({*far, last_listed})
        last_listed = None
    if not far:
        return ordinals, counts, last_listed, []
    kept = [o for o in ordinals if o < cap]
    return kept, {o: n for o, n in counts.items() if o < cap}, last_listed, far


_FAR_MIN = 128


def _positions(copies: pl.DataFrame) -> dict[tuple[int, str], tuple[int, int]]:
    """(ordinal, node) -> replication log position (file id, offset) of each copy whose
    position the snapshot shows as ``<file id>:<offset>``."""
    out: dict[tuple[int, str], tuple[int, int]] = {}
    if "position" not in copies.columns:
        return out
    for ordinal, node, position in copies.select("ordinal", "node", "position").iter_rows():
        m = _POSITION.fullmatch((position or "").strip())
        if m:
            out[(ordinal, node)] = (int(m.group(1)), int(m.group(2)))
    return out


_POSITION = re.compile(r"(\d+):(\d+)")


def _snapshot_positions(
    db_rows: pl.DataFrame, snap: Snapshot
) -> dict[tuple[int, str], tuple[int, int]]:
    """The log positions of the copies, from their own rows, else from the cluster status
    the orphans came from: SHOW PARTITIONS shows no position, and a master without one
    could never be found behind an orphan that holds data it lacks (CLEAR ORPHAN
    DATABASES would delete that data). Both positions then come from one capture."""
    positions = _positions(snap.copies)
    if snap.cluster_snapshot is None:
        return positions
    status = db_rows.filter(pl.col("snapshot") == snap.cluster_snapshot)
    return {
        **_positions(
            status.join(snap.copies.select("ordinal", "node"), on=["ordinal", "node"], how="semi")
        ),
        **positions,
    }


def _ahead_of_master(
    orphans: list[tuple[int, str]],
    positions: dict[tuple[int, str], tuple[int, int]],
    copies: pl.DataFrame,
) -> set[tuple[int, str]]:
    """Orphans whose position is beyond every working master's of their partition."""
    masters: dict[int, list[tuple[int, int]]] = {}
    for ordinal, node, state in (
        copies.filter(pl.col("role") == "master").select("ordinal", "node", "state").iter_rows()
    ):
        if _serving(state) and (ordinal, node) in positions:
            masters.setdefault(ordinal, []).append(positions[(ordinal, node)])
    return {
        (o, n)
        for o, n in orphans
        if (o, n) in positions and o in masters and positions[(o, n)] > max(masters[o])
    }


def _copy_counts(copies: pl.DataFrame) -> tuple[list[int], dict[int, int], set[int]]:
    """All ordinals, master+replica count per ordinal, ordinals with a working master (a
    copy whose state is offline or unrecoverable, or that lies on a leaf SHOW LEAVES shows
    offline, does not count: the cleanup gate must not take it for the copy that keeps
    the data)."""
    ordinals = sorted(set(copies["ordinal"].to_list()))
    counts = dict.fromkeys(ordinals, 0)
    mastered: set[int] = set()
    state = copies.get_column("state") if "state" in copies.columns else None
    states = state.to_list() if state is not None else [None] * copies.height
    for (ordinal, role), st in zip(
        copies.select("ordinal", "role").iter_rows(), states, strict=True
    ):
        if not _serving(st):
            continue  # an offline or unrecoverable copy keeps nothing available
        if role in COPY_ROLES:
            counts[ordinal] += 1
        if role == "master":
            mastered.add(ordinal)
    return ordinals, counts, mastered


def _listed_counts(copies: pl.DataFrame, ordinals: Iterable[int]) -> dict[int, int]:
    """Master+replica copies listed per ordinal (of ``ordinals``), in any state."""
    listed = Counter(copies.filter(pl.col("role").is_in(COPY_ROLES)).get_column("ordinal"))
    return {o: listed.get(o, 0) for o in ordinals}


def _step_ordinals(steps: pl.DataFrame | None) -> list[int]:
    """The ordinals the steps of a rebalance name (all of them: planned, failed, done):
    partitions of its database, whether or not a snapshot still lists a copy of them."""
    if steps is None or "ordinal" not in steps.columns:
        return []
    return sorted(steps.get_column("ordinal").drop_nulls().unique().to_list())


#: Of :data:`DEAD_STATES`, those of a copy on its way to serving, not down or broken.
ON_THE_WAY = frozenset({"recovering", "pending", "provisioning", "transition", "attaching"})

#: States (of a copy: SHOW CLUSTER STATUS, DISTRIBUTED_PARTITIONS; of a leaf: SHOW LEAVES)
#: in which a copy serves nothing now: down, broken, or not yet back (recovering from its
#: logs, provisioning, pending re-attachment, in transition, a leaf attaching).
DEAD_STATES = frozenset(
    {
        "offline",
        "unrecoverable",
        "recovery_failed",
        "detached",
        "failed",
        "recovering",
        "pending",
        "provisioning",
        "transition",
        "attaching",
    }
)


def _extra_holders(
    copies: pl.DataFrame,
    ordinal: int,
    extra: int,
    added: set[tuple[int, str]],
    dropping: Collection[tuple[int, str]] = (),
) -> list[str]:
    """Nodes charged with a partition's copies beyond redundancy, for the per-node chart
    and the bytes (each extra copy is charged at its own size).

    The copies a DROP PARTITION of the failed rebalance was to remove come first: the
    rebalance named them (a failed DROP leaves the old copy, whatever its size). Else it
    is a guess: replicas new since the earliest snapshot first, then replicas on the nodes
    holding the fewest copies of the database (a scale-out target starts empty), then
    masters."""
    load = Counter(copies["node"].to_list())
    rows = copies.filter(pl.col("ordinal") == ordinal).select("node", "role").rows()
    ranked = sorted(
        rows,
        key=lambda r: (
            (ordinal, r[0]) not in dropping or r[1] == "master",
            (ordinal, r[0]) not in added,
            r[1] != "replica",
            load[r[0]],
            r[0],
        ),
    )
    return [node for node, _ in ranked[:extra]]


def _pending_drops(steps: pl.DataFrame | None) -> set[tuple[int, str]]:
    """(ordinal, node) of the DROP PARTITION steps that did not succeed, of partitions
    whose promotion did (or needed none): the old copies the failed rebalance meant to
    remove once the new placement served (a DROP's target is the node it drops from).
    Where the COPY or PROMOTE failed, the old placement still serves and the leftover is
    the new copy, not the one the plan would have dropped."""
    if steps is None:
        return set()
    unpromoted = _done(steps, "promote", succeeded=False).get_column("ordinal")
    drops = _done(steps, "drop", succeeded=False).filter(
        ~pl.col("ordinal").is_in(unpromoted.implode())
    )
    return set(drops.select("ordinal", "target").iter_rows())


def _unpromoted_copies(steps: pl.DataFrame | None) -> set[tuple[int, str]]:
    """(ordinal, node) of the copies the failed rebalance's COPY steps made of partitions
    it did not promote: the new copy is the leftover there, the old placement serves."""
    if steps is None:
        return set()
    promoted = _done(steps, "promote", succeeded=True).get_column("ordinal")
    made = _done(steps, "copy", succeeded=True).filter(~pl.col("ordinal").is_in(promoted.implode()))
    return set(made.select("ordinal", "target").iter_rows())


def _copies_made(steps: pl.DataFrame | None, copies: pl.DataFrame) -> dict[int, int]:
    """Per ordinal, the copies the failed rebalance's successful COPY steps made that the
    snapshot still shows, less the copies its successful drops (DROP PARTITION, PROMOTE
    ... WITH DROP) took away: what the rebalance added on top of the redundancy level."""
    if steps is None:
        return {}
    made = (
        _done(steps, "copy", succeeded=True)
        .join(
            copies.select("ordinal", target=pl.col("node")).unique(),
            on=["ordinal", "target"],
            how="semi",
        )
        .group_by("ordinal")
        .len()
    )
    dropped = (
        pl.concat(
            [
                _done(steps, "drop", succeeded=True).select("ordinal"),
                _done(steps, "promote", succeeded=True)
                .filter(pl.col("action").str.contains("DROP"))
                .select("ordinal"),
            ]
        )
        .group_by("ordinal")
        .len()
    )
    net = Counter(dict(made.iter_rows()))
    net.subtract(Counter(dict(dropped.iter_rows())))
    return {o: n for o, n in net.items() if n > 0}


def _done(steps: pl.DataFrame, kind: str, *, succeeded: bool) -> pl.DataFrame:
    """The steps of one phase kind with an ordinal and a target that did (or did not) succeed."""
    done = pl.col("status") == "success"
    return steps.filter(
        (pl.col("phase_kind") == kind)
        & (done if succeeded else ~done)
        & pl.col("ordinal").is_not_null()
        & pl.col("target").is_not_null()
    )


def _added_copies(diff: dict[str, Any] | None) -> set[tuple[int, str]]:
    if diff is None:
        return set()
    moved = {(m["ordinal"], m["to"]) for m in diff["moved"]}
    return moved | {(a["ordinal"], a["node"]) for a in diff["added"]}


def _extra_bytes(
    extras: list[tuple[int, str]], sizes: Sizes, partitions: int
) -> tuple[int | None, dict[str, int | None], list[int]]:
    """Total and per-node bytes of the extra copies (ordinal, node); ordinals of unknown size.
    Each is charged at its own size where disk usage gives it (the copy that stays is
    the one to clean up, however far its COPY got)."""
    per_node: dict[str, int | None] = {}
    missing: set[int] = set()
    for ordinal, node in extras:
        size = sizes.per_copy(ordinal, partitions, node)
        if size is None:
            missing.add(ordinal)
        known = per_node.get(node, 0)
        per_node[node] = None if size is None or known is None else known + size
    if missing:
        return None, dict(sorted(per_node.items())), sorted(missing)
    return sum(v or 0 for v in per_node.values()), dict(sorted(per_node.items())), []


def database_impact(
    database: str,
    db_rows: pl.DataFrame,
    disk_usage: pl.DataFrame,
    redundancy: Redundancy,
    last_listed: int | None = None,
    failed_steps: pl.DataFrame | None = None,
    stale: Collection[str] = (),
) -> tuple[DatabaseImpact, list[str], list[str]]:
    """Impact of one database from its snapshot rows; also warnings and assumptions.
    ``last_listed``: the highest ordinal any snapshot row names, with or without a copy.
    ``failed_steps``: the steps of its latest rebalance, when that failed: the copies its
    DROP steps were to remove are the extra ones, and the copies its COPY steps made
    (and no drop took back) do not raise an inferred redundancy. ``stale``: snapshots
    taken before the rebalance (:func:`stale_reason`): never the current state, still
    the earlier side of a snapshot diff."""
    text = _text()["impact"]
    warnings: list[str] = []
    assumptions: list[str] = []
    snap = latest_snapshot(db_rows.filter(~pl.col("snapshot").is_in(list(stale))))
    assumptions += snap.notes
    warnings += snap.warnings
    ordinals, counts, mastered = _copy_counts(snap.copies)
    # Partitions are numbered from 0 without gaps: one the snapshot shows no copy of (not
    # listed, or listed with no host) may have no copy left, and counts as without a master.
    # So is one the rebalance's steps name that no snapshot lists: its only copy was lost.
    shown = last_listed
    stepped = _step_ordinals(failed_steps)
    last_listed = max([*stepped, *([] if last_listed is None else [last_listed])], default=None)
    ordinals, counts, last_listed, far = _far_ordinals(ordinals, counts, last_listed)
    if far:
        warnings.append(
            text["warnings"]["far_ordinals"].format(
                database=database, ordinals=", ".join(map(str, far[:5])), listed=len(ordinals)
            )
        )
    last = max([*ordinals, *([] if last_listed is None else [last_listed])], default=None)
    gaps = sorted(set(range(last + 1)) - set(ordinals)) if last is not None else []
    if gaps:
        ordinals = sorted([*ordinals, *gaps])
        counts.update(dict.fromkeys(gaps, 0))
        seen = max([*snap.copies["ordinal"], *([] if shown is None else [shown])], default=-1)
        unlisted = [o for o in gaps if o > seen]
        for key, named in (
            ("snapshot_gap", [o for o in gaps if o <= seen]),
            ("steps_unlisted", unlisted),
        ):
            if named:
                warnings.append(
                    text["warnings"][key].format(
                        database=database, ordinals=", ".join(map(str, named))
                    )
                )
    made = _copies_made(failed_steps, snap.copies)
    level = redundancy.value
    if level is None:
        # every copy listed tells the level, working or not (a leaf holding the replicas
        # is down): counting only working ones would take redundancy 2 for 1
        listed_counts = _listed_counts(snap.copies, ordinals)
        level = infer_redundancy({o: n - made.get(o, 0) for o, n in listed_counts.items()})
        note = "redundancy_inferred" if level > 0 else "redundancy_floor"
        level = max(level, 1)
        assumptions.append(text["assumptions"][note].format(database=database, redundancy=level))
    over = [o for o in ordinals if o in mastered and counts[o] > level]
    under = [o for o in ordinals if o in mastered and counts[o] < level]
    orphan_rows = snap.copies.filter(pl.col("role") == "orphan")
    orphans = sorted(orphan_rows.select("ordinal", "node").iter_rows())
    if snap.partitions_snapshot and snap.cluster_snapshot and orphans:
        assumptions.append(
            text["assumptions"]["orphans_from"].format(
                database=database,
                partitions_snapshot=snap.partitions_snapshot,
                cluster_snapshot=snap.cluster_snapshot,
            )
        )
    diff = _snapshot_diff(db_rows)
    if diff is not None and any(diff.get(k) for k in ("added", "dropped", "moved", "role_changes")):
        assumptions.append(order_note(db_rows, database, diff["before"], diff["after"]))
    warnings += _disputed_warning(database, snap)
    multi = _multi_master(snap.copies, ordinals)
    if multi:
        warnings.append(
            text["warnings"]["multi_master"].format(
                database=database,
                ordinals=", ".join(map(str, multi)),
                masters=_master_list(snap.copies, multi, database),
            )
        )
    added = _added_copies(diff) | _unpromoted_copies(failed_steps)
    dropping = _pending_drops(failed_steps)
    positions = _snapshot_positions(db_rows, snap)
    ahead = _ahead_of_master(orphans, positions, snap.copies)
    # an orphan of a partition without a master is no extra copy: it may be the only one;
    # nor is one ahead of its master
    spare = [(o, node) for o, node in orphans if o in mastered and (o, node) not in ahead]
    extras = [
        (o, node)
        for o in over
        for node in _extra_holders(snap.copies, o, counts[o] - level, added, dropping)
    ] + spare
    sizes = database_sizes(disk_usage, database, snap.copies)
    total, per_node, missing = _extra_bytes(extras, sizes, len(ordinals))
    if missing:
        listed = ", ".join(f"{database}:{o}" for o in missing)
        warnings.append(text["warnings"]["size_unknown"].format(database=database, missing=listed))
    elif extras and not sizes.per_partition and sizes.database is not None:
        assumptions.append(
            text["assumptions"][
                "size_from_node_sizes" if sizes.by_node else "size_from_database"
            ].format(
                database=database,
                db_size=sizes.database,
                partitions=len(ordinals),
                copies=sizes.spread,
            )
        )
    impact = DatabaseImpact(
        database=database,
        redundancy=level,
        redundancy_assumed=redundancy.source in ("inferred", "leaves"),
        redundancy_inferred=redundancy.source == "inferred",
        partitions=len(ordinals),
        partitions_without_master=[o for o in ordinals if o not in mastered],
        under_redundant=under,
        over_redundant=over,
        orphans=orphans,
        ahead_orphans=ahead,
        positions=positions,
        made_copies=made,
        promoted=(
            []
            if failed_steps is None
            else sorted(set(_done(failed_steps, "promote", succeeded=True)["ordinal"].to_list()))
        ),
        dead_orphans=set(orphan_rows.filter(_dead()).select("ordinal", "node").iter_rows()),
        extra_copies=sum(counts[o] - level for o in over) + len(spare),
        extra_bytes_estimate=total,
        copies=snap.copies.select("ordinal", "node", "role").to_dicts(),
        copy_counts=counts,
        per_node_extra_bytes=per_node,
        snapshot={"partitions": snap.partitions_snapshot, "cluster_status": snap.cluster_snapshot},
        snapshot_diff=diff,
        multi_master=multi,
        live_replicas=_live_replicas(snap.copies, [o for o in ordinals if o not in mastered]),
        orphans_cut=_orphans_cut(db_rows, snap),
        unknown_from=snap.unknown_from,
        cut_at=snap.cut_at,
    )
    return impact, warnings, assumptions


def _orphans_cut(db_rows: pl.DataFrame, snap: Snapshot) -> str | None:
    """Where the snapshot the orphans come from (the cluster status; else the partitions
    snapshot) is cut, as ``file:line``; None when it is whole."""
    source = snap.cluster_snapshot or snap.partitions_snapshot
    line = _cut_line(db_rows, source)
    return None if source is None or line is None else f"{_split_index(source)[0]}:{line}"


def _working_copies(copies: pl.DataFrame, role: str) -> pl.DataFrame:
    """The copies of ``role`` that serve (not offline, nor on a leaf that is down)."""
    served = copies.filter(pl.col("role") == role)
    if "state" in served.columns:
        served = served.filter(~_dead().fill_null(False))
    return served


def _multi_master(copies: pl.DataFrame, ordinals: list[int]) -> list[int]:
    """Ordinals with more than one working master: the metadata contradicts itself, and
    which copy is authoritative must be settled before anything drops one."""
    counted = (
        _working_copies(copies, "master")
        .group_by("ordinal")
        .agg(pl.col("node").n_unique().alias("n"))
        .filter(pl.col("n") > 1)
    )
    return sorted(o for o in counted.get_column("ordinal").to_list() if o in ordinals)


def _master_list(copies: pl.DataFrame, ordinals: list[int], database: str) -> str:
    rows = _working_copies(copies, "master").filter(pl.col("ordinal").is_in(ordinals))
    return ", ".join(
        f"{database}:{o} on {n}" for o, n in sorted(rows.select("ordinal", "node").iter_rows())
    )


def _live_replicas(copies: pl.DataFrame, ordinals: list[int]) -> dict[int, list[str]]:
    """Partition without a master -> nodes of its working replicas: promoting one
    restores the master (the recovery path when no orphan is needed)."""
    rows = _working_copies(copies, "replica").filter(pl.col("ordinal").is_in(ordinals))
    out: dict[int, list[str]] = {}
    for ordinal, node in sorted(rows.select("ordinal", "node").iter_rows()):
        out.setdefault(ordinal, []).append(node)
    return out


def _disputed_warning(database: str, snap: Snapshot) -> list[str]:
    """A warning when the two snapshots disagree on a copy's role (see :func:`_settle`)."""
    if not snap.disputed:
        return []
    part, clus = snap.partitions_snapshot, snap.cluster_snapshot
    later = snap.disputed_winner == part or _later_by_name(clus or "", part or "")
    text = _text()["impact"]["warnings"]
    return [
        text["snapshots_disagree"].format(
            database=database,
            copies=", ".join(f"{database}:{o} on {n} ({r})" for o, n, r in snap.disputed),
            partitions_snapshot=part,
            cluster_snapshot=clus,
            winner=snap.disputed_winner,
            why=text["snapshots_disagree_later" if later else "snapshots_disagree_unordered"],
        )
    ]


# --------------------------------------------------------------------------- statements


def _counted(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"


def _has(n: int) -> str:
    return "has" if n == 1 else "have"


def _ordinal_list(ordinals: Iterable[int]) -> str:
    return ", ".join(str(o) for o in ordinals)


BYTE_UNITS = ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_bytes(n: int | None) -> str:
    """Approximate size in words, for statements: "about 1.5 GiB"."""
    if n is None:
        return "of unknown size"
    size, power = float(n), 0
    while size >= 1024 and power < len(BYTE_UNITS) - 1:
        size, power = size / 1024, power + 1
    return f"about {n} bytes" if power == 0 else f"about {size:.1f} {BYTE_UNITS[power]}"


def _copy_list(database: str, copies: Iterable[tuple[int, str]]) -> str:
    return ", ".join(f"{database}:{o} on {n}" for o, n in copies)


def statement_fields(db: DatabaseImpact) -> dict[str, Any]:
    """The placeholders of grammars/recovery.toml, filled in for one database."""
    nomaster, under, over = db.partitions_without_master, db.under_redundant, db.over_redundant
    spare, kept = db.spare_orphans, db.kept_orphans
    over_replica = [o for o in over if o not in db.multi_master and o not in db.promoted]
    over_promoted = [o for o in over if o not in db.multi_master and o in db.promoted]
    return {
        "database": db.database,
        "partitions": db.partitions,
        "redundancy": db.redundancy,
        "nomaster_n": _counted(len(nomaster), "partition"),
        "nomaster_has": _has(len(nomaster)),
        "nomaster_list": _ordinal_list(nomaster),
        "under_n": _counted(len(under), "partition"),
        "under_has": _has(len(under)),
        "under_list": _ordinal_list(under),
        "over_n": _counted(len(over), "partition"),
        "over_has": _has(len(over)),
        "over_list": _ordinal_list(over),
        "orphan_n": _counted(len(spare), "orphan copy", "orphan copies"),
        "orphan_list": _copy_list(db.database, spare),
        "kept_n": _counted(len(kept), "orphan copy", "orphan copies"),
        "kept_list": _copy_list(db.database, kept),
        "kept_its": "its" if len(kept) == 1 else "their",
        "all_orphan_n": _counted(len(db.orphans), "orphan copy", "orphan copies"),
        "all_orphan_list": _copy_list(db.database, db.orphans),
        "multi_n": _counted(len(db.multi_master), "partition"),
        "multi_has": _has(len(db.multi_master)),
        "multi_list": _ordinal_list(db.multi_master),
        "over_replica_n": _counted(len(over_replica), "partition"),
        "over_replica_has": _has(len(over_replica)),
        "over_replica_list": _ordinal_list(over_replica),
        "over_promoted_n": _counted(len(over_promoted), "partition"),
        "over_promoted_list": _ordinal_list(over_promoted),
        "over_promoted_have": "has" if len(over_promoted) == 1 else "have",
        "promoted_n": _counted(len(db.promoted), "partition"),
        "promoted_list": _ordinal_list(db.promoted),
        "extra_copies": db.extra_copies,
        "extra_copies_n": _counted(db.extra_copies, "extra copy", "extra copies"),
        "extra_bytes": human_bytes(db.extra_bytes_estimate),
    }


#: When each impact statement of grammars/recovery.toml applies. "sound": every partition
#: has one master and no orphan is ahead of it (only then are the masters authoritative);
#: "orphans" are the leftovers, "kept_orphans" those that may hold the only or latest copy.
STATEMENT_PREDICATES: dict[str, Callable[[DatabaseImpact], bool]] = {
    "sound": lambda db: db.sound,
    "sound_redundant": lambda db: db.sound and not db.under_redundant,
    "some_without_master": lambda db: bool(db.partitions_without_master),
    "multi_master": lambda db: bool(db.multi_master),
    "over": lambda db: any(
        o not in db.multi_master and o not in db.promoted for o in db.over_redundant
    ),
    # partitions the failed run promoted before failing keep their old copy until DROP
    "over_promoted": lambda db: any(
        o not in db.multi_master and o in db.promoted for o in db.over_redundant
    ),
    "sound_unpromoted": lambda db: db.sound and not db.promoted,
    "sound_promoted": lambda db: db.sound and bool(db.promoted),
    "under": lambda db: bool(db.under_redundant),
    "no_under": lambda db: not db.under_redundant,
    "orphans": lambda db: bool(db.spare_orphans),
    "kept_orphans": lambda db: bool(db.kept_orphans),
    "extra": lambda db: db.extra_copies > 0,
    "no_extra_seen": lambda db: db.extra_copies == 0 and db.orphans_visible,
    "orphans_unseen": lambda db: not db.orphans_visible,
    # no extra copy, no orphan, and no copy kept of a partition that lost its master
    "nothing_kept": lambda db: (
        not (db.over_redundant or db.orphans or db.live_replicas or db.multi_master)
    ),
}


def phase_statements(db: DatabaseImpact, phase: str | None) -> list[str]:
    """The reference page's impact statements for ``phase``, tied to the snapshot."""
    if phase not in PHASES:
        return []
    fields = statement_fields(db)
    return [
        entry["text"].format(**fields)
        for entry in _text()["impact"]["phase"][phase]
        if STATEMENT_PREDICATES[entry["when"]](db)
    ]


# --------------------------------------------------------------------------- impact


@dataclass
class Impact:
    """SPEC §6.2 "impact"; ``to_json()`` is None when the bundle has no snapshot."""

    databases: list[DatabaseImpact]
    computed: bool
    warnings: list[str] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    # leaves SHOW LEAVES shows down that no copy could be matched to (named otherwise)
    unmatched_down: list[str] = field(default_factory=list)
    # database -> why its state after the failure is unknown: a failed or unfinished
    # rebalance's database that no current snapshot shows (none, or only ones taken before)
    unseen: dict[str, str] = field(default_factory=dict)

    @property
    def data_at_risk(self) -> bool | None:
        """True when a partition has no master; None (unknown) when none has but the
        state of a failed or unfinished rebalance's database is unseen; else False."""
        if any(db.data_at_risk for db in self.databases):
            return True
        return None if self.unseen else False

    @property
    def extra_bytes_estimate(self) -> int | None:
        values = [db.extra_bytes_estimate for db in self.databases]
        return None if any(v is None for v in values) else sum(v or 0 for v in values)

    @property
    def per_node_extra_bytes(self) -> dict[str, int | None]:
        total: dict[str, int | None] = {}
        for db in self.databases:
            for node, size in db.per_node_extra_bytes.items():
                known = total.get(node, 0)
                total[node] = None if size is None or known is None else known + size
        return dict(sorted(total.items()))

    @property
    def diff(self) -> dict[str, dict[str, Any]]:
        return {db.database: db.snapshot_diff for db in self.databases if db.snapshot_diff}

    def database(self, name: str) -> DatabaseImpact | None:
        return next((db for db in self.databases if db.database == name), None)

    def to_json(self) -> dict[str, Any] | None:
        if not self.computed:
            return None
        return {
            "data_at_risk": self.data_at_risk,
            "extra_bytes_estimate": self.extra_bytes_estimate,
            "databases": [db.to_json() for db in self.databases],
            "per_node_extra_bytes": self.per_node_extra_bytes,
            "unseen": [
                {"database": name, "data_at_risk": None, "reason": why}
                for name, why in sorted(self.unseen.items())
            ],
            "assumptions": self.assumptions,
            "warnings": self.warnings,
        }


@_ordered_by_capture
def compute_impact(
    partitions: pl.DataFrame,
    variables: pl.DataFrame,
    disk_usage: pl.DataFrame,
    *,
    redundancy: int | None = None,
    failing_phases: dict[str, str | None] | None = None,
    master_node: str | None = None,
    leaves: pl.DataFrame | None = None,
    databases: Iterable[str] = (),
    failed_steps: dict[str, pl.DataFrame] | None = None,
    unfinished: Iterable[str] = (),
    log_zone: str = "UTC",
) -> Impact:
    """Impact per database from the latest partition snapshot (CONTRACTS.md).
    ``databases``: those the rebalances concern (see :func:`_unnamed_snapshots`);
    ``failed_steps``: per database, the steps (schemas.STEPS) of its latest rebalance
    when that failed (see :func:`database_impact`); ``unfinished``: databases whose
    rebalance is still running or has no outcome; ``log_zone``: the zone the tracelogs
    were read in (a server's SELECT NOW() is compared with their times in it).
    A snapshot taken before the rebalance is never the current state
    (:func:`stale_reason`): a failed or unfinished database no other snapshot shows is
    ``unseen``, and data at risk is then unknown."""
    partitions, named = _unnamed_snapshots(partitions, databases)
    rows = _on_dead_leaves(normalise_partitions(partitions), leaves)
    unmatched = _unmatched_leaves(rows, leaves)
    resolved = resolve_redundancy(variables, redundancy, master_node=master_node, leaves=leaves)
    warnings, assumptions = list(resolved.warnings), list(resolved.assumptions)
    warnings += named + unmatched
    if rows.is_empty():
        warnings.append(_text()["impact"]["warnings"]["no_snapshot"])
        return Impact([], computed=False, warnings=warnings, assumptions=assumptions)
    phases = failing_phases or {}
    steps = failed_steps or {}
    unseen = dict.fromkeys(phases, "failed") | dict.fromkeys(
        (d for d in unfinished if d not in phases), "unfinished"
    )
    gone = _gone_databases(rows, set(phases))
    rows = rows.filter(~pl.col("database").is_in(list(gone)))
    warnings += gone.values()
    impacts: list[DatabaseImpact] = []
    listed = dict(
        partitions.filter(pl.col("database").is_not_null() & pl.col("ordinal").is_not_null())
        .group_by("database")
        .agg(pl.col("ordinal").max())
        .iter_rows()
    )
    for name in sorted(rows["database"].unique().to_list()):
        db_rows = rows.filter(pl.col("database") == name)
        stale, notes = _set_aside(db_rows, name, _first_start(steps.get(name)), log_zone)
        assumptions += notes
        if set(db_rows.get_column("snapshot").unique().to_list()) <= set(stale):
            unseen.setdefault(name, "stale")  # (also of a database no rebalance failed)
            continue
        db, db_warnings, db_assumptions = database_impact(
            name, db_rows, disk_usage, resolved, listed.get(name), steps.get(name), stale
        )
        db.phase = phases.get(name)
        db.phase_statements = phase_statements(db, db.phase)
        impacts.append(db)
        unseen.pop(name, None)
        warnings += db_warnings
        assumptions += db_assumptions
    down = _down_leaves(leaves) if unmatched else []
    described = {
        name: str(_STALE["unseen"].format(database=name, event=_STALE["events"][event]))
        for name, event in sorted(unseen.items())
    }
    warnings += described.values()
    return Impact(
        impacts,
        computed=True,
        warnings=warnings,
        assumptions=assumptions,
        unmatched_down=down,
        unseen=described,
    )


def _first_start(steps: pl.DataFrame | None) -> datetime | None:
    """When the first step of a failed rebalance started (None when no step says)."""
    if steps is None or "started_at" not in steps.columns:
        return None
    first = steps.get_column("started_at").min()
    return first if isinstance(first, datetime) else None


# --------------------------------------------------------------------------- plan vs actual

#: Step statuses meaning "planned but never ran".
NOT_RUN_STATUSES = ("scheduled", "cancelled")
#: Residue checks: failed step phase kind -> message key in grammars/recovery.toml [plan].
RESIDUE_KINDS = {"copy": "residue_copy", "drop": "residue_drop"}
_STEP_KEY = ("database", "phase_kind", "ordinal", "target")
_ORIGIN_RANK = {"status": 0, "log": 1, "plan": 2}
#: Steps frame origin of a row that a later one replaces: an earlier status capture's row,
#: a step of an earlier run in the logs (timeline.log_steps). It counts nowhere.
SUPERSEDED = "superseded"


def _step_entry(kind: str, row: dict[str, Any], detail: str) -> dict[str, Any]:
    keep = ("database", "action", "phase_kind", "ordinal", "target", "phase", "status", "origin")
    return {"kind": kind, **{k: row.get(k) for k in keep}, "detail": detail}


def _actual_steps(steps: pl.DataFrame) -> dict[tuple[Any, ...], dict[str, Any]]:
    """One executed-step row per key: status output preferred over log reconstruction."""
    actual = steps.filter(pl.col("origin").is_in(["status", "log"])).with_columns(
        pl.col("origin").replace_strict(_ORIGIN_RANK, default=9).alias("_rank")
    )
    best: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in actual.sort("_rank", "phase", nulls_last=True).to_dicts():
        best.setdefault(tuple(row[k] for k in _STEP_KEY), row)
    return best


def _current_steps(steps: pl.DataFrame) -> pl.DataFrame:
    """The rows of each database's latest run, the one the impact and the runbook
    describe: no ``SUPERSEDED`` row, and no status row of a database whose status output
    is of an earlier run (:func:`_stale_status`)."""
    stale = _stale_status(steps)
    old = (pl.col("origin") == "status") & pl.col("database").is_in(stale)
    return steps.filter((pl.col("origin") != SUPERSEDED) & ~old.fill_null(False))


def _stale_status(steps: pl.DataFrame) -> list[str]:
    """Databases whose status output shows an earlier run (as timeline._stale_status):
    each step it shows failed failed in an earlier run in the logs (``SUPERSEDED`` rows
    no status table gave: no ``capture``), and the logs' latest run of the database has
    steps, none of them failed."""
    key = ["database", "phase_kind", "ordinal"]
    failed = pl.col("status") == "failed"
    shown = steps.filter((pl.col("origin") == "status") & failed).select(key).unique()
    if not shown.height:
        return []
    earlier = steps.filter(
        (pl.col("origin") == SUPERSEDED) & pl.col("capture").is_null() & failed
    ).select(key)
    new = shown.join(earlier, on=key, how="anti", nulls_equal=True)
    latest = (
        steps.filter(pl.col("origin") == "log")
        .group_by("database")
        .agg(failed.any().alias("_failed"))
        .filter(~pl.col("_failed"))
    )
    candidates = set(shown.get_column("database").drop_nulls().to_list())
    candidates -= set(new.get_column("database").to_list())
    return sorted(candidates & set(latest.get_column("database").to_list()))


def _running(actual: dict[tuple[Any, ...], dict[str, Any]]) -> set[Any]:
    """Databases whose rebalance is still running: a step of it runs, none failed."""
    statuses: dict[Any, set[str]] = {}
    for row in actual.values():
        statuses.setdefault(row["database"], set()).add(row["status"])
    return {db for db, seen in statuses.items() if "running" in seen and "failed" not in seen}


def _residue(row: dict[str, Any], latest: pl.DataFrame) -> dict[str, Any] | None:
    message = RESIDUE_KINDS.get(row.get("phase_kind") or "")
    if message is None or any(row.get(k) is None for k in ("database", "ordinal", "target")):
        return None  # (a step that names no database matches no copy)
    hit = latest.filter(
        (pl.col("database") == row["database"])
        & (pl.col("ordinal") == row["ordinal"])
        & (pl.col("node") == row["target"])
    )
    if hit.is_empty():
        return None
    fields = {**row, "role": hit["role"][0]}
    return _step_entry("residue", row, _text()["plan"][message].format(**fields))


@_ordered_by_capture
def _latest_copies(partitions: pl.DataFrame) -> pl.DataFrame:
    """The copies of each database's current snapshot (never one taken before the
    rebalance by its name or caption: :func:`stale_reason`)."""
    rows = normalise_partitions(partitions)
    stale = [s for s in rows.get_column("snapshot").unique().to_list() if stale_reason(s)]
    rows = rows.filter(~pl.col("snapshot").is_in(stale))
    frames = [
        latest_snapshot(rows.filter(pl.col("database") == db))
        .copies.select("ordinal", "node", "role")
        .with_columns(pl.lit(db).alias("database"))
        for db in sorted(rows["database"].unique().to_list())
    ]
    empty = pl.DataFrame(
        schema={"ordinal": pl.Int64, "node": pl.String, "role": pl.String, "database": pl.String}
    )
    return pl.concat(frames) if frames else empty


def _not_run(
    planned: pl.DataFrame, actual: dict[tuple[Any, ...], dict[str, Any]], running: set[Any]
) -> list[dict[str, Any]]:
    """Planned steps with no executed row, or one still scheduled / cancelled."""
    text = _text()["plan"]
    seen_databases = {key[0] for key in actual}
    out = []
    for row in planned.to_dicts():
        ran = actual.get(tuple(row[k] for k in _STEP_KEY))
        if ran is not None and ran["status"] not in NOT_RUN_STATUSES:
            continue
        if row["database"] in running and (ran is None or ran["status"] == "scheduled"):
            out.append(_not_run_yet(ran or row))
            continue
        if ran is not None:
            why, kind = ran["status"], "not_run"
        elif row["database"] in seen_databases:
            why, kind = text["missing_from_status"], "not_run"
        else:
            why, kind = text["no_status"], "unverified"
        out.append(_step_entry(kind, ran or row, text["not_run"].format(**{**row, "why": why})))
    return out


def _not_run_yet(row: dict[str, Any]) -> dict[str, Any]:
    """A step of a rebalance still running that has not started yet (it may still run)."""
    return _step_entry("not_run_yet", row, _text()["plan"]["not_run_yet"].format(**row))


def plan_vs_actual(steps: pl.DataFrame, partitions: pl.DataFrame) -> list[dict[str, Any]]:
    """Planned steps that never ran (or, in a rebalance still running, have not run yet),
    failed steps, and copies the failures left behind (a failed COPY/DROP to node T for
    ordinal o while the latest snapshot has o on T) — of each database's latest run
    (:func:`_current_steps`): an earlier run's failure is history, not the current state."""
    text = _text()["plan"]
    steps = _current_steps(steps)
    actual = _actual_steps(steps)
    running = _running(actual)
    planned = steps.filter(pl.col("origin") == "plan")
    planned_keys = {tuple(row) for row in planned.select(_STEP_KEY).iter_rows()}
    out = _not_run(planned, actual, running)
    latest = _latest_copies(partitions)
    for key, row in actual.items():
        if row["status"] in NOT_RUN_STATUSES and key not in planned_keys:
            if row["database"] in running and row["status"] == "scheduled":
                out.append(_not_run_yet(row))
                continue
            why = row["status"]
            out.append(_step_entry("not_run", row, text["not_run"].format(**{**row, "why": why})))
        elif row["status"] == "failed":
            out.append(_step_entry("failed", row, text["failed"].format(**row)))
            residue = _residue(row, latest)
            if residue is not None:
                out.append(residue)
    return sorted(out, key=_plan_sort_key)


_KIND_ORDER = {"failed": 0, "residue": 1, "not_run": 2, "not_run_yet": 3, "unverified": 4}


def _plan_sort_key(entry: dict[str, Any]) -> tuple[Any, ...]:
    return (
        entry["database"] or "",
        _KIND_ORDER[entry["kind"]],
        entry["phase"] if entry["phase"] is not None else -1,
        entry["ordinal"] if entry["ordinal"] is not None else -1,
        entry["target"] or "",
        entry["phase_kind"] or "",
    )
