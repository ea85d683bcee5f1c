"""Load and validate rule files (TOML).

A file holds one rule (top-level keys) or several (``[[rule]]`` tables). Every problem is
a :class:`RuleError` with ``path:line``; the line of a bad field is found by scanning the
rule's table in the file text for ``key =`` (tomllib does not report positions).

Rule keys (see ``docs/rules.md`` for the built-in pack)::

    id = "MEM01"                       # stable code: 2-6 capitals + 2-3 digits
    title = "..."
    cause = "out_of_memory"            # or: factor = "concurrent_ddl"
    phases = ["copy", "promote"]       # copy / promote / drop / any
    severity = "high"                  # critical / high / medium / low / info
    when = 'message contains "Not enough memory"'
    followed_by = 'step_event == "step_failure"'   # optional, with within and same
    within = "5m"                      # ms / s / m / h / d
    same = ["database"]                # database / node / ordinal
    explanation = "..."
    remediation = "..."
    references = ["https://docs.singlestore.com/..."]

    [rule.examples]                    # or [examples] in a one-rule file
    match = ["<full tracelog line>", ["<line 1 of a sequence>", "<line 2>"]]
    no_match = ["<full tracelog line>"]
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from ..errors import RuleError
from .condition import Condition, parse_condition
from .model import CAUSES, FACTORS, PHASES, SAME_KEYS, SEVERITIES, Example, Rule, RuleSet

BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"

_REQUIRED = ("id", "title", "phases", "severity", "when", "explanation", "remediation", "examples")
_OPTIONAL = ("cause", "factor", "followed_by", "within", "same", "references")
_ID_RE = re.compile(r"^[A-Z]{2,6}[0-9]{2,3}$")
_DURATION_RE = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d)\s*$")
_DURATION_UNITS = {"ms": "milliseconds", "s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_RULE_HEADER_RE = re.compile(r"^\s*\[\[?\s*rule\s*\]\]?\s*(#.*)?$")
_TOML_LINE_RE = re.compile(r"at line (\d+)")
# TOML strings and comments, in the order a reader meets them; ``open`` is the opening
# quote of a string that is never closed (a one-line string closes on its own line).
_TOML_STRINGS_RE = re.compile(
    r'#[^\n]*|"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\'|"(?:[^"\\\n]|\\[^\n])*"|\'[^\'\n]*\''
    r"|(?P<open>\"\"\"|\'\'\'|\"|\')",
    re.DOTALL,
)


@dataclass(frozen=True)
class _Source:
    """One rule's table in one file: where to look for the line of a key."""

    path: str
    lines: tuple[str, ...]
    first: int  # 1-based, inclusive
    last: int

    def line_of(self, key: str) -> int:
        pattern = re.compile(rf"(?:^|[\s{{,.]){re.escape(key)}\s*=")
        for number in range(self.first, self.last + 1):
            if pattern.search(self.lines[number - 1]):
                return number
        return self.first

    def line_of_text(self, text: str, after: int) -> int | None:
        probe = text.strip()[:40]
        for number in range(after, self.last + 1):
            if probe and probe in self.lines[number - 1]:
                return number
        return None

    def error(self, key: str, message: str) -> RuleError:
        return RuleError(message, self.path, self.line_of(key))


# --------------------------------------------------------------------------- public


def load_rules(extra_dirs: Iterable[Path | str] = ()) -> RuleSet:
    """The built-in pack, then each user directory; a user rule overrides a same-id rule."""
    by_id = {rule.id: rule for rule in load_dir(BUILTIN_DIR, source="builtin")}
    overridden: list[Rule] = []
    for directory in extra_dirs:
        for rule in load_dir(Path(directory), source=str(directory)):
            if rule.id in by_id and by_id[rule.id].source == "builtin":
                overridden.append(by_id[rule.id])
            by_id[rule.id] = rule
    for rule in by_id.values():  # derived now, on the loading thread (see Condition)
        for condition in (rule.when, rule.followed_by):
            if condition is not None:
                _ = condition.prefilter, condition.expr
    return RuleSet.of(by_id.values(), overridden)


def load_dir(directory: Path, *, source: str = "user") -> list[Rule]:
    """All rules of ``*.toml`` files under ``directory`` (or of one file); ids unique."""
    if directory.is_file():
        files = [directory]
    elif directory.is_dir():
        files = _rule_files(directory)
    else:
        raise RuleError("rule directory not found", str(directory))
    rules: list[Rule] = []
    seen: dict[str, Rule] = {}
    for path in files:
        for rule in load_file(path, source=source):
            if rule.id in seen:
                first = seen[rule.id]
                raise RuleError(
                    f"duplicate rule id {rule.id} (also at {first.location})", rule.path, rule.line
                )
            seen[rule.id] = rule
            rules.append(rule)
    return rules


def load_file(path: Path, *, source: str = "user") -> list[Rule]:
    text = _read(path)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(exc, text, str(path)) from None
    lines = tuple(text.splitlines())
    tables = _rule_tables(doc, str(path), lines)
    return [_build_rule(table, src, source) for table, src in tables]


def parse_duration(text: str) -> timedelta | None:
    """``"5m"`` -> 5 minutes; None when ``text`` is not a duration."""
    match = _DURATION_RE.match(text)
    if match is None:
        return None
    return timedelta(**{_DURATION_UNITS[match.group(2)]: int(match.group(1))})


# --------------------------------------------------------------------------- file structure


def _rule_files(directory: Path) -> list[Path]:
    """The ``*.toml`` files under ``directory``, the suffix in any case (``drop.TOML``).

    A folder the user named that holds none is an error, not an empty pack: the rules
    asked for would silently not be there."""
    files = sorted(p for p in directory.rglob("*") if p.suffix.lower() == ".toml" and p.is_file())
    if not files:
        others = sorted(p.name for p in directory.rglob("*") if p.is_file())
        seen = f" (found {', '.join(others[:3])}{', ...' if len(others) > 3 else ''})"
        raise RuleError(
            f"no rule files (*.toml) in this folder{seen if others else ''}", str(directory)
        )
    return files


def _toml_error(exc: tomllib.TOMLDecodeError, text: str, path: str) -> RuleError:
    """The TOML error with its line. tomllib names it as "at line N" except when a string
    is never closed ("at end of document"): then the line where that string opens (or,
    for an unclosed array or table, the last line of the file)."""
    match = _TOML_LINE_RE.search(str(exc))
    if match is not None:
        return RuleError(f"invalid TOML: {exc}", path, int(match.group(1)))
    reason = str(exc).replace(" (at end of document)", "")
    opened = _unclosed_string_line(text)
    if opened is not None:
        return RuleError(
            f"invalid TOML: {reason} at end of document: the string opened on this line is "
            "never closed",
            path,
            opened,
        )
    last = len(text.rstrip().splitlines()) or 1
    return RuleError(f"invalid TOML: {reason} at end of document", path, last)


def _unclosed_string_line(text: str) -> int | None:
    """The line of the first string's opening quote that no quote closes, if any."""
    for found in _TOML_STRINGS_RE.finditer(text):
        if found.group("open") is not None:
            return text.count("\n", 0, found.start()) + 1
    return None


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise RuleError(f"cannot read rule file: {exc.strerror}", str(path)) from None
    except UnicodeDecodeError as exc:
        raise RuleError(f"rule file is not UTF-8 (byte {exc.start})", str(path)) from None


def _rule_tables(
    doc: dict[str, Any], path: str, lines: tuple[str, ...]
) -> list[tuple[dict[str, Any], _Source]]:
    whole = _Source(path, lines, 1, max(len(lines), 1))
    if "rule" not in doc:
        if not doc:
            raise RuleError("no rule in file (expected top-level keys or [[rule]] tables)", path, 1)
        return [(doc, whole)]
    extra = sorted(set(doc) - {"rule"})
    if extra:
        raise whole.error(
            extra[0], f"unexpected top-level key {extra[0]!r} next to [[rule]] tables"
        )
    tables = doc["rule"] if isinstance(doc["rule"], list) else [doc["rule"]]
    starts = [i + 1 for i, line in enumerate(lines) if _RULE_HEADER_RE.match(line)]
    if len(starts) != len(tables):  # e.g. inline tables: fall back to the whole file
        return [(table, whole) for table in tables]
    ends = [s - 1 for s in starts[1:]] + [len(lines)]
    return [
        (table, _Source(path, lines, s, e))
        for table, s, e in zip(tables, starts, ends, strict=True)
    ]


# --------------------------------------------------------------------------- one rule


def _build_rule(table: dict[str, Any], src: _Source, source: str) -> Rule:
    if not isinstance(table, dict):
        raise RuleError("a rule must be a table", src.path, src.first)
    _check_keys(table, src)
    rule_id = _rule_id(table, src)
    cause, factor = _cause_or_factor(table, src)
    followed_by, within, same = _correlation(table, src)
    return Rule(
        id=rule_id,
        title=_text(table, "title", src),
        cause=cause,
        factor=factor,
        phases=_choices(table, "phases", PHASES, src),
        severity=_choice(table, "severity", SEVERITIES, src),
        when=_condition(table, "when", src),
        explanation=_text(table, "explanation", src),
        remediation=_text(table, "remediation", src),
        references=_references(table, src),
        examples=_examples(table, src),
        path=src.path,
        line=src.line_of("id"),
        followed_by=followed_by,
        within=within,
        same=same,
        source=source,
    )


def _check_keys(table: dict[str, Any], src: _Source) -> None:
    unknown = sorted(set(table) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        allowed = ", ".join(_REQUIRED + _OPTIONAL)
        raise src.error(unknown[0], f"unknown key {unknown[0]!r} (allowed: {allowed})")
    missing = [key for key in _REQUIRED if key not in table]
    if missing:
        where = f"rule {table['id']}" if isinstance(table.get("id"), str) else "rule"
        raise RuleError(
            f"{where}: missing key(s) {', '.join(missing)}", src.path, src.line_of("id")
        )


def _rule_id(table: dict[str, Any], src: _Source) -> str:
    value = table["id"]
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise src.error(
            "id", f"id must be 2-6 capital letters and 2-3 digits (e.g. MEM01), not {value!r}"
        )
    return value


def _text(table: dict[str, Any], key: str, src: _Source) -> str:
    value = table[key]
    if not isinstance(value, str) or not value.strip():
        raise src.error(key, f"{key} must be a non-empty string")
    return value.strip()


def _choice(table: dict[str, Any], key: str, allowed: tuple[str, ...], src: _Source) -> str:
    value = table[key]
    if value not in allowed:
        raise src.error(key, f"{key} must be one of {', '.join(allowed)}; got {value!r}")
    return str(value)


def _choices(
    table: dict[str, Any], key: str, allowed: tuple[str, ...], src: _Source
) -> tuple[str, ...]:
    values = table[key]
    if not isinstance(values, list) or not values or any(v not in allowed for v in values):
        raise src.error(
            key, f"{key} must be a non-empty list from {', '.join(allowed)}; got {values!r}"
        )
    return tuple(values)


def _cause_or_factor(table: dict[str, Any], src: _Source) -> tuple[str | None, str | None]:
    has_cause, has_factor = "cause" in table, "factor" in table
    if has_cause == has_factor:
        raise RuleError("a rule needs exactly one of cause or factor", src.path, src.line_of("id"))
    if has_cause:
        return _choice(table, "cause", CAUSES, src), None
    return None, _choice(table, "factor", FACTORS, src)


def _condition(table: dict[str, Any], key: str, src: _Source) -> Condition:
    value = table[key]
    line = src.line_of(key)
    if not isinstance(value, str):
        raise RuleError(f"{key} must be a string holding a condition", src.path, line)
    raw = src.lines[line - 1].split("=", 1)[-1].strip() if line <= len(src.lines) else ""
    start = line + 1 if raw in ('"""', "'''") else line  # TOML trims the first newline
    return parse_condition(value, path=src.path, line=start)


def _correlation(
    table: dict[str, Any], src: _Source
) -> tuple[Condition | None, timedelta | None, tuple[str, ...]]:
    if "followed_by" not in table:
        for key in ("within", "same"):
            if key in table:
                raise src.error(key, f"{key} is only meaningful with followed_by")
        return None, None, ()
    followed_by = _condition(table, "followed_by", src)
    if "within" not in table:
        raise src.error("followed_by", 'followed_by needs within (e.g. within = "5m")')
    within = parse_duration(table["within"]) if isinstance(table["within"], str) else None
    if within is None or within <= timedelta(0):
        raise src.error(
            "within",
            f"within must be a positive duration like 30s, 5m, 2h; got {table['within']!r}",
        )
    same = table.get("same", [])
    if (
        not isinstance(same, list)
        or any(k not in SAME_KEYS for k in same)
        or len(set(same)) != len(same)
    ):
        raise src.error("same", f"same must be a list from {', '.join(SAME_KEYS)}; got {same!r}")
    return followed_by, within, tuple(same)


def _references(table: dict[str, Any], src: _Source) -> tuple[str, ...]:
    refs = table.get("references", [])
    if not isinstance(refs, list) or any(
        not isinstance(r, str) or not r.startswith(("https://", "http://")) for r in refs
    ):
        raise src.error("references", "references must be a list of http(s) URLs")
    return tuple(refs)


def _examples(table: dict[str, Any], src: _Source) -> tuple[Example, ...]:
    examples = table["examples"]
    if not isinstance(examples, dict):
        raise src.error(
            "examples", "examples must be a table with match = [...] and no_match = [...]"
        )
    unknown = sorted(set(examples) - {"match", "no_match"})
    if unknown:
        raise src.error(
            unknown[0], f"unknown examples key {unknown[0]!r} (allowed: match, no_match)"
        )
    if not examples.get("match"):
        raise src.error("examples", "a rule needs at least one match example")
    result: list[Example] = []
    for key, should_match in (("match", True), ("no_match", False)):
        items = examples.get(key, [])
        key_line = src.line_of(key)
        if not isinstance(items, list):
            raise RuleError(f"examples.{key} must be a list", src.path, key_line)
        for item in items:
            lines = _example_lines(item, key, src.path, key_line)
            result.append(
                Example(lines, should_match, src.line_of_text(lines[0], key_line) or key_line)
            )
    return tuple(result)


def _example_lines(item: Any, key: str, path: str, line: int) -> tuple[str, ...]:
    lines = [item] if isinstance(item, str) else item
    if (
        not isinstance(lines, list)
        or not lines
        or not all(isinstance(x, str) and x.strip() for x in lines)
    ):
        raise RuleError(
            f"examples.{key}: each example is a log line or a non-empty list of lines", path, line
        )
    if any("\n" in x for x in lines):
        raise RuleError(
            f"examples.{key}: one line per string (use a list for a sequence)", path, line
        )
    return tuple(lines)
