"""Write the report in every requested format (atomically) and print the chosen one."""

from __future__ import annotations

from pathlib import Path

import click

from .analysis import Report
from .export import write_text


def write_outputs(
    report: Report,
    *,
    html: str | None,
    json_path: str | None,
    md: str | None,
    stdout_format: str,
    redact: bool = False,
) -> None:
    from .report import json as json_report
    from .report import markdown, terminal

    if redact:
        from .redact import redact_report

        report = redact_report(report)
    if json_path:
        write_text(Path(json_path), json_report.render(report))
    if md:
        write_text(Path(md), markdown.render(report))
    if html:
        from .report import html as html_report

        write_text(Path(html), html_report.render(report))
    if stdout_format == "json":
        click.echo(json_report.render(report), nl=False)
    elif stdout_format == "markdown":
        click.echo(markdown.render(report), nl=False)
    else:
        terminal.show(report)
