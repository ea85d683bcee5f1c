"""``analyze``: bundle → timeline → findings → verdicts → impact → runbook (one Report)."""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

import polars as pl

from . import __version__, grammars
from .diagnose import (
    Finding,
    Verdict,
    date_restarts,
    decide,
    group_findings,
    mark_alive,
    renumber,
    skew_hints,
    span_zone_hints,
    step_label,
    tie_restarts,
    unknown_nodes,
    weigh_connections,
    zone_hints,
)
from .errors import UsageError
from .impact import Impact, compute_impact, dead_leaves, plan_vs_actual
from .loader import Bundle, load_bundle
from .parsers import tracelog
from .recovery import build_runbook
from .rules import RuleSet, load_rules, match
from .timeline import Rebalance, banner_restarts, build_timeline, log_steps, rejected_statement


@dataclass
class Report:
    """Everything the outputs (JSON, Markdown, HTML, terminal) are rendered from."""

    bundle: Bundle
    rebalances: list[Rebalance]
    findings: list[Finding]
    verdicts: list[Verdict]
    impact: Impact
    recovery: list[dict[str, Any]]
    matches: pl.DataFrame
    warnings: list[str] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    tool_version: str = __version__
    # plan vs actual (impact.plan_vs_actual); last, so positional construction keeps working
    plan: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(v.status == "failure" for v in self.verdicts)

    @property
    def at_risk(self) -> bool:
        data = self.impact.to_json()
        if not data:
            return False
        return bool(data["data_at_risk"]) or any(
            d["under_redundant"] or any(o["ahead_of_master"] for o in d["orphans"])
            for d in data["databases"]
        )

    @property
    def unfinished(self) -> bool:
        """A rebalance still running or with no recorded outcome: not 'nothing wrong'."""
        return any(v.status == "inconclusive" for v in self.verdicts)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed or self.at_risk or self.unfinished else 0


def _with_later_runs(verdicts: list[Verdict], rebalances: list[Rebalance]) -> list[Verdict]:
    """``verdicts`` (one per rebalance, in order), each of an earlier run of a database
    (``Rebalance.next_run`` set) given the outcome and start of the run after it."""
    if len(verdicts) != len(rebalances):  # ("no rebalance found")
        return verdicts
    out = list(verdicts)
    outcome = grammars.load("recovery")["runbook"]["step1"]["later_run"]
    for i, (rb, v) in enumerate(zip(rebalances, verdicts, strict=True)):
        after = rb.next_run
        if after is None:
            continue
        start = f", started {iso(after.start)}," if after.start is not None else ""
        out[i] = dataclasses.replace(
            v,
            later_run=after.outcome,
            later_run_start=after.start,
            summary=f"{v.summary} Earlier run: the next run{start} {outcome[after.outcome]}.",
        )
    return out


def _unread_rebalance(events: pl.DataFrame) -> list[str]:
    """With no rebalance found: error lines that mention one say its lines were there
    in a wording not read; a plain 'no rebalance' would then be wrong."""
    said = events.filter(
        pl.col("level").is_in(["ERROR", "FAILURE"])
        & pl.col("message").str.contains(r"(?i)\brebalanc")
        & ~rejected_statement()  # (read: a statement rejected before it ran, see below)
    )
    if not said.height:
        return []
    first = said.row(0, named=True)
    return [
        f"{said.height} error line(s) mention a rebalance (first: {first['file']}:{first['line']}), "
        "but no rebalance step or outcome could be read from them: their wording may be one "
        "this tool does not know (grammars/messages.toml); read them before concluding"
    ]


def _rejected_rebalances(events: pl.DataFrame) -> list[str]:
    """A warning per database for REBALANCE statements rejected before any step ran (on
    a child aggregator, a syntax or privilege error: :func:`timeline.rejected_statement`):
    someone tried one, and no rebalance ran for it; where and why."""
    if not events.height:
        return []
    lines = events.filter(rejected_statement()).sort("ts", "file", "line", nulls_last=True)
    out = []
    for (database,), rows in lines.group_by("database", maintain_order=True):
        first = rows.row(0, named=True)
        where = f"{first['file']}:{first['line']}"
        if first.get("node"):
            where += f", {first['node']}"
        if first.get("ts") is not None:
            where += f", {iso(first['ts'])}"
        more = f" ({rows.height} such lines)" if rows.height > 1 else ""
        out.append(
            f"a REBALANCE{f' of {database}' if database else ''} was attempted and rejected "
            f"before any step ran{more}: no rebalance ran for it, not read as a failure "
            f"({where}: {_capped(first['message'])})"
        )
    return out


#: Characters of a log line a warning quotes.
QUOTED_CHARS = 300


def _capped(text: Any) -> str:
    text = str(text or "")
    return text if len(text) <= QUOTED_CHARS else f"{text[:QUOTED_CHARS]} [...]"


#: Severities of a cause line that, with no rebalance found, make the verdict inconclusive.
TRACE_SEVERITIES = ("critical", "high")


def _traces_of_a_rebalance(
    impact: Impact, matches: pl.DataFrame, rules: dict[str, Any]
) -> list[Verdict]:
    """With no rebalance found (no status, no line of the master aggregator's): what
    still says one may have failed, as an inconclusive verdict instead of "nothing
    failed": a snapshot with a partition without master or extra copies (what an
    interrupted rebalance leaves; orphans alone are also what a failover leaves), or a cause line naming a partition (a leaf's out of
    memory while copying one; the master aggregator's log, which would tell the step, may
    be missing). Empty when neither."""
    out = []
    for db in impact.databases:
        left = []
        if db.partitions_without_master:
            left.append(f"partition(s) {_ordinals(db.partitions_without_master)} without a master")
        if db.over_redundant:
            left.append(f"extra copies of partition(s) {_ordinals(db.over_redundant)}")
        if left:
            text = (
                f"No rebalance was found in the logs or status outputs, but the snapshot of "
                f"{db.database} shows {', '.join(left)}: what an interrupted rebalance leaves. "
                "The master aggregator's memsql.log and SHOW REBALANCE STATUS would tell."
            )
            out.append(Verdict(db.database, "inconclusive", None, None, None, text))
    lines = matches.filter(
        pl.col("cause").is_not_null()
        & pl.col("severity").is_in(TRACE_SEVERITIES)
        & pl.col("database").is_not_null()
    )
    named = {v.database for v in out}
    for row in lines.unique("database", keep="first", maintain_order=True).iter_rows(named=True):
        if row["database"] in named:
            continue
        part = row["database"] + (f":{row['ordinal']}" if row["ordinal"] is not None else "")
        rule = rules.get(row["rule"])
        title = getattr(rule, "title", None) or row["cause"]
        text = (
            f"No rebalance was found, but {row['node']} logged {title} ({row['cause']}) on "
            f"{part} at {iso(row['ts'])} ({row['file']}:{row['line']}): a rebalance step may "
            "have failed there. The master aggregator's memsql.log, which would tell the step "
            "and its outcome, may be missing from the bundle."
        )
        out.append(Verdict(row["database"], "inconclusive", None, None, None, text))
    return out


def _ordinals(values: list[int]) -> str:
    return ", ".join(map(str, values[:8])) + (", ..." if len(values) > 8 else "")


def _still_running(rb: Rebalance) -> bool:
    """Running, or failed while the status output that shows the failure still shows
    another step running (the failure may not have stopped the rest yet: no retry or
    cleanup until it has)."""
    if rb.outcome == "running":
        return True
    if rb.outcome != "failed" or not rb.steps.height:
        return False
    status = rb.steps.filter(pl.col("origin") == "status").get_column("status")
    # (only when that status output reports the failure too: one showing steps running
    # while the logs report the failure was taken before it)
    return bool((status == "running").any() and (status == "failed").any())


def _missing_orchestrator(
    bundle: Bundle, events: pl.DataFrame, rebalances: list[Rebalance]
) -> list[str]:
    """A warning when tracelogs were read but none holds a line of the rebalance itself
    (its steps, its start or end), and what is likely missing, where the failing step's
    own error is: the logs of the time of the failure when the master aggregator's log
    is in the bundle (:func:`_uncovered_failure`: rotated away); either those or the
    master aggregator's log when a log of a node that holds no partition (an aggregator
    of unknown role) is; else the master aggregator's log."""
    logged = bundle.nodes.filter(pl.col("first_ts").is_not_null())
    if not rebalances or not logged.height:
        return []
    own = events.filter(
        pl.col("step_event").is_not_null() & (pl.col("step_event") != "node_restart")
    )
    if own.height:
        return []
    uncovered = _uncovered_failure(bundle, logged)
    if uncovered:
        return [uncovered]
    known = _master_aggregator(bundle) is not None  # (known, and its log not in the bundle)
    aggregator = None if known else _unplaced_node(bundle, logged, rebalances)
    if aggregator is not None:
        node, first = aggregator
        return [
            f"no tracelog in the bundle holds a line of the rebalance itself (its steps, "
            f"start or end), though {node}, a node that holds no partition (an aggregator), "
            f"is logged from {iso(first)}: either it is not the master aggregator, whose "
            f"memsql.log is then missing, or the logs do not cover the failure (rotated "
            f"away); ask for the master aggregator's memsql.log {_ROTATED}, the failing "
            f"step's own error is there"
        ]
    return [
        "no tracelog in the bundle holds a line of the rebalance itself (its steps, start "
        "or end): the master aggregator's memsql.log is likely missing; ask for it, the "
        "failing step's own error is there"
    ]


_ROTATED = "with its rotated files (memsql.log.N, memsql.log.N.gz) from the time of the failure"


def _uncovered_failure(bundle: Bundle, logged: pl.DataFrame) -> str | None:
    """With no line of the rebalance in the logs while the master aggregator's log is in
    the bundle (it logs every step): a warning that the logs do not cover the failure
    (rotated away). None when that log is not in the bundle, or its node is unknown."""
    ma = _master_aggregator(bundle)
    mine = logged.filter(pl.col("node") == ma) if ma is not None else logged.clear()
    if not mine.height:
        return None
    return (
        f"the master aggregator's log ({ma}) holds no line of the rebalance (its steps, "
        f"start or end); it starts at {iso(mine.item(0, 'first_ts'))}: the logs likely do "
        f"not cover the failure (rotated away); ask for its rotated files (memsql.log.N, "
        f"memsql.log.N.gz) from the time of the failure, the failing step's own error is there"
    )


def _unplaced_node(
    bundle: Bundle, logged: pl.DataFrame, rebalances: list[Rebalance]
) -> tuple[str, Any] | None:
    """A logged node that a partition snapshot shows holding no partition, that is no
    step's target and no known leaf: an aggregator (with its first line's time), the
    first by name; None without a snapshot or such a node."""
    if not bundle.partitions.height:
        return None
    placed = set(bundle.partitions.get_column("node").drop_nulls().to_list())
    for rb in rebalances:
        placed.update(rb.steps.get_column("target").drop_nulls().to_list())
    if bundle.leaves.height and "node" in bundle.leaves.columns:
        placed.update(bundle.leaves.get_column("node").drop_nulls().to_list())
    hosts = {n.rsplit(":", 1)[0] for n in placed}
    others = logged.filter(
        (pl.col("role") != "leaf")
        & ~pl.col("node").is_in(list(placed))
        & ~pl.col("node").str.replace(r":\d+$", "").is_in(list(hosts))
    ).sort("node")
    return (others.item(0, "node"), others.item(0, "first_ts")) if others.height else None


def _window_warnings(
    every: pl.DataFrame, kept: pl.DataFrame, since: datetime | None, until: datetime | None
) -> list[str]:
    """A warning when ``--since``/``--until`` leave out lines of a rebalance itself (its
    steps, start or end): the verdict may then miss its failure or its cause."""
    if since is None and until is None:
        return []
    own = pl.col("step_event").is_not_null() & (pl.col("step_event") != "node_restart")
    left = every.filter(own).height - kept.filter(own).height
    if not left:
        return []
    return [
        f"the --since/--until window leaves out {left} line(s) of the rebalance itself (its "
        "steps, start or end): the failed step or its cause may lie outside it"
    ]


def _down_step_nodes(bundle: Bundle, rebalances: list[Rebalance]) -> list[str]:
    """A warning when a node of a failed step (its target, its source) is down in the
    latest SHOW LEAVES capture: the failure may be that node's (a crash, a partition of
    the network), which its own log, often missing then, would tell."""
    down = dict(dead_leaves(bundle.leaves).iter_rows())
    logged = set(bundle.nodes.filter(pl.col("first_ts").is_not_null()).get_column("node"))
    out = []
    for rb in rebalances:
        if rb.outcome != "failed":
            continue
        for node in rb.involved_nodes:
            if node in down and node != rb.master_aggregator:
                log = (
                    "its memsql.log is in the bundle"
                    if node in logged
                    else "its memsql.log is not in the bundle: ask for it"
                )
                step = rb.failed_step or {}
                what = (
                    "the target of the failed step"
                    if node == step.get("target")
                    else f"holding a copy of partition {step.get('ordinal')} of the failed step"
                )
                out.append(
                    f"{rb.database or '(database unknown)'}: {node}, {what}, is "
                    f"{down[node]} in SHOW LEAVES: the failure may be that node's (a crash or a "
                    f"network partition); {log}"
                )
    return out


#: Nodes a warning names before it says "...".
NAMED_NODES = 3


def _unresolved_tracelogs(bundle: Bundle, rebalances: list[Rebalance]) -> list[str]:
    """A warning when tracelogs are on nodes the bundle could not tie to a host:port of
    the cluster (a log named by its path, a host folder spelled unlike the cluster
    tables): their lines count less as evidence than a known node's (an ENOSPC on the
    target leaf may then lose to a weaker line), and ``--node`` would tie them."""
    logs = bundle.files.filter(
        (pl.col("kind") == tracelog.NAME)
        & pl.col("skipped_reason").is_null()
        & pl.col("node").is_not_null()
    )
    names = logs.get_column("node").unique().sort().to_list()
    unknown = unknown_nodes(names, rebalances)
    if not unknown:
        return []
    count = logs.filter(pl.col("node").is_in(unknown)).height
    shown = ", ".join(unknown[:NAMED_NODES]) + (", ..." if len(unknown) > NAMED_NODES else "")
    return [
        f"{count} tracelog(s) are on nodes not tied to a host:port of the cluster ({shown}): "
        "evidence on them is weighed as from an unknown node; name them with "
        "--node GLOB=HOST:PORT"
    ]


def _zone_warnings(
    bundle: Bundle, rebalances: list[Rebalance], findings: list[Finding]
) -> list[str]:
    """Hints that a node logs in another time zone: from cause lines a zone offset from a
    failure (``zone_hints``), then from log spans (``span_zone_hints``) for the others."""
    zoned = list(bundle.node_timezones)
    hints = zone_hints(rebalances, findings, zoned, bundle.timezone)
    hinted = [
        n
        for n in bundle.nodes.get_column("node").to_list()
        if any(h.startswith(f"{n}:") for h in hints)
    ]
    return hints + span_zone_hints(bundle.nodes, _master_aggregator(bundle), zoned, hinted)


def _named_steps(steps: pl.DataFrame, rebalances: list[Rebalance]) -> pl.DataFrame:
    """Status rows that name no database (a status pasted without its statement) as the
    timeline read them: the one database the bundle names, when it names one."""
    named = {rb.database for rb in rebalances if rb.database is not None}
    if len(named) != 1 or not steps.filter(pl.col("database").is_null()).height:
        return steps
    return steps.with_columns(pl.col("database").fill_null(named.pop()))


def _master_aggregator(bundle: Bundle) -> str | None:
    mas = bundle.nodes.filter(pl.col("role") == "master_aggregator").get_column("node").to_list()
    return mas[0] if mas else None


def instant(value: datetime | str | None, zone: str) -> datetime | None:
    """A ``--since``/``--until`` time in UTC: ISO 8601 text or a datetime; one without a
    zone is read in ``zone`` (the zone the logs are read in)."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise UsageError(
                f"cannot read time {value!r}: use ISO 8601, e.g. 2026-03-02T10:15"
            ) from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(zone))
    return value.astimezone(UTC)


def _window(events: pl.DataFrame, since: datetime | None, until: datetime | None) -> pl.DataFrame:
    # (events without a time, such as the error text of a status row, stay)
    if since is not None:
        events = events.filter((pl.col("ts") >= since) | pl.col("ts").is_null())
    if until is not None:
        events = events.filter((pl.col("ts") <= until) | pl.col("ts").is_null())
    return events


def _runbook(
    verdicts: list[Verdict], running: set[str | None], impact: Impact, findings: list[Finding]
) -> list[dict[str, Any]]:
    return build_runbook(
        # (the runbook names the failed step; the JSON verdicts do not carry it)
        [
            {
                **verdict_dict(v),
                "step": step_label(v.database, v.step),
                "failed_step": v.step,
                "running": v.database in running and v.status in ("inconclusive", "failure"),
            }
            for v in verdicts
        ],
        impact,
        [finding_dict(f) for f in findings],
    )


def analyze_bundle(
    bundle: Bundle,
    *,
    rules: RuleSet | None = None,
    redundancy: int | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    every_run: bool = True,
) -> Report:
    """Diagnose an already loaded bundle. ``every_run``: an earlier run of a database
    that failed gets a verdict too, before the latest run's, saying how the run after it
    ended (``later_run``); the impact and the runbook's retry and cleanup are the latest
    runs'. False: the latest run of each database only (the earlier failures are
    warnings)."""
    ruleset = rules if rules is not None else load_rules([])
    since, until = (instant(t, bundle.timezone) for t in (since, until))
    if since is not None and until is not None and since > until:
        raise UsageError(f"since {iso(since)} is later than until {iso(until)}: no line to read")
    events = _window(bundle.events, since, until)
    rebalances = build_timeline(
        bundle.steps, events, bundle.partitions, _master_aggregator(bundle), every_run=every_run
    )
    # (restarts only startup lines show, in logs without the uptime counter: NODE01's too)
    if (banners := banner_restarts(events)).height:
        events = pl.concat([events, banners]).sort(["ts", "node", "file", "line"], nulls_last=True)
    matches = match(events, ruleset)
    by_id = {rule.id: rule for rule in ruleset}
    findings = group_findings(matches, by_id, rebalances)
    weigh_connections(findings, rebalances, events)
    tie_restarts(findings, rebalances, events, by_id)
    mark_alive(findings, events)  # (after the restarts are tied: a restart is no "up")
    date_restarts(findings, rebalances, by_id)
    renumber(findings)  # (the restarts' scores may have changed)
    with display_zone(bundle.timezone):  # (a summary names the next run's start)
        verdicts = _with_later_runs(decide(rebalances, findings), rebalances)
    latest = [rb for rb, v in zip(rebalances, verdicts, strict=False) if v.later_run is None]
    unread = [] if rebalances else _unread_rebalance(events)
    if unread:
        verdicts = [Verdict(None, "inconclusive", None, None, None, unread[0])]
    failing = {
        rb.database: rb.failed_phase
        for rb in latest
        if rb.outcome == "failed" and rb.database is not None
    }
    impact = compute_impact(
        bundle.partitions,
        bundle.variables,
        bundle.disk_usage,
        redundancy=redundancy,
        failing_phases=failing,
        master_node=_master_aggregator(bundle),
        leaves=bundle.leaves,
        databases=[rb.database for rb in rebalances if rb.database is not None],
        failed_steps={
            rb.database: rb.steps
            for rb in latest
            if rb.outcome == "failed" and rb.database is not None
        },
        unfinished=[
            rb.database
            for rb in latest
            if rb.outcome in ("running", "unknown") and rb.database is not None
        ],
        log_zone=bundle.timezone,
    )
    if not rebalances and not unread:
        with display_zone(bundle.timezone):
            verdicts = _traces_of_a_rebalance(impact, matches, by_id) or verdicts
    running = {rb.database for rb in latest if _still_running(rb)}
    with display_zone(bundle.timezone):  # (the runbook's text names the failure time)
        recovery = _runbook(verdicts, running, impact, findings)
    warnings = (
        list(bundle.warnings)
        + list(impact.warnings)
        + _zone_warnings(bundle, rebalances, findings)
        + skew_hints(rebalances, findings, [*bundle.node_timezones, *bundle.node_skews])
    )
    with display_zone(bundle.timezone):
        warnings += _missing_orchestrator(bundle, bundle.events, rebalances) + unread
        warnings += _rejected_rebalances(events)
    warnings += _window_warnings(bundle.events, events, since, until)
    warnings += _down_step_nodes(bundle, rebalances)
    warnings += _unresolved_tracelogs(bundle, rebalances)
    warnings += [
        f"{rb.database or '(database unknown)'}: {note}" for rb in rebalances for note in rb.notes
    ]
    assumptions = [f"tracelog timestamps read as {bundle.timezone} (override with --tz)"]
    assumptions += [
        bundle.zone_notes.get(
            node, f"tracelog timestamps of {node} read as {zone} (--tz {node}={zone})"
        )
        for node, zone in bundle.node_timezones.items()
    ]
    assumptions += [
        f"tracelog times of {node} read {abs(seconds):g} s {'earlier' if seconds > 0 else 'later'}"
        f": its clock is taken to run {abs(seconds):g} s {'ahead of' if seconds > 0 else 'behind'}"
        f" the master aggregator's (--skew {node}={seconds:g})"
        for node, seconds in bundle.node_skews.items()
    ]
    assumptions += list(impact.assumptions)
    assumptions += [
        f"rule {rule.id} is the user rule at {by_id[rule.id].location} ({by_id[rule.id].title}), "
        f"in place of the built-in rule ({rule.title})"
        for rule in getattr(ruleset, "overridden", ())
        if rule.id in by_id
    ]
    if since is not None or until is not None:
        with display_zone(bundle.timezone):
            first, last = iso(since) or "the start", iso(until) or "the end"
        assumptions.append(
            f"only log lines from {first} to {last} were analysed (--since/--until): "
            f"{bundle.events.height - events.height} of {bundle.events.height} kept lines "
            "left out"
        )
    plan = plan_vs_actual(
        pl.concat([_named_steps(bundle.steps, rebalances), log_steps(events)]), bundle.partitions
    )
    return Report(
        bundle=bundle,
        rebalances=rebalances,
        findings=findings,
        verdicts=verdicts,
        impact=impact,
        recovery=recovery,
        matches=matches,
        plan=plan,
        warnings=warnings,
        assumptions=assumptions,
    )


def analyze(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    tz: str = "UTC",
    node_tz: Mapping[str, str] | None = None,
    node_overrides: Mapping[str, str] | None = None,
    rules_dirs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] = (),
    redundancy: int | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    max_bytes: int | None = None,
    progress: Any = None,
    lean: bool = False,
    every_run: bool = True,
) -> Report:
    """Load a bundle and diagnose it: the library call behind ``forensics analyze``.

    The rules are parsed (pure Python) on a second thread while the bundle loads (mostly
    native code that releases the GIL). ``lean``: see :func:`forensics.load_bundle`;
    ``every_run``: see :func:`analyze_bundle`."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        given = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
        dirs = [rules_dirs] if isinstance(rules_dirs, (str, os.PathLike)) else rules_dirs
        rules = pool.submit(_prepare, given, [Path(d) for d in dirs])
        bundle = load_bundle(
            given,
            tz=tz,
            node_tz=node_tz,
            node_overrides=node_overrides,
            max_bytes=max_bytes,
            progress=progress,
            lean=lean,
        )
        ruleset = rules.result()
    return analyze_bundle(
        bundle,
        rules=ruleset,
        redundancy=redundancy,
        since=since,
        until=until,
        every_run=every_run,
    )


def _prepare(paths: list[str | os.PathLike[str]], rules_dirs: list[Path]) -> RuleSet:
    """On the helper thread: the tracelog fast path for a large input, then the rules."""
    tracelog.warm_up_for(paths)
    return load_rules(rules_dirs)


#: The zone times are written in (SPEC §2.4: JSON times in the assumed zone): the
#: bundle's ``--tz`` while a report is built or rendered (:func:`in_display_zone`).
_DISPLAY_ZONE: ContextVar[str] = ContextVar("display_zone", default="UTC")


@contextmanager
def display_zone(tz: str) -> Iterator[None]:
    token = _DISPLAY_ZONE.set(tz)
    try:
        yield
    finally:
        _DISPLAY_ZONE.reset(token)


_P = ParamSpec("_P")
_R = TypeVar("_R")


def in_display_zone(render: Callable[_P, _R]) -> Callable[_P, _R]:
    """``render(report, ...)`` with times written in the report's assumed zone."""

    @functools.wraps(render)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        report = args[0]
        with display_zone(getattr(getattr(report, "bundle", None), "timezone", "UTC")):
            return render(*args, **kwargs)

    return wrapper


def iso(ts: datetime | None) -> str | None:
    """ISO 8601 text of ``ts``; an aware time in the display zone (UTC unless ``--tz``)."""
    if ts is None:
        return None
    zone = _DISPLAY_ZONE.get()
    if ts.tzinfo is not None and zone != "UTC":
        try:
            local = ts.astimezone(ZoneInfo(zone))
        except OverflowError:  # (the first hours of year 1 west of Greenwich)
            local = ts.astimezone(UTC)
        offset = local.utcoffset()
        # (a zone's local mean time before standard time, London's -00:01:15 in year 1,
        # is no offset of whole minutes, which ISO 8601 and the schema need: UTC then)
        ts = local if offset is None or not offset.seconds % 60 else ts.astimezone(UTC)
    return ts.isoformat()


_VERDICT_KEYS = (
    "database", "status", "phase", "cause", "finding", "summary", "confidence", "time", "error",
    "later_run", "later_run_start",
)  # fmt: skip
_FINDING_KEYS = (
    "id", "rule", "role", "cause", "factor", "phase", "database", "ordinal", "node", "time",
    "severity", "confidence", "title", "explanation", "remediation", "references", "lines",
)  # fmt: skip


def _attributes(obj: object, keys: Sequence[str]) -> dict[str, Any]:
    """The ``keys`` attributes of ``obj`` in that order, times as ISO text."""
    values = {k: getattr(obj, k) for k in keys}
    return {k: iso(v) if isinstance(v, datetime) else v for k, v in values.items()}


def verdict_dict(v: Verdict) -> dict[str, Any]:
    return _attributes(v, _VERDICT_KEYS)


def finding_dict(f: Finding) -> dict[str, Any]:
    return {
        **_attributes(f, _FINDING_KEYS),
        "evidence": [{**e, "time": iso(e.get("time"))} for e in f.evidence],
        "alternatives": f.alternatives,
    }
