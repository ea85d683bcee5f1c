"""The self-contained HTML report (SPEC §6.3).

One file, readable top to bottom: verdict banner, timeline, impact, findings, recovery
runbook, inputs. plotly.js is embedded inline so the page works offline from a ticket;
each figure's JSON sits in a ``<script type="application/json">`` block with ``<``, ``>``
and ``&`` escaped, and one small script draws them. The page is a jinja2 template with
autoescape on: every log line reaches the page through it (or, for plotly hover labels,
through :func:`figures.hover_text`), never raw. The output is deterministic: no
generation time, element ids derived from positions, figures serialised with sorted input.
Times are shown in the zone the report was analysed in (``--tz``, the JSON's
``input.timezone``) with the zone or offset named; the words the three human reports
share (data at risk, status, blocked SQL) come from :mod:`.wording`.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import jinja2
import plotly.graph_objects as go
import polars as pl
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from ..analysis import in_display_zone
from ..redact import REDACTION_NOTE
from . import figures, wording
from .figures import ordered_findings, short_path
from .markdown import _bytes as human_size
from .markdown import is_redacted
from .wording import fmt_stamp, fmt_time, readable_times

if TYPE_CHECKING:
    from ..analysis import Report
    from ..diagnose import Finding
    from ..timeline import Rebalance

TEMPLATE = "report.html.j2"
PLOT_CONFIG = {"responsive": True, "displaylogo": False, "scrollZoom": False}
MAX_TEXT = 4000  # characters of one log line shown in a table cell
MAX_STEP_ROWS = 500  # steps listed per rebalance
MAX_WARNINGS = 500
OPEN_STEPS_TABLE = 30  # steps tables up to this many rows start open
TONE = {"failure": "red", "inconclusive": "amber", "no_failure": "green", "cancelled": "amber"}
_JSON_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"}


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("forensics.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["size"] = human_size
    return env


@lru_cache(maxsize=1)
def plotly_js() -> Markup:
    """plotly.js, safe to inline in a ``<script>`` element."""
    js = get_plotlyjs()
    return Markup(js.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT"))


def figure_json(fig: go.Figure) -> Markup:
    """The figure as JSON that cannot close its ``<script>`` element."""
    return Markup(fig.to_json(validate=False).translate(_JSON_ESCAPES))


def _plot(div_id: str, fig: go.Figure | None, caption: str = "") -> dict[str, Any] | None:
    if fig is None:
        return None
    return {"id": div_id, "json": figure_json(fig), "caption": caption}


def _clip(text: Any, limit: int = MAX_TEXT) -> str:
    raw = "" if text is None else str(text)
    return raw if len(raw) <= limit else raw[: limit - 1] + "…"


# --------------------------------------------------------------------------- 1 verdict


def _impact_json(report: Report) -> dict[str, Any] | None:
    return report.impact.to_json()


def _tone(status: str, risk: wording.Risk) -> str:
    """The card's colour: red for a failure or data at risk, amber for a doubt (an
    inconclusive or cancelled rebalance, redundancy reduced), else green."""
    if status == "failure" or risk.word == "yes":
        return "red"
    if risk.css == "risk-reduced":
        return "amber"
    return TONE.get(status, "amber")


def _verdicts(report: Report) -> list[dict[str, Any]]:
    out = []
    for v in report.verdicts:
        risk = wording.risk(_impact_json(report), v.database)
        out.append(
            {
                "database": v.database or "(no database)",
                "status": wording.status_label(report, v),
                "tone": _tone(wording.status_key(report, v), risk),
                "phase": v.phase or "—",
                "cause": v.cause or "—",
                "confidence": f"{v.confidence:.2f}" if v.confidence is not None else "—",
                "risk": risk.text,
                "risk_class": risk.css,
                "time": fmt_stamp(v.time) or "—",
                "summary": readable_times(v.summary),
                "error": _clip(v.error, 600) if v.error else None,
                "finding": v.finding,
            }
        )
    return out


# --------------------------------------------------------------------------- 2 timeline


def _step_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "phase": row.get("phase"),
        "action": row.get("action"),
        "ordinal": row.get("ordinal"),
        "target": row.get("target"),
        "status": row.get("status") or "unknown",
        "started": fmt_time(row.get("started_at")),
        "ended": fmt_time(row.get("ended_at")),
        "running_ms": row.get("running_ms"),
        "origin": row.get("origin"),
        "source": row.get("source"),
        "source_short": short_path(row.get("source")),
    }


def _rebalance(rb: Rebalance) -> dict[str, Any]:
    steps = rb.steps.sort(["phase", "ordinal", "phase_kind", "target"], nulls_last=True)
    rows = [_step_row(r) for r in steps.head(MAX_STEP_ROWS).iter_rows(named=True)]
    statuses = Counter(rb.steps.get_column("status").fill_null("unknown").to_list())
    return {
        "database": rb.database,
        "outcome": rb.outcome,
        "basis": rb.basis,
        "failed_phase": rb.failed_phase or "—",
        "failure_time": fmt_stamp(rb.failure_time) or "—",
        "master_aggregator": rb.master_aggregator or "—",
        "involved": ", ".join(rb.involved_nodes) or "—",
        "notes": [readable_times(n) for n in rb.notes],
        "steps": rows,
        "total_steps": rb.steps.height,
        "open": rb.steps.height <= OPEN_STEPS_TABLE,
        "status_counts": ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())),
        "failure_line": _clip((rb.failure_line or {}).get("message"), 600) or None,
    }


def _timeline_caption(report: Report) -> str:
    _counts, bucket = figures.noise_counts(report)
    return (
        f"One lane per node. Bars: rebalance steps on their target node, coloured by status "
        f"(hatched: time unknown, drawn over the rebalance window). Markers: evidence lines "
        f"(★ cause, ◆ contributing, ● alternative, ○ unrelated), coloured by cause. The dashed "
        f"line marks the failure. Bottom: WARN/ERROR lines per {bucket} over all nodes. "
        f"Times in {wording.zone_name(report)}; the view starts on the rebalance, double-click "
        f"to reset, use the toolbar's autoscale to see the whole bundle."
    )


def _no_timeline(report: Report) -> str:
    """Why there is no timeline figure: nothing in the bundle has a time."""
    events = report.bundle.events
    timed = events.height and events.get_column("ts").drop_nulls().len()
    if timed:
        return (
            "No rebalance step, evidence line or WARN/ERROR line in the bundle has a time: "
            "no timeline."
        )
    status_only = any(rb.basis == "status" for rb in report.rebalances)
    return (
        "No log line with a time in the bundle"
        + (" (status output only)" if status_only else "")
        + ": no timeline."
    )


def _timeline(report: Report) -> dict[str, Any]:
    fig = figures.timeline_figure(report)
    if fig is None:
        return {"plot": None, "absent": _no_timeline(report)}
    return {"plot": _plot("fig-timeline", fig, _timeline_caption(report)), "absent": None}


# --------------------------------------------------------------------------- 3 impact


def _ordinals(values: list[Any]) -> str:
    return ", ".join(str(v) for v in values) if values else "—"


def _diff_rows(diff: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not diff:
        return []
    rows = [
        {
            "change": "moved",
            "ordinal": m["ordinal"],
            "role": m["role"],
            "detail": f"{m['from']} → {m['to']}",
        }
        for m in diff.get("moved", [])
    ]
    rows += [
        {"change": "added", "ordinal": a["ordinal"], "role": a["role"], "detail": a["node"]}
        for a in diff.get("added", [])
    ]
    rows += [
        {"change": "dropped", "ordinal": d["ordinal"], "role": d["role"], "detail": d["node"]}
        for d in diff.get("dropped", [])
    ]
    rows += [
        {
            "change": "role change",
            "ordinal": c["ordinal"],
            "role": f"{c['before']} → {c['after']}",
            "detail": c["node"],
        }
        for c in diff.get("role_changes", [])
    ]
    return sorted(rows, key=lambda r: (r["ordinal"], r["change"], r["detail"]))


def _impact_database(report: Report, index: int, db: dict[str, Any]) -> dict[str, Any]:
    name = db["database"]
    diff = db.get("snapshot_diff")
    risk = wording.risk(report.impact.to_json(), name)
    caption = (
        "Partition × node map of the "
        + ("earliest and latest snapshots" if diff else "latest snapshot")
        + ": M master, R replica, O orphan. Red ordinals have no master, amber ones are "
        "under redundancy, purple ones over it."
    )
    return {
        "database": name,
        "anchor": f"impact-{index}",
        "redundancy": f"{db['redundancy']}"
        + (" (assumed)" if db.get("redundancy_assumed") else ""),
        "partitions": db["partitions"],
        "without_master": _ordinals(db["partitions_without_master"]),
        "under": _ordinals(db["under_redundant"]),
        "over": _ordinals(db["over_redundant"]),
        "orphans": ", ".join(
            f"{o['ordinal']} on {o['node']}"
            + (" (ahead of master)" if o["ahead_of_master"] else "")
            for o in db["orphans"]
        )
        or "—",
        "extra_copies": db["extra_copies"],
        "extra_bytes": human_size(db["extra_bytes_estimate"]),
        "risk": bool(db["partitions_without_master"]),
        "risk_text": risk.text,
        "risk_class": risk.css,
        "phase": db.get("phase"),
        "statements": [readable_times(t) for t in db.get("phase_statements") or []],
        "snapshot": db.get("snapshot") or {},
        "diff": {
            **diff,
            "before_short": short_path(diff.get("before")),
            "after_short": short_path(diff.get("after")),
        }
        if diff
        else None,
        "diff_rows": _diff_rows(diff),
        "plot": _plot(
            f"fig-partitions-{index}", figures.partition_map_figure(report, name), caption
        ),
    }


def _impact(report: Report) -> dict[str, Any] | None:
    data = _impact_json(report)
    if not data:
        return None
    storage = figures.extra_storage_figure(report)
    risk = wording.risk(data)
    return {
        "data_at_risk": data["data_at_risk"],
        "risk": risk.text,
        "risk_class": risk.css,
        "extra_bytes": human_size(data["extra_bytes_estimate"]),
        "databases": [_impact_database(report, i, db) for i, db in enumerate(data["databases"], 1)],
        "storage": _plot(
            "fig-extra-storage",
            storage,
            "Estimated bytes held by copies beyond redundancy and by orphans, per node.",
        ),
    }


# --------------------------------------------------------------------------- 4 findings


def _evidence(ev: dict[str, Any]) -> dict[str, Any]:
    return {
        "file": ev.get("file"),
        "file_short": short_path(ev.get("file")),
        "line": ev.get("line"),
        "node": ev.get("node"),
        "time": fmt_time(ev.get("time")),
        "text": _clip(ev.get("text")),
    }


def _finding(f: Finding) -> dict[str, Any]:
    scope = (
        f"{f.database}:{f.ordinal}" if f.database and f.ordinal is not None else (f.database or "—")
    )
    return {
        "id": f.id,
        "rule": f.rule,
        "role": f.role,
        "label": f.cause or f.factor or "—",
        "kind": "cause" if f.cause else "factor",
        "phase": f.phase or "—",
        "scope": scope,
        "node": f.node or "—",
        "time": fmt_stamp(f.time) or "time unknown",
        "severity": f.severity,
        "confidence": f"{f.confidence:.2f}",
        "title": f.title,
        "explanation": f.explanation,
        "remediation": f.remediation,
        "references": list(f.references),
        "lines": f.lines,
        "reasons": list(f.reasons),
        "evidence": [_evidence(e) for e in f.evidence],
        "alternatives": [
            {"finding": a.get("finding"), "why_not": a.get("why_not")} for a in f.alternatives
        ],
    }


def _findings(report: Report) -> dict[str, list[dict[str, Any]]]:
    ordered = [_finding(f) for f in ordered_findings(report.findings)]
    return {
        "related": [f for f in ordered if f["role"] != "unrelated"],
        "unrelated": [f for f in ordered if f["role"] == "unrelated"],
    }


# --------------------------------------------------------------------------- 5 recovery


def _detail_blocks(detail: str) -> list[dict[str, Any]]:
    """Detail text as paragraphs and bullet lists ("- " lines)."""
    blocks: list[dict[str, Any]] = []
    for line in (detail or "").splitlines():
        if not line.strip():
            continue
        if line.startswith("- "):
            if not blocks or blocks[-1]["kind"] != "list":
                blocks.append({"kind": "list", "entries": []})
            blocks[-1]["entries"].append(line[2:])
        else:
            blocks.append({"kind": "para", "text": line})
    return blocks


def _recovery(report: Report) -> list[dict[str, Any]]:
    """The runbook; a blocked step's SQL commented out (:func:`wording.blocked_sql`), so
    that neither its Copy button nor a paste into a ticket carries a runnable statement."""
    return [
        {
            "step": s["step"],
            "title": s["title"],
            "blocks": _detail_blocks(readable_times(s.get("detail") or "")),
            "sql": "\n".join(wording.blocked_sql(s)),
            "blocked_by": readable_times(s["blocked_by"]) if s.get("blocked_by") else None,
            "anchor": f"sql-{i}",
        }
        for i, s in enumerate(report.recovery, 1)
    ]


# --------------------------------------------------------------------------- 6 inputs


def _files(report: Report) -> list[dict[str, Any]]:
    return [
        {
            "path": r["path"],
            "kind": r["kind"],
            "node": r["node"] or "—",
            "bytes": r["bytes"],
            "lines": r["lines"],
            "unparsed": r["unparsed_lines"],
            "skipped": r["skipped_reason"],
        }
        for r in report.bundle.files.sort("path").iter_rows(named=True)
    ]


def _nodes(report: Report) -> list[dict[str, Any]]:
    return [
        {
            "node": r["node"],
            "role": r["role"],
            "first": fmt_time(r["first_ts"]),
            "last": fmt_time(r["last_ts"]),
            "restarts": r["restarts"],
            "files": r["files"],
        }
        for r in report.bundle.nodes.sort("node").iter_rows(named=True)
    ]


def _sum(frame: pl.DataFrame, column: str) -> int:
    return int(frame.get_column(column).fill_null(0).sum()) if frame.height else 0


def _stats(report: Report) -> list[tuple[str, str]]:
    b = report.bundle
    parsed = b.files.filter(pl.col("skipped_reason").is_null())
    levels = (
        b.line_counts.group_by("level").agg(pl.col("lines").sum()).sort("level")
        if b.line_counts.height
        else None
    )
    by_level = (
        ", ".join(f"{lvl}: {n:,}" for lvl, n in levels.iter_rows()) if levels is not None else "—"
    )
    snapshots = b.partitions.get_column("snapshot").n_unique() if b.partitions.height else 0
    return [
        (
            "files",
            f"{b.files.height:,} ({parsed.height:,} read, {b.files.height - parsed.height:,} skipped)",
        ),
        ("bytes read", human_size(_sum(parsed, "bytes"))),
        ("lines", f"{_sum(parsed, 'lines'):,} ({_sum(parsed, 'unparsed_lines'):,} not parsed)"),
        ("tracelog lines by level", by_level),
        ("log lines kept as events", f"{b.events.height:,}"),
        ("rebalance steps", f"{b.steps.height:,}"),
        ("partition copies", f"{b.partitions.height:,} in {snapshots} snapshot(s)"),
        ("rule matches", f"{report.matches.height:,} → {len(report.findings)} finding(s)"),
    ]


def _inputs(report: Report) -> dict[str, Any]:
    warnings = [readable_times(w) for w in report.warnings[:MAX_WARNINGS]]
    return {
        "paths": report.bundle.paths,
        "timezone": report.bundle.timezone,
        "files": _files(report),
        "nodes": _nodes(report),
        "stats": _stats(report),
        "warnings": warnings,
        "more_warnings": max(len(report.warnings) - MAX_WARNINGS, 0),
        "assumptions": [
            a if a == REDACTION_NOTE else readable_times(a) for a in report.assumptions
        ],
    }


# --------------------------------------------------------------------------- page


def _plan_rows(report: Report) -> list[dict[str, Any]]:
    return [
        {
            **{k: "" if v is None else v for k, v in p.items()},
            "database": p.get("database") or "(database not named)",
            "detail": readable_times(str(p.get("detail") or "")),
        }
        for p in report.plan
    ]


@in_display_zone
def context(report: Report) -> dict[str, Any]:
    """Everything the template shows, as plain values (escaping is the template's job)."""
    own = report.bundle.node_timezones
    return {
        "title": "Rebalance forensics report",
        "tool_version": report.tool_version,
        "paths": report.bundle.paths,
        "redacted": is_redacted(report),
        "redacted_note": wording.REDACTED_HEADER,
        "timezone": report.bundle.timezone,
        "node_zones": ", ".join(f"{n}: {z}" for n, z in sorted(own.items())) if own else "",
        "zone": wording.zone_name(report),
        "exit_code": report.exit_code,
        "verdicts": _verdicts(report),
        "timeline": _timeline(report),
        "rebalances": [_rebalance(rb) for rb in report.rebalances],
        "impact": _impact(report),
        "plan": _plan_rows(report),
        "findings": _findings(report),
        "recovery": _recovery(report),
        "inputs": _inputs(report),
        "plot_config": Markup(figure_config_json()),
        "plotly_js": plotly_js(),
    }


def figure_config_json() -> str:
    return json.dumps(PLOT_CONFIG, sort_keys=True).translate(_JSON_ESCAPES)


@in_display_zone
def render(report: Report) -> str:
    """The HTML report as one string (UTF-8 when written)."""
    return _environment().get_template(TEMPLATE).render(**context(report))


__all__ = ["context", "figure_json", "plotly_js", "render"]
