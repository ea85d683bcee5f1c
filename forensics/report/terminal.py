"""The default stdout summary: one screen that says what failed and why.

Every text from the bundle goes through :func:`_safe`: its control characters shown as
``\\xNN`` (a log line's ESC sequence would clear or retitle the user's terminal), cut
when long, and escaped for rich markup.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from ..analysis import Report, in_display_zone
from .markdown import _bytes, clip, is_redacted, unknown_risk, visible

MAX_TEXT = 600


def _safe(text: object, limit: int = MAX_TEXT) -> str:
    return escape(visible(clip(str(text), limit), keep=""))


STATUS_STYLE = {"failure": "bold red", "no_failure": "green", "inconclusive": "yellow"}


def _verdict_table(report: Report) -> Table:
    table = Table(title="Verdict", show_header=True, header_style="bold")
    for name in ("database", "status", "phase", "cause", "confidence"):
        table.add_column(name)
    for v in report.verdicts:
        conf = f"{v.confidence:.2f}" if v.confidence is not None else ""
        table.add_row(
            _safe(v.database or "-"),
            f"[{STATUS_STYLE[v.status]}]{v.status}[/]" + (" (earlier run)" if v.later_run else ""),
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
    risk = {True: "[bold red]YES[/]", False: "[green]no[/]"}.get(
        data["data_at_risk"], f"[bold yellow]{_safe(unknown_risk(data))}[/]"
    )
    console.print(f"Data at risk: {risk}   extra storage: {_bytes(data['extra_bytes_estimate'])}")
    for d in data["databases"]:
        console.print(
            f"  {_safe(d['database'])}: {d['partitions']} partitions, redundancy {d['redundancy']}"
            f"{' (assumed)' if d['redundancy_assumed'] else ''}, without master {d['partitions_without_master'] or '-'}, "
            f"under {d['under_redundant'] or '-'}, over {d['over_redundant'] or '-'}, "
            f"orphans {len(d['orphans'])}, extra copies {d['extra_copies']}"
        )


def _runbook(console: Console, report: Report) -> None:
    console.print("[bold]Recovery[/]")
    for step in report.recovery:
        mark = " [bold red]BLOCKED[/]" if step.get("blocked_by") else ""
        console.print(f"  {step['step']}. {_safe(step['title'])}{mark}")
        if step.get("blocked_by"):
            console.print(f"     [red]{_safe(step['blocked_by'])}[/]")
        for sql in step.get("sql") or []:
            console.print(f"     [cyan]{_safe(sql)}[/]")


@in_display_zone
def show(report: Report, console: Console | None = None) -> None:
    console = console or Console()
    if is_redacted(report):
        console.print(
            "[dim]Redacted: host names, IP addresses, database names and paths are pseudonyms.[/]"
        )
    console.print(_verdict_table(report))
    for v in report.verdicts:
        console.print(_safe(v.summary))
    _evidence(console, report)
    _impact(console, report)
    _runbook(console, report)
    if report.warnings:
        console.print(f"[yellow]{len(report.warnings)} warning(s); see --json or --md for all.[/]")
        for w in report.warnings[:3]:
            console.print(f"  [yellow]{_safe(w)}[/]")
    files = report.bundle.files
    skipped = files.filter(files["skipped_reason"].is_not_null()).height
    console.print(
        Panel.fit(
            f"{files.height} files read, {skipped} skipped; "
            f"{report.bundle.events.height} events kept",
            title="Inputs",
        )
    )
