"""Attribution and verdicts (SPEC §4.4).

Each rule match is scored against each failed rebalance on four agreements — database
(and ordinal), node, time and phase — and the scores multiply into a confidence, so a
line that disagrees on any one of them (another database, hours before, a node not in
the step) cannot win. Matches of one rule on one node for one rebalance form a finding.
The best cause finding is the verdict; the others are alternatives, each with the
reason it lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from .timeline import LEAD_TIME, Rebalance

#: Score multipliers, one per agreement. 1.0 = agrees, the value = how much a miss costs.
DB_UNKNOWN, DB_OTHER = 0.7, 0.05
ORDINAL_SAME, ORDINAL_OTHER = 1.0, 0.75
NODE_INVOLVED, NODE_OTHER = 1.0, 0.45
PHASE_OK, PHASE_ATYPICAL = 1.0, 0.55
TIME_SLACK_AFTER = timedelta(seconds=90)
CAUSE_THRESHOLD = 0.30
#: A cause that, when evidenced on a node of the step, explains another's symptoms:
#: a leaf that crashed or went offline is seen by its peers as lost connections.
SUPERSEDES = {"node_failure": {"network_error"}}
SUPERSEDE_MIN = 0.5
EVIDENCE_PER_FINDING = 5
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}


@dataclass
class Finding:
    id: str
    rule: str
    role: str  # cause / contributing / alternative / unrelated
    cause: str | None
    factor: str | None
    phase: str | None
    database: str | None
    ordinal: int | None
    node: str | None
    time: datetime | None
    severity: str
    confidence: float
    title: str
    explanation: str
    remediation: str
    references: list[str]
    evidence: list[dict[str, Any]]
    lines: int
    reasons: list[str] = field(default_factory=list)  # why the score is what it is
    alternatives: list[dict[str, str]] = field(default_factory=list)
    rebalance: str | None = None  # database of the rebalance it was scored against


@dataclass
class Verdict:
    database: str | None
    status: str  # failure / no_failure / inconclusive
    phase: str | None
    cause: str | None
    finding: str | None
    summary: str
    confidence: float | None = None
    time: datetime | None = None
    error: str | None = None
    step: dict[str, Any] | None = None


def _time_score(ts: datetime | None, rb: Rebalance, whole: bool = False) -> tuple[float, str | None]:
    """1 inside the window; fading over LEAD_TIME before it; low long before or after."""
    start, end = rb.window(whole)
    if ts is None or (start is None and end is None):
        return 0.6, "time unknown"
    if start is not None and ts < start:
        gap = start - ts
        what = "rebalance" if whole else "failed step"
        if gap <= LEAD_TIME:
            return 1.0 - 0.5 * (gap / LEAD_TIME), f"{_human(gap)} before the {what} started"
        return max(0.02, 0.5 - gap / timedelta(minutes=60)), f"{_human(gap)} before the {what} started"
    if end is not None and ts > end + TIME_SLACK_AFTER:
        gap = ts - end
        return max(0.02, 0.4 - gap / timedelta(minutes=30)), f"{_human(gap)} after the failure"
    return 1.0, None


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 3600:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def _db_score(row: dict[str, Any], rb: Rebalance) -> tuple[float, str | None]:
    db = row.get("database")
    if db is None:
        return DB_UNKNOWN, None
    if db != rb.database:
        return DB_OTHER, f"names database {db}, not {rb.database}"
    step = rb.failed_step or {}
    ordinal = row.get("ordinal")
    if ordinal is not None and step.get("ordinal") is not None and ordinal != step["ordinal"]:
        return ORDINAL_OTHER, f"names partition {db}:{ordinal}, the failed step is {db}:{step['ordinal']}"
    return ORDINAL_SAME, None


def _node_score(node: str | None, rb: Rebalance) -> tuple[float, str | None]:
    if not rb.involved_nodes or node is None or node in rb.involved_nodes:
        return NODE_INVOLVED, None
    host = node.rsplit(":", 1)[0]
    if any(n.rsplit(":", 1)[0] == host for n in rb.involved_nodes):
        return NODE_INVOLVED, None
    return NODE_OTHER, f"on {node}, not a node of the failed step"


def _phase_score(phases: list[str], rb: Rebalance) -> tuple[float, str | None]:
    if rb.failed_phase is None or "any" in phases or rb.failed_phase in phases:
        return PHASE_OK, None
    return PHASE_ATYPICAL, f"not a typical cause of a {rb.failed_phase} failure"


def score(row: dict[str, Any], phases: list[str], rb: Rebalance,
          factor: bool = False) -> tuple[float, list[str]]:
    """Confidence in 0–1 that this matched line explains (or, for a factor, contributed to)
    the failure of ``rb``. A factor is a state (a backup, a merge) and is judged against
    the whole rebalance, not just the failed step."""
    parts = [_db_score(row, rb), _node_score(row.get("node"), rb),
             _time_score(row.get("ts"), rb, whole=factor), _phase_score(phases, rb)]
    value = 1.0
    reasons = []
    for weight, why in parts:
        value *= weight
        if why:
            reasons.append(why)
    return value, reasons


def _evidence(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows[:EVIDENCE_PER_FINDING]:
        if row.get("first_line") is not None:
            out.append({"file": row["first_file"], "line": row["first_line"], "node": row.get("first_node", row["node"]),
                        "time": row.get("first_ts"), "text": row.get("first_message")})
        out.append({"file": row["file"], "line": row["line"], "node": row["node"], "time": row["ts"],
                    "text": row["message"]})
    return out[:EVIDENCE_PER_FINDING]


def group_findings(matches: pl.DataFrame, rules: dict[str, Any],
                   rebalances: list[Rebalance]) -> list[Finding]:
    """One finding per (rule, node, database) group of matches, scored against its best rebalance."""
    failed = [rb for rb in rebalances if rb.outcome == "failed"]
    findings: list[Finding] = []
    if not matches.height:
        return findings
    keyed = matches.with_columns(pl.col("database").fill_null("").alias("_db"),
                                 pl.col("node").fill_null("").alias("_node"))
    for (rule_id, _node, _db), group in keyed.group_by(["rule", "_node", "_db"], maintain_order=True):
        rule = rules[str(rule_id)]
        rows = group.sort(["ts", "file", "line"], nulls_last=True).to_dicts()
        findings.append(_best_finding(rule, rows, failed))
    findings.sort(key=lambda f: (-f.confidence, SEVERITY_RANK.get(f.severity, 9), f.rule,
                                 f.node or "", f.database or ""))
    for index, finding in enumerate(findings, start=1):
        finding.id = f"F{index}"
    return findings


def _best_finding(rule: Any, rows: list[dict[str, Any]], failed: list[Rebalance]) -> Finding:
    best_conf, best_rows, best_reasons, best_rb = 0.0, rows, ["no failed rebalance to explain"], None
    for rb in failed:
        scored = sorted(((score(r, rule.phases, rb, factor=rule.factor is not None), i)
                         for i, r in enumerate(rows)),
                        key=lambda x: (-x[0][0], x[1]))
        (conf, reasons), top = scored[0]
        # corroboration: more matching lines in the window add a little confidence
        support = sum(1 for (c, _), _i in scored[1:] if c >= 0.5 * conf)
        conf = min(0.99, conf * (1.0 + 0.03 * min(support, 3)))
        if conf > best_conf:
            ordered = [rows[top]] + [r for i, r in enumerate(rows) if i != top]
            best_conf, best_rows, best_reasons, best_rb = conf, ordered, reasons, rb
    first = best_rows[0]
    return Finding(
        id="", rule=rule.id, role="unrelated", cause=rule.cause, factor=rule.factor,
        phase=best_rb.failed_phase if best_rb else first.get("phase_kind"),
        database=first.get("database"), ordinal=first.get("ordinal"), node=first.get("node"),
        time=first.get("ts"), severity=rule.severity, confidence=round(best_conf, 2),
        title=rule.title, explanation=rule.explanation, remediation=rule.remediation,
        references=list(rule.references), evidence=_evidence(best_rows), lines=len(rows),
        reasons=best_reasons, rebalance=best_rb.database if best_rb else None,
    )


def decide(rebalances: list[Rebalance], findings: list[Finding]) -> list[Verdict]:
    """One verdict per rebalanced database; roles of the findings are set on the way."""
    verdicts = [_verdict(rb, findings) for rb in rebalances]
    if not verdicts:
        verdicts.append(Verdict(None, "no_failure", None, None, None,
                                "No rebalance was found in the bundle."))
    return verdicts


def _verdict(rb: Rebalance, findings: list[Finding]) -> Verdict:
    if rb.outcome != "failed":
        status = "inconclusive" if rb.outcome in ("running", "unknown") else "no_failure"
        text = {"succeeded": "completed successfully", "cancelled": "was cancelled",
                "running": "was still running when the bundle was taken",
                "unknown": "has no recorded outcome"}[rb.outcome]
        return Verdict(rb.database, status, None, None, None, f"Rebalance of {rb.database} {text}.")
    mine = [f for f in findings if f.rebalance == rb.database]
    causes = sorted((f for f in mine if f.cause), key=lambda f: -f.confidence)
    for f in mine:
        if f.factor and f.confidence >= CAUSE_THRESHOLD:
            f.role = "contributing"
    winner = causes[0] if causes and causes[0].confidence >= CAUSE_THRESHOLD else None
    winner = _superseding(winner, causes)
    losers = []
    for f in causes:
        if f is winner:
            continue
        if winner is not None and f.cause == winner.cause and f.confidence >= CAUSE_THRESHOLD:
            f.role = "cause"  # corroborates the winner: more evidence of the same cause
            continue
        f.role = "alternative" if f.confidence >= 0.05 else "unrelated"
        losers.append(f)
    if winner is not None:
        winner.role = "cause"
        winner.alternatives = [_why_not(f, winner) for f in losers][:8]
    return _failure_verdict(rb, winner)


def _superseding(winner: Finding | None, causes: list[Finding]) -> Finding | None:
    """A strong enough finding of a cause that explains the winner's symptoms wins instead."""
    if winner is None:
        return None
    for other in causes:
        if (other.cause in SUPERSEDES and winner.cause in SUPERSEDES[other.cause]
                and other.confidence >= SUPERSEDE_MIN):
            other.reasons = [*other.reasons, f"explains the {winner.cause} seen by its peers"]
            winner.reasons = [*winner.reasons, f"a symptom of the {other.cause} ({other.id})"]
            return other
    return winner


def _why_not(loser: Finding, winner: Finding) -> dict[str, str]:
    reasons = "; ".join(loser.reasons) or "weaker agreement with the failed step"
    if loser.confidence >= winner.confidence:
        return {"finding": loser.id, "why_not": f"{loser.cause} ({loser.confidence:.2f}): {reasons}"}
    return {"finding": loser.id, "why_not": f"{loser.cause} ({loser.confidence:.2f} < "
                                            f"{winner.confidence:.2f}): {reasons}"}


def _failure_verdict(rb: Rebalance, winner: Finding | None) -> Verdict:
    step = rb.failed_step or {}
    where = (f"{step.get('action')} {rb.database}:{step.get('ordinal')}"
             + (f" on {step['target']}" if step.get("target") else "")) if step else f"rebalance of {rb.database}"
    phase = (rb.failed_phase or "unknown").upper()
    error = (rb.failure_line or {}).get("message")
    if winner is not None:
        ev = winner.evidence[0] if winner.evidence else {}
        summary = (f"{phase} phase failed at {where}: {winner.cause} — {winner.title} "
                   f"(evidence {ev.get('file')}:{ev.get('line')}, confidence {winner.confidence:.2f}).")
        return Verdict(rb.database, "failure", rb.failed_phase, winner.cause, winner.id, summary,
                       winner.confidence, rb.failure_time, error, step or None)
    summary = f"{phase} phase failed at {where}; no log evidence explains why (cause unknown)."
    return Verdict(rb.database, "failure", rb.failed_phase, "unknown", None, summary, None,
                   rb.failure_time, error, step or None)
