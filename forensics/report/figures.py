"""The figures of the HTML report (SPEC §6.3), one pure function per figure.

Each function reads a :class:`~forensics.analysis.Report` and returns a plotly figure
(or None when there is nothing to draw); nothing here touches the page. Figures stay
small however big the bundle: log noise is aggregated into time buckets (at most
:data:`MAX_NOISE_BUCKETS` bars), step bars are capped at :data:`MAX_STEP_BARS` (failed
and running steps always kept), and evidence lines are always drawn, never sampled.
Plotly renders hover text as HTML, so every piece of log text goes through
:func:`hover_text` (escaped, then wrapped with ``<br>``). Times (axis, hover labels) are
in the report's display zone (:mod:`.wording`), as in the JSON report; the caller renders
within :func:`forensics.analysis.in_display_zone`.
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from ..analysis import in_display_zone
from ..impact import human_bytes, snapshot_order_key
from .wording import as_utc, fmt_stamp, fmt_time, offset_label, zone_name

if TYPE_CHECKING:
    from ..analysis import Report
    from ..diagnose import Finding
    from ..timeline import Rebalance

MAX_STEP_BARS = 2000
MAX_NOISE_BUCKETS = 1500
NOISE_BUCKETS = ("1m", "5m", "15m", "1h", "6h", "1d")
NOISE_LEVELS = ("WARN", "ERROR", "FAILURE")
BUCKET_MS = {
    "1m": 60_000,
    "5m": 300_000,
    "15m": 900_000,
    "1h": 3_600_000,
    "6h": 21_600_000,
    "1d": 86_400_000,
}
GIB = 1024**3
HOVER_CHARS = 600
HOVER_WIDTH = 100
NO_NODE = "(node unknown)"
NO_DATABASE = "(database not named)"
#: Untimed steps in these states never ran: the steps table lists them, the timeline does not.
UNDRAWN_UNTIMED = ("scheduled", "cancelled")
TEMPLATE = "plotly_white"
FONT = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"

STATUS_COLOURS = {
    "failed": "#d62728",
    "running": "#ff7f0e",
    "cancelled": "#8c564b",
    "unknown": "#7f7f7f",
    "scheduled": "#9ecae1",
    "success": "#2ca02c",
}
LEVEL_COLOURS = {"WARN": "#f2b134", "ERROR": "#e15759", "FAILURE": "#8b0000"}
#: One colour per cause / contributing factor of SPEC §4.2.
CAUSE_COLOURS = {
    "kill": "#9467bd",
    "out_of_memory": "#d62728",
    "io_saturation": "#8c564b",
    "network_error": "#1f77b4",
    "storage_error": "#e377c2",
    "lock_timeout": "#bcbd22",
    "sync_partitions_timeout": "#17becf",
    "lsn_wait_timeout": "#ff7f0e",
    "resource_pressure": "#7f7f7f",
    "node_failure": "#000000",
    "unknown": "#aaaaaa",
    "concurrent_ddl": "#2ca02c",
    "merger_load": "#98df8a",
    "backup_overlap": "#c5b0d5",
    "user_workload": "#c49c94",
}
ROLE_ORDER = ("cause", "contributing", "alternative", "unrelated")
ROLE_MARKERS = {
    "cause": ("star", 18),
    "contributing": ("diamond", 13),
    "alternative": ("circle", 9),
    "unrelated": ("circle-open", 8),
}
#: Partition map cell codes (z) and their colours; a cell shows its strongest role.
COPY_CODES = {"none": 0, "orphan": 1, "replica": 2, "master": 3}
COPY_COLOURS = ("#f1f1f1", "#ff7f0e", "#9ecae1", "#1f4e9c")
COPY_LETTERS = {"master": "M", "replica": "R", "orphan": "O"}
ROLE_SYNONYMS = {"slave": "replica", "secondary": "replica", "primary": "master"}
ISSUE_COLOURS = {"no master": "#d62728", "under": "#e6a100", "over": "#9467bd"}


# --------------------------------------------------------------------------- text helpers


def short_path(path: Any, parts: int = 2) -> str:
    """The last ``parts`` components of a member path (bundle paths get long)."""
    text = "" if path is None else str(path)
    pieces = text.replace("\\", "/").split("/")
    return text if len(pieces) <= parts else "…/" + "/".join(pieces[-parts:])


def escape(text: Any) -> str:
    return html.escape("" if text is None else str(text), quote=False)


def hover_text(text: Any, limit: int = HOVER_CHARS) -> str:
    """Log text for a plotly hover label: truncated, escaped, wrapped with ``<br>``."""
    raw = "" if text is None else str(text).replace("\r", " ").replace("\n", " ")
    if len(raw) > limit:
        raw = raw[: limit - 1] + "…"
    chunks = textwrap.wrap(raw, HOVER_WIDTH, break_long_words=True, replace_whitespace=False) or [
        ""
    ]
    return "<br>".join(escape(chunk) for chunk in chunks)


def _base_layout(fig: go.Figure, height: int) -> None:
    fig.update_layout(
        template=TEMPLATE,
        height=height,
        font={"family": FONT, "size": 12},
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        hoverlabel={"align": "left", "font": {"family": "monospace", "size": 11}},
        legend={"orientation": "h", "yanchor": "top", "y": -0.08, "x": 0},
    )


# --------------------------------------------------------------------------- lanes


def _lanes(report: Report, extra: Iterable[str | None]) -> list[str]:
    """Timeline lanes: the master aggregator first, then every other node by name."""
    nodes = set(report.bundle.nodes.get_column("node").drop_nulls().to_list())
    nodes.update(n or NO_NODE for n in extra)
    ma = {rb.master_aggregator for rb in report.rebalances if rb.master_aggregator}
    roles = dict(report.bundle.nodes.select("node", "role").iter_rows())
    ma.update(n for n, r in roles.items() if r == "master_aggregator")
    return sorted(nodes, key=lambda n: (n not in ma, n == NO_NODE, n))


# --------------------------------------------------------------------------- steps


def _step_span(step: dict[str, Any], rb: Rebalance) -> tuple[datetime, datetime, bool] | None:
    """(start, end, timed) of a step bar; untimed steps are drawn over the rebalance window."""
    start, end = as_utc(step.get("started_at")), as_utc(step.get("ended_at"))
    if start is None and end is None:
        first, last = as_utc(rb.start), as_utc(rb.end)
        if first is None or last is None or step.get("status") in UNDRAWN_UNTIMED:
            return None
        return first, last, False
    start = start or as_utc(rb.start) or end
    end = end or as_utc(rb.failure_time) or as_utc(rb.end) or start
    if start is None or end is None:
        return None
    return (start, end, True) if end >= start else (end, start, True)


def _step_rows(report: Report) -> list[dict[str, Any]]:
    rows = []
    for rb in report.rebalances:
        for step in rb.steps.iter_rows(named=True):
            span = _step_span(step, rb)
            if span is not None:
                rows.append(
                    {
                        **step,
                        "_start": span[0],
                        "_end": span[1],
                        "_timed": span[2],
                        "_lane": step.get("target") or rb.master_aggregator or NO_NODE,
                    }
                )
    return _cap_steps(rows)


def _cap_steps(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """At most MAX_STEP_BARS bars: failed and running steps always, the rest evenly sampled."""
    if len(rows) <= MAX_STEP_BARS:
        return rows
    keep = [r for r in rows if r.get("status") in ("failed", "running")]
    rest = [r for r in rows if r.get("status") not in ("failed", "running")]
    room = max(MAX_STEP_BARS - len(keep), 0)
    stride = max(len(rest) / room, 1.0) if room else float("inf")
    sampled = [rest[int(i * stride)] for i in range(room) if int(i * stride) < len(rest)]
    return keep + sampled


def _step_hover(row: dict[str, Any]) -> str:
    where = ":".join(str(x) for x in (row.get("database"), row.get("ordinal")) if x is not None)
    when = (
        f"{fmt_time(row['_start'])} → {fmt_stamp(row['_end'])}"
        if row["_timed"]
        else "time unknown: drawn over the rebalance window"
    )
    parts = [
        f"<b>{escape(row.get('action'))} {escape(where)}</b>",
        f"status: {escape(row.get('status') or 'unknown')}"
        + (f" · phase {escape(row['phase'])}" if row.get("phase") is not None else ""),
        f"target: {escape(row['_lane'])}",
        when,
        f"source: {escape(row.get('source'))}",
    ]
    return "<br>".join(parts)


def _step_bar(status: str, timed: bool, rows: list[dict[str, Any]], min_ms: float) -> go.Bar:
    return go.Bar(
        orientation="h",
        name=f"step {status}" + ("" if timed else " (time unknown)"),
        base=[fmt_time(r["_start"]) for r in rows],
        x=[max((r["_end"] - r["_start"]) / timedelta(milliseconds=1), min_ms) for r in rows],
        y=[r["_lane"] for r in rows],
        width=0.55 if timed else 0.25,
        marker={
            "color": STATUS_COLOURS.get(status, "#7f7f7f"),
            "opacity": 0.85 if timed else 0.35,
            "pattern": {"shape": "" if timed else "/"},
            "line": {"width": 0},
        },
        hovertext=[_step_hover(r) for r in rows],
        hovertemplate="%{hovertext}<extra></extra>",
        legendgroup="steps",
        legendgrouptitle={"text": "rebalance steps"},
    )


def _step_traces(rows: list[dict[str, Any]], min_ms: float) -> Iterator[go.Bar]:
    order = list(STATUS_COLOURS)
    statuses = sorted(
        {r.get("status") or "unknown" for r in rows},
        key=lambda s: (order.index(s) if s in order else len(order), s),
    )
    # untimed bars first, so that the timed ones are drawn over them
    for timed in (False, True):
        for status in statuses:
            mine = [
                r for r in rows if (r.get("status") or "unknown") == status and r["_timed"] is timed
            ]
            if mine:
                yield _step_bar(status, timed, mine, min_ms)


# --------------------------------------------------------------------------- evidence


def ordered_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Cause first, then contributing, alternative, unrelated; by id within a role."""

    def key(f: Finding) -> tuple[int, int, str]:
        rank = ROLE_ORDER.index(f.role) if f.role in ROLE_ORDER else len(ROLE_ORDER)
        number = int(f.id[1:]) if f.id[1:].isdigit() else 0
        return rank, number, f.id

    return sorted(findings, key=key)


def _evidence_points(report: Report) -> list[dict[str, Any]]:
    """Every timed evidence line of every finding, once (first finding in role order wins)."""
    points: list[dict[str, Any]] = []
    seen: set[tuple[Any, Any]] = set()
    for f in ordered_findings(report.findings):
        for ev in f.evidence:
            key = (ev.get("file"), ev.get("line"))
            if as_utc(ev.get("time")) is None or key in seen:
                continue
            seen.add(key)
            points.append(
                {
                    "finding": f,
                    "ev": ev,
                    "lane": ev.get("node") or f.node or NO_NODE,
                    "label": f.cause or f.factor or "unknown",
                }
            )
    return points


def _evidence_hover(f: Finding, ev: dict[str, Any]) -> str:
    head = (
        f"<b>{escape(f.id)} {escape(f.rule)}</b> — {escape(f.role)}: {escape(f.cause or f.factor)}"
    )
    parts = [
        head,
        " · ".join(x for x in (escape(ev.get("node")), fmt_stamp(ev.get("time"))) if x),
        f"{escape(short_path(ev.get('file'), 3))}:{escape(ev.get('line'))}",
        hover_text(ev.get("text")),
    ]
    return "<br>".join(parts)


def _evidence_traces(points: list[dict[str, Any]]) -> Iterator[go.Scatter]:
    labels = list(dict.fromkeys(p["label"] for p in points))
    for label in labels:
        mine = [p for p in points if p["label"] == label]
        yield go.Scatter(
            mode="markers",
            name=label,
            x=[fmt_time(p["ev"]["time"]) for p in mine],
            y=[p["lane"] for p in mine],
            marker={
                "color": CAUSE_COLOURS.get(label, "#555555"),
                "symbol": [ROLE_MARKERS.get(p["finding"].role, ("circle", 8))[0] for p in mine],
                "size": [ROLE_MARKERS.get(p["finding"].role, ("circle", 8))[1] for p in mine],
                "line": {"width": 1, "color": "#222222"},
            },
            hovertext=[_evidence_hover(p["finding"], p["ev"]) for p in mine],
            hovertemplate="%{hovertext}<extra></extra>",
            legendgroup="evidence",
            legendgrouptitle={"text": "evidence (★ cause, ◆ contributing)"},
        )


def _failure_points(report: Report) -> list[dict[str, Any]]:
    out = []
    for rb in report.rebalances:
        if rb.outcome != "failed" or rb.failure_time is None:
            continue
        line = rb.failure_line or {}
        step = rb.failed_step or {}
        lane = line.get("node") or step.get("target") or rb.master_aggregator or NO_NODE
        out.append({"rb": rb, "lane": lane, "line": line})
    return out


def _failure_trace(points: list[dict[str, Any]]) -> go.Scatter:
    def hover(p: dict[str, Any]) -> str:
        rb, line = p["rb"], p["line"]
        where = (
            f"{escape(line.get('file'))}:{escape(line.get('line'))}" if line else "no failure line"
        )
        return "<br>".join(
            [
                f"<b>{escape(rb.database or NO_DATABASE)}: {escape(rb.failed_phase or 'unknown')} failed</b>",
                fmt_stamp(rb.failure_time),
                where,
                hover_text(line.get("message")),
            ]
        )

    return go.Scatter(
        mode="markers",
        name="failure",
        x=[fmt_time(p["rb"].failure_time) for p in points],
        y=[p["lane"] for p in points],
        marker={"symbol": "x", "size": 16, "color": "#b00020", "line": {"width": 2}},
        hovertext=[hover(p) for p in points],
        hovertemplate="%{hovertext}<extra></extra>",
    )


def _mark_failures(fig: go.Figure, points: list[dict[str, Any]]) -> None:
    for p in points:
        rb, x = p["rb"], fmt_time(p["rb"].failure_time)
        fig.add_shape(
            type="line",
            x0=x,
            x1=x,
            xref="x",
            y0=0,
            y1=1,
            yref="paper",
            line={"color": "#b00020", "width": 2, "dash": "dash"},
        )
        fig.add_annotation(
            x=x,
            xref="x",
            y=1.0,
            yref="paper",
            yanchor="bottom",
            showarrow=False,
            text=f"<b>{escape(rb.database or NO_DATABASE)}: {escape(rb.failed_phase or 'unknown')} failed</b>",
            font={"color": "#b00020"},
            bgcolor="rgba(255,255,255,0.8)",
        )


def _restart_trace(report: Report) -> go.Scatter | None:
    events = report.bundle.events
    if not events.height or "step_event" not in events.columns:
        return None
    rows = events.filter(pl.col("step_event") == "node_restart").head(500).to_dicts()
    if not rows:
        return None
    return go.Scatter(
        mode="markers",
        name="node restart",
        x=[fmt_time(r["ts"]) for r in rows],
        y=[r["node"] or NO_NODE for r in rows],
        marker={"symbol": "triangle-up", "size": 12, "color": "#000000"},
        hovertext=[
            f"<b>node restart</b><br>{escape(r['node'])} · {fmt_stamp(r['ts'])}<br>"
            f"{escape(r['file'])}:{r['line']}<br>{hover_text(r['message'])}"
            for r in rows
        ],
        hovertemplate="%{hovertext}<extra></extra>",
    )


# --------------------------------------------------------------------------- noise


def noise_counts(report: Report) -> tuple[pl.DataFrame, str]:
    """WARN/ERROR/FAILURE lines per time bucket (all nodes), the bucket as small as fits."""
    counts = report.bundle.line_counts
    if counts.height:
        frame = counts.filter(pl.col("level").is_in(NOISE_LEVELS)).select(
            pl.col("minute").alias("t"), "level", "lines"
        )
    else:
        frame = report.bundle.events.filter(pl.col("level").is_in(NOISE_LEVELS)).select(
            pl.col("ts").dt.truncate("1m").alias("t"), "level", pl.lit(1, pl.Int64).alias("lines")
        )
    frame = frame.filter(pl.col("t").is_not_null())
    for bucket in NOISE_BUCKETS:
        agg = (
            frame.group_by(pl.col("t").dt.truncate(bucket), "level")
            .agg(pl.col("lines").sum())
            .sort("t", "level")
        )
        if agg.get_column("t").n_unique() <= MAX_NOISE_BUCKETS:
            return agg, bucket
    return agg, NOISE_BUCKETS[-1]


def _noise_traces(counts: pl.DataFrame, bucket: str, zone: str) -> Iterator[go.Bar]:
    """One bar trace per level, stacked by hand (the figure's barmode is overlay) and as wide
    as the bucket, so that sparse buckets do not stretch over their neighbours."""
    width = BUCKET_MS[bucket]
    below: dict[datetime, int] = {}
    for level in NOISE_LEVELS:
        rows = counts.filter(pl.col("level") == level)
        if not rows.height:
            continue
        times, lines = rows.get_column("t").to_list(), rows.get_column("lines").to_list()
        bases = [below.get(t, 0) for t in times]
        for t, n in zip(times, lines, strict=True):
            below[t] = below.get(t, 0) + n
        yield go.Bar(
            name=f"{level} lines / {bucket}",
            x=[fmt_time(t) for t in times],
            y=lines,
            base=bases,
            width=[width * 0.9] * len(times),
            offset=0,
            marker={"color": LEVEL_COLOURS[level], "line": {"width": 0}},
            hovertemplate=f"%{{x}} ({escape(zone)})<br>{level}: %{{y}} lines / {bucket}"
            "<extra></extra>",
            legendgroup="noise",
            legendgrouptitle={"text": "log noise (all nodes)"},
        )


# --------------------------------------------------------------------------- timeline


def _focus_span(
    rows: list[dict[str, Any]], points: list[dict[str, Any]], failures: list[dict[str, Any]]
) -> tuple[datetime, datetime] | None:
    """Initial x range (UTC): the steps, the cause/contributing evidence and the failures,
    padded."""
    raw = [t for r in rows for t in (r["_start"], r["_end"])]
    raw += [p["ev"]["time"] for p in points if p["finding"].role in ("cause", "contributing")]
    raw += [p["rb"].failure_time for p in failures]
    times = [t for t in map(as_utc, raw) if t is not None]
    if not times:
        return None
    lo, hi = min(times), max(times)
    pad = max((hi - lo) * 0.08, timedelta(minutes=1))
    try:
        return lo - pad, hi + pad
    except OverflowError:  # (times at the calendar's ends: no room to pad)
        return lo, hi


def _min_bar_ms(rows: list[dict[str, Any]], span: list[str] | None) -> float:
    if not span:
        return 1000.0
    lo, hi = (datetime.fromisoformat(s) for s in span)
    return max((hi - lo) / timedelta(milliseconds=1) / 400, 1.0)


def _axis_title(report: Report, span: tuple[datetime, datetime] | None) -> str:
    """``time (UTC)``, or the display zone with its offset(s) over the initial view."""
    zone = zone_name(report)
    if zone == "UTC":
        return "time (UTC)"
    offsets = dict.fromkeys(offset_label(t) for t in span or ())
    shown = " / ".join(o if o == "UTC" else f"UTC{o}" for o in offsets)
    return f"time ({zone}, {shown})" if offsets else f"time ({zone})"


@in_display_zone
def timeline_figure(report: Report) -> go.Figure | None:
    """One lane per node: step bars by status, evidence markers by cause, the failure
    marked, and the WARN/ERROR noise per time bucket as a small bar chart below. None
    when nothing has a time (a bundle of status output only): no empty plot."""
    rows = _step_rows(report)
    points = _evidence_points(report)
    failures = _failure_points(report)
    restarts = _restart_trace(report)
    counts, bucket = noise_counts(report)
    if not (rows or points or failures or restarts is not None or counts.height):
        return None
    lanes = _lanes(
        report,
        [r["_lane"] for r in rows]
        + [p["lane"] for p in points]
        + [p["lane"] for p in failures]
        + (list(restarts.y) if restarts else []),
    )
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.8, 0.2], vertical_spacing=0.06
    )
    span = _focus_span(rows, points, failures)
    focus = [fmt_time(span[0]), fmt_time(span[1])] if span else None
    for trace in _step_traces(rows, _min_bar_ms(rows, focus)):
        fig.add_trace(trace, row=1, col=1)
    if failures:  # before the evidence, so that a cause marker on the same line stays visible
        fig.add_trace(_failure_trace(failures), row=1, col=1)
    for trace in _evidence_traces(points):
        fig.add_trace(trace, row=1, col=1)
    if restarts is not None:
        fig.add_trace(restarts, row=1, col=1)
    for trace in _noise_traces(counts, bucket, zone_name(report)):
        fig.add_trace(trace, row=2, col=1)
    _mark_failures(fig, failures)
    lane_height = 260 + 34 * len(lanes)
    _base_layout(fig, lane_height + 160)
    fig.update_layout(
        barmode="overlay",
        hovermode="closest",
        margin={"t": 40},
        legend={
            "orientation": "v",
            "x": 1.01,
            "y": 1,
            "yanchor": "top",
            "groupclick": "toggleitem",
        },
    )
    fig.update_xaxes(type="date", showgrid=True)
    if focus:
        fig.update_xaxes(range=focus)
    fig.update_xaxes(title_text=_axis_title(report, span), row=2, col=1)
    fig.update_yaxes(
        type="category",
        categoryorder="array",
        categoryarray=lanes,
        autorange=False,
        range=[len(lanes) - 0.5, -0.5],  # half a lane of room above the first, below the last
        automargin=True,
        row=1,
        col=1,
    )
    fig.update_yaxes(title_text="lines", rangemode="tozero", row=2, col=1)
    return fig


# --------------------------------------------------------------------------- partition map


def _norm_role(role: Any) -> str:
    text = str(role or "").strip().lower()
    return ROLE_SYNONYMS.get(text, text)


def _impact_db(report: Report, database: str) -> dict[str, Any] | None:
    data = report.impact.to_json()
    if not data:
        return None
    return next((d for d in data["databases"] if d["database"] == database), None)


def _snapshot_copies(report: Report, database: str, snapshot: str | None) -> list[dict[str, Any]]:
    """Copies (ordinal, node, role) of one snapshot of ``database``; the latest when None."""
    parts = report.bundle.partitions.filter(
        (pl.col("database") == database)
        & pl.col("ordinal").is_not_null()
        & pl.col("node").is_not_null()
    )
    if snapshot is None:
        names = parts.filter(pl.col("snapshot_kind") == "partitions").get_column("snapshot")
        names = names if names.len() else parts.get_column("snapshot")
        ordered = sorted(names.drop_nulls().unique().to_list(), key=snapshot_order_key)
        if not ordered:
            return []
        snapshot = ordered[-1]
    rows = parts.filter(pl.col("snapshot") == snapshot).select("ordinal", "node", "role").to_dicts()
    return [
        {**r, "role": _norm_role(r["role"])} for r in rows if _norm_role(r["role"]) in COPY_LETTERS
    ]


def latest_copies(report: Report, database: str) -> list[dict[str, Any]]:
    """The latest snapshot's copies: the impact's own view when it has one, else the bundle's."""
    db = _impact_db(report, database)
    if db is not None and db.get("copies"):
        return [{**c, "role": _norm_role(c["role"])} for c in db["copies"]]
    return _snapshot_copies(report, database, None)


def before_copies(report: Report, database: str) -> tuple[str, list[dict[str, Any]]] | None:
    """The earliest snapshot (name, copies) when the impact diffed two snapshots."""
    db = _impact_db(report, database)
    diff = (db or {}).get("snapshot_diff")
    if not diff or not diff.get("before"):
        return None
    return diff["before"], _snapshot_copies(report, database, diff["before"])


def partition_issues(report: Report, database: str) -> dict[int, str]:
    """Ordinal -> "no master" / "under" / "over" from the impact numbers."""
    db = _impact_db(report, database) or {}
    issues: dict[int, str] = {}
    for key, label in (
        ("over_redundant", "over"),
        ("under_redundant", "under"),
        ("partitions_without_master", "no master"),
    ):
        for ordinal in db.get(key) or []:
            issues[ordinal] = label
    return issues


def _grid(
    copies: list[dict[str, Any]],
    ordinals: list[int],
    nodes: list[str],
    database: str,
    issues: dict[int, str],
) -> go.Heatmap:
    cells: dict[tuple[str, int], list[str]] = {}
    for c in copies:
        cells.setdefault((c["node"], c["ordinal"]), []).append(c["role"])
    z, text, hover = [], [], []
    for node in nodes:
        roles = [sorted(cells.get((node, o), []), key=lambda r: -COPY_CODES[r]) for o in ordinals]
        z.append([COPY_CODES[r[0]] if r else 0 for r in roles])
        text.append(["+".join(COPY_LETTERS[x] for x in r) for r in roles])
        hover.append(
            [
                f"<b>{escape(database)}:{o}</b> on {escape(node)}<br>"
                f"{escape(', '.join(r) or 'no copy')}"
                + (f"<br>partition: {issues[o]}" if o in issues else "")
                for o, r in zip(ordinals, roles, strict=True)
            ]
        )
    steps = len(COPY_COLOURS)
    scale = [[edge / steps, colour] for i, colour in enumerate(COPY_COLOURS) for edge in (i, i + 1)]
    return go.Heatmap(
        z=z,
        x=[str(o) for o in ordinals],
        y=nodes,
        text=text,
        texttemplate="%{text}",
        customdata=hover,
        hovertemplate="%{customdata}<extra></extra>",
        zmin=-0.5,
        zmax=steps - 0.5,
        colorscale=scale,
        showscale=False,
        xgap=2,
        ygap=2,
    )


def _tick_labels(ordinals: list[int], issues: dict[int, str]) -> list[str]:
    labels = []
    for o in ordinals:
        issue = issues.get(o)
        labels.append(
            f"<span style='color:{ISSUE_COLOURS[issue]}'><b>{o}</b></span>" if issue else str(o)
        )
    return labels


def _legend_traces() -> Iterator[go.Scatter]:
    for role, code in COPY_CODES.items():
        if role == "none":
            continue
        yield go.Scatter(
            x=[None],
            y=[None],
            mode="markers",
            name=f"{COPY_LETTERS[role]} = {role}",
            marker={"symbol": "square", "size": 12, "color": COPY_COLOURS[code]},
            hoverinfo="skip",
        )
    for issue, colour in ISSUE_COLOURS.items():
        yield go.Scatter(
            x=[None],
            y=[None],
            mode="markers",
            name=f"partition {issue}",
            marker={
                "symbol": "line-ew-open",
                "size": 12,
                "color": colour,
                "line": {"width": 3, "color": colour},
            },
            hoverinfo="skip",
        )


def _snapshot_label(db: dict[str, Any]) -> str:
    """Where the latest copies came from: the diffed "after" snapshot, else the snapshots used."""
    after = (db.get("snapshot_diff") or {}).get("after")
    names = [after] if after else [n for n in (db.get("snapshot") or {}).values() if n]
    return " + ".join(dict.fromkeys(short_path(n) for n in names)) or "latest"


def partition_map_figure(report: Report, database: str) -> go.Figure:
    """Partition × node grid of master/replica/orphan copies of the latest snapshot, and
    of the earliest one beside it when there are two (before | after)."""
    after = latest_copies(report, database)
    before = before_copies(report, database)
    db = _impact_db(report, database) or {}
    views = [(f"before: {short_path(before[0])}", before[1])] if before else []
    title = "after" if before else "latest snapshot"
    views.append((f"{title}: {_snapshot_label(db)}", after))
    every = after + (before[1] if before else [])
    ordinals = sorted({c["ordinal"] for c in every})
    nodes = sorted({c["node"] for c in every})
    issues = partition_issues(report, database)
    fig = make_subplots(
        rows=1,
        cols=len(views),
        shared_yaxes=True,
        horizontal_spacing=0.03,
        subplot_titles=[escape(title) for title, _ in views],
    )
    for col, (_title, copies) in enumerate(views, start=1):
        fig.add_trace(_grid(copies, ordinals, nodes, database, issues), row=1, col=col)
        fig.update_xaxes(
            type="category",
            tickmode="array",
            tickvals=[str(o) for o in ordinals],
            ticktext=_tick_labels(ordinals, issues),
            title_text="partition ordinal",
            row=1,
            col=col,
        )
    for trace in _legend_traces():
        fig.add_trace(trace, row=1, col=1)
    fig.update_yaxes(type="category", autorange="reversed", automargin=True)
    _base_layout(fig, 200 + 30 * max(len(nodes), 1))
    fig.update_layout(
        legend={"yref": "container", "y": 0, "yanchor": "bottom"}, margin={"t": 64, "b": 80}
    )
    return fig


# --------------------------------------------------------------------------- storage


def _per_node_extra(report: Report) -> dict[str, dict[str, int | None]]:
    """database -> node -> extra bytes (None: unknown), from the impact."""
    data = report.impact.to_json() or {}
    out = {
        d["database"]: dict(d["per_node_extra_bytes"])
        for d in data.get("databases", [])
        if d.get("per_node_extra_bytes")
    }
    if not out:
        total = data.get("per_node_extra_bytes") or getattr(
            report.impact, "per_node_extra_bytes", None
        )
        if total:
            out["all databases"] = dict(total)
    return out


def extra_storage_figure(report: Report) -> go.Figure | None:
    """Extra storage (copies beyond redundancy and orphans) per node, stacked by database;
    None when no size is known."""
    per_db = _per_node_extra(report)
    known = {db: {n: b for n, b in nodes.items() if b} for db, nodes in sorted(per_db.items())}
    if not any(known.values()):
        return None
    nodes = sorted({n for sizes in per_db.values() for n in sizes})
    fig = go.Figure()
    for db, sizes in known.items():
        if sizes:
            fig.add_trace(
                go.Bar(
                    name=escape(db),
                    orientation="h",
                    y=nodes,
                    x=[(sizes.get(n) or 0) / GIB for n in nodes],
                    width=0.6,
                    customdata=[human_bytes(sizes.get(n)) for n in nodes],
                    hovertemplate=f"<b>{escape(db)}</b> on %{{y}}<br>%{{customdata}}<extra></extra>",
                )
            )
    unknown = sorted({n for sizes in per_db.values() for n, b in sizes.items() if b is None})
    _base_layout(fig, 130 + 36 * len(nodes))
    fig.update_layout(
        barmode="stack",
        showlegend=len(known) > 1,
        xaxis={
            "title": {"text": "extra storage, GiB (estimate)"},
            "rangemode": "tozero",
        },
        yaxis={"type": "category", "autorange": "reversed", "automargin": True},
    )
    if unknown:
        fig.add_annotation(
            text="size unknown on: " + escape(", ".join(unknown)),
            xref="paper",
            yref="paper",
            x=0,
            y=1.02,
            yanchor="bottom",
            showarrow=False,
            align="left",
        )
    return fig


__all__ = [
    "extra_storage_figure",
    "fmt_time",
    "hover_text",
    "noise_counts",
    "ordered_findings",
    "partition_map_figure",
    "short_path",
    "timeline_figure",
]
