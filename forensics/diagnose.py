"""Attribution and verdicts (SPEC §4.4).

Each rule match is scored against each failed rebalance on four agreements — database
(and ordinal), node, time and phase — and the scores multiply into a confidence, so a
line that disagrees on any one of them (another database, hours before, a node not in
the step) cannot win. Matches of one rule on one node for one rebalance form a finding.
The best cause finding is the verdict; the others are alternatives, each with the
reason it lost.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from . import grammars
from .nodes import host_address
from .timeline import LEAD_TIME, Rebalance, retried_attempt

#: Score multipliers, one per agreement. 1.0 = agrees, the value = how much a miss costs.
DB_UNKNOWN, DB_OTHER = 0.7, 0.05
ORDINAL_SAME, ORDINAL_OTHER = 1.0, 0.75
#: A line naming a partition whose step of the run succeeded after all (an attempt that
#: was retried): an error the rebalance got over explains no failure (below the threshold
#: alone; an alternative with its reason).
ORDINAL_DONE = 0.25
# (two disagreements, such as no database named on an uninvolved node, stay below the
# threshold: 0.7 x 0.38, 0.75 x 0.38)
NODE_INVOLVED, NODE_OTHER = 1.0, 0.38
#: A node the bundle could not tie to a host:port of the cluster (a log named by its path,
#: a host folder with no port, a host spelled unlike the step's nodes: ``sdb-leaf-4`` for
#: ``10.20.0.24:3306``) may well be the step's: as unknown as a line naming no database.
#: Both unknown (0.7 x 0.7) still explain a failure, below a known node's evidence; a
#: third disagreement (a later time, an atypical phase) does not.
NODE_UNKNOWN = 0.7
PHASE_OK, PHASE_ATYPICAL = 1.0, 0.55
#: Lines after the failure: on another node within this slack (clocks differ, a leaf may
#: log its error after the aggregator gave up), on the node that logged the failure
#: within SAME_NODE_SLACK (the lines that follow up on it), count as inside the window;
#: later ones score below the threshold, fading further (an effect cannot be the cause).
TIME_SLACK_AFTER = timedelta(seconds=90)
SAME_NODE_SLACK = timedelta(seconds=5)
#: A node whose own warning or error naming the failed step's partition lies within
#: CLOCK_TIE of the failure ("`sales_7` ... Connection reset" 0.4 s before the aggregator's
#: "aborted") logs on a clock that agrees with the aggregator's: the slack for an unknown
#: clock difference does not apply to it. Its lines later than TIED_SLACK after the failure
#: are after it (an operator's restart a minute later, a client's kill after the step
#: gave up): no cause.
CLOCK_TIE = timedelta(seconds=5)
TIED_SLACK = CLOCK_TIE + SAME_NODE_SLACK
TIE_LEVELS = ("WARN", "ERROR", "FAILURE")
AFTER_SCORE = 0.28
UNKNOWN_END_SCORE = 0.4
#: A line when nothing tells when the failed step ran (no step times in the status, no
#: rebalance line read): alone it stays above the threshold, but with no database named
#: too (0.7 x 0.42) below it: a line anywhere in the bundle naming nothing is no cause.
TIME_UNKNOWN = 0.42
_TIME_UNKNOWN_REASON = "time unknown"
CAUSE_THRESHOLD = 0.30
#: A cause that, when evidenced on a node of the step, explains another's symptoms:
#: a leaf that crashed or went offline is seen by its peers as lost connections.
SUPERSEDES = {"node_failure": {"network_error"}}
SUPERSEDE_MIN = 0.5
#: A node that others say went offline or missed heartbeats (a line of another node that
#: names it) but whose own log goes on through the failure — a line of its own within
#: ALIVE_SPAN before and after it, no restart and no crash line of its own in between —
#: was up: it was cut off, not down. Such a finding explains no network error; below a
#: network finding of the step it is scored at ALIVE_BELOW of it (the partition's
#: consequence). A node whose log is not in the bundle, ends, or is silent across the
#: failure is not shown up: its peers' word stands.
ALIVE_SPAN = timedelta(seconds=60)
ALIVE_BELOW = 0.9
#: Causes that bring a node down: found on a node before its crash, at least as strong as
#: the crash's finding, they are the root cause and the crash their consequence.
CRASH_CAUSES = ("out_of_memory", "storage_error")
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
    # that rebalance itself (a database may have several failed runs: forensics scan)
    run: Rebalance | None = field(default=None, repr=False, compare=False)
    # whether the node's clock is tied to that rebalance's failure (:func:`clock_tied`)
    clock_tied: bool = field(default=False, repr=False, compare=False)
    # for a node_failure other nodes report about a node whose own log shows it up at
    # the failure (:func:`mark_alive`): why it is no node failure; else None
    alive: str | None = field(default=None, repr=False, compare=False)


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
    # an earlier run of the database: the outcome and start of the run after it
    later_run: str | None = None
    later_run_start: datetime | None = None


def _time_score(
    ts: datetime | None,
    rb: Rebalance,
    whole: bool = False,
    node: str | None = None,
    tied: frozenset[str] = frozenset(),
) -> tuple[float, str | None]:
    """1 inside the window; fading over LEAD_TIME before it; low long before or after
    (``node``: the line's, for the slack after the failure, :func:`_slack_after`;
    ``tied``: the nodes whose clock is tied to the failure, :func:`clock_tied`)."""
    start, end = rb.window(whole)
    if ts is None or (start is None and end is None):
        return TIME_UNKNOWN, _TIME_UNKNOWN_REASON
    if start is not None and ts < start:
        gap = start - ts
        what = "rebalance" if whole else "failed step"
        if gap <= LEAD_TIME:
            return 1.0 - 0.5 * (gap / LEAD_TIME), f"{_human(gap)} before the {what} started"
        return max(
            0.02, 0.5 - gap / timedelta(minutes=60)
        ), f"{_human(gap)} before the {what} started"
    slack = _slack_after(node, rb, tied)
    if end is not None and _later_by(ts, end, slack):
        gap = ts - end
        score = max(0.02, _after_score(rb) - gap / timedelta(minutes=30))
        if node in tied and slack != SAME_NODE_SLACK:  # (its clock is known: it is after)
            step = rb.failed_step or {}
            return score, (
                f"{_human(gap)} after the failure (its own line on {rb.database}:"
                f"{step.get('ordinal')} at the failure shows its clock agrees)"
            )
        return score, f"{_human(gap)} after the failure"
    return 1.0, None


def _slack_after(node: str | None, rb: Rebalance, tied: frozenset[str]) -> timedelta:
    """How long after the failure a line of ``node`` still counts as inside the window:
    SAME_NODE_SLACK on the node that logged the failure, TIED_SLACK on a node whose clock
    is tied to it (``tied``), else TIME_SLACK_AFTER (an unknown clock difference)."""
    if node is not None and node == _failure_node(rb):
        return SAME_NODE_SLACK
    if node is not None and node in tied:
        return TIED_SLACK
    return TIME_SLACK_AFTER


def clock_tied(frame: pl.DataFrame, rb: Rebalance) -> frozenset[str]:
    """The nodes of ``frame`` (events or matches) whose own warning or error names the
    failed step's partition within :data:`CLOCK_TIE` of a known failure time: their clock
    agrees with the one the failure is read in (see TIED_SLACK)."""
    end = _known_end(rb)
    ordinal = (rb.failed_step or {}).get("ordinal")
    if end is None or ordinal is None or rb.database is None or not frame.height:
        return frozenset()
    near = pl.col("ts").is_between(pl.lit(end) - CLOCK_TIE, pl.lit(end) + CLOCK_TIE)
    lines = frame.filter(
        (pl.col("database") == rb.database)
        & (pl.col("ordinal") == ordinal)
        & pl.col("level").is_in(TIE_LEVELS)
        & near
        & pl.col("node").is_not_null()
    )
    return frozenset(str(n) for n in lines.get_column("node").unique().to_list())


def _known_end(rb: Rebalance) -> datetime | None:
    """When the failed step failed, when a line or the status says so."""
    return rb.failure_time or (rb.failed_step or {}).get("ended_at")


def _later_by(ts: datetime, end: datetime, slack: timedelta) -> bool:
    """``ts > end + slack``, at the ends of the calendar too (year 1, year 9999)."""
    try:
        return ts - slack > end
    except OverflowError:  # (ts in the first moments of year 1: after nothing)
        return False


def _after_score(rb: Rebalance) -> float:
    """The score just past the slack after the window: below the threshold after a known
    failure time; higher when the window ends at the last line seen of the rebalance (its
    failure came at some unknown time after it)."""
    return AFTER_SCORE if _known_end(rb) is not None else UNKNOWN_END_SCORE


def _failure_node(rb: Rebalance) -> str | None:
    """The node that logged the failure, when the failure time is that line's."""
    line = rb.failure_line or {}
    ts = line.get("ts")
    return line.get("node") if ts is not None and ts == rb.window()[1] else None


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 3600:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


_NO_DATABASE = "names no database"


def _db_score(
    row: dict[str, Any], rb: Rebalance, earlier_attempt: bool | None = None
) -> tuple[float, str | None]:
    """``earlier_attempt``: :func:`_earlier_attempt` of the row (computed when None)."""
    db = row.get("database")
    trigger = row.get("first_database")  # (a followed_by rule: the line that led to this one)
    if trigger is not None and trigger != rb.database:
        return DB_OTHER, f"its first line names database {trigger}, not {rb.database}"
    if db is None:  # (a rebalance of no known database, ALL DATABASES: nothing to disagree)
        return (ORDINAL_SAME, None) if rb.database is None else (DB_UNKNOWN, _NO_DATABASE)
    if db != rb.database:
        return DB_OTHER, f"names database {db}, not {rb.database}"
    step = rb.failed_step or {}
    ordinal = row.get("ordinal")
    if ordinal is None or step.get("ordinal") is None:
        return ORDINAL_SAME, None
    failed = f"{db}:{step['ordinal']}"
    if ordinal != step["ordinal"]:
        done = _succeeded_steps(rb, ordinal)
        if done:
            which, when = _done_when(done, row.get("ts"))
            action = f"{which['action']} " if which.get("action") else ""
            return (
                ORDINAL_DONE,
                f"names partition {db}:{ordinal}, whose {action}step {when}; the failed "
                f"step is {failed}",
            )
        return ORDINAL_OTHER, f"names partition {db}:{ordinal}, the failed step is {failed}"
    if earlier_attempt is None:
        earlier_attempt = _earlier_attempt(row, rb)
    other = _other_step_done(row.get("phase_kind"), earlier_attempt, rb)
    if other:
        which, when = _done_when(other, row.get("ts"))
        return (
            ORDINAL_DONE,
            f"is about {_step_name(which, db, ordinal)}, a step that {when}; the failed "
            f"step is {_step_name(step, db, ordinal)}",
        )
    return ORDINAL_SAME, None


def _succeeded_steps(rb: Rebalance, ordinal: int, kind: str | None = None) -> list[dict[str, Any]]:
    """The steps of ``rb`` for partition ``ordinal`` (of phase kind ``kind``, when given)
    that succeeded."""
    steps = rb.steps
    if steps.height == 0:
        return []
    done = steps.filter((pl.col("status") == "success") & (pl.col("ordinal") == ordinal))
    if kind is not None:
        done = done.filter(pl.col("phase_kind") == kind)
    return done.to_dicts()


def _other_step_done(
    kind: str | None, earlier_attempt: bool, rb: Rebalance
) -> list[dict[str, Any]]:
    """For a line naming the failed step's partition: the steps of that partition that
    succeeded and that the line is about instead of the failed step, when it is about
    another step: its action is another phase's (the COPY's lock timeout before a failed
    PROMOTE), or it is a retried attempt logged before the failed step started (an attempt
    of an earlier step that succeeded before it began, of the line's phase when it names
    one). Else none."""
    step = rb.failed_step or {}
    ordinal = step.get("ordinal")
    failed_kind = step.get("phase_kind") or rb.failed_phase
    if ordinal is None:
        return []
    if kind is not None and failed_kind is not None and kind != failed_kind:
        return _succeeded_steps(rb, ordinal, kind)
    start = step.get("started_at")
    if earlier_attempt and start is not None:  # (steps over before the failed one began)
        done = _succeeded_steps(rb, ordinal, kind)
        return [d for d in done if d.get("ended_at") is not None and d["ended_at"] <= start]
    return []


def _earlier_attempt(row: dict[str, Any], rb: Rebalance) -> bool:
    """Whether ``row`` is a retried attempt ([retry] of grammars/messages.toml) logged
    before the failed step started: an attempt of another step."""
    start = (rb.failed_step or {}).get("started_at")
    ts, text = row.get("ts"), row.get("message")
    if start is None or ts is None or ts >= start or not isinstance(text, str):
        return False
    return bool(pl.select(retried_attempt(pl.lit(text, dtype=pl.String))).item())


def _earlier_attempts(frame: pl.DataFrame, rb: Rebalance) -> pl.Series:
    """:func:`_earlier_attempt` of every row of ``frame``, vectorised: the retry patterns
    run on the rows of the failed step's partition only (a regex costs as much on a
    masked row: over 95k matched noise lines it cost 0.1 s per run)."""
    step = rb.failed_step or {}
    start, ordinal = step.get("started_at"), step.get("ordinal")
    if start is None or ordinal is None or rb.database is None or not frame.height:
        return pl.Series("_attempt", [False] * frame.height, dtype=pl.Boolean)
    mine = (
        (pl.col("database") == rb.database)
        & (pl.col("ordinal") == ordinal)
        & (pl.col("ts") < pl.lit(start))
    ).fill_null(False)
    rows = frame.select(mine.alias("m")).to_series().arg_true()
    flags = pl.Series("_attempt", [False] * frame.height, dtype=pl.Boolean)
    if rows.len():
        sub = frame.select(pl.col("message").gather(rows)).select(
            retried_attempt(pl.col("message")).fill_null(False)
        )
        flags = flags.scatter(rows, sub.to_series())
    return flags


def _step_name(step: dict[str, Any], db: str, ordinal: int) -> str:
    """``COPY PARTITION sales:7`` (``sales:7`` when the step names no action)."""
    action = step.get("action")
    return f"{action} {db}:{ordinal}" if action else f"{db}:{ordinal}"


def _done_when(done: list[dict[str, Any]], ts: datetime | None) -> tuple[dict[str, Any], str]:
    """Of the steps ``done`` (which succeeded), the one a line at ``ts`` is closest to and
    when it succeeded, told from the line: the first to succeed after it (an attempt the
    rebalance got over), else the last to succeed before it."""
    ends = [(d["ended_at"], d) for d in done if d.get("ended_at") is not None]
    if ts is None or not ends:
        return done[0], "succeeded"
    after = [(e, d) for e, d in ends if e > ts]
    if after:
        end, step = min(after, key=lambda x: x[0])
        return step, f"succeeded {_human(end - ts)} after it"
    end, step = max(ends, key=lambda x: x[0])
    return step, f"had succeeded {_human(ts - end)} before it"


def _node_score(node: str | None, rb: Rebalance) -> tuple[float, str | None]:
    if not rb.involved_nodes or node is None or node in rb.involved_nodes:
        return NODE_INVOLVED, None
    host = node.rsplit(":", 1)[0]
    if any(n.rsplit(":", 1)[0] == host for n in rb.involved_nodes):
        return NODE_INVOLVED, None
    if unresolved(node, rb):
        return NODE_UNKNOWN, f"on {node}, a node not tied to a host:port of the cluster"
    return NODE_OTHER, f"on {node}, not a node of the failed step"


def _line_node_score(
    node: str | None, target: str | None, rb: Rebalance
) -> tuple[float, str | None]:
    """:func:`_node_score` of the node that logged the line, and of the node the line is
    about (its ``target``: ``Leaf Error (host:port)``, ``to host:port``) when that one is
    a known node outside the step: the master aggregator's "query on ledger to
    10.1.0.21:3306 failed: Connection reset" is about a leaf the step does not use. Only
    when the failed step's target is known: else the step's nodes are not all known."""
    weight, why = _node_score(node, rb)
    if target is None or target == node or not (rb.failed_step or {}).get("target"):
        return weight, why  # (with no failed step's target, "outside the step" says nothing)
    about, _ = _node_score(target, rb)
    if about == NODE_OTHER and weight > NODE_OTHER:
        return NODE_OTHER, f"about {target}, not a node of the failed step"
    return weight, why


#: A node named ``host:port`` (``10.0.0.5:3306``, ``db-leaf-07.corp:3307``,
#: ``[fd00::5]:3306``); any other name is a file path or a host whose port is unknown.
_HOST_PORT = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s/:\[\]]+):(?P<port>\d{1,5})$")
_ADDRESS = re.compile(r"^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\])$")


def unresolved(node: str, rb: Rebalance) -> bool:
    """Whether ``node`` (not one of ``rb``'s nodes) is one the bundle could not tie to a
    host:port of the cluster, so that its not being a node of the step says nothing: a
    name with no port (a file path, a host folder the cluster tables did not complete),
    or a ``host:port`` spelled otherwise than the step's target and partition holders,
    which are the cluster tables' spelling (a host name where they use addresses, or the
    reverse). The master aggregator is left out of that spelling: its name comes from
    its own folder."""
    m = _HOST_PORT.match(node)
    if m is None:
        return True
    spellings = {
        _spelling(n.rsplit(":", 1)[0])
        for n in rb.involved_nodes
        if n != rb.master_aggregator and _HOST_PORT.match(n)
    }
    return bool(spellings) and _spelling(m["host"]) not in spellings


def unknown_nodes(nodes: Sequence[str], rebalances: Sequence[Rebalance]) -> list[str]:
    """Of ``nodes``, those whose lines are weighed as from an unknown node
    (:data:`NODE_UNKNOWN`) against some failed rebalance, in order."""
    failed = [rb for rb in rebalances if rb.outcome == "failed"]
    return [n for n in nodes if any(_node_score(n, rb)[0] == NODE_UNKNOWN for rb in failed)]


def _spelling(host: str) -> str:
    """``address`` or ``name``: two hosts spelled alike can be told apart by their text."""
    return "address" if _ADDRESS.match(host_address(host)) else "name"


_ATYPICAL = "not a typical cause of a {} failure"


def _phase_score(phases: list[str], rb: Rebalance) -> tuple[float, str | None]:
    if rb.failed_phase is None or "any" in phases or rb.failed_phase in phases:
        return PHASE_OK, None
    return PHASE_ATYPICAL, _ATYPICAL.format(rb.failed_phase)


def _lift(f: Finding, why: str, priors: Mapping[str, float]) -> None:
    """The ``priors`` (reason: weight) no longer weigh on ``f``: its line says outright
    what failed the step (``why``). A phase names the causes typical of it, and a line
    naming no database may be anyone's; direct evidence of a cause is still that cause."""
    held = [r for r in f.reasons if r in priors]
    if not held:
        return
    for reason in held:
        f.confidence /= priors[reason]
    f.confidence = round(min(0.99, f.confidence), 2)
    f.reasons = [r for r in f.reasons if r not in priors] + [why]


def score(
    row: dict[str, Any],
    phases: list[str],
    rb: Rebalance,
    factor: bool = False,
    tied: frozenset[str] = frozenset(),
) -> tuple[float, list[str]]:
    """Confidence in 0–1 that this matched line explains (or, for a factor, contributed to)
    the failure of ``rb``. A factor is a state (a backup, a merge) and is judged against
    the whole rebalance, not just the failed step. ``tied``: the nodes whose clock is tied
    to the failure (:func:`clock_tied`)."""
    parts = [
        _db_score(row, rb),
        _line_node_score(row.get("node"), row.get("target"), rb),
        _time_score(row.get("ts"), rb, whole=factor, node=row.get("node"), tied=tied),
        _phase_score(phases, rb),
    ]
    value = 1.0
    reasons = []
    for weight, why in parts:
        value *= weight
        if why:
            reasons.append(why)
    return value, reasons


#: Characters of a log line an evidence entry carries (a 50 MB line must not make a 50 MB
#: report); the rest is counted, not copied.
EVIDENCE_CHARS = 4000


def _capped(text: Any) -> Any:
    if not isinstance(text, str) or len(text) <= EVIDENCE_CHARS:
        return text
    return f"{text[:EVIDENCE_CHARS]} [... {len(text) - EVIDENCE_CHARS} more characters]"


def _evidence(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows[:EVIDENCE_PER_FINDING]:
        if row.get("first_line") is not None:
            out.append(
                {
                    "file": row["first_file"],
                    "line": row["first_line"],
                    "node": row.get("first_node", row["node"]),
                    "time": row.get("first_ts"),
                    "text": _capped(row.get("first_message")),
                }
            )
        out.append(
            {
                "file": row["file"],
                "line": row["line"],
                "node": row["node"],
                "time": row["ts"],
                "text": _capped(row["message"]),
            }
        )
    return out[:EVIDENCE_PER_FINDING]


def group_findings(
    matches: pl.DataFrame, rules: dict[str, Any], rebalances: list[Rebalance]
) -> list[Finding]:
    """One finding per (rule, node, database) group of matches and failed rebalance that
    explains its lines best, scored against its best rebalance.

    The scores of all matched lines are computed in Polars (:func:`_scores`, the same
    arithmetic as :func:`score`); Python then only looks at the few rows a finding shows.
    """
    failed = [rb for rb in rebalances if rb.outcome == "failed"]
    findings: list[Finding] = []
    if not matches.height:
        return findings
    keyed = _with_divisors(
        matches.with_columns(
            pl.col("database").fill_null("").alias("_db"),
            pl.col("node").fill_null("").alias("_node"),
        )
    )
    phases = {rid: list(rule.phases) for rid, rule in rules.items()}
    factors = {rid: rule.factor is not None for rid, rule in rules.items()}
    tied = {id(rb): clock_tied(matches, rb) for rb in failed}
    scored = keyed.with_columns(
        _scores(keyed, rb, phases, factors, tied[id(rb)]).alias(f"_s{k}")
        for k, rb in enumerate(failed)
    )
    # _run: the failed rebalance that explains the line best. A database failing the same
    # way in run after run (a history of logs) gets a finding per run, not one finding
    # for the best run and 'unknown' for the others.
    run = (
        pl.concat_list([f"_s{k}" for k in range(len(failed))]).list.arg_max()
        if len(failed) > 1
        else pl.lit(0, dtype=pl.UInt32)
    )
    scored = scored.with_columns(run.alias("_run"))
    # _g numbers the (rule, node, database, run) groups in order of first appearance.
    key = ["rule", "_node", "_db", "_run"]
    groups = scored.select(key).unique(maintain_order=True).with_row_index("_g")
    scored = scored.join(groups, on=key)
    # Rows of a group in (ts, file, line) order; _pos is the row's index in that order.
    scored = scored.sort(["_g", "ts", "file", "line"], nulls_last=True, maintain_order=True)
    scored = scored.with_columns(pl.int_range(pl.len()).over("_g").alias("_pos"))
    summary = (
        scored.group_by("_g", maintain_order=True)
        .agg(
            pl.col("rule").first(),
            pl.len().alias("_n"),
            *(e for k in range(len(failed)) for e in _best_row(f"_s{k}", k)),
        )
        .sort("_g")
    )
    # Per group, as _best_finding: the rebalance it explains best, and its top row.
    picks: list[tuple[int, int | None, Rebalance | None, float]] = []
    for row in summary.iter_rows(named=True):
        best_conf, best_top, best_rb = 0.0, None, None
        for k, candidate in enumerate(failed):
            conf, support = row[f"_c{k}"], row[f"_n{k}"] - 1
            # corroboration: more matching lines in the window add a little confidence
            conf = min(0.99, conf * (1.0 + 0.03 * min(support, 3)))
            if conf > best_conf:
                best_conf, best_top, best_rb = conf, row[f"_t{k}"], candidate
        picks.append((row["_g"], best_top, best_rb, best_conf))
    # The rows a finding shows: its top row and the first few in time order.
    tops = pl.DataFrame(
        {"_g": [p[0] for p in picks], "_top": [p[1] for p in picks]},
        schema={"_g": pl.UInt32, "_top": pl.Int64},
    )
    shown = (
        scored.join(tops, on="_g")
        .filter((pl.col("_pos") == pl.col("_top")) | (pl.col("_pos") <= EVIDENCE_PER_FINDING))
        .drop(*(f"_s{k}" for k in range(len(failed))), *_DIVISORS)
    )
    by_group: dict[int, list[dict[str, Any]]] = {}
    for rec in shown.sort("_g", "_pos").iter_rows(named=True):
        by_group.setdefault(rec["_g"], []).append(rec)
    counts = dict(zip(summary["_g"].to_list(), summary["_n"].to_list(), strict=True))
    for g, top, rb, conf in picks:
        recs = by_group[g]
        rule = rules[str(recs[0]["rule"])]
        rows = [_plain(r) for r in recs]
        if rb is None:
            ordered = rows
            reasons = ["no failed rebalance to explain"]
        else:
            at = next(i for i, r in enumerate(recs) if r["_pos"] == top)
            ordered = [rows[at]] + [r for i, r in enumerate(rows) if i != at]
            factor = rule.factor is not None
            reasons = score(rows[at], rule.phases, rb, factor, tied[id(rb)])[1]
        finding = _finding(rule, ordered, counts[g], conf, reasons, rb)
        finding.clock_tied = rb is not None and finding.node in tied[id(rb)]
        findings.append(finding)
    renumber(findings)
    return findings


def renumber(findings: list[Finding]) -> None:
    """Order ``findings`` best first (confidence, severity, rule, node, database) and
    number them ``F1``, ``F2`` ... in that order (again after a finding's score changed)."""
    findings.sort(
        key=lambda f: (
            -f.confidence,
            SEVERITY_RANK.get(f.severity, 9),
            f.rule,
            f.node or "",
            f.database or "",
        )
    )
    for index, finding in enumerate(findings, start=1):
        finding.id = f"F{index}"


def _plain(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if not k.startswith("_") or k in ("_db", "_node")}


def _best_row(col: str, k: int) -> list[pl.Expr]:
    """Per group: the top score, the position of its first row, and how many rows score
    at least half of it (the top row included)."""
    s = pl.col(col)
    return [
        s.max().alias(f"_c{k}"),
        pl.col("_pos").filter(s == s.max()).min().alias(f"_t{k}"),
        (s >= 0.5 * s.max()).sum().alias(f"_n{k}"),
    ]


def _us(value: datetime) -> int:
    """Microseconds since the epoch (naive values are read as UTC, as Polars does)."""
    epoch = datetime(1970, 1, 1, tzinfo=value.tzinfo) if value.tzinfo else datetime(1970, 1, 1)
    return (value - epoch) // timedelta(microseconds=1)


_NULL = "\x01<null>"  # stands for a null key in the factor look-ups


def _scores(
    frame: pl.DataFrame,
    rb: Rebalance,
    phases: dict[str, list[str]],
    factors: dict[str, bool],
    tied: frozenset[str] = frozenset(),
) -> pl.Expr:
    """:func:`score` of every row of ``frame`` against ``rb``, as one expression: database
    and node factors from the few distinct values (with the Python functions themselves),
    time and phase factors vectorised with the same float operations."""
    keys = ("database", "ordinal", "first_database", "phase_kind")
    attempt = pl.lit(_earlier_attempts(frame, rb))
    db_key = pl.concat_str(
        [
            *(pl.col(k).cast(pl.String).fill_null(_NULL) for k in keys),
            attempt.cast(pl.Int8).cast(pl.String),
        ],
        separator="\x00",
    )
    db_w = {
        "\x00".join(
            [*(_NULL if v is None else str(v) for v in values[:-1]), str(int(values[-1]))]
        ): (_db_score(dict(zip(keys, values[:-1], strict=True)), rb, values[-1])[0])
        for values in frame.select(*keys, attempt.alias("_attempt")).unique().iter_rows()
    }
    db_expr = db_key.replace_strict(db_w, return_dtype=pl.Float64)
    node_key = pl.concat_str(
        [pl.col(k).cast(pl.String).fill_null(_NULL) for k in ("node", "target")], separator="\x00"
    )
    node_w = {
        f"{_NULL if n is None else n}\x00{_NULL if t is None else t}": _line_node_score(n, t, rb)[0]
        for n, t in frame.select("node", "target").unique().iter_rows()
    }
    node_expr = node_key.replace_strict(node_w, return_dtype=pl.Float64)
    rule_ids = frame.get_column("rule").unique().to_list()
    phase_w = {r: _phase_score(phases[r], rb)[0] for r in rule_ids}
    whole_w = {r: factors[r] for r in rule_ids}
    phase_expr = pl.col("rule").replace_strict(phase_w, return_dtype=pl.Float64)
    whole = pl.col("rule").replace_strict(whole_w, return_dtype=pl.Boolean)
    time_expr = (
        pl.when(whole).then(_time_expr(rb, True, tied)).otherwise(_time_expr(rb, False, tied))
    )
    value = pl.lit(1.0) * db_expr
    value = value * node_expr
    value = value * time_expr
    return value * phase_expr


def _time_expr(rb: Rebalance, whole: bool, tied: frozenset[str] = frozenset()) -> pl.Expr:
    """:func:`_time_score` (the number) for every row, vectorised."""
    start, end = rb.window(whole)
    if start is None and end is None:
        return pl.lit(TIME_UNKNOWN)
    ts = pl.col("ts").dt.epoch("us")
    expr = pl.lit(1.0)
    if end is not None:
        end_us = _us(end)
        gap = (ts - end_us).cast(pl.Float64)
        after = pl.max_horizontal(pl.lit(0.02), _after_score(rb) - gap / pl.col("_per_half_hour"))
        slack = pl.lit(_us_delta(TIME_SLACK_AFTER))
        if tied:
            on_tied = pl.col("node").is_in(sorted(tied)).fill_null(False)
            slack = pl.when(on_tied).then(_us_delta(TIED_SLACK)).otherwise(slack)
        node = _failure_node(rb)
        if node is not None:
            same = pl.col("node") == node
            slack = pl.when(same).then(_us_delta(SAME_NODE_SLACK)).otherwise(slack)
        expr = pl.when(ts > end_us + slack).then(after).otherwise(expr)
    if start is not None:
        start_us = _us(start)
        gap = (pl.lit(start_us) - ts).cast(pl.Float64)
        near = 1.0 - 0.5 * (gap / pl.col("_per_lead"))
        far = pl.max_horizontal(pl.lit(0.02), 0.5 - gap / pl.col("_per_hour"))
        before = pl.when((pl.lit(start_us) - ts) <= _us_delta(LEAD_TIME)).then(near).otherwise(far)
        expr = pl.when(ts < start_us).then(before).otherwise(expr)
    return pl.when(pl.col("ts").is_null()).then(pl.lit(TIME_UNKNOWN)).otherwise(expr)


def _us_delta(delta: timedelta) -> int:
    return delta // timedelta(microseconds=1)


_DIVISORS = {
    "_per_lead": LEAD_TIME,
    "_per_hour": timedelta(minutes=60),
    "_per_half_hour": timedelta(minutes=30),
}


def _with_divisors(frame: pl.DataFrame) -> pl.DataFrame:
    """The time divisors as full columns: Polars turns a division by a scalar into a
    multiplication by its inverse, which is not always the correctly rounded quotient
    that Python's ``timedelta / timedelta`` gives; column / column is."""
    return frame.with_columns(
        pl.repeat(float(_us_delta(d)), frame.height, eager=True, dtype=pl.Float64).alias(name)
        for name, d in _DIVISORS.items()
    )


def _finding(
    rule: Any,
    rows: list[dict[str, Any]],
    lines: int,
    conf: float,
    reasons: list[str],
    rb: Rebalance | None,
) -> Finding:
    first = rows[0]
    return Finding(
        id="",
        rule=rule.id,
        role="unrelated",
        cause=rule.cause,
        factor=rule.factor,
        phase=rb.failed_phase if rb else first.get("phase_kind"),
        database=first.get("database"),
        ordinal=first.get("ordinal"),
        node=first.get("node"),
        time=first.get("ts"),
        severity=rule.severity,
        confidence=round(conf, 2),
        title=rule.title,
        explanation=rule.explanation,
        remediation=rule.remediation,
        references=list(rule.references),
        evidence=_evidence(rows),
        lines=lines,
        reasons=reasons,
        rebalance=rb.database if rb else None,
        run=rb,
    )


def _best_finding(
    rule: Any,
    rows: list[dict[str, Any]],
    failed: list[Rebalance],
    tied: Sequence[frozenset[str]] = (),
) -> Finding:
    """Reference implementation of one group's finding (row-by-row Python; the vectorised
    :func:`group_findings` must agree with it). ``tied``: per failed rebalance, the nodes
    whose clock is tied to it (:func:`clock_tied` of all the matches)."""
    best_conf, best_rows, best_reasons, best_rb = (
        0.0,
        rows,
        ["no failed rebalance to explain"],
        None,
    )
    for k, rb in enumerate(failed):
        nodes = tied[k] if k < len(tied) else frozenset()
        scored = sorted(
            (
                (score(r, rule.phases, rb, rule.factor is not None, nodes), i)
                for i, r in enumerate(rows)
            ),
            key=lambda x: (-x[0][0], x[1]),
        )
        (conf, reasons), top = scored[0]
        # corroboration: more matching lines in the window add a little confidence
        support = sum(1 for (c, _), _i in scored[1:] if c >= 0.5 * conf)
        conf = min(0.99, conf * (1.0 + 0.03 * min(support, 3)))
        if conf > best_conf:
            ordered = [rows[top]] + [r for i, r in enumerate(rows) if i != top]
            best_conf, best_rows, best_reasons, best_rb = conf, ordered, reasons, rb
    return _finding(rule, best_rows, len(rows), best_conf, best_reasons, best_rb)


#: Confidence left to a line (a kill, an error) of a connection that is not the rebalance's.
FOREIGN_CONNECTION = 0.05
#: Causes a statement suffers alone, on its own connection: a client's statement that
#: timed out on a lock (most likely the rebalance's own) or was killed tells nothing of
#: what failed the step. (Running out of memory or disk, a lost network are the node's,
#: whoever's statement hit them first.)
CONNECTION_CAUSES = {"kill": "was killed or interrupted", "lock_timeout": "timed out on a lock"}


@cache
def _connection_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    pats = grammars.load("messages")["connections"]
    return re.compile(pats["killed"]), re.compile(pats["own"])


@cache
def _client_statement() -> re.Pattern[str]:
    """A client's statement (``client`` of [step_event] in grammars/messages.toml: the
    echo ``ExecuteQuery:``, a client connection's identity)."""
    return re.compile(grammars.load("messages")["step_event"]["client"])


def connections(pattern: re.Pattern[str], text: str) -> set[int]:
    """The connection ids ``pattern`` finds in ``text`` (any of its groups)."""
    return {int(v) for m in pattern.finditer(text) for v in m.groups() if v is not None}


def weigh_connections(
    findings: list[Finding], rebalances: list[Rebalance], events: pl.DataFrame
) -> None:
    """Lines that say outright what failed the step (the step's own failure line, a kill
    of the rebalance's own connection: it names the rebalance too) are that cause in any
    phase: the phase's prior (:data:`PHASE_ATYPICAL`) is lifted. Lines of other connections
    than the rebalance's cannot have failed it; their confidence drops to
    :data:`FOREIGN_CONNECTION`, with the reason:

    * a kill (or an interruption) that names another connection than the ones the
      rebalance's own lines run on (any node);
    * an error on a node where the rebalance's lines run on a known connection, logged by
      a thread serving another client connection (a user's UPDATE that timed out on a
      lock on the master aggregator). Background threads (``conn id -1``) and nodes where
      no rebalance line names its connection (leaves: their work for the rebalance runs
      on internal connections) are left as they are;
    * on any node, a client's statement (``ExecuteQuery:``, :func:`_client_statement`) on
      a connection (``conn id N``) none of the rebalance's lines runs on, that timed out
      on a lock or was killed or interrupted (:data:`CONNECTION_CAUSES`): the client's
      own fate (a user's UPDATE on the partition waiting on the promote's lock)."""
    killed_re, own_re = _connection_patterns()
    own_of: dict[int, dict[str, set[int]]] = {}
    for f in findings:
        rb = f.run
        if not f.cause or rb is None or not f.evidence:
            continue
        if id(rb) not in own_of:
            own_of[id(rb)] = _rebalance_connections(rb, events, own_re)
        by_node = own_of[id(rb)]
        own = set().union(*by_node.values())
        top = f.evidence[0]
        text = str(top.get("text") or "")
        atypical = {_ATYPICAL.format(rb.failed_phase): PHASE_ATYPICAL}
        if _on_failure_line(f, rb):
            _lift(f, "the failed step reported it itself, whatever the phase", atypical)
        killed = connections(killed_re, text) if f.cause == "kill" else set()
        if killed:  # (a kill line: the connection that matters is the one it kills)
            if own and killed.isdisjoint(own):
                f.confidence = min(f.confidence, FOREIGN_CONNECTION)
                f.reasons.append(
                    f"kills connection {_ids(killed)}; the rebalance runs on connection {_ids(own)}"
                )
            elif own:
                why = f"kills the rebalance's own connection {_ids(killed & own)}"
                _lift(f, why, {**atypical, _NO_DATABASE: DB_UNKNOWN})
            continue
        runs_on = {c for c in connections(own_re, text) if c > 0}
        mine = by_node.get(str(top.get("node")), set())
        if runs_on and mine and runs_on.isdisjoint(mine):
            f.confidence = min(f.confidence, FOREIGN_CONNECTION)
            f.reasons.append(
                f"logged for connection {_ids(runs_on)}, a client's; the rebalance runs on "
                f"connection {_ids(mine)} there"
            )
        elif (
            f.cause in CONNECTION_CAUSES
            and runs_on
            and runs_on.isdisjoint(own)
            and _client_statement().search(text)
        ):
            f.confidence = min(f.confidence, FOREIGN_CONNECTION)
            f.reasons.append(
                f"a client's statement on connection {_ids(runs_on)}, not the rebalance's, "
                f"{CONNECTION_CAUSES[f.cause]}"
            )


def _ids(values: set[int]) -> str:
    return ", ".join(map(str, sorted(values)))


def _rebalance_connections(
    rb: Rebalance, events: pl.DataFrame, own_re: re.Pattern[str]
) -> dict[str, set[int]]:
    """Per node, the connections the rebalance's own lines (step and rebalance lines of
    its database) run on."""
    same_db = (
        pl.col("database") == rb.database
        if rb.database is not None
        else pl.col("database").is_null()
    )
    lines = events.filter(same_db & pl.col("step_event").is_not_null()).select("node", "message")
    out: dict[str, set[int]] = {}
    for node, text in lines.iter_rows():
        found = connections(own_re, text or "")
        if found:
            out.setdefault(str(node), set()).update(found)
    return out


#: The synthetic restart line (tracelog._restart_rows): when the node was last seen before
#: the restart and when it was back, in the log's own (local) time.
_RESTART = re.compile(r"last line before it at (\S+ \S+), back at (\S+ \S+);")


#: A node's lines this close before its last line before a restart are what it was doing
#: when it went down (its "last words").
LAST_WORDS = timedelta(seconds=60)


def tie_restarts(
    findings: list[Finding],
    rebalances: list[Rebalance],
    events: pl.DataFrame,
    rules: dict[str, Any],
) -> None:
    """A restart names no database; a node of a failed step whose last lines before it
    (within :data:`LAST_WORDS`) name the step's partition went down working on that step:
    the restart is the step's (its database and ordinal) and is scored so. When nothing
    dates the step (no failure time and no step times: the master aggregator's log is
    missing), those last lines do: the restart is scored as inside the step. Not for a
    node outside the step, nor for the node that logged the failure and went down after
    that line (a restart after the failure explains none)."""
    failed = [rb for rb in rebalances if rb.outcome == "failed" and rb.database is not None]
    clocks: dict[int, frozenset[str]] = {}
    for f in findings:
        if f.cause != "node_failure" or f.database is not None or not f.node or not failed:
            continue
        if not clocks:
            clocks = {id(rb): clock_tied(events, rb) for rb in failed}
        best: tuple[float, list[str], Rebalance, int] | None = None
        for at, ev in enumerate(f.evidence):
            if ev.get("time") is None or not _RESTART.search(str(ev.get("text") or "")):
                continue
            last = _last_words(events, f.node, ev)
            for rb in failed:
                named = _restart_of_step(rb, f.node, ev, last)
                if named is None:
                    continue
                value, reasons = _tied_score(ev, f, rb, rules, named, clocks[id(rb)])
                if best is None or value > best[0]:
                    best = (value, reasons, rb, at)
        if best is None or best[0] <= f.confidence:
            continue
        value, reasons, rb, at = best
        top = f.evidence[at]
        f.evidence = [top] + [e for i, e in enumerate(f.evidence) if i != at]
        f.confidence, f.reasons, f.time = round(min(0.99, value), 2), reasons, top["time"]
        f.database, f.ordinal = rb.database, (rb.failed_step or {}).get("ordinal")
        f.run, f.rebalance, f.phase = rb, rb.database, rb.failed_phase
        f.clock_tied = f.node in clocks[id(rb)]


def _last_words(events: pl.DataFrame, node: str, restart: dict[str, Any]) -> pl.DataFrame:
    """The lines ``node`` logged within :data:`LAST_WORDS` before its last line before the
    restart (``restart``: the restart's evidence entry, timed at that last line)."""
    at = restart["time"]
    before = (pl.col("file") != restart.get("file")) | (pl.col("line") < restart.get("line"))
    return events.filter(
        (pl.col("node") == node)
        & pl.col("ts").is_between(pl.lit(at) - LAST_WORDS, at)  # (Polars: no year-1 limit)
        & pl.col("step_event").ne_missing("node_restart")
        & before.fill_null(True)
    )


def _restart_of_step(
    rb: Rebalance, node: str, restart: dict[str, Any], last: pl.DataFrame
) -> dict[str, Any] | None:
    """The line of ``last`` (the node's last words before ``restart``) that names the
    failed step's partition, when ``node`` is a node of the step and did not log the
    failure before going down; else None."""
    step = rb.failed_step or {}
    ordinal = step.get("ordinal")
    if ordinal is None or not _of_step(node, rb):
        return None
    said = rb.failure_line or {}
    if said.get("node") == node and said.get("ts") is not None and restart["time"] >= said["ts"]:
        return None  # (it logged the failure, then went down)
    named = last.filter((pl.col("database") == rb.database) & (pl.col("ordinal") == ordinal))
    return named.sort("ts", "line").row(-1, named=True) if named.height else None


def _of_step(node: str, rb: Rebalance) -> bool:
    """Whether ``node`` is one of the failed step's nodes (by host:port, or by host)."""
    host = node.rsplit(":", 1)[0]
    return any(n == node or n.rsplit(":", 1)[0] == host for n in rb.involved_nodes)


#: A node a line names: ``10.0.0.5:3306``, ``'10.0.0.5':3306``, ``[fd00::5]:3306``.
_NAMED_NODE = re.compile(r"(?<![\w.:\]])'?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][\w.-]*)'?:(\d{1,5})\b")


def _named_nodes(f: Finding) -> set[str]:
    """The nodes (host:port) ``f``'s lines name."""
    return {
        f"{m.group(1)}:{m.group(2)}"
        for ev in f.evidence
        for m in _NAMED_NODE.finditer(str(ev.get("text") or ""))
    }


def _about(f: Finding, rb: Rebalance) -> str | None:
    """The node of ``rb``'s step that ``f``'s lines (another node's) all name — the node
    they report offline or missing heartbeats — else None."""
    named = {n for n in _named_nodes(f) if n != f.node and _of_step(n, rb)}
    return named.pop() if len(named) == 1 else None


def mark_alive(findings: list[Finding], events: pl.DataFrame) -> None:
    """Set :attr:`Finding.alive` on each node_failure of a failed step that its peers
    report about a node of the step (:func:`_about`) whose own log shows it up at the
    failure (:data:`ALIVE_SPAN`): a line of its own on each side of it, no restart of it
    and no node failure of its own (a crash line) strong enough to supersede."""
    for f in findings:
        rb = f.run
        if f.cause != "node_failure" or rb is None or rb.failure_time is None:
            continue
        about = _about(f, rb)
        if about is None or about == f.node:
            continue
        crashed = any(
            g.cause == "node_failure"
            and g.run is rb
            and g.node == about
            and g.confidence >= SUPERSEDE_MIN
            and _about(g, rb) in (None, about)
            for g in findings
        )
        if not crashed:
            f.alive = _alive_at(events, about, rb.failure_time)


def _alive_at(events: pl.DataFrame, node: str, at: datetime) -> str | None:
    """Why ``node``'s own log shows it up at ``at`` (a line of its own within
    :data:`ALIVE_SPAN` before and after, no restart in between), else None."""
    own = events.filter(
        (pl.col("node") == node)
        & pl.col("ts").is_between(pl.lit(at) - ALIVE_SPAN, pl.lit(at) + ALIVE_SPAN)
    )
    if own.filter(pl.col("step_event").eq_missing("node_restart")).height:
        return None
    before = own.filter(pl.col("ts") <= at).sort("ts", "line")
    after = own.filter(pl.col("ts") > at).sort("ts", "line")
    if not before.height or not after.height:
        return None
    last, first = before.row(-1, named=True), after.row(0, named=True)
    return (
        f"{node}'s own log shows it up at the failure, with no restart "
        f"({last['file']}:{last['line']} {_human(at - last['ts'])} before it, "
        f"{first['file']}:{first['line']} {_human(first['ts'] - at)} after): it was cut "
        "off, not down — the network's consequence"
    )


def _tied_score(
    restart: dict[str, Any],
    f: Finding,
    rb: Rebalance,
    rules: dict[str, Any],
    named: dict[str, Any],
    clocks: frozenset[str] = frozenset(),
) -> tuple[float, list[str]]:
    """:func:`score` of a restart as the failed step's (``named``: the node's last line
    that names the step's partition); with no time for the step, the restart is in it.
    ``clocks``: the nodes whose clock is tied to the failure (:func:`clock_tied`): a
    restart of such a node well after the failure is after it, though its last minute
    named the partition (it logged the failure and went on)."""
    step = rb.failed_step or {}
    row = {
        "ts": restart["time"],
        "node": f.node,
        "database": rb.database,
        "ordinal": step.get("ordinal"),
    }
    value, reasons = score(row, list(rules[f.rule].phases), rb, tied=clocks)
    why = (
        f"in its last minute before going down it logged {rb.database}:{step.get('ordinal')}, "
        f"the failed step's partition ({named['file']}:{named['line']})"
    )
    if _TIME_UNKNOWN_REASON in reasons:
        value /= TIME_UNKNOWN
        reasons = [r for r in reasons if r != _TIME_UNKNOWN_REASON]
        why += ": nothing else dates the step, so it went down while the step ran"
    return value, [*reasons, why]


def date_restarts(
    findings: list[Finding], rebalances: list[Rebalance], rules: dict[str, Any]
) -> None:
    """A restart is dated when the node was last seen before it; the node was down at
    some time between that line and the first line after it. When that span covers the
    failure (a node idle for hours, then a crash), the restart is scored as if at the
    failure instead of at the last line, with the span as reason. Not for a restart past
    the slack after the failure (TIED_SLACK on a node whose clock is tied to it)."""
    for f in findings:
        rb = f.run
        if rb is None or f.time is None or not f.evidence or rb.failure_time is None:
            continue
        m = _RESTART.search(str(f.evidence[0].get("text") or ""))
        if m is None:
            continue
        try:
            last, back = (datetime.fromisoformat(t) for t in m.groups())
            down_until = f.time + (back - last)  # (both local times of one log: their gap)
            start, _ = rb.window()
            begin = (start or rb.failure_time) - LEAD_TIME
        except (ValueError, OverflowError):  # (times at the calendar's ends: no span)
            continue
        slack = TIED_SLACK if f.clock_tied else TIME_SLACK_AFTER
        if _later_by(f.time, rb.failure_time, slack) or down_until < begin:
            continue
        row = {**f.evidence[0], "ts": rb.failure_time, "node": f.node, "database": f.database}
        value, reasons = score(row, list(rules[f.rule].phases), rb)
        if value > f.confidence:
            f.confidence = round(min(0.99, value), 2)
            f.reasons = [
                *reasons,
                f"down between {m.group(1)} and {m.group(2)} (its log's time), which covers "
                "the failure",
            ]


#: A cause found at least this confident leaves no room for a zone hint: the lines that
#: another zone would move to the failure are distractors (a restart 6 h earlier).
HINTLESS = 0.9
#: How close to a whole number of hours a gap must be to suggest a time-zone difference.
ZONE_SLACK = timedelta(minutes=3)
#: Offsets between zones a node may log in: whole hours, and the half and quarter hours
#: real zones use (India +5:30, Nepal +5:45, Iran +3:30, Newfoundland -3:30 ...).
ZONE_OFFSETS = (
    *(timedelta(hours=h) for h in range(1, 15)),
    *(timedelta(minutes=m) for m in (210, 270, 330, 345, 390, 525, 570, 630, 765)),
)


def zone_hints(
    rebalances: list[Rebalance],
    findings: list[Finding],
    zoned: Sequence[str] = (),
    zone: str = "UTC",
) -> list[str]:
    """Warnings for cause evidence on another node that lies a zone offset (ZONE_OFFSETS,
    within :data:`ZONE_SLACK`) from a failure: that node may log in another time zone than
    the one assumed, which left the evidence out of the window. Not for a node whose zone
    was given (``zoned``), nor for evidence of another database, nor for a node that has
    cause evidence near the failure as read (its clock then agrees), nor for a failure
    whose cause was found with confidence (:data:`HINTLESS`). A line an hour off
    whose local time (in ``zone``) the end of daylight saving time repeats gets the fixed
    offset of its other reading (:func:`_other_pass`)."""
    hints: dict[str, str] = {}
    for rb in rebalances:
        if rb.outcome != "failed" or rb.failure_time is None:
            continue
        if any(f.run is rb and f.role == "cause" and f.confidence >= HINTLESS for f in findings):
            continue  # (a line hours away is no better cause than the one found)
        failed_at = rb.failure_time
        near = {
            f.node
            for f in findings
            if f.cause and f.time is not None and abs(f.time - failed_at) <= LEAD_TIME
        }
        for f in findings:
            if f.cause is None or f.time is None or not f.node or f.node == rb.master_aggregator:
                continue
            if f.role == "cause" or f.node in hints or f.node in zoned or f.node in near:
                continue
            if f.database is not None and f.database != rb.database:
                continue
            gap = f.time - failed_at
            offset = next((o for o in ZONE_OFFSETS if abs(abs(gap) - o) <= ZONE_SLACK), None)
            if offset is not None:
                direction = "after" if gap > timedelta(0) else "before"
                other = _other_pass(f.time, zone) if offset == timedelta(hours=1) else None
                if other is not None:
                    hints[f.node] = (
                        f"{f.node}: its {f.cause} line ({f.id}) is {_human(abs(gap))} "
                        f"{direction} the failure of {rb.database or 'the rebalance'}, and "
                        f"its time is in the hour repeated when daylight saving time ended: "
                        f"if its log holds only the other pass of that hour, run again with "
                        f"--tz {f.node}={other}"
                    )
                    continue
                hints[f.node] = (
                    f"{f.node}: its {f.cause} line ({f.id}) is {_human(abs(gap))} {direction} "
                    f"the failure of {rb.database or 'the rebalance'}, about {_human(offset)}: "
                    f"if that node logs in another time zone, run again with "
                    f"--tz {f.node}=<its zone>"
                )
    return list(hints.values())


def span_zone_hints(
    nodes: pl.DataFrame,
    master_aggregator: str | None,
    zoned: Sequence[str] = (),
    hinted: Sequence[str] = (),
) -> list[str]:
    """Warnings for logs read in the wrong zone, from their spans: logs collected together
    end together, so a node whose log ends a zone offset (ZONE_OFFSETS, within
    :data:`ZONE_SLACK`) before or after the master aggregator's, and starts that offset
    from it too, or shares that end offset with another node, likely logs in another time
    zone than the one assumed: its lines are read that far from when they happened (a
    lock timeout hours after the failure reads as at the failure). Unlike
    :func:`zone_hints`, whatever cause was found: the clock, not a line, is off. ``nodes``:
    the bundle's nodes frame (``first_ts``, ``last_ts``); not for nodes whose zone was
    given (``zoned``) or already ``hinted``."""
    if master_aggregator is None:
        return []
    logged = nodes.filter(pl.col("first_ts").is_not_null() & pl.col("last_ts").is_not_null())
    ma = logged.filter(pl.col("node") == master_aggregator)
    if not ma.height:
        return []
    ma_first, ma_last = ma.item(0, "first_ts"), ma.item(0, "last_ts")
    found: dict[timedelta, list[tuple[str, bool]]] = {}
    for node, first, last in logged.select("node", "first_ts", "last_ts").iter_rows():
        if node == master_aggregator or node in zoned or node in hinted:
            continue
        gap = last - ma_last
        offset = _zone_offset(gap)
        if offset is None:
            continue
        start = _zone_offset(first - ma_first)
        both = start == offset and (first > ma_first) == (gap > timedelta(0))
        found.setdefault(offset if gap > timedelta(0) else -offset, []).append((node, both))
    hints = []
    for offset, shifted in sorted(found.items()):
        named = [n for n, both in shifted if both or len(shifted) > 1]
        if not named:
            continue
        direction = "after" if offset > timedelta(0) else "before"
        one = len(named) == 1
        logs, they, its = ("its log ends", "that node logs", "its") if one else (
            "their logs end", "they log", "their")  # fmt: skip
        hints.append(
            f"{', '.join(named)}: {logs} {_human(abs(offset))} {direction} the master "
            f"aggregator's ({master_aggregator}); logs collected together end together: if "
            f"{they} in another time zone, {its} lines are read {_human(abs(offset))} off; "
            f"run again with --tz NODE=<{its} zone>"
        )
    return hints


def _zone_offset(gap: timedelta) -> timedelta | None:
    """The zone offset (ZONE_OFFSETS) ``gap`` is, within :data:`ZONE_SLACK`; else None."""
    return next((o for o in ZONE_OFFSETS if abs(abs(gap) - o) <= ZONE_SLACK), None)


def _other_pass(at: datetime, zone: str) -> str | None:
    """For a time whose local reading in ``zone`` the end of daylight saving time repeats:
    the fixed UTC offset (``UTC-05:00``) of its other reading; else None."""
    try:
        local = at.astimezone(ZoneInfo(zone))
    except (ValueError, KeyError):
        return None
    other = local.replace(fold=1 - local.fold).utcoffset()
    if other is None or other == local.utcoffset():
        return None
    minutes = int(other.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


#: How far after a failure a node of the failed step may have logged its cause when its
#: clock runs ahead of the aggregator's (NTP lost for a while): further, it is another
#: event, not the same one under a skewed clock.
SKEW_MAX = timedelta(minutes=15)


def skew_hints(
    rebalances: list[Rebalance], findings: list[Finding], fixed: Sequence[str] = ()
) -> list[str]:
    """Warnings for a failure left without a cause while a node of its failed step logged
    cause evidence a little after it (past :data:`TIME_SLACK_AFTER`, within
    :data:`SKEW_MAX`): that node's clock may run ahead of the aggregator's, which put the
    evidence after the failure. The hint gives the ``--skew`` that reads the line at the
    failure. Not for the master aggregator (the clock the failure is read in), nor for a
    node whose zone or skew was given (``fixed``), nor for evidence of another database."""
    hints: dict[str, str] = {}
    for rb in rebalances:
        if rb.outcome != "failed" or rb.failure_time is None:
            continue
        if any(f.run is rb and f.role == "cause" for f in findings):
            continue
        ahead = sorted(
            (f.time - rb.failure_time, f)
            for f in findings
            if (f.run is rb or f.role != "cause")  # (a later run's window may hold it)
            and f.cause
            and f.time is not None
            and f.node in rb.involved_nodes
            and f.node != rb.master_aggregator
            and f.node not in fixed
            and not (f.run is rb and f.clock_tied)  # (its clock agrees: no skew)
            and f.database in (None, rb.database)
            and TIME_SLACK_AFTER < f.time - rb.failure_time <= SKEW_MAX
        )
        for gap, f in ahead:
            if f.node is None or f.node in hints:
                continue
            seconds = math.ceil(gap.total_seconds())
            hints[f.node] = (
                f"{f.node}: its {f.cause} line ({f.id}) is {_human(gap)} after the failure of "
                f"{rb.database or 'the rebalance'}, on a node of the failed step: if that "
                f"node's clock runs ahead of the aggregator's, run again with --skew "
                f"{f.node}={seconds}"
            )
    return list(hints.values())


def decide(rebalances: list[Rebalance], findings: list[Finding]) -> list[Verdict]:
    """One verdict per rebalanced database; roles of the findings are set on the way."""
    verdicts = [_verdict(rb, findings) for rb in rebalances]
    if not verdicts:
        verdicts.append(
            Verdict(None, "no_failure", None, None, None, "No rebalance was found in the bundle.")
        )
    return verdicts


def _verdict(rb: Rebalance, findings: list[Finding]) -> Verdict:
    if rb.outcome != "failed":
        status = "inconclusive" if rb.outcome in ("running", "unknown") else "no_failure"
        text = {
            "succeeded": "completed successfully",
            "cancelled": "was cancelled",
            "running": "was still running when the bundle was taken",
            "unknown": "has no recorded outcome",
        }[rb.outcome]
        return Verdict(rb.database, status, None, None, None, f"Rebalance of {rb.database} {text}.")
    mine = [f for f in findings if f.run is rb]
    _below_network(mine)
    # equal confidence: the error the failed step itself reported goes first
    causes = sorted(
        (f for f in mine if f.cause),
        key=lambda f: (-round(f.confidence, 2), not _on_failure_line(f, rb)),
    )
    for f in mine:
        if f.factor and f.confidence >= CAUSE_THRESHOLD:
            f.role = "contributing"
    winner = causes[0] if causes and causes[0].confidence >= CAUSE_THRESHOLD else None
    winner = _crash_root(_superseding(winner, causes), causes)
    losers = []
    for f in causes:
        if f is winner:
            continue
        if winner is not None and _corroborates(f, winner, rb):
            f.role = "cause"  # more evidence of the same cause, where the step ran
            continue
        f.role = "alternative" if f.confidence >= 0.05 else "unrelated"
        losers.append(f)
    if winner is not None:
        winner.role = "cause"
        on_line = _on_failure_line(winner, rb)
        winner.alternatives = [_why_not(f, winner, on_line) for f in losers][:8]
    return _failure_verdict(rb, winner)


def _below_network(mine: list[Finding]) -> None:
    """A node failure its peers report about a node shown up (:attr:`Finding.alive`)
    ranks below the strongest finding of a cause it would supersede: the node was cut
    off by what that finding shows, not down."""
    for f in mine:
        if f.alive is None or f.cause not in SUPERSEDES:
            continue
        symptoms = [
            g.confidence
            for g in mine
            if g.cause in SUPERSEDES[f.cause] and g.confidence >= CAUSE_THRESHOLD
        ]
        if not symptoms:
            continue
        f.confidence = min(f.confidence, round(max(symptoms) * ALIVE_BELOW, 2))
        if f.alive not in f.reasons:
            f.reasons = [*f.reasons, f.alive]


def _on_failure_line(finding: Finding, rb: Rebalance) -> bool:
    """Whether one of the finding's lines is the line that reports the step's failure."""
    line = rb.failure_line
    if not line:
        return False
    where = (line.get("file"), line.get("line"))
    return any((e.get("file"), e.get("line")) == where for e in finding.evidence)


def _superseding(winner: Finding | None, causes: list[Finding]) -> Finding | None:
    """A strong enough finding of a cause that explains the winner's symptoms wins instead."""
    if winner is None:
        return None
    for other in causes:
        if (
            other.cause in SUPERSEDES
            and winner.cause in SUPERSEDES[other.cause]
            and other.confidence >= SUPERSEDE_MIN
            and other.alive is None
        ):
            other.reasons = [*other.reasons, f"explains the {winner.cause} seen by its peers"]
            symptom = f"a symptom of the {other.cause} ({other.id})"
            for f in causes:  # (each one stronger than it, not only the first)
                if f.cause == winner.cause and f.confidence > other.confidence:
                    f.reasons = [symptom, *f.reasons]
            return other
    return winner


def _corroborates(f: Finding, winner: Finding, rb: Rebalance) -> bool:
    """Same cause as the winner, strong enough, on a node of the step and naming its
    database or none (the same error elsewhere is an alternative, not the cause); or of
    the same cause, on any node, naming the node the winner is about (the leaves that
    lost their connection to the aggregator that restarted)."""
    if f.cause != winner.cause or f.database not in (None, rb.database):
        return False
    if f.confidence >= CAUSE_THRESHOLD and _node_score(f.node, rb)[0] == NODE_INVOLVED:
        return True
    about = _about(winner, rb) or winner.node
    return about is not None and about != f.node and _names(f, about)


def _names(f: Finding, node: str) -> bool:
    """Whether one of ``f``'s lines names ``node`` (host:port)."""
    return node in _named_nodes(f)


def _crash_root(winner: Finding | None, causes: list[Finding]) -> Finding | None:
    """A node failure that a crash cause on the same node, before it and at least as
    strong, explains: that cause wins (a leaf that ran out of memory and restarted)."""
    if winner is None or winner.cause != "node_failure":
        return winner
    for other in causes:
        if (
            other.cause in CRASH_CAUSES
            and other.node == winner.node
            and other.confidence >= min(winner.confidence, SUPERSEDE_MIN)
            and (other.time is None or winner.time is None or other.time <= winner.time)
        ):
            other.reasons = [*other.reasons, f"brought {other.node} down ({winner.id})"]
            winner.reasons = [*winner.reasons, f"a consequence of the {other.cause} ({other.id})"]
            return other
    return winner


def _why_not(loser: Finding, winner: Finding, on_line: bool = False) -> dict[str, str]:
    """``on_line``: the winner's evidence includes the line reporting the failure."""
    if loser.reasons or loser.confidence < winner.confidence:
        reasons = "; ".join(loser.reasons) or "weaker agreement with the failed step"
    elif on_line:
        reasons = f"as strong, but {winner.id} is the error the failed step itself reported"
    else:
        reasons = f"as strong; {winner.id} ranks first (severity, then rule)"
    if loser.confidence > winner.confidence:  # (superseded: it lost despite its score)
        return {
            "finding": loser.id,
            "why_not": f"{loser.cause} ({loser.confidence:.2f}, but {reasons})",
        }
    if loser.confidence >= winner.confidence:
        return {
            "finding": loser.id,
            "why_not": f"{loser.cause} ({loser.confidence:.2f}): {reasons}",
        }
    return {
        "finding": loser.id,
        "why_not": f"{loser.cause} ({loser.confidence:.2f} < {winner.confidence:.2f}): {reasons}",
    }


def step_label(database: str | None, step: dict[str, Any] | None) -> str | None:
    """``COPY PARTITION sales:2 on 10.0.0.14:3306`` for a failed step; None without one."""
    if not step:
        return None
    ordinal = step.get("ordinal")
    name = (
        f"{step.get('action')} {database or '?'}:{ordinal}"
        if ordinal is not None
        else step.get("action")
    )
    return f"{name} on {step['target']}" if step.get("target") else str(name)


def _failure_verdict(rb: Rebalance, winner: Finding | None) -> Verdict:
    step = rb.failed_step or {}
    where = step_label(rb.database, step) or (
        f"rebalance of {rb.database}" if rb.database else "a rebalance (no database named)"
    )
    phase = (rb.failed_phase or "unknown").upper()
    error = _capped((rb.failure_line or {}).get("message"))
    if winner is not None:
        ev = winner.evidence[0] if winner.evidence else {}
        summary = (
            f"{phase} phase failed at {where}: {winner.cause} — {winner.title} "
            f"(evidence {ev.get('file')}:{ev.get('line')}, confidence {winner.confidence:.2f})."
        )
        return Verdict(
            rb.database,
            "failure",
            rb.failed_phase,
            winner.cause,
            winner.id,
            summary,
            winner.confidence,
            rb.failure_time,
            error,
            step or None,
        )
    summary = f"{phase} phase failed at {where}; no log evidence explains why (cause unknown)."
    return Verdict(
        rb.database,
        "failure",
        rb.failed_phase,
        "unknown",
        None,
        summary,
        None,
        rb.failure_time,
        error,
        step or None,
    )
