"""The built-in rule pack: examples pass, vocabulary covered, catalogue up to date."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from forensics.rules import CAUSES, FACTORS, check_rules, load_rules, render_catalogue
from forensics.rules.catalogue import DOC_PATH

# the shared specification folder sits beside the project checkout
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "singlestore-formats.md"
# A full tracelog line in the real layout (formats §1.3), with the uptime counter.
TRACELOG_LINE = re.compile(
    r"^\d{8,} \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} +(INFO|WARN|ERROR|FAILURE): "
)

RULES = load_rules()


def test_every_builtin_example_behaves() -> None:
    failures = check_rules(RULES)
    assert not failures, "\n".join(map(str, failures))


def test_every_cause_and_factor_has_a_rule() -> None:
    assert {r.cause for r in RULES if r.cause} == set(CAUSES)
    assert {r.factor for r in RULES if r.factor} == set(FACTORS)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_has_enough_examples_in_the_real_layout(rule) -> None:
    matches = [e for e in rule.examples if e.should_match]
    misses = [e for e in rule.examples if not e.should_match]
    assert len(matches) >= 2 and len(misses) >= 2
    for example in rule.examples:
        for line in example.lines:
            assert TRACELOG_LINE.match(line), line


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_references_are_singlestore_docs(rule) -> None:
    assert rule.references
    for url in rule.references:
        assert url.startswith("https://docs.singlestore.com/")
        if REFERENCE.exists():
            assert url in REFERENCE.read_text(encoding="utf-8"), url


def test_rule_ids_are_unique_and_stable_looking() -> None:
    assert len(set(RULES.ids)) == len(RULES)
    assert all(re.fullmatch(r"[A-Z]{2,6}\d{2}", i) for i in RULES.ids)


def test_committed_catalogue_is_generated() -> None:
    # Regenerate with: python -m forensics.rules.catalogue
    assert DOC_PATH.read_text(encoding="utf-8") == render_catalogue(RULES)


def test_catalogue_lists_every_rule() -> None:
    text = render_catalogue(RULES)
    for rule in RULES:
        assert f"## {rule.id}\n" in text
