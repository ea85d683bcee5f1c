"""The default stdout summary: one screen that says what failed and why.

Every text from the bundle goes through :func:`_safe`: its control characters shown as
``\\xNN`` (a log line's ESC sequence would clear or retitle the user's terminal), cut
when long, and escaped for rich markup. The words it shares with the HTML and Markdown
reports (data at risk, status, blocked SQL, times) come from :mod:`.wording`.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from ..analysis import Report, in_display_zone
from .markdown import _bytes, clip, is_redacted, visible
from .wording import REDACTED_HEADER, blocked_sql, readable_times, risk, status_key, status_label

MAX_TEXT = 600


def _safe(text: object, limit: int = MAX_TEXT) -> str:
    return escape(visible(clip(str(text), limit), keep=""))


STATUS_STYLE = {
    "failure": "bold red",
    "no_failure": "green",
    "inconclusive": "yellow",
    "cancelled": "yellow",
}
RISK_STYLE = {"red": "bold red", "amber": "bold yellow", "green": "green"}


def _verdict_table(report: Report) -> Table:
    table = Table(title="Verdict", show_header=True, header_style="bold")
    for name in ("database", "status", "phase", "cause", "confidence"):
        table.add_column(name)
    for v in report.verdicts:
        conf = f"{v.confidence:.2f}" if v.confidence is not None else ""
        style = STATUS_STYLE.get(status_key(report, v), "yellow")
        table.add_row(
            _safe(v.database or "-"),
            f"[{style}]{status_label(report, v)}[/]",
            v.phase or "-",
            v.cause or "-",
            conf,
        )
    return table


def _evidence(console: Console, report: Report) -> None:
    for f in report.findings:
        if f.role != "cause":
            continue
        console.print(
            f"[bold]{_safe(f.id)} {_safe(f.rule)}[/] {_safe(f.title)} "
            f"(confidence {f.confidence:.2f})"
        )
        for e in f.evidence[:3]:
            console.print(f"  {_safe(e['file'])}:{e['line']}  {_safe(e['text'], 160)}")


def _impact(console: Console, report: Report) -> None:
    data = report.impact.to_json()
    if not data:
        console.print("[yellow]Impact not computed: no partition snapshot in the bundle.[/]")
        return
    said = risk(data)
    console.print(
        f"Data at risk: [{RISK_STYLE[said.tone]}]{_safe(said.text)}[/]   "
        f"extra storage: {_bytes(data['extra_bytes_estimate'])}"
    )
    for d in data["databases"]:
        console.print(
            f"  {_safe(d['database'])}: {d['partitions']} partitions, redundancy {d['redundancy']}"
            f"{' (assumed)' if d['redundancy_assumed'] else ''}; ordinals without master "
            f"{_ordinals(d['partitions_without_master'])}; under redundancy "
            f"{_ordinals(d['under_redundant'])}; over redundancy {_ordinals(d['over_redundant'])}; "
            f"orphans {len(d['orphans'])}; extra copies {d['extra_copies']}"
        )


def _ordinals(values: list[int]) -> str:
    return ", ".join(str(v) for v in values) if values else "-"


def _runbook(console: Console, report: Report) -> None:
    console.print("[bold]Recovery[/]")
    for step in report.recovery:
        mark = " [bold red]BLOCKED[/]" if step.get("blocked_by") else ""
        console.print(f"  {step['step']}. {_safe(step['title'])}{mark}")
        if step.get("blocked_by"):
            console.print(f"     [red]{_safe(readable_times(step['blocked_by']))}[/]")
        colour = "red" if step.get("blocked_by") else "cyan"
        for sql in blocked_sql(step):
            console.print(f"     [{colour}]{_safe(sql)}[/]")


@in_display_zone
def show(report: Report, console: Console | None = None) -> None:
    console = console or Console()
    if is_redacted(report):
        console.print(f"[dim]{_safe(REDACTED_HEADER)}[/]")
    console.print(_verdict_table(report))
    for v in report.verdicts:
        console.print(_safe(readable_times(v.summary)))
    _evidence(console, report)
    _impact(console, report)
    _runbook(console, report)
    if report.warnings:
        console.print(f"[yellow]{len(report.warnings)} warning(s); see --json or --md for all.[/]")
        for w in report.warnings[:3]:
            console.print(f"  [yellow]{_safe(readable_times(w))}[/]")
    files = report.bundle.files
    skipped = files.filter(files["skipped_reason"].is_not_null()).height
    console.print(
        Panel.fit(
            f"{files.height} files read, {skipped} skipped; "
            f"{report.bundle.events.height} events kept",
            title="Inputs",
        )
    )
