"""Recovery runbook with safety gates (SPEC §5.2).

The five steps of the reference page's "General Post-Failure Recovery Flow", filled in
for one bundle from the verdicts, the impact and the findings. A step that is unsafe now
carries ``blocked_by``: never advise CLEAR ORPHAN DATABASES (or a rebalance) while an
orphan may hold the only copy of a partition. Text lives in grammars/recovery.toml.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

from . import grammars
from .impact import DatabaseImpact, Impact, statement_fields

#: Causes (SPEC §4.2) then contributing factors, in the order step 3 lists them.
CAUSE_ORDER = (
    "node_failure",
    "storage_error",
    "out_of_memory",
    "kill",
    "network_error",
    "io_saturation",
    "lock_timeout",
    "sync_partitions_timeout",
    "lsn_wait_timeout",
    "resource_pressure",
    "unknown",
    "concurrent_ddl",
    "merger_load",
    "backup_overlap",
    "user_workload",
)
PHASE_ACTIONS = {"copy": "COPY PARTITION", "promote": "PROMOTE PARTITION", "drop": "DROP PARTITION"}
VERIFY_VIEW = "information_schema.distributed_partitions_on_leaves"
_PLAIN_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


def _text() -> dict[str, Any]:
    return grammars.load("recovery")


# --------------------------------------------------------------------------- SQL helpers


def sql_ident(name: str) -> str:
    """A database name as an SQL identifier (backquoted when it needs it)."""
    return name if _PLAIN_IDENT.fullmatch(name) else "`" + name.replace("`", "``") + "`"


def sql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def split_node(node: str) -> tuple[str, str]:
    """``host:port`` -> (host, port); port defaults to 3306."""
    host, sep, port = node.rpartition(":")
    return (host, port) if sep and port.isdigit() else (node, "3306")


def attach_sql(database: str, ordinal: int, node: str) -> str:
    host, port = split_node(node)
    return f"ATTACH PARTITION {sql_ident(database)}:{ordinal} ON {sql_string(host)}:{port};"


# --------------------------------------------------------------------------- context


@dataclass(frozen=True)
class Context:
    failed: list[dict[str, Any]]  # verdicts with status failure (of the latest runs)
    inconclusive: list[dict[str, Any]]
    earlier: list[dict[str, Any]]  # failures of earlier runs (a later run followed)
    impact: Impact | None  # None when no snapshot
    findings: dict[str, dict[str, Any]]  # by id
    factors: list[str]  # contributing factors relevant to the failures
    cluster_hint: str | None

    @property
    def any_failure(self) -> bool:
        return bool(self.failed or self.inconclusive)

    @property
    def running(self) -> str | None:
        """The databases whose rebalance was still running (``running`` verdicts), listed."""
        names = sorted(
            v.get("database") or "?" for v in self.inconclusive + self.failed if v.get("running")
        )
        return ", ".join(names) or None

    @property
    def databases(self) -> list[str]:
        names = {v["database"] for v in self.failed + self.inconclusive if v.get("database")}
        if self.impact is not None:
            names |= {db.database for db in self.impact.databases}
        return sorted(names)

    @property
    def impacts(self) -> list[DatabaseImpact]:
        return self.impact.databases if self.impact is not None else []

    @property
    def unseen(self) -> str | None:
        """The failed databases the snapshot does not show (listed), when there is one:
        another database's snapshot says nothing about theirs; without any snapshot, all
        failed databases are unseen."""
        if self.impact is None:
            failed = {str(v.get("database") or "the failed database") for v in self.failed}
            return ", ".join(sorted(failed)) or None
        seen = {db.database for db in self.impact.databases}
        names = sorted({str(v["database"]) for v in self.failed if v.get("database")} - seen)
        if any(not v.get("database") for v in self.failed):  # its state cannot be known
            names.append("the failed database (not named)")
        return ", ".join(names) or None


def _factors(findings: Iterable[dict[str, Any]], failed_dbs: set[str]) -> list[str]:
    found = set()
    for finding in findings:
        if finding.get("role") != "contributing":
            continue
        if failed_dbs and finding.get("database") not in (None, *failed_dbs):
            continue  # a factor on another database does not explain this failure
        factor = finding.get("factor") or finding.get("cause")
        if factor:
            found.add(factor)
    return sorted(found, key=_cause_rank)


def _cause_rank(cause: str) -> tuple[int, str]:
    return (CAUSE_ORDER.index(cause) if cause in CAUSE_ORDER else len(CAUSE_ORDER), cause)


def _context(
    verdicts: list[dict[str, Any]],
    impact: Impact | None,
    findings: list[dict[str, Any]],
    cluster_hint: str | None,
) -> Context:
    def by_db(status: str, earlier: bool = False) -> list[dict[str, Any]]:
        rows = [
            v for v in verdicts if v.get("status") == status and bool(v.get("later_run")) == earlier
        ]
        return sorted(rows, key=lambda v: v.get("database") or "")

    failed = by_db("failure")
    return Context(
        failed=failed,
        inconclusive=by_db("inconclusive"),
        earlier=by_db("failure", earlier=True),
        impact=impact if impact is not None and impact.to_json() is not None else None,
        findings={f["id"]: f for f in findings if f.get("id")},
        factors=_factors(findings, {v["database"] for v in failed if v.get("database")}),
        cluster_hint=cluster_hint,
    )


def _step(
    n: int, detail: list[str], sql: list[str], blocked_by: str | None = None
) -> dict[str, Any]:
    return {
        "step": n,
        "title": _text()["runbook"][f"step{n}"]["title"],
        "detail": "\n".join(line for line in detail if line),
        "sql": list(dict.fromkeys(sql)),
        "blocked_by": blocked_by,
    }


#: Partitions named in one message at most; the rest are counted.
LISTED_MAX = 20


def _targets(pairs: list[tuple[str, int]]) -> dict[str, str]:
    listed = ", ".join(f"{db}:{o}" for db, o in pairs[:LISTED_MAX])
    if len(pairs) > LISTED_MAX:
        listed += f" and {len(pairs) - LISTED_MAX} more"
    word = "partition" if len(pairs) == 1 else "partitions"
    return {
        "targets": f"{word} {listed}",
        "have": "has" if len(pairs) == 1 else "have",
        "are": "is" if len(pairs) == 1 else "are",
    }


def _without_master(ctx: Context) -> list[tuple[str, int]]:
    return [(db.database, o) for db in ctx.impacts for o in db.partitions_without_master]


def _under(ctx: Context) -> list[tuple[str, int]]:
    return [(db.database, o) for db in ctx.impacts for o in db.under_redundant]


# --------------------------------------------------------------------------- step 1


def _failure_line(verdict: dict[str, Any], ctx: Context) -> str:
    text = _text()["runbook"]["step1"]
    finding = ctx.findings.get(verdict.get("finding") or "", {})
    evidence = finding.get("evidence") or [{}]
    when = verdict.get("time") or finding.get("time") or evidence[0].get("time")
    error = verdict.get("error") or evidence[0].get("text")
    phase = verdict.get("phase")
    step = verdict.get("step") or PHASE_ACTIONS.get(phase or "", "step unknown")
    if not verdict.get("step") and finding.get("ordinal") is not None:
        at = f"{verdict['database']}:{finding['ordinal']}"
        step = f"{step} {at}" if phase in PHASE_ACTIONS else f"{step}, partition {at}"
    if verdict.get("status") == "inconclusive":
        return text["inconclusive"].format(
            database=verdict.get("database") or "(database unknown)",
            when=f" at {when}" if when else "",
            summary=verdict.get("summary") or "",
        )
    return text["failed"].format(
        database=verdict.get("database") or "(database unknown)",
        when=f" at {when}" if when else " (time unknown)",
        phase=phase or "unknown",
        step=step,
        cause=verdict.get("cause") or "unknown",
        error=f" Error: {error}{'' if error.rstrip().endswith(('.', '!', '?')) else '.'}"
        if error
        else "",
    )


def _earlier_line(verdict: dict[str, Any], ctx: Context) -> str:
    """An earlier run's failure, and how the run after it ended."""
    text = _text()["runbook"]["step1"]
    start = verdict.get("later_run_start")
    return text["earlier"].format(
        failure=_failure_line(verdict, ctx),
        started=f", started {start}," if start else "",
        outcome=text["later_run"].get(verdict.get("later_run"), verdict.get("later_run")),
    )


def _step1(ctx: Context) -> dict[str, Any]:
    text = _text()["runbook"]["step1"]
    earlier = [_earlier_line(v, ctx) for v in ctx.earlier]
    if not ctx.any_failure:
        if earlier:
            return _step(1, [*earlier, text["earlier_only"]], [])
        return _step(1, [text["no_failure"]], [])
    lines = [_failure_line(v, ctx) for v in ctx.failed + ctx.inconclusive]
    lines += earlier
    lines.append(text["tail"])
    if ctx.cluster_hint:
        lines.append(text["master_hint"].format(hint=ctx.cluster_hint))
    named = (v.get("database") for v in ctx.failed + ctx.inconclusive)
    dbs = sorted({db for db in named if db and db != _unnamed()})
    sql = [f"SHOW REBALANCE STATUS ON {sql_ident(db)};" for db in dbs]
    return _step(1, lines, sql or ["SHOW REBALANCE ALL DATABASES STATUS;"])


# --------------------------------------------------------------------------- step 2


def _unnamed() -> str:
    """The name impact gives a snapshot's database when nothing names it: never SQL's."""
    return str(_text()["impact"]["unnamed_database"])


def verify_sql(database: str | None) -> list[str]:
    if database is None or database == _unnamed():
        return [f"SELECT * FROM {VERIFY_VIEW};", "SHOW PARTITIONS;"]
    return [
        f"SELECT * FROM {VERIFY_VIEW} WHERE database_name = {sql_string(database)};",
        f"SHOW PARTITIONS ON {sql_ident(database)};",
    ]


def attach_candidates(
    db: DatabaseImpact, doubtful: Iterable[tuple[int, str]] = ()
) -> list[tuple[int, str, bool]]:
    """(ordinal, orphan node, doubtful) for each partition without a master that has an
    orphan copy that serves (not offline, nor on a leaf down) and that no working replica
    makes needless. An orphan on the target of a failed COPY of that partition is doubtful
    (the copy may have stopped half-way): another orphan is proposed before it, and it is
    proposed only when there is no other, marked as such."""
    suspect = set(doubtful)
    nodes: dict[int, list[str]] = {}
    for ordinal, node in db.orphans:
        if ordinal in db.partitions_without_master and (ordinal, node) not in db.dead_orphans:
            nodes.setdefault(ordinal, []).append(node)
    chosen = []
    for ordinal, held in sorted(nodes.items()):
        held = [n for n in held if not _replica_is_better(db, ordinal, n, suspect)]
        if best := best_copy(db, ordinal, held, suspect):
            chosen.append((ordinal, *best))
    return chosen


def best_copy(
    db: DatabaseImpact, ordinal: int, nodes: Iterable[str], suspect: Collection[tuple[int, str]]
) -> tuple[str, bool] | None:
    """(node, doubtful) of the copy of ``ordinal`` among ``nodes`` to make its master: the
    one furthest in the replication log, as (log file, offset), where the snapshot shows
    positions (those without one after, in the given order); one that is no target of a
    failed step (``suspect``: it may have stopped half-way or lag) before any that is,
    which is chosen, doubtful, only when there is no other. None without nodes."""
    ranked = sorted(nodes, key=lambda n: db.positions.get((ordinal, n), (-1, -1)), reverse=True)
    sound = [n for n in ranked if (ordinal, n) not in suspect]
    if sound:
        return sound[0], False
    return (ranked[0], True) if ranked else None


def _replica_is_better(
    db: DatabaseImpact, ordinal: int, orphan: str, suspect: set[tuple[int, str]]
) -> bool:
    """Whether promoting a working replica of the partition beats attaching this orphan:
    the orphan is the target of a failed COPY (it may have stopped half-way), or the
    snapshot shows it behind a replica in the replication log. Attaching it would make a
    copy with less data the master. An orphan level with the replicas, or whose position
    is not shown, is attached, as the orphan documentation does (an old master)."""
    replicas = db.live_replicas.get(ordinal, [])
    if not replicas:
        return False
    if (ordinal, orphan) in suspect:
        return True
    here = db.positions.get((ordinal, orphan))
    ahead = [db.positions[(ordinal, r)] for r in replicas if (ordinal, r) in db.positions]
    return here is not None and any(here < there for there in ahead)


def _failed_targets(
    ctx: Context, database: str, kinds: Collection[str] = ("copy",)
) -> dict[tuple[int, str], str]:
    """(ordinal, target) -> action of the failed steps of ``database`` of phase ``kinds``."""
    return {
        (step["ordinal"], step["target"]): str(
            step.get("action") or PHASE_ACTIONS[step["phase_kind"]]
        )
        for v in ctx.failed
        if v.get("database") == database
        and (step := v.get("failed_step") or {}).get("phase_kind") in kinds
        and step.get("ordinal") is not None
        and step.get("target")
    }


def _snapshot_lines(db: DatabaseImpact) -> list[str]:
    text = _text()["runbook"]["step2"]
    fields = statement_fields(db)
    if not (db.partitions_without_master or db.under_redundant or db.multi_master):
        extras = f"; {fields['extra_copies_n']}" if db.extra_copies else ""
        lines = [text["ok"].format(extras=extras, **fields)]
    else:
        lines = [text["risk"].format(**fields)] if db.partitions_without_master else []
        lines += [text["multi_master"].format(**fields)] if db.multi_master else []
        lines += [text["under"].format(**fields)] if db.under_redundant else []
    lines += [text["over"].format(**fields)] if db.over_redundant else []
    lines += [text["orphans"].format(**fields)] if db.orphans else []
    for ordinal, node in sorted(db.ahead_orphans):
        lines.append(text["ahead"].format(orphans=f"{db.database}:{ordinal} on {node}"))
    held = {o for o, _ in db.orphans} | {c["ordinal"] for c in db.copies if c["role"] != "orphan"}
    lost = [o for o in db.partitions_without_master if o not in held]
    unseen = [o for o in lost if o in unknown_ordinals(db)]
    if unseen:
        lines.append(
            text["unseen"].format(
                database=db.database, ordinals=", ".join(map(str, unseen)), cut=db.cut_at
            )
        )
    if lost := [o for o in lost if o not in unseen]:
        listed = ", ".join(map(str, lost))
        lines.append(text["no_copy"].format(database=db.database, ordinals=listed))
    return lines


def unknown_ordinals(db: DatabaseImpact) -> set[int]:
    """Ordinals without a master whose copies a cut snapshot may just not show: neither
    lost nor on a leaf that is down, as far as anyone knows."""
    if db.unknown_from is None:
        return set()
    return {o for o in db.partitions_without_master if o >= db.unknown_from}


def _step2(ctx: Context) -> dict[str, Any]:
    text = _text()["runbook"]["step2"]
    lines = [text["view_note"]]
    if ctx.impact is None:
        lines.append(text["no_snapshot"])
    elif not ctx.any_failure:
        lines.append(text["no_failure"])
    targets: list[str | None] = [*ctx.databases] or [None]
    sql = list(dict.fromkeys(line for db in targets for line in verify_sql(db)))
    sql.append("SHOW CLUSTER STATUS;")
    attach: list[tuple[str, int, str, bool]] = []
    for db in ctx.impacts:
        lines += _snapshot_lines(db)
        doubtful = _failed_targets(ctx, db.database)
        attach += [(db.database, *c) for c in attach_candidates(db, doubtful)]
    if attach:
        pairs = ", ".join(f"{name}:{o} (orphan on {node})" for name, o, node, _ in attach)
        lines.append(text["attach"].format(targets=pairs))
        for name, o, node, _ in (a for a in attach if a[3]):
            statement = attach_sql(name, o, node)
            lines.append(
                text["attach_doubtful"].format(
                    database=name, ordinal=o, node=node, statement=statement
                )
            )
        # a doubtful orphan's ATTACH is in the text with its caution, not in the SQL to copy
        # (nor is the ATTACH of a database nothing names: the text says it, with a name
        # that is no identifier)
        sql += [
            attach_sql(name, o, node)
            for name, o, node, doubtful in attach
            if not doubtful and name != _unnamed()
        ]
    lines += [_promote_line(p) for p in promotable(ctx)]
    return _step(2, lines, sql)


def _attachable(ctx: Context) -> set[tuple[str, int]]:
    """(database, ordinal) of the partitions without a master that have an orphan to attach."""
    return {
        (db.database, ordinal)
        for db in ctx.impacts
        for ordinal, _, _ in attach_candidates(db, _failed_targets(ctx, db.database))
    }


#: The failed steps whose target may lag behind the other replicas of its partition: a
#: COPY stopped half-way, a PROMOTE whose target did not catch up (WaitForLSNWithTimeout).
LAGGING_KINDS = ("copy", "promote")


@dataclass(frozen=True)
class Promotion:
    """The working replica to promote for a partition without a master and without an
    orphan to attach (:func:`best_copy` of its replicas)."""

    db: DatabaseImpact
    ordinal: int
    node: str
    doubtful: bool  # the target of a failed step, with no other replica left
    suspect: dict[tuple[int, str], str]  # (ordinal, target) -> action of the failed steps

    def position(self, node: str) -> str | None:
        at = self.db.positions.get((self.ordinal, node))
        return f"{at[0]}:{at[1]}" if at else None


def promotable(ctx: Context) -> list[Promotion]:
    """The replica to promote of each partition without a master and without an orphan
    to attach: promoting it restores the master."""
    orphaned = _attachable(ctx)
    out = []
    for db in ctx.impacts:
        suspect = _failed_targets(ctx, db.database, LAGGING_KINDS)
        for ordinal, nodes in sorted(db.live_replicas.items()):
            best = best_copy(db, ordinal, nodes, suspect)
            if best and (db.database, ordinal) not in orphaned:
                out.append(Promotion(db, ordinal, *best, suspect))
    return out


def _promote_line(p: Promotion) -> str:
    """Step 2's proposal to promote ``p``, with why that replica and not another."""
    text = _text()["runbook"]["step2"]
    db, o = p.db, p.ordinal
    replicas = db.live_replicas[o]
    if len(replicas) == 1:
        why = text["promote_only"]
    elif unknown := [n for n in replicas if p.position(n) is None]:
        nodes = text["promote_none_known"] if unknown == replicas else ", ".join(unknown)
        why = text["promote_unverified"].format(nodes=nodes, replicas=", ".join(replicas))
    else:
        others = sorted(
            (n for n in replicas if n != p.node), key=lambda n: db.positions[(o, n)], reverse=True
        )
        listed = ", ".join(f"{n} at {p.position(n)}" for n in others)
        why = text["promote_furthest"].format(position=p.position(p.node), others=listed)
    notes = []
    here = db.positions.get((o, p.node), (-1, -1))
    for node in (n for n in replicas if n != p.node and (o, n) in p.suspect):
        ahead = db.positions.get((o, node), (-1, -1)) > here
        key = "promote_target_ahead" if ahead else "promote_not_target"
        notes.append(
            text[key].format(node=node, action=p.suspect[(o, node)], position=p.position(node))
        )
    if p.doubtful:
        notes.append(text["promote_doubtful"].format(node=p.node, action=p.suspect[(o, p.node)]))
    # a master copy of a partition without a master is one that serves nothing now (offline,
    # or on a leaf that is down), but is still there: not one a PROMOTE ... WITH DROP dropped
    if old := [c["node"] for c in db.copies if c["ordinal"] == o and c["role"] == "master"]:
        notes.append(text["promote_old_master"].format(nodes=", ".join(old)))
    host, port = split_node(p.node)
    return str(
        text["promote"].format(
            database=db.database, ordinal=o, node=p.node, host=host, port=port,
            ident=sql_ident(db.database), why=why, notes="".join(" " + n for n in notes),
        )
    )  # fmt: skip


# --------------------------------------------------------------------------- step 3


def _causes(ctx: Context) -> list[str]:
    causes = {v.get("cause") or "unknown" for v in ctx.failed}
    causes |= {v["cause"] for v in ctx.inconclusive if v.get("cause")}
    return sorted(causes, key=_cause_rank) + [f for f in ctx.factors if f not in causes]


def _step3(ctx: Context) -> dict[str, Any]:
    text = _text()
    step = text["runbook"]["step3"]
    if not ctx.any_failure:
        return _step(3, [step["no_failure"]], [])
    if ctx.running:
        running = step["running"].format(databases=ctx.running)
        if not ctx.failed:
            return _step(3, [running], ["SHOW REBALANCE ALL DATABASES STATUS;"])
    lines, sql = [step["intro"]], []
    for cause in _causes(ctx):
        entry = text["causes"].get(cause) or text["causes"]["unknown"]
        lines.append(f"- {entry['title']}: " + " ".join(entry["actions"]))
        sql += entry.get("sql", [])
    lines.append(step["general"])
    if ctx.running:
        lines.insert(0, running)
    return _step(3, lines, sql)


# --------------------------------------------------------------------------- steps 4, 5


def _restore_ways(ctx: Context, missing: list[tuple[str, int]]) -> str:
    """How to give each partition without a master one back, grouped by way: attach its
    orphan, promote its working replica, or bring the leaf holding it back online."""
    text = _text()["runbook"]["step4"]
    attach = _attachable(ctx)
    promote = {(p.db.database, p.ordinal) for p in promotable(ctx)}
    unseen = {(db.database, o) for db in ctx.impacts for o in unknown_ordinals(db)}
    groups: dict[str, list[tuple[str, int]]] = {}
    for pair in missing:
        way = (
            "way_attach" if pair in attach
            else "way_promote" if pair in promote
            else "way_unseen" if pair in unseen
            else "way_leaf"
        )  # fmt: skip
        groups.setdefault(way, []).append(pair)
    return "; ".join(
        text[way].format(**_targets(groups[way]))
        for way in ("way_attach", "way_promote", "way_unseen", "way_leaf")
        if way in groups
    )


def _multi_master(ctx: Context) -> list[tuple[str, int]]:
    return [(db.database, o) for db in ctx.impacts for o in db.multi_master]


def _ahead(ctx: Context) -> str | None:
    """The orphans ahead of their master's log position, listed; None without any."""
    ahead = [(db.database, o, n) for db in ctx.impacts for o, n in sorted(db.ahead_orphans)]
    if not ahead:
        return None
    return ", ".join(f"{name}:{o} on {n}" for name, o, n in ahead[:LISTED_MAX])


def _step4(ctx: Context) -> dict[str, Any]:
    """The retry, blocked while a rebalance could drop the copy that holds the data: a
    partition without a master, one with two masters, an orphan ahead of its master."""
    text = _text()["runbook"]["step4"]
    lines = [text["detail"] if ctx.any_failure else text["no_failure"]]
    if ctx.impact is None:
        lines.append(text["no_snapshot_caution"])
    missing = _without_master(ctx)
    blocked = (
        text["blocked"].format(ways=_restore_ways(ctx, missing), **_targets(missing))
        if missing
        else None
    )
    if (multi := _multi_master(ctx)) and not blocked:
        blocked = text["blocked_multi_master"].format(**_targets(multi))
    if (ahead := _ahead(ctx)) and not blocked:
        blocked = text["blocked_ahead"].format(orphans=ahead)
    if ctx.impact is not None and ctx.impact.unmatched_down and not blocked:
        blocked = text["blocked_unmatched"].format(leaves=", ".join(ctx.impact.unmatched_down))
    if ctx.unseen and not blocked:
        blocked = text["blocked_unseen"].format(databases=ctx.unseen)
    if ctx.running:
        blocked = text["blocked_running"].format(databases=ctx.running)
    return _step(
        4, lines, ["EXPLAIN REBALANCE ALL DATABASES;", "REBALANCE ALL DATABASES;"], blocked
    )


def step5_blocked_by(ctx: Context) -> str | None:
    """Why CLEAR ORPHAN DATABASES is unsafe now, or None: the safety gate of SPEC §5.2."""
    text = _text()["runbook"]["step5"]
    if ctx.running:
        return str(text["blocked_running"].format(databases=ctx.running))
    if ctx.impact is None:
        return str(text["blocked_no_snapshot"])
    if ctx.unseen:
        return str(text["blocked_unseen"].format(databases=ctx.unseen))
    if missing := _without_master(ctx):
        return str(text["blocked_no_master"].format(**_targets(missing)))
    if multi := _multi_master(ctx):
        return str(text["blocked_multi_master"].format(**_targets(multi)))
    if ctx.impact is not None and ctx.impact.unmatched_down:
        return str(text["blocked_unmatched"].format(leaves=", ".join(ctx.impact.unmatched_down)))
    if ahead := _ahead(ctx):
        return str(text["blocked_ahead"].format(orphans=ahead))
    if cuts := [db.orphans_cut for db in ctx.impacts if db.orphans_cut]:
        return str(text["blocked_orphans_cut"].format(files=", ".join(cuts)))
    if under := _under(ctx):
        return str(text["blocked_under"].format(**_targets(under)))
    if unsure := [db.database for db in ctx.impacts if db.redundancy_unsure]:
        return str(text["blocked_redundancy_unknown"].format(databases=", ".join(unsure)))
    return None


def _dropped_from_metadata(ctx: Context) -> list[tuple[str, int, str]]:
    """(database, ordinal, node) of each failed DROP whose copy the snapshot no longer
    lists, where the snapshot cannot show orphans (SHOW PARTITIONS only): the metadata
    let it go, the failed drop probably left it on disk as an orphan."""
    by_name = {db.database: db for db in ctx.impacts}
    out = []
    for v in ctx.failed:
        step, db = v.get("failed_step") or {}, by_name.get(v.get("database") or "")
        if db is None or db.orphans_visible or step.get("phase_kind") != "drop":
            continue
        ordinal, node = step.get("ordinal"), step.get("target")
        listed = {(c["ordinal"], c["node"]) for c in db.copies}
        if ordinal is not None and node and (ordinal, node) not in listed:
            out.append((db.database, ordinal, node))
    return out


def _step5(ctx: Context) -> dict[str, Any]:
    """The cleanup: the leftover orphans to clear, those to keep (they may hold the only or
    latest copy), and where the snapshot cannot show orphans at all, a check for them."""
    text = _text()["runbook"]["step5"]
    spare = [(db.database, o, n) for db in ctx.impacts for o, n in db.spare_orphans]
    kept = [(db.database, o, n) for db in ctx.impacts for o, n in db.kept_orphans]
    # a leftover offline (or on a leaf that is down) is out of CLEAR ORPHAN DATABASES' reach
    down = {(db.database, o, n) for db in ctx.impacts for o, n in db.dead_orphans}
    lines = [] if ctx.any_failure else [text["no_failure"]]
    if clearable := [c for c in spare if c not in down]:
        listed = ", ".join(f"{db}:{o} on {n}" for db, o, n in clearable)
        lines.append(text["detail"].format(orphan_list=listed))
    if offline := [c for c in spare if c in down]:
        listed = ", ".join(f"{db}:{o} on {n}" for db, o, n in offline)
        lines.append(text["offline"].format(orphan_list=listed))
    if kept:
        listed = ", ".join(f"{db}:{o} on {n}" for db, o, n in kept)
        lines.append(text["keep"].format(orphan_list=listed))
    left = _dropped_from_metadata(ctx)
    for name, ordinal, node in left:
        lines.append(text["drop_left_metadata"].format(database=name, ordinal=ordinal, node=node))
    named = {name for name, _, _ in left}
    unseen = [db.database for db in ctx.impacts if not db.orphans_visible]
    if set(unseen) - named:
        listed = ", ".join(name for name in unseen if name not in named)
        lines.append(text["orphans_unseen"].format(databases=listed))
    elif not (spare or kept or unseen) and ctx.impact is not None:
        lines.append(text["not_needed"])
    if any(db.over_redundant for db in ctx.impacts):
        lines.append(text["over_note"])
    sql = ["EXPLAIN CLEAR ORPHAN DATABASES;", "CLEAR ORPHAN DATABASES;"]
    return _step(5, lines, sql, step5_blocked_by(ctx))


#: The General Post-Failure Recovery Flow, one builder per step.
STEPS: tuple[Callable[[Context], dict[str, Any]], ...] = (_step1, _step2, _step3, _step4, _step5)


def build_runbook(
    verdicts: list[dict[str, Any]],
    impact: Impact | None,
    findings: list[dict[str, Any]],
    *,
    cluster_hint: str | None = None,
) -> list[dict[str, Any]]:
    """SPEC §6.2 "recovery": five steps {step, title, detail, sql, blocked_by}."""
    ctx = _context(verdicts, impact, findings, cluster_hint)
    return [build(ctx) for build in STEPS]


def blocked_steps(runbook: list[dict[str, Any]]) -> list[int]:
    """Step numbers carrying ``blocked_by`` (fixture ``expected.json`` "recovery")."""
    return [step["step"] for step in runbook if step["blocked_by"]]
