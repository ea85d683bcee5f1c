"""The vectorised attribution agrees with the row-by-row reference, also with two failures."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import forensics
from forensics import schemas
from forensics.diagnose import _best_finding, group_findings
from forensics.parsers.tracelog import parse_lines
from forensics.rules import load_rules, match
from forensics.timeline import build_timeline

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MA = "10.0.0.1:3306"


def _reference(matches: pl.DataFrame, rules: dict, rebalances: list) -> dict:  # type: ignore[type-arg]
    failed = [rb for rb in rebalances if rb.outcome == "failed"]
    keyed = matches.with_columns(
        pl.col("database").fill_null("").alias("_db"), pl.col("node").fill_null("").alias("_node")
    )
    out = {}
    for (rule_id, node, db), group in keyed.group_by(["rule", "_node", "_db"], maintain_order=True):
        rows = group.sort(["ts", "file", "line"], nulls_last=True).to_dicts()
        f = _best_finding(rules[str(rule_id)], rows, failed)
        out[(rule_id, node, db)] = (f.confidence, f.rebalance, f.evidence[0]["line"], f.lines)
    return out


def _vectorised(matches: pl.DataFrame, rules: dict, rebalances: list) -> dict:  # type: ignore[type-arg]
    return {
        (f.rule, f.node or "", f.database or ""): (
            f.confidence,
            f.rebalance,
            f.evidence[0]["line"],
            f.lines,
        )
        for f in group_findings(matches, rules, rebalances)
    }


def _two_failures() -> tuple[pl.DataFrame, pl.DataFrame]:
    lines = [
        "00001000 2026-03-02 10:05:00.000   INFO: Thread 1: RebalanceStep: COPY PARTITION sales:3 ON '10.0.0.5':3306 started",
        "00002000 2026-03-02 10:08:30.000  ERROR: Thread 1: `sales_3` log: Not enough memory available to complete the current request.",
        "00003000 2026-03-02 10:09:00.000  ERROR: Thread 1: RebalanceStep: COPY PARTITION sales:3 ON '10.0.0.5':3306 failed",
        "00004000 2026-03-02 11:05:00.000   INFO: Thread 1: RebalanceStep: PROMOTE PARTITION crm:1 ON '10.0.0.6':3306 started",
        "00005000 2026-03-02 11:06:00.000  ERROR: Thread 1: `crm_1` log: Lock wait timeout exceeded; try restarting transaction",
        "00005500 2026-03-02 11:06:10.000  ERROR: Thread 1: `sales_2` log: Lock wait timeout exceeded; try restarting transaction",
        "00006000 2026-03-02 11:07:00.000  ERROR: Thread 1: RebalanceStep: PROMOTE PARTITION crm:1 ON '10.0.0.6':3306 failed",
        "00007000 2026-03-02 11:07:30.000  ERROR: Thread 1: Not enough memory available to complete the current request.",
    ]
    events = parse_lines(lines, path="ma/memsql.log", node=MA)
    return events, schemas.empty(schemas.STEPS)


def _compare(events: pl.DataFrame, steps: pl.DataFrame, partitions: pl.DataFrame) -> None:
    rebalances = build_timeline(steps, events, partitions, MA)
    ruleset = load_rules([])
    rules = {r.id: r for r in ruleset}
    matches = match(events, ruleset)
    assert _vectorised(matches, rules, rebalances) == _reference(matches, rules, rebalances)


def test_two_failed_rebalances_agree() -> None:
    events, steps = _two_failures()
    rebalances = build_timeline(steps, events, schemas.empty(schemas.PARTITIONS), MA)
    assert sorted(rb.database for rb in rebalances if rb.outcome == "failed") == ["crm", "sales"]
    _compare(events, steps, schemas.empty(schemas.PARTITIONS))


@pytest.mark.parametrize(
    "scenario", ["copy_node_failure", "promote_lsn_timeout", "failed_no_evidence"]
)
def test_fixtures_agree(scenario: str) -> None:
    bundle = forensics.load_bundle(FIXTURES / scenario)
    _compare(bundle.events, bundle.steps, bundle.partitions)
