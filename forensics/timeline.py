"""One history per rebalanced database, merged from status output, plan and tracelogs (SPEC §4.1).

Status rows are authoritative for a step's outcome (of several captures of one step, the
latest: ``resolve_captures``); tracelog step lines give the times (and the outcome when
there is no status output), each only to the row of its action, partition and target
(``_log_pairs``: never to a step cancelled before it started); the plan lists the steps
that were meant to run. Without status output or step lines, the failing phase is
inferred from partition state, at low confidence, and the rebalance says so in ``basis``. A REBALANCE
statement rejected before any step ran (on a child aggregator, a syntax or privilege
error: ``rejected`` in grammars/messages.toml) is no run.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import polars as pl

from . import grammars, schemas
from .impact import SUPERSEDED, name_rank, snapshot_order_key, without_shared_folders
from .schemas import UTC_US

STEP_KEY = ["database", "ordinal", "phase_kind"]
PHASE_ORDER = {"copy": 0, "promote": 1, "drop": 2}
STATUS_RANK = {
    "failed": 0,
    "cancelled": 1,
    "running": 2,
    "unknown": 3,
    "scheduled": 4,
    "success": 5,
}
LOG_STATUS = {"step_failure": "failed", "step_success": "success", "step_start": "running"}
#: How far before a step's start evidence may still explain it.
LEAD_TIME = timedelta(minutes=10)
#: How far around the failed step's window its lines may name its peer (step_peers).
PEER_SLACK = timedelta(seconds=30)

#: Step key across status captures (docs/CONTRACTS.md "Status captures").
CAPTURE_KEY = ["database", "action", "ordinal", "target"]
#: Statuses of a step that a status capture shows still to come (not an outcome).
PENDING = ("running", "scheduled")
#: Latest statuses that make an earlier capture's failure an earlier attempt.
RETRIED = ("success", "running")
#: ``component`` of the events the loader makes of status error text (loader.py).
STATUS_COMPONENT = "rebalance_status"


@dataclass
class Rebalance:
    database: str | None  # None: a failure line named no database, and no database was seen
    outcome: str  # failed / succeeded / running / cancelled / unknown
    basis: str  # status / log / partition_state / none: where the outcome came from
    steps: pl.DataFrame  # schemas.STEPS rows of this database, ordered
    failed_step: dict[str, Any] | None = None
    failed_phase: str | None = None
    failure_time: datetime | None = None
    failure_line: dict[str, Any] | None = None  # the log line that reports the failure
    start: datetime | None = None
    end: datetime | None = None
    master_aggregator: str | None = None
    involved_nodes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # an earlier run (``every_run``): the run of the database after it, which may be one
    # that is not listed (a run that succeeded)
    next_run: Rebalance | None = None

    def window(self, whole: bool = False) -> tuple[datetime | None, datetime | None]:
        """When the failed step (or, with ``whole``, the rebalance) ran, up to the failure."""
        step = self.failed_step or {}
        start = self.start if whole else (step.get("started_at") or self.start)
        end = self.failure_time or step.get("ended_at") or _ran_until(step) or self.end
        return start, end


def _ran_until(step: dict[str, Any]) -> datetime | None:
    """A failed step's end from its start and the running time the status gives (no line
    tells when it failed: the last line seen may be its start, and evidence logged while
    it ran would read as after the failure)."""
    started, ran = step.get("started_at"), step.get("running_ms")
    if started is None or not ran or ran < 0:
        return None
    try:
        return started + timedelta(milliseconds=ran)
    except OverflowError:  # (a running time past the calendar: damage)
        return None


def log_steps(events: pl.DataFrame) -> pl.DataFrame:
    """Steps reconstructed from step_start/step_success/step_failure tracelog lines: of
    each database's latest run (:func:`_latest_runs`) with origin ``log``; of its earlier
    runs, history that counts nowhere, with origin ``SUPERSEDED`` (one row per step and
    run; no ``capture``, as no status table gave them)."""
    latest, earlier = _latest_runs(without_rejected(events))
    now = schemas.conform(_log_step_rows(latest), schemas.STEPS)
    runs = [run for db_runs in earlier.events.values() for run in db_runs]
    if not runs:
        return now
    numbered = pl.concat([run.with_columns(_run=pl.lit(n)) for n, run in enumerate(runs)])
    before = schemas.conform(_log_step_rows(numbered, (*STEP_KEY, "_run")), schemas.STEPS)
    return pl.concat([now, before.with_columns(pl.lit(SUPERSEDED).alias("origin"))])


def _log_step_rows(events: pl.DataFrame, key: Sequence[str] = STEP_KEY) -> pl.DataFrame:
    """:func:`log_steps` with ``_last_start``, the time of each step's latest start line
    (a status row still running may be a retry that started after the log's outcome).
    ``key``: what tells steps apart besides their target (more than ``STEP_KEY``: the
    steps of several runs at once)."""
    key = list(key)
    lines = events.filter(
        pl.col("step_event").is_in(list(LOG_STATUS))
        & pl.col("database").is_not_null()
        & pl.col("phase_kind").is_not_null()
    )
    if not lines.height:
        return schemas.empty(schemas.STEPS).with_columns(_last_start=pl.lit(None, UTC_US))
    # a retried attempt ("failed: ...; will retry (attempt 1 of 3)") is no outcome: the
    # step starts again there (with nothing after it, the step is still running)
    lines = lines.with_columns(
        pl.when(_retried_failure())
        .then(pl.lit("step_start"))
        .otherwise("step_event")
        .alias("step_event")
    )
    # One step per target: a partition may be copied to two leaves in one rebalance. A
    # line naming no target belongs to the step of the partition's only target, if one.
    targets = lines.group_by(key).agg(pl.col("target").drop_nulls().unique().alias("_t"))
    only = targets.filter(pl.col("_t").list.len() == 1).select(
        *key, pl.col("_t").list.first().alias("_only")
    )
    lines = (
        lines.join(only, on=key, how="left", nulls_equal=False, maintain_order="left")
        .with_columns(pl.coalesce("target", "_only").alias("target"))
        .drop("_only")
    )
    lines = _ends_to_open_steps(lines, key)
    grouped = lines.group_by([*key, "target"]).agg(
        pl.col("action").drop_nulls().first(),
        pl.col("ts").filter(pl.col("step_event") == "step_start").min().alias("started_at"),
        pl.col("ts").filter(pl.col("step_event") != "step_start").max().alias("ended_at"),
        pl.col("ts").filter(pl.col("step_event") == "step_start").max().alias("_last_start"),
        _latest_outcome().alias("last_event"),
        (pl.col("file") + pl.lit(":") + pl.col("line").cast(pl.String)).first().alias("source"),
    )
    grouped = grouped.with_columns(
        pl.col("last_event").replace_strict(LOG_STATUS, return_dtype=pl.String).alias("status"),
        pl.lit("log").alias("origin"),
        pl.coalesce("action", pl.col("phase_kind").str.to_uppercase() + pl.lit(" PARTITION")).alias(
            "action"
        ),
    )
    steps = schemas.conform(grouped, schemas.STEPS)
    return steps.with_columns(grouped.get_column("_last_start").cast(UTC_US))


def retried_attempt(message: pl.Expr) -> pl.Expr:
    """Whether a line's ``message`` says its step will be tried again ("failed: ...; will
    retry (attempt 1 of 3)"): an attempt, not the step's outcome (the ``[retry]`` tokens
    of grammars/messages.toml). Never null."""
    tokens = grammars.load("messages")["retry"]
    attempt, total = (
        message.str.extract(tokens["attempt"], group).cast(pl.Int64, strict=False)
        for group in (1, 2)
    )
    more = message.str.contains(tokens["retrying"]) | (attempt < total)
    return (more & ~message.str.contains(tokens["final"])).fill_null(False)


def rejected_statement() -> pl.Expr:
    """Whether an event is a REBALANCE statement rejected before any step ran (on a child
    aggregator, a syntax or privilege error, an unknown database: ``rejected`` of
    [step_event] in grammars/messages.toml): a rebalance line, by its event or its words,
    whose error is the statement's own. Never null."""
    tokens = grammars.load("messages")["step_event"]
    message = pl.col("message")
    said = pl.col("step_event").str.starts_with("rebalance_") | message.str.contains(
        tokens["rebalance"]
    )
    return (said & message.str.contains(tokens["rejected"])).fill_null(False)


def without_rejected(events: pl.DataFrame) -> pl.DataFrame:
    """``events`` where a rejected REBALANCE statement (:func:`rejected_statement`) has no
    rebalance event: no rebalance ran. The tracelog grammar already gives such lines none;
    a client transcript's error (loader.py) comes with its statement's failure event."""
    if not events.height:
        return events
    # (the patterns run on the rebalance lines only: over every line they cost 0.08 s
    # on the bench bundle)
    numbered = events.with_row_index("_r")
    lines = numbered.filter(pl.col("step_event").str.starts_with("rebalance_").fill_null(False))
    rejected = lines.filter(rejected_statement()).get_column("_r")
    if not rejected.len():
        return events
    return numbered.with_columns(
        pl.when(pl.col("_r").is_in(rejected.implode()))
        .then(None)
        .otherwise(pl.col("step_event"))
        .alias("step_event")
    ).drop("_r")


def _retried_failure() -> pl.Expr:
    """A step failure line that is a retried attempt (:func:`retried_attempt`)."""
    return (pl.col("step_event") == "step_failure") & retried_attempt(pl.col("message"))


def _latest_outcome() -> pl.Expr:
    """A step's status event: its latest outcome line (by time, then line), else its start.
    A failure that a retry made good ("attempt 1 failed ..., retrying", then "succeeded on
    attempt 2") is not the step's outcome."""
    is_outcome = (pl.col("step_event") != "step_start").cast(pl.Int8)
    return pl.col("step_event").sort_by(is_outcome, "ts", "line", nulls_last=False).last()


def _ends_to_open_steps(lines: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """Where a partition has steps to several targets, an end line naming no target
    ("COPY PARTITION sales:1 finished in 45000 ms") ends the earliest of its steps that
    started and has not ended yet."""
    loose = lines.filter(pl.col("target").is_null() & (pl.col("step_event") != "step_start"))
    if not loose.height:
        return lines
    lines = lines.with_row_index("_row")
    groups = loose.select(key).unique()
    involved = lines.join(groups, on=key, how="semi", nulls_equal=False).sort("ts", "_row")
    found: dict[int, str] = {}
    open_steps: dict[tuple[Any, ...], list[str]] = {}
    for row in involved.iter_rows(named=True):
        waiting = open_steps.setdefault(tuple(row[k] for k in key), [])
        target, start = row["target"], row["step_event"] == "step_start"
        if target is not None:
            if start:
                waiting.append(target)
            elif target in waiting:
                waiting.remove(target)
        elif not start and waiting:
            found[row["_row"]] = waiting.pop(0)
    if found:
        fill = pl.DataFrame(
            {"_row": list(found), "_fill": list(found.values())},
            schema={"_row": pl.UInt32, "_fill": pl.String},
        )
        lines = (
            lines.join(fill, on="_row", how="left", maintain_order="left")
            .with_columns(pl.coalesce("target", "_fill").alias("target"))
            .drop("_fill")
        )
    return lines.drop("_row")


def _attach_times(table_steps: pl.DataFrame, from_log: pl.DataFrame) -> pl.DataFrame:
    """Give status/plan rows the start/end times of their log steps (:func:`_log_pairs`),
    and the log's outcome where the row has none yet (:func:`_status_after_log`)."""
    if not from_log.height or not table_steps.height:
        return table_steps
    rows = table_steps.with_row_index("_row")
    times = from_log.with_row_index("_log").select(
        "_log",
        *STEP_KEY,
        pl.col("target").alias("_lt"),
        pl.col("started_at").alias("_s"),
        pl.col("ended_at").alias("_e"),
        pl.col("status").alias("_log_status"),
        _log_outcome().alias("_log_outcome"),
    )
    pairs = _log_pairs(rows, times)
    joined = rows.join(
        pairs.join(times.drop(*STEP_KEY, "_lt"), on="_log").drop("_log"),
        on="_row",
        how="left",
        maintain_order="left",
    )
    return joined.with_columns(
        pl.coalesce("started_at", "_s").alias("started_at"),
        pl.coalesce("ended_at", "_e").alias("ended_at"),
        _status_after_log(),
    ).drop("_row", "_s", "_e", "_log_status", "_log_outcome")


def _never_started() -> pl.Expr:
    """A status row cancelled with running time 0: the step never ran, no log line is its."""
    return (
        (pl.col("origin") == "status")
        & (pl.col("status") == "cancelled")
        & (pl.col("running_ms") == 0)
    ).fill_null(False)


def _ran() -> pl.Expr:
    """A row that shows its step ran (an outcome, running, or a running time)."""
    said = pl.col("status").is_in(["success", "failed", "running"])
    return (said | (pl.col("running_ms") > 0)).fill_null(False)


def _log_pairs(rows: pl.DataFrame, times: pl.DataFrame) -> pl.DataFrame:
    """Which log step (``_log``) gives its times to which row (``_row``), of one action
    and partition (``STEP_KEY``): a log step that names its target only to the row of
    that target; a log step or a row that names none to the one row (log step) of the
    partition and action left over, else to the one of them that ran (:func:`_ran`). A
    row of a step that never started (:func:`_never_started`) takes none."""
    open_rows = rows.filter(~_never_started()).select(
        "_row", *STEP_KEY, "target", _ran().alias("_ran")
    )
    by_target = open_rows.join(
        times.select("_log", *STEP_KEY, "_lt"),
        left_on=[*STEP_KEY, "target"],
        right_on=[*STEP_KEY, "_lt"],
        nulls_equal=False,
    ).select("_row", "_log")
    rest_rows = open_rows.join(by_target, on="_row", how="anti")
    rest_logs = times.join(by_target, on="_log", how="anti").select("_log", *STEP_KEY, "_lt")
    loose = rest_rows.join(rest_logs, on=STEP_KEY, nulls_equal=False).filter(
        pl.col("target").is_null() | pl.col("_lt").is_null()
    )
    # of a log step's candidates, the only one; else the only one that ran
    n_all = pl.len().over("_log")
    n_ran = pl.col("_ran").sum().over("_log")
    chosen = loose.filter((n_all == 1) | (pl.col("_ran") & (n_ran == 1)))
    chosen = chosen.filter(pl.len().over("_row") == 1)  # a row claimed by one log step only
    return pl.concat([by_target, chosen.select("_row", "_log")])


def _log_outcome() -> pl.Expr:
    """A log step's outcome (success/failed) when its outcome line is not older than its
    latest start line; else null (a retry started again after a failed attempt and has
    no outcome yet: a status row saying it runs is right)."""
    final = pl.col("status").is_in(["success", "failed"])
    after = pl.col("_last_start").is_null() | (pl.col("ended_at") >= pl.col("_last_start"))
    return pl.when(final & after).then(pl.col("status"))


def _status_after_log() -> pl.Expr:
    """A plan row (no status of its own) takes the log's status, if any. A status row
    that says a step is still to come (``PENDING``: a capture taken while the rebalance
    ran) takes the outcome the log records after it: the capture is older than that."""
    pending = (pl.col("origin") == "status") & pl.col("status").is_in(PENDING)
    return (
        pl.when(pl.col("origin") == "plan")
        .then(pl.coalesce("_log_status", pl.lit("scheduled")))
        .when(pending & pl.col("_log_outcome").is_not_null())
        .then(pl.col("_log_outcome"))
        .otherwise(pl.col("status"))
        .alias("status")
    )


def merge_steps(steps: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """All steps, one row per (database, ordinal, phase_kind, target), best source first."""
    from_log = _log_step_rows(events)
    status = steps.filter(pl.col("origin") == "status")
    plan = steps.filter(pl.col("origin") == "plan")
    covered = status.select("database").unique()
    plan = plan.join(covered, on="database", how="anti")  # status supersedes the plan
    table_steps = _attach_times(pl.concat([status, plan]), from_log)
    log_only = from_log.join(table_steps.select("database").unique(), on="database", how="anti")
    merged = pl.concat([table_steps, schemas.conform(log_only, schemas.STEPS)])
    return merged.sort(["database", "phase", "ordinal", "phase_kind", "target"], nulls_last=True)


# --- status captures ---------------------------------------------------------------------


def capture_order_key(path: str) -> tuple[float, tuple[tuple[int, int, str], ...]]:
    """Sort key of a status capture's file: the time class its name's words give
    (``impact.name_rank``, as for partition snapshots), then the path with numbers
    compared as numbers (``impact.snapshot_order_key``: ``status_9`` before ``status_10``)."""
    return name_rank(path), snapshot_order_key(path)[1]


def resolve_captures(steps: pl.DataFrame) -> pl.DataFrame:
    """Status rows of one step (``CAPTURE_KEY``) in several captures (tables: ``source``
    and ``capture``) count once: the latest capture's row stays ``status``, earlier ones
    become ``SUPERSEDED``. Captures are ordered by :func:`capture_order_key` of their
    file (without the folders they all share), then by where they first appear in ``steps`` (input order, then order in the
    file). Idempotent."""
    status = pl.col("origin") == "status"
    captures = (
        steps.with_row_index("_row")
        .filter(status & pl.col("source").is_not_null())
        .group_by("source", "capture", maintain_order=True)
        .agg(pl.col("_row").min())
    )
    if captures.height < 2:
        return steps
    relative = without_shared_folders(_path(c[0]) for c in captures.iter_rows())
    order = sorted(
        captures.iter_rows(), key=lambda c: (*capture_order_key(relative[_path(c[0])]), c[2])
    )
    places = pl.DataFrame(
        [(source, capture, n) for n, (source, capture, _) in enumerate(order)],
        schema={"source": pl.String, "capture": pl.Int64, "_place": pl.Int64},
        orient="row",
    )
    place = pl.when(status).then(pl.col("_place"))
    later = (place < place.max().over(CAPTURE_KEY)).fill_null(False)
    return (
        steps.join(places, on=["source", "capture"], how="left", nulls_equal=True,
                   maintain_order="left")
        .with_columns(pl.when(later).then(pl.lit(SUPERSEDED)).otherwise("origin").alias("origin"))
        .drop("_place")
    )  # fmt: skip


def _path(source: str) -> str:
    path, sep, line = source.rpartition(":")
    return path if sep and line.isdigit() else source


def earlier_attempts(steps: pl.DataFrame) -> dict[str | None, list[str]]:
    """Per database, a note on each earlier capture whose failed steps the latest
    capture shows succeeded or running again: an earlier attempt, not the current state."""
    old = steps.filter((pl.col("origin") == SUPERSEDED) & (pl.col("status") == "failed"))
    if not old.height:
        return {}
    now = steps.filter(pl.col("origin") == "status").select(
        *CAPTURE_KEY, pl.col("status").alias("_now"), pl.col("source").alias("_latest")
    )
    retried = old.join(now, on=CAPTURE_KEY, nulls_equal=True, maintain_order="left").filter(
        pl.col("_now").is_in(RETRIED)
    )
    notes: dict[str | None, list[str]] = {}
    for (database, before, after), rows in retried.group_by(
        ["database", "source", "_latest"], maintain_order=True
    ):
        notes.setdefault(database, []).append(_attempt_note(rows, str(before), str(after)))
    return notes


def _attempt_note(rows: pl.DataFrame, before: str, after: str) -> str:
    labels = [_label(row) for row in rows.iter_rows(named=True)]
    what = labels[0] if len(labels) == 1 else f"{len(labels)} steps ({', '.join(labels[:3])}"
    what += "" if len(labels) == 1 else (", ...)" if len(labels) > 3 else ")")
    now = sorted(set(rows.get_column("_now").to_list()))
    again = " or ".join(_NOW_WORDS.get(status, status) for status in now)
    return (
        f"an earlier status capture ({before}) shows {what} failed; the latest capture "
        f"({after}) shows {'it' if len(labels) == 1 else 'them'} {again}: read as an earlier "
        "attempt, not the current state"
    )


_NOW_WORDS = {"success": "succeeded", "running": "running again"}


def _label(step: dict[str, Any]) -> str:
    name = f"{step['action']} {step['database'] or '?'}:{step['ordinal']}"
    return f"{name} on {step['target']}" if step.get("target") else name


def _outcome(db_steps: pl.DataFrame, db_events: pl.DataFrame) -> tuple[str, str]:
    statuses = set(db_steps.get_column("status").to_list())
    origins = set(db_steps.get_column("origin").to_list())
    said = set(
        db_events.filter(pl.col("step_event").str.starts_with("rebalance_"))
        .get_column("step_event")
        .to_list()
    )
    basis = "status" if "status" in origins else ("log" if (origins or said) else "none")
    if "failed" in statuses or "rebalance_failure" in said:
        return "failed", basis
    if "running" in statuses and "rebalance_success" not in said:
        # a step reported failed or a rebalance failure line returned "failed" above
        return "running", basis
    if "cancelled" in statuses:
        return "cancelled", basis
    if statuses and statuses <= {"success"}:
        return "succeeded", basis
    if "rebalance_success" in said:
        return "succeeded", basis
    return "unknown", basis


def _first_failed(db_steps: pl.DataFrame) -> dict[str, Any] | None:
    ranked = db_steps.with_columns(
        pl.col("status")
        .replace_strict(STATUS_RANK, default=9, return_dtype=pl.Int64)
        .alias("_rank"),
        pl.col("phase_kind")
        .replace_strict(PHASE_ORDER, default=9, return_dtype=pl.Int64)
        .alias("_kind"),
    )
    for wanted in ("failed", "running"):
        rows = ranked.filter(pl.col("status") == wanted).sort(
            ["phase", "_kind", "started_at", "ordinal"], nulls_last=True
        )
        if rows.height:
            return rows.drop("_rank", "_kind").row(0, named=True)
    return None


def _failure_line(db_events: pl.DataFrame, step: dict[str, Any] | None) -> dict[str, Any] | None:
    """The line that reports the failure: of the failed step, its last failure line that
    is no retried attempt (:func:`retried_attempt`: "failed: ...; will retry" is an
    attempt, the line after the last attempt has the step's error), one with an error
    code before one without (a bare "... failed" after the error); else the first
    failure line of the rebalance (retried attempts last); else the status error text."""
    fails = db_events.filter(pl.col("step_event").is_in(["step_failure", "rebalance_failure"]))
    if not fails.height:
        return _status_error(db_events, step)
    fails = fails.with_row_index("_at").with_columns(_retried_failure().alias("_retried"))
    if step is not None:
        same = fails.filter(
            (pl.col("ordinal") == step["ordinal"]) & (pl.col("phase_kind") == step["phase_kind"])
        )
        if same.height:
            # (the last with an error code, when a bare "... failed" follows the error)
            has_code = "error_code" in same.columns
            coded = pl.col("error_code").is_not_null() if has_code else pl.lit(False)
            last = same.with_columns(coded.alias("_coded")).sort(
                "_retried", "_coded", "ts", "_at", descending=[True, False, False, False]
            )
            return last.drop("_at", "_retried", "_coded").row(-1, named=True)
    first = fails.sort("_retried", "_at", maintain_order=True)
    return first.drop("_at", "_retried").row(0, named=True)


def _status_error(db_events: pl.DataFrame, step: dict[str, Any] | None) -> dict[str, Any] | None:
    """Without a failure line in the logs: the event the loader made of the failed step's
    error text in the status output, if any."""
    if step is None:
        return None
    said = db_events.filter(
        (pl.col("component") == STATUS_COMPONENT)
        & (pl.col("ordinal") == step["ordinal"])
        & (pl.col("phase_kind") == step["phase_kind"])
    )
    return said.row(0, named=True) if said.height else None


def infer_phase_from_partitions(db_parts: pl.DataFrame) -> tuple[str | None, str]:
    """Failing phase from partition state alone (low confidence): orphans → drop, extras → copy."""
    if not db_parts.height:
        return None, "no partition snapshot to infer the phase from"
    if db_parts.filter(pl.col("role") == "orphan").height:
        return "drop", "orphan copies left behind: the new placement serves while old copies linger"
    copies = db_parts.filter(pl.col("role").is_in(["master", "replica"])).group_by("ordinal").len()
    if copies.height and copies.get_column("len").max() != copies.get_column("len").min():
        return "copy", "some partitions carry extra replicas while old masters are still master"
    return None, "partition state shows no residue of a failed step"


def _involved(
    step: dict[str, Any] | None, db_steps: pl.DataFrame, db_parts: pl.DataFrame, ma: str | None
) -> list[str]:
    nodes = {ma} if ma else set()
    if step is not None:
        if step.get("target"):
            nodes.add(step["target"])
        if db_parts.height and step.get("ordinal") is not None:
            holders = db_parts.filter(pl.col("ordinal") == step["ordinal"]).get_column("node")
            nodes.update(holders.drop_nulls().to_list())
    return sorted(n for n in nodes if n)


def _lost_node(key: str) -> str:
    """A pattern of ``[lost_node]`` in grammars/messages.toml: ``startup`` (a line a server
    logs while it starts), ``master_lost`` (a node says the master aggregator was lost),
    ``back`` (it is back), ``peer`` (the peer a step's line names)."""
    return str(grammars.load("messages")["lost_node"][key])


def step_peers(rb: Rebalance, db_events: pl.DataFrame) -> list[str]:
    """The nodes that the failed step's lines name as its peer (``[lost_node] peer``: the
    failure line's ``Leaf Error (host:port)``, a target's "provisioning from host:port"):
    the copy's source, which a partition snapshot would name as a holder. Only the failure
    line and the warnings and errors of the step's partition in its window count."""
    step = rb.failed_step or {}
    lines = [rb.failure_line] if rb.failure_line else []
    start, end = rb.window()
    if step.get("ordinal") is not None and start is not None and end is not None:
        own = db_events.filter(
            (pl.col("ordinal") == step["ordinal"])
            & pl.col("level").is_in(["WARN", "ERROR", "FAILURE"])
            & pl.col("ts").is_between(_shifted(start, -PEER_SLACK), _shifted(end, PEER_SLACK))
        )
        lines.extend(own.iter_rows(named=True))
    pattern = re.compile(_lost_node("peer"))
    peers = set()
    for line in lines:
        for found in pattern.finditer(line.get("message") or ""):
            named = found.group("peer") or f"{found.group('from')}:{found.group('port')}"
            peers.add(named)
    return sorted(peers)


def _shifted(ts: datetime, by: timedelta) -> datetime:
    """``ts + by``, held at the ends of the calendar (year 1, year 9999)."""
    try:
        return ts + by
    except OverflowError:
        return (datetime.max if by > timedelta(0) else datetime.min).replace(tzinfo=ts.tzinfo)


def restart_banners(events: pl.DataFrame, candidates: pl.DataFrame | None = None) -> pl.DataFrame:
    """Startup lines (``[lost_node] startup``) logged after earlier lines of their file: a
    restart, also in a log without the uptime counter (where no ``node_restart`` row
    shows it). The startup lines a file begins with show only the start it begins with.
    ``candidates``: rows of ``events`` already known to hold every startup line (default:
    those with a ``startup_words`` word: one pass, the regex on those rows only)."""
    if candidates is None:
        words = list(grammars.load("messages")["lost_node"]["startup_words"])
        candidates = events.filter(
            pl.col("message").str.contains_any(words, ascii_case_insensitive=True)
        )
    startup = pl.col("message").str.contains(_lost_node("startup")).fill_null(False)
    banners = candidates.filter(pl.col("ts").is_not_null() & startup)
    if not banners.height:
        return banners
    files = banners.get_column("file").unique().implode()
    first = (
        events.filter(pl.col("file").is_in(files))
        .filter(~startup & pl.col("line").is_not_null())
        .group_by("file")
        .agg(pl.col("line").min().alias("_first"))
    )
    return (
        banners.join(first, on="file", how="inner")
        .filter(pl.col("line") > pl.col("_first"))
        .drop("_first")
    )


#: Startup lines this close together are one start of the server.
ONE_START = timedelta(minutes=5)


def banner_restarts(events: pl.DataFrame) -> pl.DataFrame:
    """``node_restart`` rows (as the parser writes for an uptime counter that went back)
    for the restarts that only startup lines show (:func:`restart_banners`: a log without
    the uptime counter): one per start, at the file's last line before it (the crash lies
    between that line and the start, as for the parser's rows), unless the parser already
    wrote one there. Empty when there is none (the usual case: one pass, gated by words)."""
    banners = restart_banners(events).sort("file", "line")
    if not banners.height:
        return events.clear()
    known = events.filter(pl.col("step_event") == "node_restart")
    startup = pl.col("message").str.contains(_lost_node("startup")).fill_null(False)
    # (the lines of the files that restarted, without their startup lines: the line
    # before each start is the last of them before it)
    files = banners.get_column("file").unique().implode()
    quiet = events.filter(pl.col("file").is_in(files) & pl.col("ts").is_not_null()).filter(~startup)
    rows: list[dict[str, Any]] = []
    last_start: dict[str, datetime] = {}
    for row in banners.iter_rows(named=True):
        file, ts = row["file"], row["ts"]
        previous = last_start.get(file)
        last_start[file] = ts
        if previous is not None and ts - previous <= ONE_START:
            continue  # (the same start's next line)
        before = (
            quiet.filter((pl.col("file") == file) & (pl.col("line") < row["line"]))
            .sort("line")
            .tail(1)
        )
        if not before.height:
            continue
        last = before.row(0, named=True)["ts"]
        if known.filter(
            (pl.col("file") == file) & pl.col("ts").is_between(last - ONE_START, ts)
        ).height:
            continue  # (the uptime counter showed it: the parser's row)
        at, back = (t.isoformat(sep=" ", timespec="milliseconds") for t in (last, ts))
        message = (
            f"node restart detected: last line before it at {at}, back at {back}; startup "
            "lines after a silence (no uptime counter)"
        )
        rows.append({**row, "ts": last, "level": "INFO", "thread": None,
                     "component": "forensics", "message": message, "database": None,
                     "ordinal": None, "action": None, "phase_kind": None,
                     "step_event": "node_restart", "target": None, "error_code": None})  # fmt: skip
    return pl.DataFrame(rows, schema=events.schema) if rows else events.clear()


def master_lost_lines(events: pl.DataFrame) -> pl.DataFrame:
    """Warnings and errors with a time that say the master aggregator was lost (``[lost_node]
    master_lost``, not ``back``): a node's word that the master went away."""
    message = pl.col("message")
    return events.filter(
        pl.col("ts").is_not_null()
        & pl.col("level").is_in(["WARN", "ERROR", "FAILURE"])
        & message.str.contains_any(["master"], ascii_case_insensitive=True)
    ).filter(
        message.str.contains(_lost_node("master_lost")) & ~message.str.contains(_lost_node("back"))
    )


def build_timeline(
    steps: pl.DataFrame,
    events: pl.DataFrame,
    partitions: pl.DataFrame,
    master_aggregator: str | None,
    *,
    every_run: bool = False,
) -> list[Rebalance]:
    """One Rebalance per database that the bundle shows being rebalanced: its latest run
    (earlier runs of the same database, ended before a new start, are left out and named
    in a note); a rebalance failure line that names no database makes one Rebalance of
    database None when no database is seen at all. ``every_run``: earlier runs that
    failed are Rebalances too, before the latest one (``forensics scan``). Of a step in
    several status captures the latest counts (:func:`resolve_captures`); an earlier
    capture that shows it failed where the latest shows it succeeded is a note. A status
    output newer than the logs (:func:`_newer_status`) is the latest run; the logs' run
    that failed before it is an earlier one."""
    events, earlier = _latest_runs(without_rejected(events))
    steps = resolve_captures(steps)
    attempts = earlier_attempts(steps)
    merged = merge_steps(steps, events)
    databases = set(merged.get_column("database").drop_nulls().to_list())
    rb_events = events.filter(
        pl.col("step_event").str.starts_with("rebalance_") & pl.col("database").is_not_null()
    )
    databases.update(rb_events.get_column("database").to_list())
    merged, unnamed_note = _unnamed_steps(merged, databases, partitions)
    databases.update(merged.get_column("database").drop_nulls().to_list())
    global_events = events.filter(
        pl.col("step_event").str.starts_with("rebalance_") & pl.col("database").is_null()
    )
    restarts = events.filter(pl.col("step_event") == "node_restart")
    # (one pass over the messages finds the few lines these three read)
    grammar = grammars.load("messages")
    words = [*grammar["takeover"]["words"], *grammar["lost_node"]["startup_words"]]
    mentions = events.filter(pl.col("message").str.contains_any(words, ascii_case_insensitive=True))
    takeovers = master_takeovers(mentions)
    lost = (restart_banners(events, mentions), master_lost_lines(mentions), _seen(events))
    status_rows, _ = _unnamed_steps(
        steps.filter(pl.col("origin") == "status"), databases, partitions
    )
    # (split once: a filter per database is quadratic in a bundle of many databases)
    events_of, steps_of, parts_of, status_of = (
        _by_database(frame) for frame in (events, merged, partitions, status_rows)
    )
    out = []
    unstarted: dict[str, pl.DataFrame] = {}  # databases known from their plan only
    for database in sorted(databases):
        db_events = events_of.get(database, events.clear())
        db_steps = steps_of.get(database, merged.clear())
        db_parts = parts_of.get(database, partitions.clear())
        shared = earlier.globals.get(database, [global_events])[-1]
        stale = _stale_status(db_steps, db_events, earlier.events.get(database, []))
        if stale:  # the status output is of an earlier run: the logs' steps of the latest
            db_steps = merge_steps(steps.clear(), db_events)
        status = status_of.get(database, steps.clear())
        newer = None if stale else _newer_status(status, db_events)
        logged = None  # the logs' latest run, when the status output is of a later one
        if newer:
            in_log = pl.col("component").ne_missing(STATUS_COMPONENT)
            logged = _rebalance(
                database, merge_steps(steps.clear(), db_events.filter(in_log)),
                db_events.filter(in_log), db_parts, master_aggregator, shared,
            )  # fmt: skip
            db_steps, db_events = merge_steps(status, events.clear()), db_events.filter(~in_log)
            shared = global_events.clear()
        rb = _rebalance(database, db_steps, db_events, db_parts, master_aggregator, shared)
        rb.notes.extend(note for note in (stale, newer) if note)
        _interrupted(rb, db_events, db_parts, restarts, takeovers, lost)
        rb.notes.extend(attempts.get(database, []))
        rb.notes.extend(earlier.notes.get(database, []))
        if rb.outcome in ("failed", "unknown") and _plan_only(db_steps, db_events):
            unstarted[database] = shared
        if every_run:  # (forensics scan: one incident per failed run)
            ends = (restarts, takeovers, *lost)
            later = logged or rb
            out.extend(
                _earlier_failures(database, earlier, ends, db_parts, master_aggregator, later)
            )
            if logged is not None and logged.outcome == "failed":
                logged.next_run = rb
                out.append(logged)
        out.append(rb)
    names = databases | set(partitions.get_column("database").drop_nulls().to_list())
    out, never_ran = _unstarted_in_all(out, unstarted, events, names)
    unnamed = merged.filter(pl.col("database").is_null())
    global_failure = "rebalance_failure" in set(global_events.get_column("step_event").to_list())
    if not out and (global_failure or unnamed.height):
        out.append(_rebalance(None, unnamed, global_events, partitions.clear(), master_aggregator))
        out[-1].notes.append(
            "the failure line names no database"
            if global_failure and not unnamed.height
            else "the status output names no database"
        )
        out[-1].notes.extend(attempts.get(None, []))
    elif unnamed_note and out:
        out[0].notes.append(unnamed_note)
    for explained_by, note in never_ran:
        failed = [rb for rb in out if rb.outcome == "failed"]
        kept = any(rb is explained_by for rb in out)  # (a Rebalance's == compares frames)
        into = explained_by if kept else next(iter(failed or out), None)
        if into is not None:
            into.notes.append(note)
    return out


# --- databases a REBALANCE ALL DATABASES run never started --------------------------------

#: A database's failure logged this long after the REBALANCE ALL DATABASES failure line
#: may still be the one that line reports (a step's end taken from another node's clock).
ALL_RUN_SLACK = timedelta(minutes=1)
#: A word of a log line that may be a database's name.
_NAME_WORD = re.compile(r"[A-Za-z0-9_$\-]+")


def _plan_only(db_steps: pl.DataFrame, db_events: pl.DataFrame) -> bool:
    """Whether a database is known only from plan rows (EXPLAIN REBALANCE) that no log
    line shows running, with no rebalance or step line of its own: as far as the bundle
    shows, its run never started."""
    if not db_steps.height or db_events.filter(pl.col("step_event").is_not_null()).height:
        return False
    return bool(db_steps.select(((pl.col("origin") == "plan") & ~_ran()).all()).item())


def _unstarted_in_all(
    out: list[Rebalance],
    unstarted: dict[str, pl.DataFrame],
    events: pl.DataFrame,
    names: set[str],
) -> tuple[list[Rebalance], list[tuple[Rebalance | None, str]]]:
    """``out`` without the rebalances of databases known from their plan only
    (``unstarted``, each with the rebalance lines naming no database that it shares) that a
    REBALANCE ALL DATABASES run stopped before they started, and a note on each (with the
    rebalance whose failure stopped the run, if known). Such a database failed, or has no
    outcome, only by the run's failure lines: those naming no database that made it failed,
    else the run's failure lines of other databases. When every one of them is another
    database's (:func:`_of_another`), it never ran: no rebalance, no verdict (its planned
    steps stay in plan vs actual)."""
    if not unstarted:
        return out, []
    tokens = grammars.load("messages")["all_databases"]
    run_lines = events.filter(pl.col("step_event").is_in(["rebalance_start", "rebalance_failure"]))
    of_all = pl.col("message").str.contains(tokens["statement"]).fill_null(False)
    begins = (
        run_lines.filter((pl.col("step_event") == "rebalance_start") & (pl.col("database").is_null() | of_all))
        .get_column("ts").drop_nulls().sort().to_list()
    )  # fmt: skip
    others = run_lines.filter(
        (pl.col("step_event") == "rebalance_failure") & pl.col("database").is_not_null() & of_all
    )
    kept: list[Rebalance] = []
    notes: list[tuple[Rebalance | None, str]] = []
    for rb in out:
        database = rb.database
        shared = unstarted.get(database) if database is not None else None
        if database is None or shared is None:
            kept.append(rb)
            continue
        failed = rb.outcome == "failed"
        lines = shared.filter(pl.col("step_event") == "rebalance_failure") if failed else others
        why = [
            _of_another(database, line, out, set(unstarted), begins, names)
            for line in lines.iter_rows(named=True)
        ]
        known = [reason for reason in why if reason is not None]
        if not why or len(known) < len(why):
            kept.append(rb)
            continue
        line = lines.row(0, named=True)
        reason, by = known[0]
        notes.append((by, (
            f"{database} was planned (EXPLAIN REBALANCE) but never started: the REBALANCE "
            f"ALL DATABASES run {reason} ({line['file']}:{line['line']}: {line['message']}): "
            f"{database} did not fail, no verdict for it"
        )))  # fmt: skip
    return kept, notes


def _of_another(
    database: str,
    line: dict[str, Any],
    out: list[Rebalance],
    unstarted: set[str],
    begins: list[datetime],
    names: set[str],
) -> tuple[str, Rebalance | None] | None:
    """Why a failure ``line`` is not that of ``database``, whose run never started (with
    the rebalance whose failure it reports, if known); None when it may be. The line says
    the database was not rebalanced; or it names the database nowhere, is a REBALANCE ALL
    DATABASES line, and another database failed in that run: one the line names as failing
    (or is of), or one whose own lines show it failed between the run's start and the line.
    A line naming the database otherwise ("failed on orders") may be its failure."""
    tokens = grammars.load("messages")["all_databases"]
    roles = named_databases(str(line["message"] or ""), names)
    if line["database"] is not None:
        roles.setdefault(line["database"], "named")
    role = roles.pop(database, None)
    if role == "not_run":
        return "names it not rebalanced", None
    if role is not None or not re.search(tokens["statement"], str(line["message"] or "")):
        return None
    for other in out:
        if other.outcome != "failed" or other.database in (None, database):
            continue
        if roles.get(other.database) == "named" or (
            other.database not in unstarted and _in_run(other, line, begins)
        ):
            return f"stopped at the failure of {other.database}", other
    return None


def _in_run(rb: Rebalance, line: dict[str, Any], begins: list[datetime]) -> bool:
    """Whether ``rb`` failed in the run that the failure ``line`` ends: after the run's
    last start line before it (``begins``, sorted), and not after it (``ALL_RUN_SLACK``).
    A failure or a line with no time may be."""
    at, until = rb.failure_time or rb.end, line["ts"]
    if at is None or until is None:
        return True
    started = begins[: bisect.bisect_right(begins, until)]
    return (not started or at >= started[-1]) and at <= until + ALL_RUN_SLACK


def named_databases(message: str, names: Iterable[str]) -> dict[str, str]:
    """The databases of ``names`` a rebalance line names, each ``not_run`` when a clause of
    the line says it was not rebalanced ([all_databases] of grammars/messages.toml: the
    names after `not_run` in its clause, or right before it with only `list_words`
    between when none follows it: "not rebalanced: orders", "orders, sales not
    rebalanced"), else ``named`` ("failed on crm", "1 databases rebalanced: billing")."""
    tokens = grammars.load("messages")["all_databases"]
    known = set(names)
    roles: dict[str, str] = {}
    for clause in re.split(tokens["clause_end"], message):
        found = [m for m in _NAME_WORD.finditer(clause) if m.group() in known]
        said = re.search(tokens["not_run"], clause) if found else None
        listed = said is not None and not any(m.start() >= said.end() for m in found)
        for m in found:
            between = clause[m.end() : said.start()] if said is not None else ""
            between = _NAME_WORD.sub(lambda w: "" if w.group() in known else w.group(), between)
            if said is not None and (
                m.start() >= said.end()
                or (
                    listed
                    and m.end() <= said.start()
                    and re.fullmatch(tokens["list_words"], between)
                )
            ):
                roles[m.group()] = "not_run"
            else:
                roles.setdefault(m.group(), "named")
    return roles


def _earlier_failures(
    database: str,
    earlier: _Runs,
    ends: tuple[pl.DataFrame, ...],
    db_parts: pl.DataFrame,
    ma: str | None,
    latest: Rebalance,
) -> list[Rebalance]:
    """The earlier runs of ``database`` that failed, oldest first: by their lines, or
    because the node that ran one restarted, or another node took over as master
    aggregator, before the next run started (``ends``: the restart and takeover lines,
    :func:`_interrupted`); each knows the run after it (``next_run``: an earlier one, or
    ``latest``)."""
    runs = []
    stops = earlier.stops.get(database, [])
    shared: list[pl.DataFrame | None] = [*earlier.globals.get(database, [])] or [None] * len(stops)
    for run, stop, lines in zip(earlier.events.get(database, []), stops, shared, strict=False):
        steps = merge_steps(schemas.empty(schemas.STEPS), run)
        rb = _rebalance(database, steps, run, db_parts, ma, lines)
        restarts, takeovers, *lost = (lines.filter(pl.col("ts") < stop) for lines in ends)
        _interrupted(rb, run, db_parts, restarts, takeovers, (lost[0], lost[1], lost[2]))
        runs.append(rb)
    for rb, after in pairwise([*runs, latest]):
        rb.next_run = after
    return [rb for rb in runs if rb.outcome == "failed"]


def _by_database(frame: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The rows of each database (rows of no database left out), in their order."""
    named = frame.filter(pl.col("database").is_not_null())
    if not named.height:
        return {}
    parts = named.partition_by("database", as_dict=True, maintain_order=True)
    return {str(key[0]): part for key, part in parts.items()}


def _unnamed_steps(
    merged: pl.DataFrame, databases: set[str], partitions: pl.DataFrame
) -> tuple[pl.DataFrame, str | None]:
    """Steps of a status output pasted without its statement name no database. When the
    bundle names one database only (in the logs, the steps and the snapshots), they are
    read as its steps, with a note; otherwise they stay unnamed (a rebalance of database
    None when the bundle names none)."""
    unnamed = merged.filter(pl.col("database").is_null())
    if not unnamed.height:
        return merged, None
    candidates = databases | set(partitions.get_column("database").drop_nulls().to_list())
    if len(candidates) != 1:
        return merged, None
    (only,) = candidates
    note = f"{unnamed.height} status row(s) name no database: read as {only}'s"
    return merged.with_columns(pl.col("database").fill_null(only)), note


@dataclass
class _Runs:
    """What :func:`_latest_runs` splits off: per database, a note on each earlier run,
    the events of each earlier run (oldest first) and the time each of them gave way to
    the next run (so a restart after that is not theirs); and, per database with run
    lines, the rebalance lines naming no database of each of its runs, the latest last
    (:func:`_global_runs`)."""

    notes: dict[str, list[str]] = field(default_factory=dict)
    events: dict[str, list[pl.DataFrame]] = field(default_factory=dict)
    stops: dict[str, list[datetime]] = field(default_factory=dict)
    globals: dict[str, list[pl.DataFrame]] = field(default_factory=dict)


#: Step events of a database's lines that show a run of it going on, or ending.
RUN_LINES = ("step_start", "step_success", "step_failure", "rebalance_success", "rebalance_failure")
#: Step events that end a run (and, in the note on an earlier run, tell how it ended).
RUN_ENDS = ("rebalance_success", "rebalance_failure")
_RUN_COLUMNS = ("database", "step_event", "ts", "file", "line", "node", "ordinal", "phase_kind",
                "message")  # fmt: skip


def _latest_runs(events: pl.DataFrame) -> tuple[pl.DataFrame, _Runs]:
    """``events`` without the lines of earlier runs of each database, and those runs.

    A run of a database starts at its rebalance start line (:func:`_run_starts`). A start
    line begins a new run when the run before it has lines since its own start (a new
    start while a run is open: the earlier one ended, failed or was interrupted, with or
    without an outcome line); a first start line, when an end line, a step failure not
    retried, or a restart of the orchestrating node comes before it. "Before" is in the
    file when both lines are in one (the clock may step back: NTP, DST), else in time.
    Without start lines, a step started again after its failure, or long after the run's
    last line, begins a new run (:func:`_step_run_starts`). A retried step ("will retry
    (attempt 1 of 3)", then "succeeded on attempt 2") is no new run.

    The runs are told apart over the rows as Python values: a database's run lines are
    few, and a Polars call per run cost milliseconds (1,000 runs: 3.8 s)."""
    lines = events.filter(
        pl.col("database").is_not_null()
        & pl.col("ts").is_not_null()
        & pl.col("step_event").is_in([*RUN_LINES, "rebalance_start"])
    ).select(_RUN_COLUMNS)
    restarts = events.filter(pl.col("step_event") == "node_restart")
    down = restarts.to_dicts()
    runs = _Runs()
    cuts: dict[str, list[Any]] = {}
    for db, mine in _by_database(lines).items():
        rows = _RunLines(mine.with_columns(_retried_failure().alias("_retried")).to_dicts())
        opened: dict[str, Any] | None = None
        for start in _run_starts(mine, restarts):
            end = _end_of_run(rows.between(opened, start), opened, down, start)
            if end is not None:
                cuts.setdefault(db, []).append(start["ts"])
                runs.notes.setdefault(db, []).append(_earlier_run_note(db, end))
            if end is not None or opened is None:
                opened = start
    shared = events.filter(
        pl.col("step_event").str.starts_with("rebalance_")
        & pl.col("database").is_null()
        & pl.col("ts").is_not_null()
    )
    for db, mine in _by_database(lines).items():
        runs.globals[db] = _global_runs(shared, mine, cuts.get(db, []))
    if not cuts:
        return events, runs
    for db, times in cuts.items():
        latest = times[-1]
        runs.notes[db] = [f"{note}; the latest run, started at {latest}, is the current state"
                          for note in runs.notes[db]]  # fmt: skip
        mine = events.filter(pl.col("database") == db)
        runs.events[db] = _between(mine, list(pairwise([None, *times])))
        runs.stops[db] = list(times)
    cut = pl.DataFrame(
        {"database": list(cuts), "_cut": [times[-1] for times in cuts.values()]},
        schema={"database": pl.String, "_cut": events.schema["ts"]},
    )
    kept = (
        events.join(cut, on="database", how="left", maintain_order="left")
        .filter(pl.col("_cut").is_null() | (pl.col("ts") >= pl.col("_cut")))
        .drop("_cut")
    )
    return kept, runs


def _between(frame: pl.DataFrame, spans: list[tuple[Any, Any]]) -> list[pl.DataFrame]:
    """The rows of ``frame`` in each span [first, last) of ``ts`` (None: open), rows of no
    time left out. Slices by binary search when the times are in order (nulls last: the
    loader sorts the events so), else filters."""
    ts = frame.get_column("ts")
    timed = ts.drop_nulls()
    if not (timed.is_sorted() and ts.head(timed.len()).null_count() == 0):
        col = pl.col("ts")
        return [
            frame.filter(
                col.is_not_null()
                & (pl.lit(True) if first is None else col >= first)
                & (pl.lit(True) if last is None else col < last)
            )
            for first, last in spans
        ]

    bounds = sorted({t for span in spans for t in span if t is not None})
    found = timed.search_sorted(pl.Series(bounds, dtype=ts.dtype), side="left").to_list()
    index = dict(zip(bounds, found, strict=True))
    out = []
    for first, last in spans:
        begin = 0 if first is None else index[first]
        end = timed.len() if last is None else index[last]
        out.append(frame.slice(begin, max(0, end - begin)))
    return out


def _global_runs(shared: pl.DataFrame, mine: pl.DataFrame, cuts: list[Any]) -> list[pl.DataFrame]:
    """``shared`` (rebalance lines naming no database: "REBALANCE ALL DATABASES started")
    split among the runs of one database (its run lines ``mine``; its later runs start at
    ``cuts``), oldest first: a run's lines begin at the last start line of ``shared``
    after the run before it (before its first own line); the first run's, at the last one
    before its first line (all lines when none), and each run's end where the next begins."""
    if not shared.height:
        return [shared] * (len(cuts) + 1)
    starts = sorted(shared.filter(pl.col("step_event") == "rebalance_start").get_column("ts"))
    own = sorted(mine.get_column("ts").drop_nulls())

    def begin(after: Any, until: Any) -> Any:
        found = starts[: bisect.bisect_right(starts, until)]
        if after is not None:
            found = found[bisect.bisect_right(found, after) :]
        return found[-1] if found else (None if after is None else until)

    def last_before(cut: Any) -> Any:
        earlier = own[: bisect.bisect_left(own, cut)]
        return earlier[-1] if earlier else None

    bounds = [begin(None, own[0]) if own else None]
    bounds += [begin(last_before(cut), cut) for cut in cuts]
    return _between(shared, list(pairwise([*bounds, None])))


class _RunLines:
    """A database's run lines, found between two lines without a look at every line:
    "after" and "before" are by line number within one file and by time across files
    (:func:`_written_after`), so the lines of the two lines' own files are searched by
    line number and the others by time."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.by_file: dict[Any, list[tuple[Any, int]]] = {}
        for i, r in enumerate(rows):  # (a line of no number is before or after none)
            if r["line"] is not None:
                self.by_file.setdefault(r["file"], []).append((r["line"], i))
        for lines in self.by_file.values():
            lines.sort()
        self.timed = sorted((r["ts"], i) for i, r in enumerate(rows))  # (no null times)

    def between(self, opened: dict[str, Any] | None, start: dict[str, Any]) -> list[dict[str, Any]]:
        """The lines written after ``opened`` (all, when None) and before ``start``."""
        own = {start["file"]} | ({opened["file"]} if opened is not None else set())
        found: list[int] = []
        for file in own:  # the two lines' files: by line number (then checked)
            lines = self.by_file.get(file, [])
            low, high = 0, len(lines)
            if opened is not None and file == opened["file"]:
                at = opened["line"]
                low = high if at is None else bisect.bisect_right(lines, (at, len(self.rows)))
            if file == start["file"]:
                at = start["line"]
                high = 0 if at is None else bisect.bisect_left(lines, (at, -1))
            found += [i for _, i in lines[low:high]]
        low = (
            0 if opened is None else bisect.bisect_right(self.timed, (opened["ts"], len(self.rows)))
        )
        high = bisect.bisect_left(self.timed, (start["ts"], -1))
        found += [i for ts, i in self.timed[low:high] if self.rows[i]["file"] not in own]
        return [
            self.rows[i]
            for i in sorted(set(found))
            if _written_after(self.rows[i], opened) and _written_after(start, self.rows[i])
        ]


def _written_after(row: dict[str, Any], ref: dict[str, Any] | None) -> bool:
    """Whether ``row`` was written after ``ref`` (always, when ``ref`` is None): later in
    its file when both are in one, else later in time (:func:`_after` for rows)."""
    if ref is None:
        return True
    if row["file"] is None or ref["file"] is None:
        return False
    if row["file"] == ref["file"]:
        return _later(row["line"], ref["line"])
    return _later(row["ts"], ref["ts"])


def _later(a: Any, b: Any) -> bool:
    return a is not None and b is not None and bool(a > b)


def _after(row: dict[str, Any] | None) -> pl.Expr:
    """Lines written after ``row``: later in its file, or later in time in another file
    (all lines when ``row`` is None)."""
    if row is None:
        return pl.lit(True)
    same = pl.col("file") == row["file"]
    return (same & (pl.col("line") > row["line"])) | (~same & (pl.col("ts") > row["ts"]))


def _before(row: dict[str, Any]) -> pl.Expr:
    """Lines written before ``row``: earlier in its file, or earlier in time in another."""
    same = pl.col("file") == row["file"]
    return (same & (pl.col("line") < row["line"])) | (~same & (pl.col("ts") < row["ts"]))


def _run_starts(mine: pl.DataFrame, restarts: pl.DataFrame) -> list[dict[str, Any]]:
    """Where runs of one database may start, by time: its start lines, and the first line
    its orchestrating node logs of it after that node restarted (a restarted aggregator
    does not resume a rebalance: lines after the restart are of a new run, even without a
    start line)."""
    starts = mine.filter(pl.col("step_event") == "rebalance_start")
    for restart in _orchestrator_restarts(mine, restarts).iter_rows(named=True):
        if not mine.filter(_before(restart)).height:
            continue  # nothing of the database before the restart: nothing to end
        after = mine.filter(_after(restart) & (pl.col("node") == restart["node"])).sort("ts")
        if after.height and after.item(0, "step_event") != "rebalance_start":
            starts = pl.concat([starts, after.head(1)])
    starts = pl.concat(
        [starts.with_columns(_implicit=pl.lit(False)), _step_run_starts(mine)]
    ).unique(["file", "line"], keep="first", maintain_order=True)
    return starts.sort("ts", "file", "line").to_dicts()


#: A step that starts this long after the last line of a run in which no step is still
#: running starts a new run: a rebalance runs its steps back to back.
RUN_GAP = timedelta(hours=1)


def _step_run_starts(mine: pl.DataFrame) -> pl.DataFrame:
    """Step start lines of one database that begin a run with no start line of its own
    (logs with step lines only), with ``_implicit`` true: a step started again after it
    failed (a failure that is no retried attempt, :func:`retried_attempt`: the rebalance
    stopped there), or a step started more than ``RUN_GAP`` after the run's last line
    while none of its steps was still running. A start line resets what is known."""
    rows = mine.with_columns(_retried_failure().alias("_retried")).sort("ts", "file", "line")
    found: list[int] = []
    running: dict[tuple[Any, Any], int] = {}  # step -> attempts started, not ended
    again: set[tuple[Any, Any]] = set()  # steps whose retried attempt awaits its start
    failed: set[tuple[Any, Any]] = set()  # steps whose latest line is their failure
    last = None
    columns = ("step_event", "ts", "ordinal", "phase_kind", "_retried")
    for n, (event, ts, ordinal, kind, retried) in enumerate(rows.select(columns).iter_rows()):
        step = (ordinal, kind)
        new_run = event == "step_start" and (
            step in failed
            or (last is not None and ts - last > RUN_GAP and not any(running.values()))
        )
        if event == "rebalance_start" or new_run:
            running, again, failed = {}, set(), set()
        if new_run:
            found.append(n)
        if event == "step_start":
            running[step] = running.get(step, 0) + (0 if step in again else 1)
            again.discard(step)
            failed.discard(step)
        elif event == "step_failure" and retried:
            again.add(step)
        elif event in ("step_success", "step_failure"):
            running[step] = max(0, running.get(step, 0) - 1)
            again.discard(step)
            if event == "step_failure":
                failed.add(step)
            else:
                failed.discard(step)
        last = ts
    return rows[found].drop("_retried").with_columns(_implicit=pl.lit(True))


def _orchestrator_restarts(mine: pl.DataFrame, restarts: pl.DataFrame) -> pl.DataFrame:
    """Restarts of the node that runs the database's rebalances: the one that logged its
    start and end lines (else, with none, its step lines)."""
    said = mine.filter(pl.col("step_event").str.starts_with("rebalance_"))
    nodes = (said if said.height else mine).get_column("node").drop_nulls().unique()
    return restarts.filter(pl.col("node").is_in(nodes.implode()))


def _end_of_run(
    before: list[dict[str, Any]],
    opened: dict[str, Any] | None,
    restarts: list[dict[str, Any]],
    start: dict[str, Any],
) -> dict[str, Any] | None:
    """The line that shows the run before ``start`` is over (``before``: the database's
    lines between that run's start ``opened`` and ``start``), or None when ``start`` is
    no new run. With ``opened`` or a ``start`` found by its step lines (``_implicit``),
    any line of the run will do (a run was going on when a new one started); without
    (the run's start is not in the bundle), an end line, a step failure no later line
    retried, or a restart of its node after its lines."""
    said = sorted(
        (r for r in before if r["step_event"] != "rebalance_start"),
        key=lambda r: (r["ts"], r["file"], r["line"]),
    )
    if not said:
        return None
    ends = [r for r in said if r["step_event"] in RUN_ENDS]
    failed = _failures_not_retried(said)
    ran = {r["node"] for r in said if r["step_event"].startswith("rebalance_")}
    ran = (ran or {r["node"] for r in said}) - {None}
    down = [
        r
        for r in restarts
        if r["node"] in ran and _written_after(r, said[0]) and _written_after(start, r)
    ]
    for found in (ends, failed, down):
        if found:  # the latest (nulls first, ties in their order)
            return sorted(found, key=lambda r: (r["ts"] is not None, r["ts"] or 0))[-1]
    return said[-1] if opened is not None or start["_implicit"] else None


def _failures_not_retried(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Step failure lines of ``lines`` with no later start or success line of the step
    (a failed attempt that was retried is no end of the run)."""
    again = [
        (r["ordinal"], r["phase_kind"], r["ts"])
        for r in lines
        if r["step_event"] in ("step_start", "step_success")
        and r["ordinal"] is not None
        and r["phase_kind"] is not None
    ]
    return [
        r
        for r in lines
        if r["step_event"] == "step_failure"
        and r["_retried"] is False
        and not any(
            (ordinal, kind) == (r["ordinal"], r["phase_kind"]) and _later(ts, r["ts"])
            for ordinal, kind, ts in again
        )
    ]


def _earlier_run_note(db: str, end: dict[str, Any]) -> str:
    """How an earlier run ended, with the line that shows it."""
    how = {
        "rebalance_failure": "failed",
        "step_failure": "failed",
        "rebalance_success": "ended",
        "node_restart": f"was interrupted by a restart of {end['node']}",
    }.get(end["step_event"], "ended without an outcome line (a new run started)")
    line = f"{end['file']}:{end['line']}: {end['message']}"
    return f"an earlier rebalance of {db} {how} at {end['ts']} ({line})"


def _stale_status(
    db_steps: pl.DataFrame, db_events: pl.DataFrame, earlier_runs: list[pl.DataFrame]
) -> str | None:
    """A note when the status output shows the failure of an earlier run: the logs'
    latest run of the database started after it and did not fail (it succeeded, or is
    still going), and an earlier run in the logs failed in the steps the status shows
    failed. None otherwise (the status is the current state)."""
    if not earlier_runs:
        return None
    said = set(
        db_events.filter(pl.col("step_event").str.starts_with("rebalance_"))
        .get_column("step_event")
        .to_list()
    )
    if "rebalance_failure" in said or not {"rebalance_success", "rebalance_start"} & said:
        return None
    failed = db_steps.filter((pl.col("origin") == "status") & (pl.col("status") == "failed"))
    if not failed.height:
        return None
    keys = set(failed.select("phase_kind", "ordinal").iter_rows())
    for run in reversed(earlier_runs):
        fails = run.filter(pl.col("step_event") == "step_failure")
        if keys <= set(fails.select("phase_kind", "ordinal").iter_rows()):
            when = str(fails.get_column("ts").max())
            now = "succeeded" if "rebalance_success" in said else "has no outcome yet"
            return (
                f"the status output shows the steps that failed in an earlier run (at {when}); "
                f"the latest run in the logs {now}, and is the one reported"
            )
    return None


def _newer_status(status: pl.DataFrame, db_events: pl.DataFrame) -> str | None:
    """A note when the status output (``status``: its rows of the database) is of a run
    later than the logs' latest run, which failed: each step the logs show failed for
    good, the status shows started after that failure, or (no start time) succeeded while
    no line of the database follows the failure that starts a step or a run (the logs end
    before the later run; ``--until``). None otherwise (the status output is the current state of the logs' run)."""
    if not status.height:
        return None
    logged = _log_step_rows(db_events).filter(
        (pl.col("status") == "failed") & _log_outcome().is_not_null()
    )
    if not logged.height:
        return None
    now = status.select(
        *STEP_KEY,
        pl.col("target").alias("_target"),
        pl.col("status").alias("_now"),
        pl.col("started_at").alias("_began"),
    )
    same = logged.join(now, on=STEP_KEY, nulls_equal=False).filter(
        pl.col("target").is_null() | pl.col("_target").is_null()
        | (pl.col("target") == pl.col("_target"))
    )  # fmt: skip
    if same.select(STEP_KEY).unique().height < logged.select(STEP_KEY).unique().height:
        return None  # a step failed in the logs that the status output does not show
    failed_at: datetime = logged.get_column("ended_at").max()  # type: ignore[assignment]
    again = db_events.filter(
        pl.col("step_event").is_in(["step_start", "rebalance_start"]) & (pl.col("ts") > failed_at)
    )
    later = (
        pl.when(pl.col("_began").is_not_null())
        .then(pl.col("_began") > pl.col("ended_at"))
        .otherwise((pl.col("_now") == "success") & pl.lit(not again.height))
    )
    if not same.select(later.fill_null(False).all()).item():
        return None
    labels = ", ".join(sorted({_label(row) for row in logged.iter_rows(named=True)}))
    return (
        f"the logs' latest run failed at {failed_at} ({labels}) and no line of a later run "
        "follows, but the status output shows those steps succeeded (or started after the "
        "failure): the status output describes a later run, the current state; the logs' run "
        "is an earlier one"
    )


def _interrupted(
    rb: Rebalance,
    db_events: pl.DataFrame,
    db_parts: pl.DataFrame,
    restarts: pl.DataFrame,
    takeovers: pl.DataFrame,
    lost: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame] | None = None,
) -> None:
    """The aggregator that ran a rebalance, and what became of the run when it was lost:
    the run's lines logged before the bundle's master aggregator took over are the old
    master's (:func:`_ran_before_takeover`); a run with no outcome whose aggregator stopped
    running it after its last line is taken as failed there, in the step that was running:
    the aggregator restarted (:func:`_interrupted_by_restart`: its uptime counter reset,
    or it logged startup lines after a silence, ``lost[0]``: :func:`restart_banners`),
    another node became the master aggregator (:func:`_interrupted_by_failover`), or
    other nodes said the master aggregator was lost and it logged nothing more
    (:func:`_interrupted_by_lost_master`, ``lost[1]``: :func:`master_lost_lines`). Each
    ends the run: a restarted aggregator does not resume it, and a rebalance does not
    outlive its master aggregator. A leaf's restart is no end of the run."""
    _ran_before_takeover(rb, db_events, takeovers)
    outcome = rb.outcome
    banners, said_lost, seen = lost if lost is not None else (restarts.clear(),) * 3
    _interrupted_by_restart(rb, db_events, restarts)
    ran = [rb.master_aggregator] if rb.master_aggregator else _own_nodes(db_events)
    _interrupted_by_restart(rb, db_events, banners.filter(pl.col("node").is_in(ran)))
    _interrupted_by_failover(rb, db_events, takeovers)
    _interrupted_by_lost_master(rb, db_events, said_lost, banners, seen)
    if rb.outcome != outcome:  # (the step taken as failed: its target and holders too)
        step = _involved(rb.failed_step, rb.steps, db_parts, rb.master_aggregator)
        rb.involved_nodes = sorted({*rb.involved_nodes, *step, *step_peers(rb, db_events)})


#: A host:port a line names.
_HOST_PORT = re.compile(r"\b[\w.\-]+:\d{2,5}\b")


def _interrupted_by_lost_master(
    rb: Rebalance,
    db_events: pl.DataFrame,
    said_lost: pl.DataFrame,
    banners: pl.DataFrame,
    seen: pl.DataFrame,
) -> None:
    """A rebalance with no outcome after whose last line another node said the master
    aggregator that ran it was lost (:func:`master_lost_lines`; a line that names another
    host:port is of another master), and that master logged no line after it (or only
    its startup lines: it restarted), did not go on: a rebalance does not outlive its
    master aggregator. It is taken as failed at the first such line, in the step that
    was running. A master that logs on after the line was only out of touch."""
    if rb.outcome not in ("running", "unknown") or rb.end is None or not said_lost.height:
        return
    ran = [rb.master_aggregator] if rb.master_aggregator else _own_nodes(db_events)
    if not ran:
        return
    after = said_lost.filter(~pl.col("node").is_in(ran) & (pl.col("ts") >= rb.end)).sort("ts")
    for line in after.iter_rows(named=True):
        named = set(_HOST_PORT.findall(line["message"] or "")) - {line["node"]}
        if named and not named & set(ran):
            continue
        if _logged_on(ran, line["ts"], seen, banners):
            continue
        _taken_as_failed(rb, line)
        rb.notes.append(
            f"{line['node']} said the master aggregator was lost after the last line of this "
            f"rebalance, at {line['ts']} ({line['file']}:{line['line']}), and "
            f"{', '.join(ran)} (which ran it) logged no line after that but its startup: a "
            "rebalance does not outlive its master aggregator: taken as failed there"
        )
        return


def _seen(events: pl.DataFrame) -> pl.DataFrame:
    """When each node logged a line with a time (its node and time only)."""
    return events.filter(pl.col("ts").is_not_null() & pl.col("node").is_not_null()).select(
        "node", "ts"
    )


def _logged_on(nodes: list[str], ts: datetime, seen: pl.DataFrame, banners: pl.DataFrame) -> bool:
    """Whether one of ``nodes`` logged a line after ``ts`` (``seen``: :func:`_seen`), before
    its startup lines if it restarted: it was running then."""
    later = seen.filter(pl.col("node").is_in(nodes) & (pl.col("ts") > ts))
    restart = banners.filter(pl.col("node").is_in(nodes) & (pl.col("ts") > ts))
    if restart.height:
        later = later.filter(pl.col("ts") < restart.get_column("ts").min())
    return bool(later.height)


def _ran_before_takeover(rb: Rebalance, db_events: pl.DataFrame, takeovers: pl.DataFrame) -> None:
    """The node that ran a rebalance when the bundle's master aggregator (its tables, its
    folders) took over as master after the run began (:func:`master_takeovers`): the node
    that logged most of the run's lines before that, not the new master, which may only
    report the failure of the run the old one ran."""
    ma = rb.master_aggregator
    if ma is None or rb.start is None or not takeovers.height:
        return
    took = takeovers.filter((pl.col("node") == ma) & (pl.col("ts") > rb.start))
    if not took.height:
        return
    before = db_events.filter(
        pl.col("step_event").is_not_null()
        & (pl.col("node") != ma)
        & (pl.col("ts") < took.get_column("ts").min())
    ).get_column("node")
    if before.len():
        rb.master_aggregator = _most(before)
        rb.involved_nodes = sorted({*rb.involved_nodes, rb.master_aggregator})


def _most(nodes: pl.Series) -> str:
    """The node named most often in ``nodes`` (not empty), the first by name of a tie."""
    counts = nodes.drop_nulls().value_counts()
    return str(
        counts.sort([counts.columns[1], counts.columns[0]], descending=[True, False]).item(0, 0)
    )


def _interrupted_by_restart(rb: Rebalance, db_events: pl.DataFrame, restarts: pl.DataFrame) -> None:
    """A rebalance with no outcome whose orchestrating node (the one that logged its
    step lines) restarted after its last line did not go on: a restarted aggregator does
    not resume it. It is taken as failed at the restart, in the step that was running."""
    if rb.outcome not in ("running", "unknown") or rb.end is None or not restarts.height:
        return
    own = db_events.filter(pl.col("step_event").is_not_null()).get_column("node").drop_nulls()
    after = restarts.filter(pl.col("node").is_in(own.unique().implode()) & (pl.col("ts") >= rb.end))
    if not after.height:
        return
    restart = after.sort("ts").row(0, named=True)
    _taken_as_failed(rb, restart)
    rb.notes.append(
        f"{restart['node']} (which ran this rebalance) restarted after its last line, at "
        f"{restart['ts']} ({restart['file']}:{restart['line']}); a restarted aggregator does "
        "not resume a rebalance: taken as failed there"
    )


def _interrupted_by_failover(
    rb: Rebalance, db_events: pl.DataFrame, takeovers: pl.DataFrame
) -> None:
    """A rebalance with no outcome after whose last line another node took over as master
    aggregator (:func:`master_takeovers`, logged by a node other than the one that ran
    the rebalance) did not go on: a rebalance runs on its master aggregator and does not
    outlive it. It is taken as failed at the takeover, in the step that was running. A
    takeover before the run's last line is no end of it (the new master ran it)."""
    if rb.outcome not in ("running", "unknown") or rb.end is None or not takeovers.height:
        return
    ran = [rb.master_aggregator] if rb.master_aggregator else _own_nodes(db_events)
    after = takeovers.filter(~pl.col("node").is_in(ran) & (pl.col("ts") >= rb.end))
    if not after.height:
        return
    # (the words that a node became the master before the statement that asked for it)
    takeover = after.sort(pl.col("message").str.contains(_takeover("statement")), "ts").row(
        0, named=True
    )
    _taken_as_failed(rb, takeover)
    # (the new master ended the run: its lines of the time are the step's, as the old one's)
    rb.involved_nodes = sorted({*rb.involved_nodes, takeover["node"]})
    rb.notes.append(
        f"{takeover['node']} took over as master aggregator after the last line of this "
        f"rebalance, at {takeover['ts']} ({takeover['file']}:{takeover['line']})"
        + (f", from {rb.master_aggregator}, which ran it" if rb.master_aggregator else "")
        + "; a rebalance does not outlive its master aggregator: taken as failed there"
    )


def _own_nodes(db_events: pl.DataFrame) -> list[str]:
    """The nodes that logged a database's step lines."""
    own = db_events.filter(pl.col("step_event").is_not_null()).get_column("node")
    return sorted(own.drop_nulls().unique().to_list())


def _taken_as_failed(rb: Rebalance, line: dict[str, Any]) -> None:
    """A rebalance with no outcome taken as failed at ``line``, in the step that was running."""
    rb.outcome, rb.basis = "failed", "log"
    rb.failed_step = _first_failed(rb.steps)
    rb.failed_phase = (rb.failed_step or {}).get("phase_kind")
    rb.failure_time = line["ts"]
    rb.failure_line = line


def _takeover(key: str) -> str:
    """A pattern of ``[takeover]`` in grammars/messages.toml: ``pattern`` (a line saying a
    node became the master aggregator), ``refused`` (it did not), ``statement``."""
    return str(grammars.load("messages")["takeover"][key])


def master_takeovers(events: pl.DataFrame) -> pl.DataFrame:
    """Lines that say a node became the master aggregator (``[takeover]``), with a
    time, in warnings and below (an error line is a takeover that failed)."""
    message = pl.col("message")
    return events.filter(
        pl.col("ts").is_not_null()
        & message.str.contains_any(["master"], ascii_case_insensitive=True)
        & ~pl.col("level").is_in(["ERROR", "FAILURE"])
    ).filter(
        message.str.contains(_takeover("pattern")) & ~message.str.contains(_takeover("refused"))
    )


def _rebalance(
    database: str | None,
    db_steps: pl.DataFrame,
    db_events: pl.DataFrame,
    db_parts: pl.DataFrame,
    ma: str | None,
    global_events: pl.DataFrame | None = None,
) -> Rebalance:
    outcome, basis = _outcome(db_steps, db_events)
    if global_events is not None and global_events.height:
        if outcome in ("unknown", "running"):  # a failure line without a database decides
            outcome, basis = _outcome(db_steps, pl.concat([db_events, global_events]))
        db_events = pl.concat([db_events, global_events]).sort("ts")
    step_events = db_events.filter(pl.col("step_event").is_not_null())
    ma = _orchestrator(step_events, ma)
    rb = Rebalance(
        database=database, outcome=outcome, basis=basis, steps=db_steps, master_aggregator=ma
    )
    if step_events.height:
        rb.start = step_events.get_column("ts").min()  # type: ignore[assignment]
        rb.end = step_events.get_column("ts").max()  # type: ignore[assignment]
    if outcome == "failed":
        _locate_failure(rb, db_steps, db_events, db_parts)
    rb.involved_nodes = _involved(rb.failed_step, db_steps, db_parts, ma)
    if rb.failed_step is not None:  # (the source a partition snapshot would name)
        rb.involved_nodes = sorted({*rb.involved_nodes, *step_peers(rb, db_events)})
    return rb


def _orchestrator(step_events: pl.DataFrame, ma: str | None) -> str | None:
    """The node that ran a rebalance: the bundle's master aggregator (when known), unless
    it logged none of the run's step lines and other nodes did (after a failover, the new
    master aggregator ran the retry): then the node that logged most of them. With none
    known (the tables name a master whose log is not in the bundle), the node that logged
    most of the run's start and end lines, if any (a leaf logs steps, not the run)."""
    nodes = step_events.get_column("node").drop_nulls()
    if ma is None:
        run = step_events.filter(pl.col("step_event").is_in(["rebalance_start", *RUN_ENDS]))
        said = run.get_column("node").drop_nulls()
        return _most(said) if said.len() else None
    if not nodes.len() or (nodes == ma).any():
        return ma
    counts = nodes.value_counts(sort=True)
    return str(counts.row(0)[0])


def _locate_failure(
    rb: Rebalance, db_steps: pl.DataFrame, db_events: pl.DataFrame, db_parts: pl.DataFrame
) -> None:
    rb.failed_step = _first_failed(db_steps)
    rb.failure_line = _failure_line(db_events, rb.failed_step)
    if rb.failed_step is not None:
        rb.failed_phase = rb.failed_step["phase_kind"]
        rb.failure_time = rb.failed_step.get("ended_at") or (rb.failure_line or {}).get("ts")
        if rb.failed_step["status"] == "running":
            rb.notes.append(
                "no step is marked failed; the step that started and never completed is taken"
            )
        return
    rb.failure_time = (rb.failure_line or {}).get("ts")
    phase, why = infer_phase_from_partitions(db_parts)
    rb.failed_phase = phase
    rb.basis = "partition_state"
    rb.notes.append(f"failing phase inferred from partition state (low confidence): {why}")
