"""The rule model: vocabularies (SPEC §4.2) and the immutable ``Rule`` / ``RuleSet``.

A rule says "these log lines are evidence of this cause (or contributing factor)". Its
``when`` condition selects events; with ``followed_by`` the rule fires on an event that
satisfies ``followed_by`` and comes after a ``when`` event within ``within``, on the same
``same`` keys (the second event is the consequence, the first the trigger).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from .condition import Condition

#: Causes of a failed rebalance step (SPEC §4.2). ``unknown`` is the verdict when no rule
#: fits, so no rule may claim it.
CAUSES = (
    "kill",
    "out_of_memory",
    "io_saturation",
    "network_error",
    "storage_error",
    "lock_timeout",
    "sync_partitions_timeout",
    "lsn_wait_timeout",
    "resource_pressure",
    "node_failure",
)

#: Contributing factors (findings with role "contributing").
FACTORS = ("concurrent_ddl", "merger_load", "backup_overlap", "user_workload")

PHASES = ("copy", "promote", "drop", "any")
SEVERITIES = ("critical", "high", "medium", "low", "info")
#: Keys a ``followed_by`` correlation may require to be equal on both events.
SAME_KEYS = ("database", "node", "ordinal")


@dataclass(frozen=True)
class Example:
    """One example: ``lines`` is a full tracelog excerpt (one line, or a sequence)."""

    lines: tuple[str, ...]
    should_match: bool
    line: int | None  # line of the example in the rule file (best effort)


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    cause: str | None
    factor: str | None
    phases: tuple[str, ...]
    severity: str
    when: Condition
    explanation: str
    remediation: str
    references: tuple[str, ...]
    examples: tuple[Example, ...]
    path: str
    line: int | None  # line of ``id = ...`` in ``path``
    followed_by: Condition | None = None
    within: timedelta | None = None
    same: tuple[str, ...] = ()
    source: str = "builtin"  # "builtin" or the user directory it came from

    @property
    def kind(self) -> str:
        """``cause`` or ``factor``."""
        return "cause" if self.cause is not None else "factor"

    @property
    def label(self) -> str:
        """The cause or factor name."""
        return self.cause or self.factor or ""

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}" if self.line is not None else self.path


@dataclass(frozen=True)
class RuleSet:
    """Rules in id order; ``overridden`` lists built-in rules replaced by user rules."""

    rules: tuple[Rule, ...]
    overridden: tuple[Rule, ...] = field(default=())

    @classmethod
    def of(cls, rules: Iterable[Rule], overridden: Iterable[Rule] = ()) -> RuleSet:
        return cls(tuple(sorted(rules, key=lambda r: r.id)), tuple(overridden))

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def __contains__(self, rule_id: object) -> bool:
        return any(r.id == rule_id for r in self.rules)

    def __getitem__(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.rules)
