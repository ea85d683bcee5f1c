"""A ticket-sized Markdown summary: verdict, impact, runbook, top evidence (SPEC §6.4).

Log text reaches it (evidence, error messages, file names): outside code blocks a
placeholder of the tool's such as ``<db>`` is written as a code span (an entity such as
``&lt;`` would show literally where the text is read as plain text) and any other ``<``,
``>`` and ``&`` as entities (ticket systems render inline HTML), control characters as a
visible ``\\xNN`` in every line (an ESC sequence would act on the terminal that shows the
file), and a long text is cut, saying how much was cut. The words it shares with the HTML
report and the terminal (data at risk, status, blocked SQL, times) come from
:mod:`.wording`; a blocked runbook step's SQL is commented out, so that a paste into a
ticket runs nothing.
"""

from __future__ import annotations

import re
from typing import Any

from ..analysis import Report, in_display_zone, iso
from ..redact import is_redacted
from .wording import (
    REDACTED_HEADER,
    RISK_UNKNOWN,
    blocked_sql,
    evidence_place,
    readable_times,
    risk,
    status_label,
    unknown_risk,
)

MAX_EVIDENCE = 5
#: Longest text shown in a line (a table cell, a runbook detail) and in a code block line.
MAX_TEXT = 2000
MAX_CODE_LINE = 500
# C0 controls (but tab and newline), DEL and C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
#: A placeholder the tool writes (``<db>``, ``<its zone>``): shown
#: in a code span, where nothing is HTML; an HTML element's name never is one.
_PLACEHOLDER = re.compile(r"<(?P<body>[a-z][a-z0-9 _./:-]{0,40})>")
_HTML_ELEMENTS = frozenset([
    "a", "abbr", "audio", "b", "base", "body", "br", "button", "canvas", "code",
    "details", "dialog", "div", "em", "embed", "form", "frame", "frameset", "head",
    "html", "i", "iframe", "img", "input", "label", "link", "map", "marquee", "math",
    "meta", "noscript", "object", "option", "p", "param", "picture", "pre", "q", "s",
    "script", "select", "source", "span", "strong", "style", "svg", "table", "tbody",
    "td", "template", "textarea", "th", "title", "tr", "u", "ul", "ol", "li", "video",
    "xmp"
])  # fmt: skip


def visible(text: str, keep: str = "\t\n") -> str:
    """Control characters as ``\\xNN``: shown, never acted on by a terminal or viewer."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text).translate(
        {ord(c): f"\\x{ord(c):02x}" for c in "\t\n" if c not in keep}
    )


def clip(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters, saying how many were cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]} … [{len(text) - limit:,} more characters cut]"


def _cell(text: Any, limit: int = MAX_TEXT) -> str:
    """Text outside a code block: one line, no HTML, no control character, cut."""
    line = clip(str(text if text is not None else "").replace("\n", " "), limit)
    return _inline(visible(line, keep="\t")).replace("|", "\\|")


def _inline(text: str) -> str:
    """``text`` with no HTML a Markdown renderer would act on: the tool's placeholders
    (``SHOW PARTITIONS ON <db>``) in code spans, which every renderer shows as written,
    any other ``<``, ``>``, ``&`` (log text: a tag, an entity) as entities. (Where the text
    has a backquote of its own, a code span could pair with it: entities only.)"""
    if "`" in text:
        return _escape(text)
    out: list[str] = []
    last = 0
    for m in _PLACEHOLDER.finditer(text):
        word = re.match(r"[a-z0-9]+", m.group("body"))
        if word is None or word.group() in _HTML_ELEMENTS:
            continue
        out += [_escape(text[last : m.start()]), f"`{m.group()}`"]
        last = m.end()
    out.append(_escape(text[last:]))
    return "".join(out)


def _escape(text: str) -> str:
    return re.sub(r"[&<>]", lambda m: _HTML[m.group()], text)


def _code_line(text: Any) -> str:
    """A line inside a fenced code block (no HTML there, but no fence and no control)."""
    return visible(clip(str(text), MAX_CODE_LINE), keep="\t").replace("```", "'''")


def _verdicts(report: Report) -> list[str]:
    lines = [
        "## Verdict",
        "",
        "| database | status | phase | cause | confidence |",
        "|---|---|---|---|---|",
    ]
    for v in report.verdicts:
        conf = f"{v.confidence:.2f}" if v.confidence is not None else ""
        lines.append(
            f"| {_cell(v.database or '(no database)')} | {status_label(report, v)} "
            f"| {_cell(v.phase or '—')} | {_cell(v.cause or '—')} | {conf or '—'} |"
        )
    lines.append("")
    lines += [f"- {_cell(readable_times(v.summary))}" for v in report.verdicts]
    return [*lines, ""]


def _evidence(report: Report) -> list[str]:
    lines = ["## Evidence", ""]
    shown = 0
    for f in report.findings:
        if f.role not in ("cause", "contributing"):
            continue
        lines.append(
            f"**{_cell(f.id)} {_cell(f.rule)}** ({f.role}, {f.cause or f.factor}, "
            f"confidence {f.confidence:.2f}): {_cell(f.title)}"
        )
        lines.append("")
        lines.append("```")
        for e in f.evidence[:MAX_EVIDENCE]:
            lines.append(_code_line(f"{evidence_place(e)} {e['text']}"))
        lines.append("```")
        lines.append("")
        shown += 1
    if not shown:
        lines += ["No log line explains a failure.", ""]
    return lines


def _impact(report: Report) -> list[str]:
    data = report.impact.to_json()
    lines = ["## Impact", ""]
    if not data:
        return [*lines, "Not computed: the bundle has no partition snapshot.", ""]
    said = risk(data)
    shown = said.text if said.text == "no" else f"**{said.text}**"
    lines.append(f"- Data at risk: {_cell(shown)}")
    lines.append(f"- Extra storage (estimate): {_bytes(data['extra_bytes_estimate'])}")
    lines += [
        "",
        "| database | redundancy | partitions | ordinals without master "
        "| ordinals under redundancy | ordinals over redundancy | orphans "
        "| extra copies | extra bytes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for d in data["databases"]:
        red = f"{d['redundancy']}{' (assumed)' if d['redundancy_assumed'] else ''}"
        orphans = ", ".join(f"{o['ordinal']}@{o['node']}{_ahead(o)}" for o in d["orphans"])
        lines.append(
            f"| {_cell(d['database'])} | {red} | {d['partitions']} | {_list(d['partitions_without_master'])} "
            f"| {_list(d['under_redundant'])} | {_list(d['over_redundant'])} | {_cell(orphans or '—')} "
            f"| {d['extra_copies']} | {_bytes(d['extra_bytes_estimate'])} |"
        )
    return [*lines, ""]


def _list(values: list[Any]) -> str:
    return ", ".join(str(v) for v in values) if values else "—"


def _bytes(value: int | None) -> str:
    if value is None:
        return "unknown"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:,.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{value} B"


PLAN_LINES = 12


def _plan(report: Report) -> list[str]:
    if not report.plan:
        return []
    kinds: dict[str, int] = {}
    for entry in report.plan:
        kinds[entry["kind"]] = kinds.get(entry["kind"], 0) + 1
    counts = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in sorted(kinds.items()))
    lines = ["## Plan vs actual", "", f"{counts}.", ""]
    shown = [e for e in report.plan if e["kind"] in ("failed", "residue")][:PLAN_LINES]
    lines += [f"- {_cell(readable_times(str(e['detail'])))}" for e in shown]
    return [*lines, ""]


def _runbook(report: Report) -> list[str]:
    lines = ["## Recovery runbook", ""]
    for step in report.recovery:
        blocked = (
            f" — **BLOCKED**: {readable_times(step['blocked_by'])}"
            if step.get("blocked_by")
            else ""
        )
        lines.append(f"{step['step']}. **{_cell(step['title'])}**{_cell(blocked)}")
        lines += _detail(readable_times(str(step.get("detail") or "")))
        if step.get("sql"):
            lines.append("   ```sql")
            lines += [f"   {_code_line(sql)}" for sql in blocked_sql(step)]
            lines.append("   ```")
    return [*lines, ""]


def _detail(detail: Any) -> list[str]:
    """A runbook step's detail under its number: its lines that start with ``- `` a
    nested list (the causes to address), the others its text."""
    lines: list[str] = []
    listing = False
    for raw in str(detail if detail is not None else "").split("\n"):
        item = re.match(r"\s*[-*]\s+(.*)", raw)
        if item:
            if not listing and lines:
                lines.append("")
            lines.append(f"   - {_cell(item.group(1))}")
            listing = True
        elif raw.strip():
            if listing:
                lines.append("")
            lines.append(f"   {_cell(raw.strip())}")
            listing = False
    return lines


def _zones(report: Report) -> str:
    """The zone the tracelogs were read in, and each node's own where it differs (a
    ticket's reader must not take a Kolkata leaf's times for UTC ones)."""
    own = report.bundle.node_timezones
    text = report.bundle.timezone
    if own:
        text += " (" + ", ".join(f"{node}: {zone}" for node, zone in sorted(own.items())) + ")"
    return text


@in_display_zone
def render(report: Report) -> str:
    head = [
        "# Rebalance forensics report",
        "",
        f"Input: {_cell(', '.join(report.bundle.paths))} — timestamps as {_zones(report)}",
        "",
    ]
    if is_redacted(report):
        head += [f"*{_cell(REDACTED_HEADER)}*", ""]
    warnings = (
        ["## Warnings", ""] + [f"- {_cell(readable_times(w))}" for w in report.warnings[:20]] + [""]
    )
    if len(report.warnings) > 20:
        warnings.insert(-1, f"- … {len(report.warnings) - 20} more (see the JSON report)")
    body = (
        head
        + _verdicts(report)
        + _evidence(report)
        + _impact(report)
        + _plan(report)
        + _runbook(report)
    )
    if report.warnings:
        body += warnings
    return "\n".join(body).rstrip() + "\n"


__all__ = ["RISK_UNKNOWN", "clip", "iso", "render", "unknown_risk", "visible"]


def _ahead(orphan: dict[str, Any]) -> str:
    """The mark of an orphan further in the log than its master (it may hold data the
    master lacks: no leftover)."""
    return " (ahead of master)" if orphan.get("ahead_of_master") else ""
