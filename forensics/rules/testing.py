"""Check every rule against its own examples (``forensics rules test``, the test suite).

Each example is parsed on its own with the real tracelog parser, as a one-node log, and
the rule alone is run over it: a ``match`` example must produce at least one hit, a
``no_match`` example none. Every example line must be a tracelog line the parser keeps,
otherwise a ``no_match`` example would pass for the wrong reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import polars as pl

from .engine import match
from .model import Example, Rule, RuleSet

#: ``parse_lines(lines, *, path, node, tz, keep_all) -> events`` (forensics.parsers.tracelog).
LineParser = Callable[..., pl.DataFrame]

_SHOWN_FIELDS = (
    "level",
    "component",
    "database",
    "ordinal",
    "phase_kind",
    "step_event",
    "target",
    "error_code",
)


@dataclass(frozen=True)
class Failure:
    """One example that does not behave as declared."""

    rule: str
    path: str
    line: int | None
    example: tuple[str, ...]
    expected: str  # "match" / "no match" / "a tracelog line"
    actual: str

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}" if self.line is not None else self.path

    def __str__(self) -> str:
        text = " | ".join(self.example)
        return f"{self.location}: {self.rule}: expected {self.expected}, got {self.actual}: {text}"


def check_rules(
    rules: RuleSet | Iterable[Rule], *, parse_lines: LineParser | None = None
) -> list[Failure]:
    """Failures of all rules' examples (empty when every example behaves).

    The examples are parsed together, one after another as one log (parsing one costs
    about 70 ms whatever its length), and each rule is run over its example's events
    alone; an example that fails that way is checked again on its own, which decides."""
    parser = parse_lines or _default_parser()
    pairs = [(rule, ex) for rule in rules for ex in rule.examples]
    together = _parse_together([ex for _, ex in pairs], parser)
    failures = []
    for (rule, ex), events in zip(pairs, together, strict=True):
        alone = _verdict(rule, ex, events) and check_example(rule, ex, parser)
        if alone is not None:
            failures.append(alone)
    return failures


def _parse_together(examples: list[Example], parse_lines: LineParser) -> list[pl.DataFrame]:
    """Each example's events as if parsed alone, from one parse of all their lines: line
    numbers made the example's own, and a restart found at an example's first line (the
    uptime counter of the example before it was larger) left out."""
    lines = [line for ex in examples for line in ex.lines]
    if not lines:
        return [pl.DataFrame() for _ in examples]
    events = parse_lines(lines, path="<example>", node="example:3306", tz="UTC", keep_all=True)
    out, start = [], 0
    for ex in examples:
        end = start + len(ex.lines)
        own = events.filter(pl.col("line").is_between(start + 1, end)).filter(
            ~((pl.col("line") == start + 1) & pl.col("step_event").eq_missing("node_restart"))
        )
        out.append(own.with_columns(pl.col("line") - start))
        start = end
    return out


def example_warnings(
    rules: RuleSet | Iterable[Rule], *, parse_lines: LineParser | None = None
) -> list[str]:
    """One warning per user rule (not built-in) whose own examples fail, at the first
    failing example's ``file:line``. ``analyze --rules`` still uses such a rule, as asked,
    but its findings are not what its author declared, and nothing else would say so."""
    user = [rule for rule in rules if rule.source != "builtin"]
    failures = check_rules(user, parse_lines=parse_lines)
    by_rule: dict[str, list[Failure]] = {}
    for failure in failures:
        by_rule.setdefault(failure.rule, []).append(failure)
    sources = {rule.id: rule for rule in user}
    return [
        f"{found[0].location}: rule {rule_id} fails {len(found)} of its "
        f"{len(sources[rule_id].examples)} examples (expected {found[0].expected}, got "
        f"{found[0].actual.split(' (')[0]}) and is used as written; see 'forensics rules "
        f"test {sources[rule_id].source}'"
        for rule_id, found in by_rule.items()
    ]


def check_example(rule: Rule, example: Example, parse_lines: LineParser) -> Failure | None:
    """The failure of one example, parsed on its own; None when it behaves."""
    events = parse_lines(
        list(example.lines), path="<example>", node="example:3306", tz="UTC", keep_all=True
    )
    return _verdict(rule, example, events)


def _verdict(rule: Rule, example: Example, events: pl.DataFrame) -> Failure | None:
    """Whether ``example``'s events behave as it declares for ``rule``."""

    def fail(expected: str, actual: str) -> Failure:
        return Failure(rule.id, rule.path, example.line, example.lines, expected, actual)

    missing = sorted(
        set(range(1, len(example.lines) + 1)) - set(events["line"].drop_nulls().to_list())
    )
    if missing:
        return fail("a tracelog line", f"line {missing[0]} of the example not parsed as an event")
    hits = match(events, [rule])
    if example.should_match and hits.height == 0:
        return fail("match", f"no match (parsed as {_describe(events)})")
    if not example.should_match and hits.height > 0:
        return fail("no match", f"a match on example line {hits['line'][0]}")
    return None


def _describe(events: pl.DataFrame) -> str:
    parts = []
    for row in events.iter_rows(named=True):
        fields = ", ".join(f"{k}={row[k]!r}" for k in _SHOWN_FIELDS if row.get(k) is not None)
        parts.append(f"[line {row['line']}: {fields}]")
    return " ".join(parts)


def _default_parser() -> LineParser:
    from ..parsers.tracelog import parse_lines

    return parse_lines
