"""The Markdown summary (SPEC §6.4) as a ticket shows it: placeholders and commands read
as written (no ``&lt;`` in plain text), log HTML stays inert, the runbook's lists stay
lists, and the impact table marks an empty cell the same way in every column."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from forensics.analysis import analyze
from forensics.report import markdown
from forensics.report.markdown import _cell, _detail

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@cache
def _md(name: str) -> str:
    return markdown.render(analyze(FIXTURES / name))


@pytest.mark.parametrize(
    "text,expected",
    [
        ("use SHOW PARTITIONS ON <db> first", "use SHOW PARTITIONS ON `<db>` first"),
        ("--tz 10.1.0.14:3306=<its zone>", "--tz 10.1.0.14:3306=`<its zone>`"),
        # log text: HTML stays inert (entities), whatever looks like a tag
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ('"><img src=x onerror=alert(2)>', '"&gt;&lt;img src=x onerror=alert(2)&gt;'),
        ("a & b <b>bold</b>", "a &amp; b &lt;b&gt;bold&lt;/b&gt;"),
        # a backquote of the text's own: no code span that could pair with it
        ("`sales` and <db>", "`sales` and &lt;db&gt;"),
        ("a | b", "a \\| b"),
    ],
)
def test_cell_placeholders_in_code_spans_log_html_inert(text: str, expected: str) -> None:
    assert _cell(text) == expected


def test_no_entity_for_the_tools_own_placeholders() -> None:
    md = _md("copy_out_of_memory")
    assert "SHOW PARTITIONS ON `<db>`" in md
    assert "&lt;db&gt;" not in md


def test_a_runbook_detail_keeps_its_list() -> None:
    detail = (
        "Address the underlying issue before retrying:\n"
        "- External interruption: find who killed it.\n"
        "- WaitForLSNWithTimeout timeout: check replication.\n"
        "Preferably use a maintenance window."
    )
    assert _detail(detail) == [
        "   Address the underlying issue before retrying:",
        "",
        "   - External interruption: find who killed it.",
        "   - WaitForLSNWithTimeout timeout: check replication.",
        "",
        "   Preferably use a maintenance window.",
    ]


def test_the_retry_step_renders_its_causes_as_a_list() -> None:
    md = _md("copy_kill_script")
    step = md.split("Address the underlying issue before retrying:", 1)[1]
    items = re.findall(r"(?m)^   - (.+)$", step.split("```", 1)[0])
    assert items, step[:400]


def test_impact_table_marks_no_orphan_like_the_other_columns() -> None:
    md = _md("copy_out_of_memory")
    table = md.split("## Impact", 1)[1].split("\n\n")[2]
    header, _, *rows = table.splitlines()
    columns = [c.strip() for c in header.strip("|").split("|")]
    orphans = columns.index("orphans")
    assert rows
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert all(cells), row  # no blank cell
        assert cells[orphans] == "—" or "@" in cells[orphans]
