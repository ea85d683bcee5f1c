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
    # each report module is imported only when its format is asked for (the HTML one
    # brings plotly and jinja2, the terminal one rich)
    from .report import json as json_report

    if redact:
        from .redact import redact_report

        report = redact_report(report)
    if json_path:
        write_text(Path(json_path), json_report.render(report))
    if md:
        from .report import markdown

        write_text(Path(md), markdown.render(report))
    if html:
        from .report import html as html_report

        write_text(Path(html), html_report.render(report))
    if stdout_format == "json":
        click.echo(json_report.render(report), nl=False)
    elif stdout_format == "markdown":
        from .report import markdown

        click.echo(markdown.render(report), nl=False)
    else:
        from .report import terminal

        terminal.show(report)
