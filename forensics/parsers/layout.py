"""The tracelog layout of ``grammars/tracelog.toml`` and the sniff test, without Polars.

Kept apart from :mod:`.tracelog` so that the Hyperscan helper process
(:mod:`.prefilter`) can read the same grammar, vocabulary and sniff test without
importing the frame machinery.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from .. import grammars

_SNIFF_LINES = 10
_LEVEL_TOKEN = "@LEVELS@"
_ZONE_TOKEN = "@ZONE@"
# How a [level_spellings] name spells a level word.
_SPELLINGS: dict[str, Callable[[str], str]] = {"lower": str.lower, "title": str.title}


@dataclass(frozen=True)
class Layout:
    zone: str
    line: str
    prefix: str
    date: str
    level: str
    zone_suffix: str
    timestamp_format: str
    thread: str
    bare_component: str
    levels: dict[str, str]  # level word (every spelling read) -> level
    level_forms: tuple[str, ...]  # the level word as a token (`{}:`, `[{}]`, ...)
    keep_levels: tuple[str, ...]
    vocabulary: tuple[str, ...]
    restart_tolerance_us: int
    max_samples: int
    sample_chars: int
    chunk_bytes: int
    fast_min_bytes: int
    helper_min_bytes: int
    viewer_prefixes: tuple[str, ...]
    viewer_layers: int  # how many viewer prefixes may stand one after the other
    viewer_markers: tuple[str, ...]  # lines a viewer writes without its prefix
    json_fields: tuple[str, ...]
    continuation_lines: int
    continuation_bytes: int

    @property
    def keep_words(self) -> tuple[str, ...]:
        """The level words of kept levels in each of their forms (``WARN:``, ``[WARN]``,
        ...): a line the layout gives such a level holds one."""
        return keep_words(self.levels, self.keep_levels)

    @property
    def level_tokens(self) -> dict[str, str]:
        """Every form of every level word as a blank-separated token -> its level."""
        return {f.format(w): lv for f in self.level_forms for w, lv in self.levels.items()}


def keep_words(levels: dict[str, str], keep_levels: Sequence[str]) -> tuple[str, ...]:
    """The level words of ``keep_levels`` in each form of ``[level_tokens] keep_literals``
    (``WARN:``, ``[WARN``, ``WARN]``), a form that holds another left out: the literals
    the keep scan looks for, so that a kept line without a vocabulary word is found
    whichever form its level word takes (``[WARN ]``, padded, is no token of ``forms``)."""
    forms = _keep_literals()
    needed = [f for f in forms if not any(o != f and o.format("W") in f.format("W") for o in forms)]
    return tuple(f.format(w) for f in needed for w, lv in levels.items() if lv in keep_levels)


@cache
def _level_forms() -> tuple[str, ...]:
    return tuple(grammars.load("tracelog").get("level_tokens", {}).get("forms", ("{}:",)))


@cache
def _keep_literals() -> tuple[str, ...]:
    section = grammars.load("tracelog").get("level_tokens", {})
    return tuple(section.get("keep_literals", section.get("forms", ("{}:",))))


@cache
def layout() -> Layout:
    g = grammars.load("tracelog")
    levels = spelled(g["levels"], g.get("level_spellings", {}).get("also", ()))
    alternation = "|".join(sorted(map(re.escape, levels), key=len, reverse=True))
    zone = g["layout"]["zone"]
    lay = {
        k: v.replace(_LEVEL_TOKEN, alternation).replace(_ZONE_TOKEN, zone)
        for k, v in g["layout"].items()
    }
    return Layout(
        **lay,
        levels=levels,
        level_forms=_level_forms(),
        keep_levels=tuple(g["keep"]["levels"]),
        vocabulary=tuple(g["keep"]["vocabulary"]),
        restart_tolerance_us=int(g["restarts"]["tolerance_us"]),
        max_samples=int(g["unparsed"]["max_samples"]),
        sample_chars=int(g["unparsed"]["sample_chars"]),
        chunk_bytes=int(g["chunks"]["target_bytes"]),
        fast_min_bytes=int(g["chunks"]["fast_min_bytes"]),
        helper_min_bytes=int(g["chunks"]["helper_min_bytes"]),
        viewer_prefixes=tuple(g.get("viewers", {}).get("prefixes", ())),
        viewer_layers=int(g.get("viewers", {}).get("layers", 1)),
        viewer_markers=tuple(g.get("viewers", {}).get("markers", ())),
        json_fields=tuple(g.get("json_lines", {}).get("fields", ())),
        continuation_lines=int(g["continuation"]["max_lines"]),
        continuation_bytes=int(g["continuation"]["max_bytes"]),
    )


def spelled(levels: dict[str, str], spellings: Sequence[str]) -> dict[str, str]:
    """``levels`` (word -> level) with the ``spellings`` of each word added after all the
    words as written, so that these keep their order (the compiled pass tries the words
    in order: the canonical ones first)."""
    out = dict(levels)
    for name in spellings:
        if name not in _SPELLINGS:
            raise ValueError(f"tracelog.toml: [level_spellings] unknown spelling {name!r}")
        for word, level in levels.items():
            out.setdefault(_SPELLINGS[name](word), level)
    return out


def sniff(head: bytes) -> bool:
    """True when one of the first non-empty lines of ``head`` has the tracelog layout."""
    prefix = re.compile(layout().prefix)
    return any(prefix.match(ln) for ln in _first_lines(head))


def viewer_prefix(head: bytes) -> re.Pattern[bytes] | None:
    """For a file that :func:`sniff` refuses: the viewer prefix (``[viewers]``) that
    every one of its first non-empty lines carries (a viewer's own marker lines aside),
    when one of them then has the tracelog layout; None otherwise. Prefixes a collector
    stacks (``kubectl logs --prefix --timestamps``) are one pattern, read in a row."""
    chain = viewer_chain(head)
    return None if chain is None else re.compile(b"(?m)^" + _joined(chain).encode())


def viewer_chain(head: bytes) -> tuple[str, ...] | None:
    """The ``[viewers]`` prefixes, in the order they stand, of :func:`viewer_prefix`:
    one prefix, else two in a row, ... up to ``layers`` (the fewest that do)."""
    lines = [ln for ln in _first_lines(head) if not _marker(ln)]
    if not lines:
        return None
    prefix = re.compile(layout().prefix)
    chains: list[tuple[str, ...]] = [()]
    for _ in range(layout().viewer_layers):
        chains = [(*c, v) for c in chains for v in layout().viewer_prefixes if _one_source(c, v)]
        chains = [c for c in chains if all(re.match(_joined(c), ln) for ln in lines)]
        for chain in chains:
            front = re.compile(_joined(chain))
            rest = [ln[m.end() :] for ln in lines if (m := front.match(ln))]
            if any(prefix.match(r) for r in rest) or _later_layout(head, front, prefix):
                return chain
    return None


def _joined(chain: tuple[str, ...]) -> str:
    return chain[0] if len(chain) == 1 else "".join(f"(?:{v})" for v in chain)


def _one_source(chain: tuple[str, ...], viewer: str) -> bool:
    """Whether ``viewer`` may follow ``chain``: one prefix of a row names the source."""
    named = [v for v in (*chain, viewer) if "source" in re.compile(v).groupindex]
    return len(named) <= 1


def _marker(line: str) -> bool:
    return any(re.fullmatch(m, line.strip()) for m in layout().viewer_markers)


def _later_layout(head: bytes, front: re.Pattern[str], prefix: re.Pattern[str]) -> bool:
    """Whether a line of the rest of ``head`` has the layout after the viewer prefix, the
    lines before it all carrying the prefix: a merged log (``docker compose logs``) may
    open with another container's lines."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    for line in text.split("\n")[:-1]:  # (the last may be cut by the end of the head)
        if not line.strip() or _marker(line):
            continue
        m = front.match(line.rstrip("\r"))
        if m is None:
            return False
        if prefix.match(line.rstrip("\r")[m.end() :]):
            return True
    return False


def behind_unknown_prefix(head: bytes, within: int = 200) -> str | None:
    """For a file read as nothing: the text before the tracelog layout on the first line
    that holds it, when most of its first non-empty lines hold the layout (date, time, level word)
    within their first ``within`` characters after some text that no ``[viewers]``
    prefix reads (a collector's prefix not known yet); None otherwise."""
    lines = [ln for ln in _first_lines(head) if not _marker(ln)]
    core = re.compile(layout().prefix.removeprefix("^"))
    found = [m for ln in lines if (m := core.search(ln[: within + 80])) and m.start() <= within]
    if not lines or 2 * len(found) <= len(lines):
        return None
    return found[0].string[: found[0].start()]


def json_field(head: bytes) -> str | None:
    """For a file that :func:`sniff` refuses: the field (``[json_lines]``) that holds the
    tracelog line in each JSON object of its first lines, when most of them are JSON
    objects (the last may be cut by the end of ``head``, another may be damaged) and
    that field of one of them has the tracelog layout; None otherwise."""
    lines = _first_lines(head)
    objects = [o for o in map(_object, lines) if o is not None]
    if 2 * len(objects) <= len(lines):
        return None
    prefix = re.compile(layout().prefix)
    for name in layout().json_fields:
        values = [o.get(name) for o in objects]
        if any(isinstance(v, str) and prefix.match(v) for v in values):
            return name
    return None


@dataclass(frozen=True)
class JsonParts:
    """Where the JSON objects of a log shipper that split the tracelog line into fields
    keep its message, time and level word (names of ``[json_lines]``; dotted: nested)."""

    message: str
    time: str
    level: str


@dataclass(frozen=True)
class JsonLines:
    """``[json_lines]`` of tracelog.toml."""

    fields: tuple[str, ...]
    time_fields: tuple[str, ...]
    level_fields: tuple[str, ...]
    host_fields: tuple[str, ...]
    # level word, upper case ([levels], level_aliases), or severity number -> level
    levels: dict[str, str]


@cache
def json_lines() -> JsonLines:
    g = grammars.load("tracelog")
    section = g.get("json_lines", {})
    levels = {w.upper(): lv for w, lv in g["levels"].items()}
    levels.update({w.upper(): lv for w, lv in section.get("level_aliases", {}).items()})
    levels.update({str(n): lv for n, lv in section.get("level_numbers", {}).items()})
    return JsonLines(
        fields=tuple(section.get("fields", ())),
        time_fields=tuple(section.get("time_fields", ())),
        level_fields=tuple(section.get("level_fields", ())),
        host_fields=tuple(section.get("host_fields", ())),
        levels=levels,
    )


def json_parts(head: bytes) -> JsonParts | None:
    """For a file that :func:`json_field` refuses: where its JSON objects keep the
    message, time and level of the tracelog line a shipper split into fields (the
    first field name of each list of ``[json_lines]`` that one of the first objects has:
    the message as text, a time, a level word read), when most of the first lines are
    JSON objects; None otherwise. Its lines are rebuilt by ``tracelog.rebuild_json``."""
    lines = _first_lines(head)
    objects = [o for o in map(_object, lines) if o is not None]
    if 2 * len(objects) <= len(lines):
        return None
    spec = json_lines()

    def first(names: Sequence[str], ok: Callable[[object], bool]) -> str | None:
        return next((n for n in names if any(ok(_lookup(o, n)) for o in objects)), None)

    message = first(spec.fields, lambda v: isinstance(v, str))
    time = first(spec.time_fields, lambda v: isinstance(v, str | int | float) and v != "")
    level = first(spec.level_fields, lambda v: _level_word(v) in spec.levels)
    if message is None or time is None or level is None:
        return None
    return JsonParts(message=message, time=time, level=level)


def json_host(head: bytes) -> str | None:
    """The host a shipper names in the JSON objects of a file's first lines: the value of
    the first ``[json_lines] host_fields`` name that they use as text, when all those
    that have it agree (a loose export names its node only there); None otherwise."""
    found = _json_hosts(head)
    if found is None:
        return None
    hosts = found[1]
    host = hosts.pop().strip()
    return host if not hosts and host else None


def json_host_field(head: bytes) -> str | None:
    """The first ``[json_lines] host_fields`` name that the JSON objects of a file's
    first lines use as text (the field a file mixing hosts is split by)."""
    found = _json_hosts(head)
    return None if found is None else found[0]


def _json_hosts(head: bytes) -> tuple[str, set[str]] | None:
    objects = [o for o in map(_object, _first_lines(head)) if o is not None]
    for name in json_lines().host_fields:
        hosts = {v for o in objects if isinstance(v := _lookup(o, name), str)}
        if hosts:
            return name, hosts
    return None


def _level_word(value: object) -> str | None:
    """A level field's value as the ``JsonLines.levels`` key it is looked up by: a text
    upper-cased, a whole number (journald's PRIORITY as a number) as its digits."""
    if isinstance(value, str):
        return value.upper()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _lookup(obj: dict[str, object], name: str) -> object:
    """``obj[name]``, else for a dotted name the nested value (``log.level``)."""
    if name in obj:
        return obj[name]
    value: object = obj
    for part in name.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


@dataclass(frozen=True)
class CollectorClock:
    """``[collector_clock]`` of tracelog.toml."""

    prefix: re.Pattern[str]
    json_fields: tuple[str, ...]
    step_minutes: int
    tolerance_s: float


@cache
def collector_clock() -> CollectorClock:
    g = grammars.load("tracelog")["collector_clock"]
    return CollectorClock(
        prefix=re.compile(g["prefix"]),
        json_fields=tuple(g["json_fields"]),
        step_minutes=int(g["step_minutes"]),
        tolerance_s=float(g["tolerance_s"]),
    )


def collector_offset(head: bytes, json_name: str | None = None) -> tuple[int, datetime] | None:
    """Minutes east of UTC of the clock a file's tracelog lines were written in, told by
    the UTC times a collector put in front of them (or, for JSON lines read from field
    ``json_name``, in a time field), and the first of those times (naive UTC): None when
    the first lines carry no such time, or do not all agree on one offset
    (``[collector_clock]``)."""
    clock = collector_clock()
    chain = viewer_chain(head) if json_name is None else None
    pairs = _collector_pairs(_first_lines(head), clock, json_name, chain)
    line = re.compile(layout().line)
    offsets = set()
    first = None
    for stamp, text in pairs:
        m = line.match(text)
        if m is None or m["zone"]:  # (a line with its own zone is read with it)
            continue
        own = _naive(f"{m['date']}T{m['time'].replace(',', '.')}")
        utc = _utc(stamp)
        if own is None or utc is None:
            return None
        minutes = (own - utc).total_seconds() / 60
        step = round(minutes / clock.step_minutes) * clock.step_minutes
        if abs(minutes - step) * 60 > clock.tolerance_s:
            return None
        offsets.add(step)
        first = first or utc
    return (offsets.pop(), first) if len(offsets) == 1 and first is not None else None


def _collector_pairs(
    lines: list[str],
    clock: CollectorClock,
    json_name: str | None,
    chain: tuple[str, ...] | None = None,
) -> list[tuple[str, str]]:
    """(collector's time, tracelog line) of each first line that has both: the time at
    the start of the line or of one of the viewer prefixes (``chain``) in front of it
    (``[pod/...] <time> <line>``, ``<time> <host> <tag>: <line>``)."""
    if json_name is None:
        return [pair for ln in lines if (pair := _stamped(ln, chain or (), clock)) is not None]
    pairs = []
    for obj in filter(None, map(_object, lines)):
        stamp = next((obj[k] for k in clock.json_fields if isinstance(obj.get(k), str)), None)
        text = obj.get(json_name)
        if isinstance(stamp, str) and isinstance(text, str):
            pairs.append((stamp, text))
    return pairs


def _stamped(line: str, chain: tuple[str, ...], clock: CollectorClock) -> tuple[str, str] | None:
    """(collector's time, the line after the prefixes) of a line read through ``chain``
    (none: the time and the rest of the line), when one of its prefixes opens with a time."""
    if not chain:
        m = clock.prefix.match(line)
        return None if m is None else (m["utc"], line[m.end() :])
    stamp, at = None, 0
    for viewer in chain:
        if stamp is None and (c := clock.prefix.match(line[at:])) is not None:
            stamp = c["utc"]
        layer = re.match(viewer, line[at:])
        if layer is None:
            return None
        at += layer.end()
    return None if stamp is None else (stamp, line[at:])


def _naive(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text[:26])
    except ValueError:
        return None


def _utc(text: str) -> datetime | None:
    """An RFC 3339 time (a zone required; Python reads ``Z`` and a fraction longer than
    microseconds) as naive UTC."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return None if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)


def _object(line: str) -> dict[str, object] | None:
    if not line.lstrip().startswith("{"):
        return None
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def unwrap_json(chunk: bytes | memoryview, name: str) -> bytes:
    """``chunk`` (whole lines) with each JSON object line replaced by its field ``name``
    (see :func:`json_field`): the line break that ends the field's text is dropped and
    any other becomes a blank, so that line numbers stay those of the file. A line that
    is no such object stays as it is."""
    out = []
    for line in bytes(chunk).split(b"\n"):
        value = _object(line.decode("utf-8", "replace")) if line.lstrip()[:1] == b"{" else None
        text = value.get(name) if value is not None else None
        if isinstance(text, str):
            text = text.removesuffix("\n").removesuffix("\r")
            out.append(text.replace("\r\n", " ").replace("\n", " ").encode("utf-8", "replace"))
        else:
            out.append(line)
    return b"\n".join(out)


def _first_lines(head: bytes) -> list[str]:
    if not head:
        return []
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    candidates = [ln.rstrip("\r") for ln in text.split("\n") if ln.strip()]
    return candidates[:_SNIFF_LINES]
